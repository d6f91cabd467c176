"""nnci isp and nnci hdr end to end: short training runs, the eval contract, run, the Python API, bad input."""
import json

import numpy as np
import pytest
import skimage.io

import nnci
from nnci.cli import main
from nnci.io import write_image
from nnci.serialization import load_safetensors
from nnci.data import load_photo

CONTRACT = ("model.safetensors", "config.json", "history.json", "loss.png")


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def isp_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("isp")
    assert main(["isp", "train", "--out", str(out), "--count", "256", "--epochs", "12", "--width", "8",
                 "--patch", "32", "--lr", "3e-3", "--quiet"]) == 0
    return out


def test_isp_short_training_beats_the_classical_pipeline_at_every_ratio(isp_model, tmp_path, monkeypatch, capsys):
    assert all((isp_model / name).exists() for name in CONTRACT)
    config = json.loads((isp_model / "config.json").read_text())
    assert (config["input_channels"], config["input_size"]) == (4, 16)  # what export feeds: packed raw
    monkeypatch.chdir(tmp_path)
    result = run_json(capsys, ["isp", "eval", "--weights", str(isp_model / "model.safetensors"), "--json"])
    classical = result["baselines"]["classical pipeline"]
    for ratio in (100, 250, 300):
        assert result["model"][f"psnr_x{ratio}"] > classical[f"psnr_x{ratio}"]
        assert 0 < classical[f"ssim_x{ratio}"] < result["model"][f"ssim_x{ratio}"] <= 1
    assert classical["psnr_x100"] > classical["psnr_x300"]  # more amplification, more noise
    assert (tmp_path / "isp.png").read_bytes()[:4] == b"\x89PNG"  # the working directory, not beside the weights
    assert not (isp_model / "isp.png").exists()


def test_isp_run_keeps_the_input_size_and_alpha_and_refuses_bad_input(isp_model, tmp_path, capsys):
    image = tmp_path / "scene.png"
    write_image(image, load_photo("coffee", gray=False)[:75, :93])  # not multiples of the network's 8
    output = tmp_path / "out.png"
    weights = str(isp_model / "model.safetensors")
    assert main(["isp", "run", str(image), "-o", str(output), "--weights", weights, "--ratio", "250",
                 "--classical"]) == 0
    assert skimage.io.imread(output).shape == (75, 93, 3)  # padded for the network, cropped back
    assert skimage.io.imread(tmp_path / "out_classical.png").shape == (75, 93, 3)
    assert "learned ISP" in capsys.readouterr().out
    assert main(["isp", "run", str(image), "-o", str(output), "--weights", weights]) == 1
    assert "--force" in capsys.readouterr().err
    folder = tmp_path / "many"
    folder.mkdir()
    rgba = np.random.default_rng(0).integers(0, 256, (20, 26, 4), dtype=np.uint8)
    skimage.io.imsave(folder / "a.png", rgba, check_contrast=False)
    write_image(folder / "b.png", load_photo("camera")[:33, :40])  # gray: processed as RGB
    assert main(["isp", "run", str(folder), "-o", str(tmp_path / "bright"), "--weights", weights, "--quiet"]) == 0
    written = skimage.io.imread(tmp_path / "bright" / "a_isp.png")
    assert written.shape == (20, 26, 4)
    np.testing.assert_array_equal(written[..., 3], rgba[..., 3])  # alpha kept
    assert skimage.io.imread(tmp_path / "bright" / "b_isp.png").shape == (33, 40, 3)
    fake = tmp_path / "photo.dng"
    fake.write_bytes(b"not a raw file")
    assert main(["isp", "run", str(fake), "-o", str(tmp_path / "x.png"), "--weights", weights]) == 1
    error = capsys.readouterr().err
    assert "photo.dng" in error and ("rawpy" in error or "raw file" in error)
    assert main(["isp", "run", str(image), "-o", str(tmp_path / "x.webp"), "--weights", weights]) == 1
    assert "unknown image format" in capsys.readouterr().err


