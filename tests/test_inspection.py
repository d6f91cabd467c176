"""Visual inspection: the generated dataset, the user folder layout, anomaly and segmentation tasks."""
import json

import numpy as np
import pytest
import skimage.io

from nnci.cli import main
from nnci.data import CATEGORIES, inspection_dataset, load_inspection_folder
from nnci.metrics import gaussian_blur
from nnci.tasks.anomaly import best_threshold


@pytest.mark.parametrize("category", CATEGORIES)
def test_dataset_is_seeded_with_good_only_training_and_exact_masks(category):
    train, train_masks, train_labels = inspection_dataset("train", 6, 32, category, seed=1)
    assert not train_labels.any() and not train_masks.any()
    images, masks, labels = inspection_dataset("test", 20, 32, category, seed=1)
    again = inspection_dataset("test", 20, 32, category, seed=1)
    np.testing.assert_array_equal(images, again[0])
    assert 0 < labels.sum() < 20
    assert all(m.any() == bool(l) for m, l in zip(masks, labels))
    clean_twin = inspection_dataset("train", 20, 32, category, seed=1)[0]
    assert not np.array_equal(images, clean_twin)  # splits draw from different streams


def test_gaussian_blur_matches_scipy():
    from scipy.ndimage import gaussian_filter
    x = np.random.default_rng(0).random((30, 40))
    np.testing.assert_allclose(gaussian_blur(x, 2.0), gaussian_filter(x, 2.0, mode="reflect", truncate=3.0), atol=1e-12)


def test_best_threshold_separates_when_it_can():
    scores, labels = np.array([0.1, 0.2, 0.3, 0.8, 0.9]), np.array([0, 0, 0, 1, 1])
    assert best_threshold(scores, labels) == pytest.approx(0.8)


def make_folder(root, with_masks=True):
    rng = np.random.default_rng(0)
    for sub, count in (("good", 6), ("test/good", 3), ("test/defect", 3)):
        (root / sub).mkdir(parents=True)
        for i in range(count):
            image = (rng.random((40, 40)) * 80 + 100).astype(np.uint8)
            if sub == "test/defect":
                image[10:20, 10:20] = 255
            skimage.io.imsave(root / sub / f"img{i}.png", image, check_contrast=False)
    if with_masks:
        (root / "masks").mkdir()
        for i in range(3):
            mask = np.zeros((40, 40), np.uint8)
            mask[10:20, 10:20] = 255
            skimage.io.imsave(root / "masks" / f"img{i}.png", mask, check_contrast=False)


def test_user_folder_layout_and_clear_errors(tmp_path):
    make_folder(tmp_path / "parts")
    data = load_inspection_folder(tmp_path / "parts", 32)
    images, masks, labels = data["test"]
    assert data["train"].shape == (6, 1, 32, 32) and images.shape == (6, 1, 32, 32)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1] and masks[3:].sum() > 0 and masks[:3].sum() == 0
    (tmp_path / "bad" / "good").mkdir(parents=True)
    with pytest.raises(ValueError, match="missing test/good/"):
        load_inspection_folder(tmp_path / "bad", 32)


def test_anomaly_contract_on_a_user_folder_and_generated_data(tmp_path, capsys):
    make_folder(tmp_path / "parts")
    out = tmp_path / "ae"
    assert main(["anomaly", "train", "--data", str(tmp_path / "parts"), "--out", str(out), "--epochs", "2",
                 "--quiet"]) == 0
    assert all((out / f).exists() for f in ("model.safetensors", "config.json", "history.json", "loss.png"))
    capsys.readouterr()
    assert main(["anomaly", "eval", "--weights", str(out / "model.safetensors"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("image_auroc_l2", "pixel_auroc_l2", "image_auroc_ssim", "threshold_l2"):
        assert key in result["model"] and key in result["baselines"]["mean good image"]
    assert main(["anomaly", "run", str(tmp_path / "parts/test/defect/img0.png"), "--weights",
                 str(out / "model.safetensors"), "--out", str(tmp_path / "maps"), "--threshold", "0.01"]) == 0
    assert (tmp_path / "maps" / "img0_anomaly.png").exists()
    assert main(["anomaly", "train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 1
    assert "missing good/" in capsys.readouterr().err


def test_segment_contract(tmp_path, capsys):
    out = tmp_path / "unet"
    assert main(["segment", "train", "--data", "shapes", "--size", "32", "--width", "4", "--count", "16",
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["segment", "eval", "--weights", str(out / "model.safetensors"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"dice", "iou", "pixel_auroc"} <= set(result["model"])
    assert "intensity deviation from the median" in result["baselines"]
    image = tmp_path / "part.png"
    skimage.io.imsave(image, (np.random.default_rng(0).random((30, 37)) * 255).astype(np.uint8), check_contrast=False)
    assert main(["segment", "run", str(image), "--weights", str(out / "model.safetensors"), "--out",
                 str(tmp_path / "masks")]) == 0
    assert skimage.io.imread(tmp_path / "masks" / "part_mask.png").shape == (30, 37)
