"""nnci denoise: tiling, file formats and bit depths, eval report, bad input, and the shipped weights."""
import json

import numpy as np
import pytest
import skimage.io

import nnci
from nnci.cli import main
from nnci.io import read_image
from nnci.serialization import load_safetensors
from nnci.models import DnCNN, deepen
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


def write_png(path, array):
    skimage.io.imsave(path, array, check_contrast=False)
    return path


def test_bad_input_gets_one_line_and_nothing_is_overwritten(tmp_path, tiny, capsys):
    gray = str(tiny / "gray" / "model.safetensors")
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
         "no such image file"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "missing-dir" / "o.png"), "--weights", gray],
         "does not exist"),
        (["denoise", "run", str(rgb), "-o", str(tmp_path / "o5.png"), "--weights", gray], "rgb.png is RGB"),
        (["denoise", "run", str(good), "-o", str(existing), "--weights", gray], "use --force"),
        (["denoise", "run", str(good), "-o", str(tmp_path / "o6.png"), "--weights", str(text)], "notes.png"),
    ]
    for argv, message in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "o1.png").exists()
    with pytest.raises(SystemExit) as exit_info:  # refused while parsing, before anything is read
        main(["denoise", "run", str(good), "-o", str(tmp_path / "o4.png"), "--sigma", "80", "--weights", gray])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --sigma: expected a number in [0, 55], got 80" in err and len(err.strip().splitlines()) == 1


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


def test_shipped_gray_model_denoises_a_colour_photo_channel_by_channel(tmp_path, capsys):
    from nnci.data import load_photo
    from nnci.metrics import psnr
    clean = load_photo("coffee", gray=False)[:96, :128]
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape), 0, 1)
    skimage.io.imsave(tmp_path / "noisy.png", (noisy * 255).round().astype(np.uint8), check_contrast=False)
    assert main(["denoise", "run", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "clean.png")]) == 0
    assert "each of R, G, B" in capsys.readouterr().out
    result = skimage.io.imread(tmp_path / "clean.png") / 255.0
    assert result.shape == clean.shape and psnr(result, clean) > psnr(noisy, clean) + 4


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