def test_isp_python_api(isp_model, tmp_path, capsys):
    from nnci.tasks import isp
    tiny = dict(count=16, epochs=1, width=4, patch=16, batch=8)
    model = isp.train(progress=False, **tiny)
    assert not model.training and model.task_config["input_size"] == 8
    out = tmp_path / "run"
    trained = isp.train(out=out, progress=False, **tiny)
    loaded = isp.load(out / "model.safetensors")
    photo = load_photo("coffee", gray=False)[:37, :45]
    mosaic = np.random.default_rng(1).uniform(0, 0.01, (30, 41)).astype(np.float32)
    single = isp.apply(loaded, photo, ratio=200, seed=3)
    assert single.shape == (37, 45, 3) and 0 <= single.min() and single.max() <= 1
    np.testing.assert_allclose(isp.apply(trained, photo, ratio=200, seed=3), single, atol=1e-5)  # load round-trips
    both = isp.apply(loaded, [photo, mosaic], ratio=200, seed=3)
    assert [image.shape for image in both] == [(37, 45, 3), (30, 41, 3)]
    np.testing.assert_allclose(both[0], single, atol=1e-6)
    with pytest.raises(isp.UserError, match="--width 8 conflicts with the run being resumed in .*, which has 4"):
        isp.train(out=out, resume=True, width=8)
    with pytest.raises(isp.UserError, match=r"lr: expected a number in \[0, 10\], got -1"):
        isp.train(lr=-1)
    with pytest.raises(isp.UserError, match="unknown option ratio"):
        isp.train(ratio=100)
    with pytest.raises(isp.UserError, match="multiple of 8"):
        isp.train(patch=12)
    with pytest.raises(isp.UserError, match="ratio: expected a number in"):
        isp.apply(loaded, photo, ratio=0)
    with pytest.raises(isp.UserError, match=r"got an array of shape \(4, 5, 2\)"):
        isp.apply(loaded, np.zeros((4, 5, 2)))
    weights = isp_model / "model.safetensors"
    result = isp.evaluate(isp.load(weights), out=tmp_path)
    assert main(["isp", "eval", "--weights", str(weights), "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result


def test_hdr_trains_both_optics_and_reports_saturated_regions(tmp_path, monkeypatch, capsys):
    out = tmp_path / "hdr"
    assert main(["hdr", "train", "--out", str(out), "--count", "48", "--epochs", "2", "--width", "4",
                 "--psf-size", "9", "--patch", "32", "--quiet"]) == 0
    assert all((out / name).exists() for name in CONTRACT)
    assert (out / "ideal-lens" / "model.safetensors").exists()
    logits = load_safetensors(out / "model.safetensors")["optics.logits"]
    assert logits.shape == (9, 9)
    psf = np.exp(logits - logits.max())
    psf /= psf.sum()
    assert abs(psf[4, 4] - 0.9) > 1e-4  # trained: the centre no longer holds its initial 0.9 of the energy
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json"])
    assert set(result["baselines"]) == {"ideal lens + U-Net", "clipped capture, ideal lens, no network"}
    for scores in [result["model"], *result["baselines"].values()]:
        assert scores["tm_psnr"] > scores["tm_psnr_saturated"] > 0
    assert 0 < result["model"]["saturated_fraction"] < 0.2
    assert (tmp_path / "hdr.png").exists() and not (out / "hdr.png").exists()
    scene = tmp_path / "scene.npy"
    np.save(scene, np.random.default_rng(0).uniform(0, 8, (40, 44, 3)).astype(np.float32))
    weights = str(out / "model.safetensors")
    assert main(["hdr", "run", str(scene), "--weights", weights, "-o", str(tmp_path / "run"), "--capture"]) == 0
    hdr = np.load(tmp_path / "run" / "scene_hdr.npy")
    assert hdr.shape == (40, 44, 3) and hdr.max() <= 64
    assert skimage.io.imread(tmp_path / "run" / "scene_hdr.png").shape == (40, 44, 3)
    assert skimage.io.imread(tmp_path / "run" / "scene_hdr_capture.png").shape == (40, 44, 3)
    assert main(["hdr", "run", str(scene), "--weights", weights, "-o", str(tmp_path / "run")]) == 1
    assert "--force" in capsys.readouterr().err
    photo = tmp_path / "photo.png"
    write_image(photo, load_photo("coffee", gray=False)[:45, :50])
    assert main(["hdr", "run", str(photo), "--weights", weights, "-o", str(tmp_path / "photo_hdr.tif")]) == 0
    assert skimage.io.imread(tmp_path / "photo_hdr.tif").shape == (45, 50, 3)
    assert np.load(tmp_path / "photo_hdr.npy").shape == (45, 50, 3)
    np.save(scene, np.zeros((4, 5)))
    assert main(["hdr", "run", str(scene), "--weights", weights, "-o", str(tmp_path / "bad")]) == 1
    assert "(4, 5)" in capsys.readouterr().err
    np.save(scene, np.ones((6, 30, 3)))
    assert main(["hdr", "run", str(scene), "--weights", weights, "-o", str(tmp_path / "bad"), "--force"]) == 1
    assert "too small for this model (at least 9x9" in capsys.readouterr().err


def test_hdr_python_api_trains_both_models_and_resumes_the_baseline(tmp_path, capsys):
    from nnci.tasks import hdr
    tiny = dict(count=16, epochs=1, width=4, psf_size=9, patch=32)
    alone = hdr.train(progress=False, baseline=False, **tiny)
    assert not alone.training and alone.baseline is None and alone.task_config["input_channels"] == 3
    out = tmp_path / "run"
    model = hdr.train(out=out, progress=False, **tiny)
    assert model.baseline is not None and model.baseline.task_config["optics"] == "ideal"
    assert "baseline." not in " ".join(model.state_dict())  # the baseline is not part of the model's weights
    loaded = hdr.load(out / "model.safetensors")
    scene = np.random.default_rng(0).uniform(0, 8, (40, 44, 3)).astype(np.float32)
    single = hdr.apply(loaded, scene, seed=1)
    assert single.shape == (40, 44, 3) and single.max() <= 64
    np.testing.assert_allclose(hdr.apply(model, scene, seed=1), single, atol=1e-4)  # load round-trips
    assert [s.shape for s in hdr.apply(loaded, [scene, scene[:33, :37]])] == [(40, 44, 3), (33, 37, 3)]
    result = hdr.evaluate(loaded, out=tmp_path)
    assert main(["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert "ideal lens + U-Net" in result["baselines"]
    # interrupted during the baseline: --resume continues it from its own checkpoint, the optics model stands
    before = load_safetensors(out / "model.safetensors")
    (out / "ideal-lens" / "model.safetensors").unlink()
    hdr.train(out=out, resume=True, progress=False)
    assert f"resumed from {out / 'ideal-lens' / 'checkpoint.safetensors'}" in capsys.readouterr().out
    assert (out / "ideal-lens" / "model.safetensors").exists()
    after = load_safetensors(out / "model.safetensors")
    assert all(np.array_equal(before[key], after[key]) for key in before)
    with pytest.raises(hdr.UserError, match="--width 8 conflicts with the run being resumed in .*, which has 4"):
        hdr.train(out=out, resume=True, width=8)
    with pytest.raises(hdr.UserError, match="already exists"):
        hdr.train(out=out, **tiny)
    stale = tmp_path / "stale"
    (stale / "ideal-lens").mkdir(parents=True)
    (stale / "ideal-lens" / "checkpoint.safetensors").write_bytes(b"")
    with pytest.raises(hdr.UserError, match="ideal-lens baseline of an earlier run"):
        hdr.train(out=stale, **tiny)
    with pytest.raises(hdr.UserError, match=r"lr: expected a number in \[0, 10\], got -1"):
        hdr.train(lr=-1)
    with pytest.raises(hdr.UserError, match="unknown option lights"):
        hdr.train(lights=3)
    with pytest.raises(hdr.UserError, match="optics: expected one of learned, diffractive, ideal"):
        hdr.train(optics="pinhole")
    with pytest.raises(hdr.UserError, match="too small for this model"):
        hdr.apply(loaded, scene[:8, :20])
    with pytest.raises(hdr.UserError, match=r"got an array of shape \(3, 40, 44\)"):
        hdr.apply(loaded, scene.transpose(2, 0, 1))


def test_hdr_with_a_diffractive_phase_plate(tmp_path, capsys):
    out = tmp_path / "doe"
    assert main(["hdr", "train", "--out", str(out), "--optics", "diffractive", "--no-baseline", "--count", "32",
                 "--epochs", "2", "--width", "4", "--psf-size", "9", "--patch", "32", "--quiet"]) == 0
    assert not (out / "ideal-lens").exists()
    phase = load_safetensors(out / "model.safetensors")["optics.phase"]
    assert phase.shape == (20, 20) and np.abs(phase).max() > 0  # the plate learned a non-flat phase
    capsys.readouterr()
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json",
                               "--out", str(tmp_path)])
    assert result["optics"] == "diffractive" and "ideal lens + U-Net" not in result["baselines"]
    assert "note" in result


def test_hdr_with_a_height_map_doe_seen_in_three_colours(tmp_path, capsys):
    from nnci.tasks import hdr
    out = tmp_path / "doe"
    assert main(["hdr", "train", "--out", str(out), "--optics", "doe", "--speckle", "0.1", "--smoothness", "10",
                 "--loss", "sqrt-linear", "--optics-warmup", "0", "--no-baseline", "--count", "32", "--epochs", "2",
                 "--width", "4", "--psf-size", "9", "--patch", "32", "--quiet"]) == 0
    model = hdr.load(out / "model.safetensors")
    nnci.manual_seed(0)  # the run's seed: build draws the same speckle the run began from
    start = hdr.build({**model.task_config})
    assert model.optics.height.shape == (60, 60) and model.optics().shape == (3, 9, 9)
    moved = np.abs(model.optics.height.detach().numpy() - start.optics.height.detach().numpy()).max()
    assert 0 < moved < 0.01  # 4 Adam steps of at most lr 2e-3 from that start (the speckle itself has sd 0.1 um)
    unpenalised = hdr.train(optics="doe", speckle=0.1, loss="sqrt-linear", optics_warmup=0, baseline=False, count=32,
                            epochs=2, width=4, psf_size=9, patch=32, progress=False)
    assert model.optics.penalty().item() < unpenalised.optics.penalty().item() - 1e-3  # the smoothness term worked
    capsys.readouterr()
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json",
                               "--out", str(tmp_path)])
    assert result["optics"] == "doe" and (tmp_path / "hdr.png").exists()
    with pytest.raises(hdr.UserError, match="--smoothness 1: .* --optics doe .got --optics learned"):
        hdr.train(out=tmp_path / "refused", optics="learned", smoothness=1, epochs=1, count=4, progress=False)
    assert not (tmp_path / "refused").exists()


