"""nnci.physics: operators and their adjoints, noise models, the raw camera and its classical pipeline, the PSF
modules, and the HDR sensor."""
import numpy as np
import pytest

import nnci
from nnci.data import load_photo
from nnci.metrics import psnr
from nnci.physics import (BayerMosaic, Blur, Denoising, DiffractivePSF, FixedPSF, GaussianNoise, HeightMapDOE,
                          IdealLens,
                          LearnablePSF, PoissonGaussianNoise, RawCamera, capture, classical_isp, dot_product_test,
                          demosaic_bilinear, hdr_scene, inverse_tone_map, mosaic, normalise, pack, sensor, tone_map,
                          unprocess)
from nnci.physics.raw import inverse_tone_curve


def to_hwc(image):
    return image.detach().numpy()[0].transpose(1, 2, 0)


@pytest.mark.parametrize("seed", range(5))
def test_unprocess_then_classical_pipeline_returns_the_input(seed):
    """Constant colours survive mosaic and demosaicing exactly, so the round trip, 14-bit quantisation
    included, must come back within 1e-3."""
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.02, 0.98, 3).astype(np.float32)
    image = np.ones((10, 12, 3), np.float32) * colour
    dn = capture(unprocess(image), 1.0, rng, noise=False)
    back = to_hwc(classical_isp(nnci.tensor(normalise(dn, 1.0)[None, None])))
    np.testing.assert_allclose(back, image, atol=1e-3)


def test_round_trip_on_a_photo_loses_only_what_demosaicing_loses():
    photo = load_photo("chelsea", gray=False)
    raw = unprocess(photo)
    back = to_hwc(classical_isp(nnci.tensor(raw[None, None])))
    assert psnr(back, photo[:raw.shape[0], :raw.shape[1]]) > 29
    # without the mosaic (each colour kept at every pixel) the colour path alone is exact
    y = np.random.default_rng(0).uniform(0, 1, 1000)
    np.testing.assert_allclose(3 * inverse_tone_curve(y) ** 2 - 2 * inverse_tone_curve(y) ** 3, y, atol=1e-6)


