"""nnci denoise: tiling, file formats and bit depths, eval report, bad input, and the shipped weights."""
import json

import numpy as np
import pytest
import skimage.io

import nnci
from nnci.cli import main
from nnci.io import read_image
from nnci.serialization import load_safetensors
from nnci.models import DnCNN, FFDNet, deepen
from nnci.tasks.common import load_model
from nnci.tasks.denoise import SHIPPED, build, denoise_array, shipped_weights


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Small gray and colour models trained for a few steps through the real command line."""
    root = tmp_path_factory.mktemp("models")
    for name, extra in (("gray", []), ("color", ["--color"])):
        assert main(["denoise", "train", "--out", str(root / name), "--epochs", "1", "--patches", "32", "--batch", "16",
                     "--depth", "4", "--width", "8", "--quiet", *extra]) == 0
    return root


def test_tiled_equals_untiled():
    nnci.manual_seed(0)
    model = DnCNN(depth=6, width=8)
    model.eval()
    image = np.random.default_rng(0).random((1, 37, 45)).astype(np.float32)
    whole = denoise_array(model, image)
    tiled = denoise_array(model, image, tile=10)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


@pytest.mark.parametrize("suffix,dtype,color", [(".png", np.uint8, False), (".tif", np.uint16, False),
                                                (".png", np.uint8, True), (".jpg", np.uint8, False)])
def test_run_keeps_format_bit_depth_and_size(tmp_path, tiny, suffix, dtype, color):
    rng = np.random.default_rng(1)
    top = np.iinfo(dtype).max
    shape = (30, 41, 3) if color else (30, 41)
    source = tmp_path / f"in{suffix}"
    skimage.io.imsave(source, (rng.random(shape) * top).astype(dtype), check_contrast=False)
    target = tmp_path / f"out{suffix}"
    weights = tiny / ("color" if color else "gray") / "model.safetensors"
    assert main(["denoise", "run", str(source), "-o", str(target), "--weights", str(weights), "--tile", "16"]) == 0
    written = skimage.io.imread(target)
    assert written.dtype == dtype and written.shape == shape


def test_run_takes_folders_keeps_alpha_and_names_the_outputs(tmp_path, tiny, capsys):
    rng = np.random.default_rng(2)
    folder = tmp_path / "in"
    folder.mkdir()
    rgba = (rng.random((24, 30, 4)) * 255).astype(np.uint8)
    write_png(folder / "a.png", rgba)
    write_png(folder / "b.png", (rng.random((20, 21)) * 255).astype(np.uint8))
    (folder / "notes.txt").write_text("not an image: skipped by the folder listing")
    weights = str(tiny / "gray" / "model.safetensors")
    assert main(["denoise", "run", str(folder), "-o", str(tmp_path / "out"), "--weights", weights]) == 0
    written = skimage.io.imread(tmp_path / "out" / "a_denoised.png")
    assert written.shape == (24, 30, 4)
    np.testing.assert_array_equal(written[..., 3], rgba[..., 3])  # alpha kept exactly
    assert skimage.io.imread(tmp_path / "out" / "b_denoised.png").shape == (20, 21)
    assert main(["denoise", "run", str(folder / "a.png"), "-o", str(tmp_path / "a.jpg"), "--weights", weights]) == 1
    assert "JPEG cannot store the input's alpha" in capsys.readouterr().err
    assert not (tmp_path / "a.jpg").exists()


def test_python_api_does_what_the_command_line_does(tmp_path, tiny, capsys):
    from nnci.tasks import denoise
    small = dict(epochs=1, patches=32, batch=16, depth=4, width=8)
    model = denoise.train(progress=False, **small)
    assert not model.training and model.task_config["depth"] == 4
    loaded = denoise.load(tiny / "gray" / "model.safetensors")
    image = np.random.default_rng(0).random((21, 30)).astype(np.float32)
    single = denoise.apply(loaded, image, tile=16)
    assert single.shape == image.shape
    both = denoise.apply(loaded, [image, np.stack([image] * 3, axis=2)])
    np.testing.assert_allclose(both[0], single, atol=1e-5)  # tiles with margins change nothing
    np.testing.assert_allclose(both[1][..., 2], single, atol=1e-5)  # a gray model on R, G and B one by one
    result = denoise.evaluate(loaded, [25], out=tmp_path)
    assert main(["denoise", "eval", "--weights", str(tiny / "gray" / "model.safetensors"), "--sigma", "25",
                 "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    with pytest.raises(denoise.UserError, match=r"lr: expected a number in \[0, 10\], got -1"):
        denoise.train(lr=-1)
    with pytest.raises(denoise.UserError, match="unknown option learning_rate"):
        denoise.train(learning_rate=0.1)
    with pytest.raises(TypeError, match="config must be a nnci.tasks.denoise.Config"):
        denoise.train(config={"lr": 0.1})


def test_resume_restores_the_settings_and_refuses_conflicts(tmp_path, capsys):
    from nnci.tasks import denoise
    out = tmp_path / "run"
    argv = ["denoise", "train", "--out", str(out), "--epochs", "2", "--patches", "32", "--batch", "16", "--depth", "3",
            "--width", "4", "--lr", "0.002", "--quiet"]
    assert main(argv) == 0
    (out / "model.safetensors").unlink()  # as if it had stopped before the end; the checkpoint stays
    cases = [(["--depth", "5"], "--depth 5 conflicts with the run being resumed in"),
             (["--no-residual"], "--no-residual conflicts with the run being resumed in " + str(out) + ", which has no --no-residual"),
             (["--lr", "0.01"], "--lr 0.01 conflicts with the run being resumed in " + str(out) + ", which has 0.002")]
    for extra, message in cases:
        assert main(["denoise", "train", "--out", str(out), "--resume", *extra]) == 1
        assert message in capsys.readouterr().err
    assert main(["denoise", "train", "--out", str(out), "--epochs", "1"]) == 1  # no silent wipe of the run
    assert "holds an interrupted run" in capsys.readouterr().err
    assert main(["denoise", "train", "--out", str(out), "--resume", "--minutes", "5", "--quiet"]) == 0  # budget may change
    settings = json.loads((out / "settings.json").read_text())["settings"]
    assert (settings["depth"], settings["lr"], settings["epochs"]) == (3, 0.002, 2)
    with pytest.raises(denoise.UserError, match="no run to continue"):
        denoise.train(out=tmp_path / "empty", resume=True)


@pytest.mark.parametrize("height, width", [(37, 45), (20, 33)])
def test_ffdnet_sees_the_noise_map_handles_odd_sizes_and_tiles_exactly(height, width):
    from nnci.models import FFDNet
    from nnci.tasks.denoise import receptive_radius
    nnci.manual_seed(height)
    model = FFDNet(1, depth=5, width=8)
    model.eval()
    image = np.random.default_rng(height).random((1, height, width)).astype(np.float32)
    whole = denoise_array(model, image, sigma=20)
    assert whole.shape == image.shape
    np.testing.assert_allclose(denoise_array(model, image, tile=12, sigma=20), whole, atol=1e-5)
    assert np.abs(denoise_array(model, image, sigma=60) - whole).max() > 1e-4  # the map changes the output
    assert receptive_radius(model) == 12
    with pytest.raises(ValueError, match="needs the noise level"):
        denoise_array(model, image)


def test_ffdnet_trains_blind_with_synthetic_patches_and_estimates_sigma_in_run(tmp_path, capsys):
    from nnci.tasks import denoise
    out = tmp_path / "ffdnet"
    assert main(["denoise", "train", "--model", "ffdnet", "--blind", "--out", str(out), "--epochs", "1", "--patches",
                 "32", "--synthetic", "0.5", "--batch", "16", "--depth", "3", "--width", "8", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["model"], config["sigma_range"], config["synthetic"]) == ("ffdnet", [0.0, 75.0], 0.5)
    clean = np.random.default_rng(0).random((40, 50)).astype(np.float32)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 30 / 255, clean.shape), 0, 1)
    write_png(tmp_path / "noisy.png", (noisy * 255).round().astype(np.uint8))
    capsys.readouterr()
    assert main(["denoise", "run", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "d.png"), "--weights",
                 str(out / "model.safetensors")]) == 0
    assert "estimated noise sigma" in capsys.readouterr().out
    model = denoise.load(out / "model.safetensors")
    np.testing.assert_array_equal(denoise.apply(model, noisy, sigma=30), denoise.apply(model, noisy, sigma=30.0))
    with pytest.raises(denoise.UserError, match="outside the range"):
        denoise.evaluate(denoise.load(denoise.shipped_weights("dncnn_blind")), [60])  # the blind DnCNN stops at 55
    assert isinstance(denoise.load(None), FFDNet)  # the shipped default for any sigma but 25: blind up to 75


def test_eval_reports_model_and_baselines(tmp_path, tiny, capsys):
    weights = tiny / "gray" / "model.safetensors"
    assert main(["denoise", "eval", "--weights", str(weights), "--sigma", "25", "--json", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"psnr_sigma25", "ssim_sigma25"} <= set(result["model"])
    gaussian = result["baselines"]["gaussian filter (best width)"]["psnr_sigma25"]
    assert gaussian > result["baselines"]["noisy"]["psnr_sigma25"] + 3
    try:
        import bm3d  # noqa: F401
        assert "bm3d" in result["baselines"]
    except ImportError:
        assert result["bm3d"].startswith("absent")
    assert (tmp_path / "denoise_comparison.png").exists()


def test_a_colour_model_is_evaluated_on_colour_photos_against_cbm3d(monkeypatch):
    from nnci.tasks import denoise
    model = denoise.build({"model": "ffdnet", "channels": 3, "depth": 3, "width": 8, "batch_norm": False,
                           "residual": True})
    model.task_config = {"channels": 3}
    seen = []

    def spy(noisy, sigma):  # stands in for CBM3D: records what eval hands it, returns the input unchanged
        seen.append((noisy.shape, sigma))
        return noisy
    monkeypatch.setattr(denoise, "bm3d_denoise", spy)
    result = denoise.evaluate(model, [25])
    photos = denoise.load_photos("test", gray=False)
    assert [shape for shape, _ in seen] == [photo.shape for photo in photos.values()]
    assert all(len(shape) == 3 and shape[2] == 3 for shape, _ in seen) and {s for _, s in seen} == {25.0}
    assert result["baselines"]["cbm3d"]["psnr_sigma25"] == pytest.approx(result["baselines"]["noisy"]["psnr_sigma25"])
    assert "bm3d" not in result["baselines"] and set(result["psnr_per_photo"]["sigma25"]) == set(photos)


def test_bm3d_takes_the_colour_version_for_rgb_images():
    from nnci.tasks import denoise
    bm3d = pytest.importorskip("bm3d", reason="the optional bm3d extra is not installed")
    rng = np.random.default_rng(0)
    clean = np.clip(rng.random((1, 1, 3)) + 0.05 * rng.standard_normal((32, 32, 3)), 0, 1).astype(np.float32)
    noisy = clean + 0.1 * rng.standard_normal(clean.shape).astype(np.float32)
    ours, theirs = denoise.bm3d_denoise(noisy, 25.5), bm3d.bm3d_rgb(noisy, sigma_psd=25.5 / 255.0)
    assert ours.shape == (32, 32, 3)
    np.testing.assert_allclose(ours, theirs, atol=1e-3)  # bm3d's own runs differ by ~1e-5
    assert denoise.bm3d_denoise(noisy[..., 0], 25.5).shape == (32, 32)


def write_png(path, array):
    skimage.io.imsave(path, array, check_contrast=False)
    return path


def test_bad_input_gets_one_line_and_nothing_is_overwritten(tmp_path, tiny, capsys):
    gray = str(tiny / "gray" / "model.safetensors")
    color = str(tiny / "color" / "model.safetensors")
    good = write_png(tmp_path / "good.png", np.zeros((20, 20), np.uint8))
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:40])
    rgb = write_png(tmp_path / "rgb.png", np.zeros((20, 20, 3), np.uint8))
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"keep me")
    cases = [
        (["denoise", "run", str(text), "-o", str(tmp_path / "o1.png"), "--weights", gray], "notes.png: cannot read"),
        (["denoise", "run", str(truncated), "-o", str(tmp_path / "o2.png"), "--weights", gray], "cut.png: cannot read"),
        (["denoise", "run", str(tmp_path / "absent.png"), "-o", str(tmp_path / "o3.png"), "--weights", gray],
         "absent.png: no such file or folder"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "missing-dir" / "o.png"), "--weights", gray],
         "does not exist"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "o5.png"), "--weights", color], "the image is gray"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "o5.xyz"), "--weights", gray], "unknown image format"),
        (["denoise", "run", str(good), str(rgb), "-o", str(existing), "--weights", gray], "2 inputs need a folder"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "o7.jpg"), "--weights", gray, "--sigma", "15"],
         "trained for sigma 25, not 15"),
        (["denoise", "run", str(good), "-o", str(existing), "--weights", gray], "use --force"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "o6.png"), "--weights", str(text)], "notes.png"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "o1.png").exists() and not (tmp_path / "o5.png").exists()
    with pytest.raises(SystemExit) as exit_info:  # refused while parsing, before anything is read
        main(["denoise", "run", str(good), "-o", str(tmp_path / "o4.png"), "--sigma", "80", "--weights", gray])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --sigma: expected a number in [0, 75], got 80" in err and len(err.strip().splitlines()) == 1


def test_train_on_a_user_folder_and_direct_mapping(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        write_png(folder / f"p{i}.png", (rng.random((60, 70, 3)) * 255).astype(np.uint8))
    out = tmp_path / "direct"
    assert main(["denoise", "train", "--data", str(folder), "--no-residual", "--out", str(out), "--epochs", "1",
                 "--patches", "16", "--batch", "8", "--depth", "3", "--width", "4", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["residual"] is False and config["data"] == str(folder)
    assert main(["denoise", "train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_fine_tuning_starts_from_the_given_weights(tmp_path, tiny, capsys):
    """--init takes the architecture and the weights of a trained model; a zero learning rate changes nothing."""
    out = tmp_path / "tuned"
    assert main(["denoise", "train", "--init", str(tiny / "gray" / "model.safetensors"), "--out", str(out), "--lr", "0",
                 "--epochs", "1", "--patches", "16", "--batch", "8", "--sampling", "area", "--quiet"]) == 0
    start, tuned = (load_safetensors(path / "model.safetensors") for path in (tiny / "gray", out))
    weights = [key for key in start if "running" not in key and "num_batches" not in key]
    assert weights and all(np.array_equal(start[key].detach().numpy(), tuned[key].detach().numpy()) for key in weights)
    config = json.loads((out / "config.json").read_text())
    assert (config["depth"], config["width"], config["sampling"]) == (4, 8, "area")
    assert main(["denoise", "train", "--init", str(tiny / "gray" / "model.safetensors"), "--color",
                 "--out", str(tmp_path / "c")]) == 1
    assert "channels=1" in capsys.readouterr().err


@pytest.mark.parametrize("depth, deeper", [(2, 4), (5, 9), (6, 7)])
def test_deepen_keeps_the_function_in_eval_mode(depth, deeper):
    rng = np.random.default_rng(depth)
    nnci.manual_seed(depth)
    model = DnCNN(1, depth=depth, width=6)
    model.train()
    for _ in range(3):  # running statistics away from their initial 0 / 1
        model(nnci.tensor(rng.random((4, 1, 12, 12)).astype(np.float32)))
    grown = deepen(model, deeper, nnci.tensor(rng.random((4, 1, 12, 12)).astype(np.float32)))
    assert grown.depth == deeper and len(grown.layers) == len(DnCNN(1, depth=deeper, width=6).layers)
    assert grown.training and model.training
    grown.eval()
    model.eval()
    x = nnci.tensor(rng.random((2, 1, 9, 14)).astype(np.float32))  # not the sample: the identity holds for any input
    with nnci.no_grad():
        np.testing.assert_allclose(grown(x).detach().numpy(), model(x).detach().numpy(), atol=1e-5)
    DnCNN(1, depth=deeper, width=6).load_state_dict(grown.state_dict())  # the keys of a fresh model of that depth
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    grown.train()
    grown(x)  # updates the grown model's running statistics, and only its own
    assert all(np.array_equal(before[k], v.detach().numpy()) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="smaller"):
        deepen(model, depth - 1, x)


def test_fine_tuning_can_deepen_the_model(tmp_path, tiny):
    out = tmp_path / "deeper"
    assert main(["denoise", "train", "--init", str(tiny / "gray" / "model.safetensors"), "--depth", "6",
                 "--out", str(out), "--epochs", "1", "--patches", "16", "--batch", "8", "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["depth"] == 6
    model, config = load_model(out / "model.safetensors", "denoise", build)
    assert model.depth == 6 and denoise_array(model, np.zeros((1, 20, 24), np.float32)).shape == (1, 20, 24)


def test_shipped_weights_are_packaged():
    for kind in SHIPPED:
        assert shipped_weights(kind).exists(), kind


def test_shipped_weights_denoise_the_demo_photo(tmp_path, capsys):
    assert main(["denoise", "demo", "-o", str(tmp_path / "demo.png")]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    before, after = (float(part.split(" dB")[0].split()[-1]) for part in line.split("->"))
    assert after > before + 8
    image, info = read_image(tmp_path / "demo.png")
    assert info["channels"] == 3 and image.shape[1] > image.shape[0]


def test_run_takes_the_colour_model_for_rgb_and_the_gray_one_for_gray_images(tmp_path, capsys):
    from nnci.data import load_photo
    from nnci.metrics import psnr
    clean = load_photo("coffee", gray=False)[:96, :128]
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape), 0, 1)
    folder = tmp_path / "in"
    folder.mkdir()
    skimage.io.imsave(folder / "rgb.png", (noisy * 255).round().astype(np.uint8), check_contrast=False)
    skimage.io.imsave(folder / "gray.png", (noisy[..., 1] * 255).round().astype(np.uint8), check_contrast=False)
    assert main(["denoise", "run", str(folder), "-o", str(tmp_path / "out"), "--sigma", "25"]) == 0
    lines = {line.split(" -> ")[0].rsplit("/", 1)[-1]: line for line in capsys.readouterr().out.splitlines()}
    assert f"weights {SHIPPED['color']}" in lines["rgb.png"] and "each of R, G, B" not in lines["rgb.png"]
    assert f"weights {SHIPPED['blind']}" not in lines["rgb.png"] and "weights dncnn_gray_sigma25" in lines["gray.png"]
    colour = skimage.io.imread(tmp_path / "out" / "rgb_denoised.png") / 255.0
    assert colour.shape == clean.shape and psnr(colour, clean) > psnr(noisy, clean) + 4
    # a gray model given with --weights still denoises R, G and B one by one
    assert main(["denoise", "run", str(folder / "rgb.png"), "-o", str(tmp_path / "gray_model.png"), "--sigma", "25",
                 "--weights", str(shipped_weights("blind"))]) == 0
    assert "each of R, G, B" in capsys.readouterr().out
    per_channel = skimage.io.imread(tmp_path / "gray_model.png") / 255.0
    assert psnr(per_channel, clean) > psnr(noisy, clean) + 4


def test_self_ensemble_undoes_each_symmetry_and_helps_the_shipped_model(tmp_path, capsys):
    from nnci.data import load_photo
    from nnci.data.patches import dihedral, inverse_dihedral
    from nnci.metrics import psnr
    x = np.random.default_rng(0).standard_normal((2, 5, 7))
    for k in range(8):
        np.testing.assert_array_equal(inverse_dihedral(dihedral(x, k), k), x)
    clean = load_photo("camera")[100:228, 200:328]
    noisy = (clean + np.random.default_rng(1).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    noisy_path = tmp_path / "noisy.png"
    skimage.io.imsave(noisy_path, (np.clip(noisy, 0, 1) * 65535).round().astype(np.uint16), check_contrast=False)
    scores = []
    for extra in ([], ["--self-ensemble"]):
        out = tmp_path / f"out{len(extra)}.png"
        assert main(["denoise", "run", str(noisy_path), "-o", str(out), "--sigma", "25", *extra]) == 0
        scores.append(psnr(read_image(out)[0], clean))
    assert scores[1] > scores[0] + 0.05