def test_hdr_with_a_fixed_psf_and_the_sqrt_linear_loss(tmp_path, capsys):
    from nnci.tasks import hdr
    out = tmp_path / "fixed"
    assert main(["hdr", "train", "--out", str(out), "--optics", "fixed", "--spread", "0.1", "--spread-shape",
                 "streaks", "--loss", "sqrt-linear", "--no-baseline", "--count", "32", "--epochs", "2", "--width", "4",
                 "--psf-size", "9", "--patch", "32", "--quiet"]) == 0
    psf = load_safetensors(out / "model.safetensors")["optics.psf"]
    assert psf.shape == (9, 9) and psf[4, 4] == pytest.approx(0.9) and psf.sum() == pytest.approx(1, abs=1e-6)
    assert psf[0, 0] > 0 and psf[1, 2] == 0  # streaks through the centre, and never trained away from them
    model = hdr.load(out / "model.safetensors")
    assert model.task_config["spread"] == 0.1 and list(model.optics.parameters()) == []
    capsys.readouterr()
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json",
                               "--out", str(tmp_path)])
    assert result["optics"] == "fixed"
    for scores in [result["model"], *result["baselines"].values()]:
        assert scores["sqrt_psnr"] > scores["sqrt_psnr_saturated"] > 0
    for bad, message in [(dict(spread=1), r"spread: expected a number in \[0, 1\), got 1"),
                         (dict(spread=-0.01), r"spread: expected a number in \[0, 1\]"),
                         (dict(spread="a lot"), "spread: expected a number"),
                         (dict(spread_shape="ring"), "spread_shape: expected one of gaussian, streaks, got 'ring'"),
                         (dict(loss="l2"), "loss: expected one of tone-mapped, sqrt-linear, got 'l2'")]:
        with pytest.raises(hdr.UserError, match=message):
            hdr.train(optics="fixed", **bad)
    with pytest.raises(SystemExit) as exit:
        main(["hdr", "train", "--optics", "fixed", "--spread", "1"])
    assert exit.value.code == 2
    assert "--spread: expected a number in [0, 1), got 1" in capsys.readouterr().err