def test_bilinear_demosaicing_is_exact_on_linear_ramps_away_from_the_border():
    rows, cols = np.mgrid[:12, :16].astype(np.float64)
    rgb = np.stack([0.1 + 0.01 * rows + 0.02 * cols, 0.3 - 0.01 * rows + 0.005 * cols, 0.05 * rows], -1)
    out = to_hwc(demosaic_bilinear(nnci.tensor(mosaic(rgb)[None, None])))
    np.testing.assert_allclose(out[2:-2, 2:-2], rgb[2:-2, 2:-2], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(1, 1, 5, 6\)"):
        demosaic_bilinear(nnci.zeros(1, 1, 5, 6))


def test_pack_puts_the_four_bayer_sites_in_r_g_g_b_order():
    rgb = np.zeros((4, 4, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1, 2, 3
    packed = pack(mosaic(rgb))
    assert packed.shape == (4, 2, 2)
    assert [packed[c, 0, 0] for c in range(4)] == [1, 2, 2, 3]


def test_low_light_capture_has_poisson_plus_read_noise_statistics():
    camera = RawCamera()
    raw = np.full((400, 400), 0.3, np.float32)
    ratio = 50.0
    dn = capture(raw, ratio, np.random.default_rng(0), camera)
    electrons = (dn - camera.black_level) * camera.full_well / (camera.white_level - camera.black_level)
    expected = 0.3 * camera.full_well / ratio
    assert electrons.mean() == pytest.approx(expected, rel=0.01)
    assert electrons.var() == pytest.approx(expected + camera.read_noise ** 2, rel=0.05)
    amplified = normalise(dn, ratio, camera)
    assert amplified.mean() == pytest.approx(0.3, rel=0.01) and amplified.max() <= 1


def train_psf(psf_module, steps=25):
    """Drive a PSF towards an off-centre target; it must stay a PSF at every step."""
    target = np.zeros((psf_module.size, psf_module.size), np.float32)
    target[1, -2] = 1
    optimizer = nnci.optim.Adam(psf_module.parameters(), lr=0.2)
    losses = []
    for _ in range(steps):
        psf = psf_module()
        values = psf.detach().numpy()
        assert values.min() >= 0 and values.sum() == pytest.approx(1.0, abs=1e-5)
        loss = ((psf - nnci.tensor(target)) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", [LearnablePSF, DiffractivePSF])
def test_psf_stays_nonnegative_and_normalised_through_training(kind):
    nnci.manual_seed(0)
    module = kind(9) if kind is LearnablePSF else kind(9, jitter=0.5)
    losses = train_psf(module)
    assert losses[-1] < 0.8 * losses[0]


def test_zero_phase_plate_is_the_diffraction_limited_spot():
    psf = DiffractivePSF(15)().detach().numpy()
    assert np.unravel_index(psf.argmax(), psf.shape) == (7, 7)
    np.testing.assert_allclose(psf, psf[::-1, ::-1], atol=1e-7)
    np.testing.assert_allclose(psf, psf.T, atol=1e-7)
    assert 0.1 < psf[7, 7] < 0.5  # spread over a few pixels, not a delta
    with pytest.raises(ValueError, match="odd"):
        LearnablePSF(8)


def doe_psf_in_torch(doe, height):
    """The DOE's PSFs computed in torch with complex numbers, from the formula in HeightMapDOE's docstring."""
    import torch
    aperture = torch.tensor(doe.aperture.numpy(), dtype=torch.float64)
    pupil, fine = height.shape[0], doe.size * doe.oversample
    out = []
    for wavelength, grid in zip(doe.WAVELENGTHS, doe.grids):
        n = 1.4580 + 0.00354 / wavelength ** 2
        field = aperture * torch.exp(1j * 2 * np.pi * (n - 1) * height / wavelength)
        if grid >= pupil:
            before = (grid - pupil) // 2
            placed = torch.zeros(grid, grid, dtype=field.dtype)
            placed[before:before + pupil, before:before + pupil] = field
        else:
            start = (pupil - grid) // 2
            placed = field[start:start + grid, start:start + grid]
        intensity = torch.fft.fftshift(torch.fft.fft2(placed)).abs() ** 2
        start = grid // 2 - fine // 2
        crop = intensity[start:start + fine, start:start + fine]
        pixels = crop.reshape(doe.size, doe.oversample, doe.size, doe.oversample).sum((1, 3))
        out.append(pixels / pixels.sum())
    return torch.stack(out)


@pytest.mark.parametrize("size, oversample, seed", [(9, 3, 0), (7, 1, 1), (11, 3, 2)])
def test_doe_psf_and_its_height_gradient_match_torch(size, oversample, seed):
    import torch
    nnci.manual_seed(seed)
    doe = HeightMapDOE(size, speckle=0.1, oversample=oversample)
    psf = doe()
    weights = np.random.default_rng(seed).standard_normal(psf.shape)
    (psf * nnci.tensor(weights.astype(np.float32))).sum().backward()
    height = torch.tensor(doe.height.detach().numpy().astype(np.float64), requires_grad=True)
    expected = doe_psf_in_torch(doe, height)
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(psf.detach().numpy(), expected.detach().numpy(), atol=2e-6)
    scale = np.abs(height.grad.numpy()).max()
    np.testing.assert_allclose(doe.height.grad.numpy(), height.grad.numpy(), atol=1e-3 * scale)


def test_flat_doe_is_an_airy_spot_per_colour_wider_for_longer_waves():
    assert HeightMapDOE(23).grids == (168, 144, 120)  # 144 samples in green, scaled by 640/550 and 460/550
    psf = HeightMapDOE(15, speckle=0.0)().detach().numpy()
    assert psf.shape == (3, 15, 15)
    np.testing.assert_allclose(psf.sum(axis=(1, 2)), 1, atol=1e-6)
    for colour in psf:
        assert np.unravel_index(colour.argmax(), colour.shape) == (7, 7)
        np.testing.assert_allclose(colour, colour[::-1, ::-1], atol=1e-7)
        np.testing.assert_allclose(colour, colour.T, atol=1e-7)
    red, green, blue = psf[:, 7, 7]
    assert red < green < blue < 1  # diffraction spreads red (640 nm) most, blue (460 nm) least
    speckled = HeightMapDOE(15, speckle=0.1)().detach().numpy()
    assert (speckled[:, 7, 7] < psf[:, 7, 7]).all() and (speckled[:, 0, 0] > psf[:, 0, 0]).all()


def test_doe_penalty_is_the_mean_squared_height_gradient_over_the_aperture():
    doe = HeightMapDOE(9, speckle=0.0)
    assert doe.penalty().item() == 0
    ramp = np.add.outer(np.arange(doe.height.shape[0]), np.zeros(doe.height.shape[0])).astype(np.float32) * 0.01
    doe.height.data = nnci.tensor(ramp)
    inside = doe.aperture.numpy()
    vertical_pairs = (inside[1:] * inside[:-1]).sum()
    assert doe.penalty().item() == pytest.approx(1e-4 * vertical_pairs / inside.sum(), rel=1e-5)
    for bad, message in [(dict(oversample=2), "oversample must be odd"), (dict(speckle=-1), "speckle"),
                         (dict(size=8), "odd")]:
        with pytest.raises(ValueError, match=message):
            HeightMapDOE(**{"size": 9, **bad})


def test_hdr_scene_and_sensor():
    rng = np.random.default_rng(0)
    scene = hdr_scene(load_photo("astronaut", gray=False)[:96, :96], rng, peak=64.0, lights=4)
    assert scene.shape == (3, 96, 96) and scene.dtype == np.float32
    assert 0 <= scene.min() and scene.max() <= 64 and 1 < scene.max() and (scene > 1).mean() < 0.2
    ideal = sensor(nnci.tensor(scene[None]), IdealLens()()).detach().numpy()[0]
    np.testing.assert_array_equal(ideal, np.clip(scene, 0, 1))
    spread = sensor(nnci.tensor(scene[None]), LearnablePSF(11)(), read_noise=0.01).detach().numpy()[0]
    assert spread.min() >= 0 and spread.max() <= 1 and not np.allclose(spread, ideal)
    np.testing.assert_allclose(inverse_tone_map(tone_map(scene)), scene, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tone_map(nnci.tensor(scene)).detach().numpy(), tone_map(scene), rtol=1e-5, atol=1e-6)


# ----- operators and noise models ------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_adjoints_pass_the_dot_product_test(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 4)) * 2 + 1
    shape = (int(rng.integers(1, 3)), 3, int(rng.integers(5, 20)) * 2, int(rng.integers(5, 20)) * 2)
    for physics in (Blur(rng.random((size, size + 2))), BayerMosaic(), Denoising()):
        assert dot_product_test(physics, shape, seed) < 1e-12, physics


def test_a_wrong_adjoint_fails_the_dot_product_test():
    class NotTheAdjoint(Blur):
        def A_adjoint(self, y):
            return self.A(y)  # the convolution again, not the correlation: wrong for an asymmetric PSF

    psf = np.random.default_rng(0).random((5, 5))
    assert dot_product_test(NotTheAdjoint(psf), (1, 2, 12, 12)) > 1e-3


@pytest.mark.parametrize("seed", range(3))
def test_blur_is_a_true_convolution_as_torch_computes_it(seed):
    import torch
    rng = np.random.default_rng(seed)
    psf, x = rng.random((5, 3)), rng.standard_normal((2, 3, 9, 11))
    ours = Blur(psf).A(nnci.tensor(x)).numpy()
    flipped = torch.tensor(psf[::-1, ::-1].copy(), dtype=torch.float64).expand(3, 1, 5, 3)
    expected = torch.nn.functional.conv2d(torch.tensor(x), flipped, padding=(2, 1), groups=3).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="odd-sized"):
        Blur(np.ones((4, 3)))


def test_bayer_mosaic_operator_matches_the_raw_model():
    rgb = np.random.default_rng(0).random((8, 6, 3))
    ours = BayerMosaic().A(nnci.tensor(rgb.transpose(2, 0, 1)[None])).numpy()[0, 0]
    np.testing.assert_allclose(ours, mosaic(rgb), rtol=1e-12)


def test_gaussian_noise_has_the_asked_sigma_on_arrays_and_tensors():
    clean = np.full((4, 1, 200, 200), 0.5, np.float32)
    noisy = GaussianNoise(25)(clean, np.random.default_rng(0))
    assert noisy.dtype == np.float32 and abs((noisy - clean).std() * 255 - 25) < 0.3
    blind = GaussianNoise((0, 55))
    sigmas = blind.sigmas(4, np.random.default_rng(1))
    noisy = blind(nnci.tensor(clean), np.random.default_rng(1)).numpy()  # draws the same sigmas first
    for image, sigma in zip(noisy, sigmas):
        assert abs((image - 0.5).std() * 255 - sigma) < 0.3 + 0.02 * sigma
    nnci.manual_seed(3)
    first = GaussianNoise(10)(nnci.tensor(clean)).numpy()
    nnci.manual_seed(3)
    np.testing.assert_array_equal(first, GaussianNoise(10)(nnci.tensor(clean)).numpy())  # the global generator
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        GaussianNoise(-1)
    with pytest.raises(ValueError, match="low <= high"):
        GaussianNoise((30, 10))


def test_poisson_gaussian_noise_variance():
    clean = np.full((1, 1, 300, 300), 0.25, np.float32)
    noisy = PoissonGaussianNoise(peak=100, read_sigma=5)(clean, np.random.default_rng(0))
    expected = 0.25 / 100 + (5 / 255) ** 2  # shot variance x/peak plus read variance
    assert abs(noisy.var() - expected) / expected < 0.05
    with pytest.raises(ValueError, match="peak must be > 0"):
        PoissonGaussianNoise(0)


def test_physics_forward_adds_the_noise_model_to_A():
    x = nnci.tensor(np.full((1, 1, 64, 64), 0.5))
    y = Denoising(GaussianNoise(20))(x, np.random.default_rng(0)).numpy()
    assert abs(y.std() * 255 - 20) < 1.0
    np.testing.assert_array_equal(Denoising()(x).numpy(), x.numpy())


@pytest.mark.parametrize("sigma", [5, 15, 25, 50, 75])
def test_estimate_sigma_recovers_a_known_noise_level(sigma):
    from nnci.physics import estimate_sigma
    for index, name in enumerate(["camera", "coins", "moon", "astronaut"]):
        clean = load_photo(name)
        noisy = GaussianNoise(sigma)(clean, np.random.default_rng(index))
        assert abs(estimate_sigma(noisy) - sigma) < 2.5 + 0.03 * sigma, name  # fine detail adds up to ~2 at low sigma
    colour = GaussianNoise(sigma)(load_photo("coffee", gray=False), np.random.default_rng(9))
    assert abs(estimate_sigma(colour) - sigma) < 2.5 + 0.03 * sigma
    with pytest.raises(ValueError, match="expected a gray"):
        estimate_sigma(np.zeros((1, 5)))


@pytest.mark.parametrize("seed", range(4))
def test_sqrt_linear_loss_and_its_gradient_match_torch(seed):
    """The RMSE of square roots of linear HDR, through the inverse tone map, against the same formula in torch:
    values and gradients in float64, with estimates below 0 and above the peak (where the clip stops the gradient)."""
    import torch
    from nnci.physics import inverse_tone_map_tensor, sqrt_linear_loss
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 5))))
    peak = float(rng.uniform(2, 100))
    estimate = rng.uniform(-0.1 * peak, 1.2 * peak, shape)
    truth = rng.uniform(0, peak, shape)
    mapped = rng.uniform(-0.2, 1.2, shape)
    ours = nnci.tensor(estimate, requires_grad=True)
    ours_mapped = nnci.tensor(mapped, requires_grad=True)
    loss = sqrt_linear_loss(ours, truth, peak) + sqrt_linear_loss(inverse_tone_map_tensor(ours_mapped, peak), truth,
                                                                  peak)
    loss.backward()

    def reference(x, y):
        root = [(v.clamp(0, peak) + 1e-6).sqrt() for v in (x, y)]
        return ((root[0] - root[1]) ** 2).mean().sqrt()
    theirs = torch.tensor(estimate, requires_grad=True)
    theirs_mapped = torch.tensor(mapped, requires_grad=True)
    linear = peak * torch.expm1(theirs_mapped.clamp(0, 1) * np.log1p(5000.0)) / 5000.0
    expected = reference(theirs, torch.tensor(truth)) + reference(linear, torch.tensor(truth))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_mapped.grad.numpy(), theirs_mapped.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inverse_tone_map_tensor(nnci.tensor(mapped), peak).numpy(),
                               inverse_tone_map(mapped, peak), rtol=1e-5, atol=1e-5)


