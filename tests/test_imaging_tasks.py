"""nnci isp and nnci hdr end to end: short training runs, the eval contract, run, and bad input."""
import json

import numpy as np
import pytest

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


def test_isp_short_training_beats_the_classical_pipeline_at_every_ratio(isp_model, capsys):
    assert all((isp_model / name).exists() for name in CONTRACT)
    result = run_json(capsys, ["isp", "eval", "--weights", str(isp_model / "model.safetensors"), "--json"])
    classical = result["baselines"]["classical pipeline"]
    for ratio in (100, 250, 300):
        assert result["model"][f"psnr_x{ratio}"] > classical[f"psnr_x{ratio}"]
        assert 0 < classical[f"ssim_x{ratio}"] < result["model"][f"ssim_x{ratio}"] <= 1
    assert classical["psnr_x100"] > classical["psnr_x300"]  # more amplification, more noise
    assert (isp_model / "isp.png").read_bytes()[:4] == b"\x89PNG"


def test_isp_run_simulates_from_an_image_and_refuses_bad_input(isp_model, tmp_path, capsys):
    image = tmp_path / "scene.png"
    write_image(image, load_photo("coffee", gray=False)[:80, :96])
    output = tmp_path / "out.png"
    weights = str(isp_model / "model.safetensors")
    assert main(["isp", "run", str(image), "-o", str(output), "--weights", weights, "--ratio", "250"]) == 0
    assert output.exists() and (tmp_path / "out_classical.png").exists()
    assert "learned ISP" in capsys.readouterr().out
    assert main(["isp", "run", str(image), "-o", str(output), "--weights", weights]) == 1
    assert "--force" in capsys.readouterr().err
    fake = tmp_path / "photo.dng"
    fake.write_bytes(b"not a raw file")
    assert main(["isp", "run", str(fake), "-o", str(tmp_path / "x.png"), "--weights", weights]) == 1
    error = capsys.readouterr().err
    assert "photo.dng" in error and ("rawpy" in error or "raw file" in error)


def test_hdr_trains_both_optics_and_reports_saturated_regions(tmp_path, capsys):
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
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json"])
    assert set(result["baselines"]) == {"ideal lens + U-Net", "clipped capture, ideal lens, no network"}
    for scores in [result["model"], *result["baselines"].values()]:
        assert scores["tm_psnr"] > scores["tm_psnr_saturated"] > 0
    assert 0 < result["model"]["saturated_fraction"] < 0.2
    assert (out / "hdr.png").exists()
    scene = tmp_path / "scene.npy"
    np.save(scene, np.random.default_rng(0).uniform(0, 8, (40, 44, 3)).astype(np.float32))
    assert main(["hdr", "run", str(scene), "--weights", str(out / "model.safetensors"), "--out",
                 str(tmp_path / "run")]) == 0
    hdr = np.load(tmp_path / "run" / "reconstruction.npy")
    assert hdr.shape == (3, 40, 44) and hdr.max() <= 64
    np.save(scene, np.zeros((4, 5)))
    assert main(["hdr", "run", str(scene), "--weights", str(out / "model.safetensors")]) == 1
    assert "(4, 5)" in capsys.readouterr().err


def test_hdr_with_a_diffractive_phase_plate(tmp_path, capsys):
    out = tmp_path / "doe"
    assert main(["hdr", "train", "--out", str(out), "--optics", "diffractive", "--no-baseline", "--count", "32",
                 "--epochs", "2", "--width", "4", "--psf-size", "9", "--patch", "32", "--quiet"]) == 0
    phase = load_safetensors(out / "model.safetensors")["optics.phase"]
    assert phase.shape == (20, 20) and np.abs(phase).max() > 0  # the plate learned a non-flat phase
    capsys.readouterr()
    result = run_json(capsys, ["hdr", "eval", "--weights", str(out / "model.safetensors"), "--json"])
    assert result["optics"] == "diffractive" and "ideal lens + U-Net" not in result["baselines"]
    assert "note" in result
