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
    assert main(["anomaly", "eval", "--weights", str(out / "model.safetensors"), "--json", "--out",
                 str(tmp_path / "pictures")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("image_auroc_l2", "pixel_auroc_l2", "image_auroc_ssim", "threshold_l2"):
        assert key in result["model"] and key in result["baselines"]["mean good image"]
    assert (tmp_path / "pictures" / "anomaly_maps.png").exists()
    stored = json.loads((out / "config.json").read_text())["thresholds"]
    assert stored == {"l2": result["model"]["threshold_l2"], "ssim": result["model"]["threshold_ssim"]}
    defect = tmp_path / "parts/test/defect/img0.png"
    assert main(["anomaly", "run", str(defect), "--weights", str(out / "model.safetensors"), "-o",
                 str(tmp_path / "maps"), "--threshold", "0.01"]) == 0
    assert "threshold 0.01 on the L2 map (given with --threshold)" in capsys.readouterr().out
    assert skimage.io.imread(tmp_path / "maps" / "img0_anomaly.png").shape == (40, 40, 3)  # the input's size
    assert main(["anomaly", "run", str(tmp_path / "parts/test"), "--weights", str(out / "model.safetensors"), "-o",
                 str(tmp_path / "maps")]) == 1
    assert "no images" in capsys.readouterr().err  # test/ holds folders, not images
    assert main(["anomaly", "train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 1
    assert "missing good/" in capsys.readouterr().err


def test_anomaly_run_uses_the_stored_threshold_and_keeps_alpha(tmp_path, capsys):
    from nnci.tasks import anomaly
    out = tmp_path / "ae"
    assert main(["anomaly", "train", "--size", "16", "--count", "32", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    threshold = anomaly.load(out / "model.safetensors").task_config["thresholds"]["l2"]
    images, _, labels = inspection_dataset("test", 4, 16, "weave", seed=5)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, image in enumerate(images[:, 0]):
        skimage.io.imsave(folder / f"p{i}.png", (image * 255).astype(np.uint8), check_contrast=False)
    rgba = np.dstack([(images[0, 0] * 255).astype(np.uint8)] * 3 + [np.full((16, 16), 128, np.uint8)])
    skimage.io.imsave(folder / "rgba.png", rgba, check_contrast=False)
    capsys.readouterr()
    assert main(["anomaly", "run", str(folder), "-o", str(tmp_path / "maps"), "--weights",
                 str(out / "model.safetensors"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"threshold {threshold:.6g} on the L2 map (chosen on the validation split at training" in printed
    assert "of 5 inputs anomalous" in printed and printed.count(f" {threshold:.6g}: ") == 5
    written = skimage.io.imread(tmp_path / "maps" / "rgba_anomaly.png")
    assert written.shape == (16, 16, 4) and (written[..., 3] == 128).all()  # alpha kept
    assert main(["anomaly", "run", str(folder / "rgba.png"), "-o", str(tmp_path / "rgba.jpg"), "--weights",
                 str(out / "model.safetensors")]) == 1
    assert "JPEG cannot store the input's alpha" in capsys.readouterr().err
    assert main(["anomaly", "run", str(folder / "p0.png"), "-o", str(tmp_path / "p0.gif"), "--weights",
                 str(out / "model.safetensors")]) == 1
    assert "unknown image format '.gif'" in capsys.readouterr().err
    assert main(["anomaly", "run", str(folder), "-o", str(tmp_path / "maps"), "--weights",
                 str(out / "model.safetensors")]) == 1
    assert "already exists" in capsys.readouterr().err  # nothing overwritten without --force


def test_anomaly_python_api(tmp_path, capsys):
    from nnci.tasks import anomaly
    small = dict(size=16, count=32, epochs=1)
    model = anomaly.train(progress=False, **small)
    config = model.task_config
    assert not model.training and (config["input_channels"], config["input_size"]) == (1, 16)
    assert set(config["thresholds"]) == {"l2", "ssim"}
    result = anomaly.evaluate(model)
    assert "picture" not in result and result["model"]["threshold_l2"] == config["thresholds"]["l2"]
    image = np.random.default_rng(0).random((23, 30)).astype(np.float32)
    one = anomaly.apply(model, image)
    assert one.map.shape == (23, 30) and one.threshold == config["thresholds"]["l2"]
    assert one.anomalous == (one.score >= one.threshold)
    both = anomaly.apply(model, [image, np.stack([image] * 3, axis=2)], map="ssim", threshold=0.5)
    assert len(both) == 2 and both[1].map.shape == (23, 30) and both[0].threshold == 0.5
    assert both[0].score == pytest.approx(both[1].score, rel=1e-5)  # RGB is read as gray

    out = tmp_path / "run"
    trained = anomaly.train(out=out, progress=False, lr=0.002, **small)
    loaded = anomaly.load(out / "model.safetensors")
    assert loaded.task_config == trained.task_config
    np.testing.assert_allclose(anomaly.apply(loaded, image).map, anomaly.apply(trained, image).map, atol=1e-6)
    assert anomaly.evaluate(loaded, out=tmp_path) == _eval_json(capsys, "anomaly", out, tmp_path)
    with pytest.raises(anomaly.UserError, match=r"--lr 0.01 conflicts with .*, which has 0.002"):
        anomaly.train(out=out, resume=True, lr=0.01)
    with pytest.raises(anomaly.UserError, match="already exists"):
        anomaly.train(out=out, **small)
    with pytest.raises(anomaly.UserError, match=r"lr: expected a number in \[0, 10\], got -1"):
        anomaly.train(lr=-1)
    with pytest.raises(anomaly.UserError, match="size: expected a multiple of 4"):
        anomaly.train(size=18)
    with pytest.raises(anomaly.UserError, match="unknown option learning_rate"):
        anomaly.train(learning_rate=0.1)
    with pytest.raises(anomaly.UserError, match="map: expected one of l2, ssim"):
        anomaly.apply(model, image, map="l1")
    with pytest.raises(anomaly.UserError, match="expected a gray"):
        anomaly.apply(model, np.zeros((4, 4, 2)))
    shipped = anomaly.load()  # the shipped 'weave' autoencoder, with the thresholds chosen at its training
    assert shipped.task_config["category"] == "weave" and set(shipped.task_config["thresholds"]) == {"l2", "ssim"}


def _eval_json(capsys, task, out, pictures):
    capsys.readouterr()
    assert main([task, "eval", "--weights", str(out / "model.safetensors"), "--json", "--out", str(pictures)]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_anomaly_thresholds_missing_from_older_weights(tmp_path, capsys):
    from nnci.serialization import load_safetensors, safetensors_metadata, save_safetensors
    out = tmp_path / "ae"
    assert main(["anomaly", "train", "--size", "16", "--count", "16", "--epochs", "1", "--out", str(out),
                 "--quiet"]) == 0
    path = out / "model.safetensors"
    metadata = safetensors_metadata(path)
    config = json.loads(metadata["nnci_config"])
    for key in ("thresholds", "input_channels", "input_size"):
        del config[key]
    save_safetensors(load_safetensors(path), path, metadata={**metadata, "nnci_config": json.dumps(config)})
    image = tmp_path / "a.png"
    skimage.io.imsave(image, np.full((20, 20), 128, np.uint8), check_contrast=False)
    assert main(["anomaly", "run", str(image), "-o", str(tmp_path / "a_map.png"), "--weights", str(path)]) == 1
    assert "record no threshold" in capsys.readouterr().err
    assert main(["anomaly", "run", str(image), "-o", str(tmp_path / "a_map.png"), "--weights", str(path),
                 "--threshold", "0.02"]) == 0
    assert (tmp_path / "a_map.png").exists()


def test_segment_contract(tmp_path, capsys):
    out = tmp_path / "unet"
    assert main(["segment", "train", "--data", "shapes", "--size", "32", "--width", "4", "--count", "16",
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["segment", "eval", "--weights", str(out / "model.safetensors"), "--json", "--out",
                 str(tmp_path / "pictures")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"dice", "iou", "pixel_auroc"} <= set(result["model"])
    assert "intensity deviation from the median" in result["baselines"]
    assert (tmp_path / "pictures" / "segmentation.png").exists()
    image = tmp_path / "part.png"
    skimage.io.imsave(image, (np.random.default_rng(0).random((30, 37)) * 255).astype(np.uint8), check_contrast=False)
    assert main(["segment", "run", str(image), "--weights", str(out / "model.safetensors"), "-o",
                 str(tmp_path / "masks")]) == 0
    assert skimage.io.imread(tmp_path / "masks" / "part_mask.png").shape == (30, 37)
    rgba = np.dstack([np.random.default_rng(1).integers(0, 255, (9, 11, 3), np.uint8), np.full((9, 11), 7, np.uint8)])
    skimage.io.imsave(tmp_path / "rgba.png", rgba, check_contrast=False)
    assert main(["segment", "run", str(image), str(tmp_path / "rgba.png"), "--weights", str(out / "model.safetensors"),
                 "-o", str(tmp_path / "two"), "--quiet"]) == 0
    assert skimage.io.imread(tmp_path / "two" / "part_mask.png").shape == (30, 37)
    written = skimage.io.imread(tmp_path / "two" / "rgba_mask.png")
    assert written.shape == (9, 11, 2) and (written[..., 1] == 7).all()  # alpha kept
    with pytest.raises(SystemExit):
        main(["segment", "run", str(image), "-o", str(tmp_path / "m.png")])  # --weights: nothing shipped
    assert "the following arguments are required: --weights" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["segment", "train", "--size", "8", "--out", str(tmp_path / "x")])
    assert "expected an integer in [16, 1024], got 8" in capsys.readouterr().err


def test_segment_python_api(tmp_path, capsys):
    from nnci.tasks import segment
    small = dict(data="shapes", size=32, width=4, count=16, epochs=1)
    model = segment.train(progress=False, **small)
    assert not model.training and (model.task_config["input_channels"], model.task_config["input_size"]) == (1, 32)
    result = segment.evaluate(model)
    assert "picture" not in result and {"dice", "iou"} <= set(result["model"])
    image = np.random.default_rng(0).random((21, 30)).astype(np.float32)
    probs = segment.apply(model, image)
    assert probs.shape == (21, 30) and 0 <= probs.min() and probs.max() <= 1
    both = segment.apply(model, [image, np.stack([image] * 3, axis=2), image[:1, :1]])
    assert [p.shape for p in both] == [(21, 30), (21, 30), (1, 1)]
    np.testing.assert_allclose(both[1], probs, atol=1e-5)  # RGB is read as gray

    out = tmp_path / "run"
    trained = segment.train(out=out, progress=False, lr=0.002, **small)
    loaded = segment.load(out / "model.safetensors")
    np.testing.assert_allclose(segment.apply(loaded, image), segment.apply(trained, image), atol=1e-6)
    assert segment.evaluate(loaded, out=tmp_path) == _eval_json(capsys, "segment", out, tmp_path)
    with pytest.raises(segment.UserError, match=r"--width 8 conflicts with .*, which has 4"):
        segment.train(out=out, resume=True, width=8)
    with pytest.raises(segment.UserError, match=r"lr: expected a number in \[0, 10\], got -1"):
        segment.train(lr=-1)
    with pytest.raises(segment.UserError, match="data: expected one of defects, shapes"):
        segment.train(data="cats")
    with pytest.raises(segment.UserError, match="unknown option depth"):
        segment.train(depth=4)
    with pytest.raises(segment.UserError, match="expected a gray"):
        segment.apply(model, np.zeros((2, 4, 4, 1)))
    with pytest.raises(segment.UserError, match="ships no segmentation model"):
        segment.load()