def test_sqrt_linear_psnr_over_all_pixels_and_a_mask():
    from nnci.physics import sqrt_linear_psnr
    truth = np.full((2, 3, 4, 5), 16.0)
    estimate = truth.copy()
    estimate[0, :, 0, 0] = 9.0  # sqrt: 3 against 4, an error of 1 on 3 of the 120 values
    assert sqrt_linear_psnr(estimate, truth, 64.0) == pytest.approx(10 * np.log10(64 / (3 / 120)))
    mask = np.zeros((2, 1, 4, 5), bool)
    mask[0, 0, 0, :2] = True  # 2 pixels x 3 channels, one of them wrong in every channel
    assert sqrt_linear_psnr(estimate, truth, 64.0, mask) == pytest.approx(10 * np.log10(64 / 0.5))
    assert sqrt_linear_psnr(truth + 100, truth * 0 + 64, 64.0) == float("inf")  # both clipped to the peak
    with pytest.raises(ValueError, match="selects no pixel"):
        sqrt_linear_psnr(estimate, truth, 64.0, np.zeros((2, 1, 4, 5), bool))


@pytest.mark.parametrize("shape", FixedPSF.SHAPES)
@pytest.mark.parametrize("spread", [0.0, 0.01, 0.3, 0.999])
def test_fixed_psf_sums_to_one_holds_the_rest_on_its_centre_and_is_not_trained(shape, spread):
    module = FixedPSF(15, spread, shape)
    psf = module().numpy()
    assert psf.min() >= 0 and psf.sum() == pytest.approx(1.0, abs=1e-6)
    assert psf[7, 7] == pytest.approx(1 - spread, abs=1e-7)
    np.testing.assert_allclose(psf, psf[::-1, ::-1], atol=1e-8)
    np.testing.assert_allclose(psf, psf.T, atol=1e-8)
    assert list(module.parameters()) == [] and not module().requires_grad
    if shape == "streaks" and spread:
        assert psf[3, 5] == 0 and psf[7, 0] > 0 and psf[0, 0] > 0  # off the lines: nothing
    if shape == "gaussian" and spread:
        assert psf[7, 6] > psf[7, 3] > psf[7, 0] > 0
    assert FixedPSF(1, spread, shape)().numpy().tolist() == [[1.0]]  # no room to spread: a delta


def test_fixed_psf_refuses_a_spread_outside_zero_to_one_and_an_unknown_shape():
    for spread in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"spread energy must be in \[0, 1\)"):
            FixedPSF(9, spread)
    with pytest.raises(ValueError, match="shape must be one of"):
        FixedPSF(9, 0.1, "ring")
    with pytest.raises(ValueError, match="odd"):
        FixedPSF(8, 0.1)
