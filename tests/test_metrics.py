"""nnci's own quality metrics against scikit-image's and scikit-learn's."""
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import confusion_matrix as sk_confusion

from nnci.data import load_photo
from nnci.metrics import accuracy, confusion_matrix, psnr, ssim


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.3])
def test_psnr_and_ssim_match_scikit_image(sigma):
    # float64: scikit-image computes in float32 when handed a float32 image (errors ~4e-7); nnci always in float64
    clean = load_photo("camera")[100:260, 50:230].astype(np.float64)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, sigma, clean.shape), 0, 1)
    assert psnr(noisy, clean) == pytest.approx(peak_signal_noise_ratio(clean, noisy, data_range=1), rel=1e-10)
    assert ssim(noisy, clean) == pytest.approx(structural_similarity(clean, noisy, data_range=1), abs=1e-7)


def test_ssim_colour_averages_channels_like_scikit_image():
    clean = load_photo("coffee", gray=False)[:90, :120].astype(np.float64)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.08, clean.shape), 0, 1)
    expected = structural_similarity(clean, noisy, data_range=1, channel_axis=2)
    assert ssim(noisy, clean) == pytest.approx(expected, abs=1e-7)


def test_identical_images_are_perfect_and_classification_metrics():
    image = np.random.default_rng(0).random((20, 20))
    assert psnr(image, image) == float("inf") and ssim(image, image) == pytest.approx(1.0)
    predicted, target = np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 2, 1])
    assert accuracy(predicted, target) == 0.8
    np.testing.assert_array_equal(confusion_matrix(predicted, target, 3), sk_confusion(target, predicted))


def test_roc_auc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score
    from nnci.metrics import roc_auc
    rng = np.random.default_rng(0)
    for _ in range(5):
        labels = rng.random(300) < 0.3
        scores = np.round(rng.standard_normal(300) + labels, 1)  # rounding makes many ties
        assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_auc([0.1, 0.2], [True, True])


def test_dice_and_iou():
    from nnci.metrics import dice, iou
    a = np.array([[1, 1, 0], [0, 0, 0]])
    b = np.array([[1, 0, 0], [1, 0, 0]])
    assert dice(a, b) == pytest.approx(0.5) and iou(a, b) == pytest.approx(1 / 3)
    assert dice(np.zeros(3), np.zeros(3)) == 1.0


def test_gaussian_blur_of_a_point_is_a_normalised_gaussian_of_that_width():
    from nnci.metrics import gaussian_blur
    point = np.zeros((41, 41))
    point[20, 20] = 1
    blurred = gaussian_blur(point, 2.5)
    assert blurred.sum() == pytest.approx(1, abs=1e-12)
    offsets = np.arange(41) - 20
    variance = (blurred.sum(0) * offsets ** 2).sum()
    assert variance == pytest.approx(2.5 ** 2, rel=0.03)  # cut at 3 sigma: a little less than sigma^2
