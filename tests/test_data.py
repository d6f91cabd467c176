"""Bundled photos, patches, noise models and synthetic shapes."""
import numpy as np
import pytest
import skimage.color
import skimage.data

from nnci.data import (PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, dihedral, load_photo,
                       random_patches, synthetic_shapes)


def test_photos_load_offline_and_gray_matches_scikit_image():
    np.testing.assert_allclose(load_photo("camera"), skimage.data.camera() / 255.0, atol=1e-7)
    np.testing.assert_allclose(load_photo("astronaut"), skimage.color.rgb2gray(skimage.data.astronaut()), atol=1e-5)
    color = load_photo("coffee", gray=False)
    assert color.shape == (400, 600, 3) and color.dtype == np.float32 and 0 <= color.min() and color.max() <= 1
    with pytest.raises(ValueError, match="unknown photo 'lena'"):
        load_photo("lena")


def test_split_is_fixed_and_disjoint():
    assert set(TRAIN_PHOTOS).isdisjoint(TEST_PHOTOS)
    assert set(TRAIN_PHOTOS) | set(TEST_PHOTOS) == set(PHOTOS)


def test_dihedral_gives_the_eight_symmetries():
    patch = np.arange(9.0).reshape(1, 3, 3)
    variants = {dihedral(patch, k).tobytes() for k in range(8)}
    assert len(variants) == 8


def test_random_patches_come_from_the_images():
    rng = np.random.default_rng(0)
    image = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    patches = random_patches([image], 8, 20, rng, augment=False)
    assert patches.shape == (20, 1, 8, 8)
    for p in patches[:, 0]:  # each is a contiguous window: row steps of 50, column steps of 1
        assert np.all(np.diff(p, axis=1) == 1) and np.all(np.diff(p, axis=0) == 50)
    augmented = random_patches([image], 8, 50, np.random.default_rng(1))
    assert not np.all(np.diff(augmented[:, 0], axis=2) == 1)  # some were rotated or flipped
    with pytest.raises(ValueError, match="smaller than the patch size"):
        random_patches([image], 64, 1, rng)


def test_random_patches_share_images_by_area_or_equally():
    small, large = np.zeros((10, 10), np.float32), np.ones((100, 100), np.float32)  # 1% vs 99% of the pixels
    by_area = random_patches([small, large], 8, 2000, np.random.default_rng(0), augment=False)
    equal = random_patches([small, large], 8, 2000, np.random.default_rng(0), augment=False, share="equal")
    assert np.mean(by_area[:, 0, 0, 0] == 0) < 0.03
    assert 0.45 < np.mean(equal[:, 0, 0, 0] == 0) < 0.55
    with pytest.raises(ValueError, match="share must be"):
        random_patches([small], 8, 1, np.random.default_rng(0), share="pixels")


def test_synthetic_shapes_are_seeded_with_exact_masks():
    images, masks = synthetic_shapes(6, 32, seed=3)
    again, again_masks = synthetic_shapes(6, 32, seed=3)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(masks, again_masks)
    assert set(np.unique(masks)) <= {0.0, 1.0} and 0.02 < masks.mean() < 0.6
    for image, mask in zip(images[:, 0], masks[:, 0]):  # the shapes differ from the background
        assert abs(image[mask > 0].mean() - image[mask == 0].mean()) > 0.15


def test_dead_leaves_cover_the_image_with_edges_at_every_scale():
    from nnci.data.dead_leaves import _radius, dead_leaves, dead_leaves_patches
    rng = np.random.default_rng(0)
    image = dead_leaves(96, rng, texture=0.0, coverage=1.0)
    assert image.shape == (96, 96) and image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    assert len(np.unique(image)) > 30  # many leaves, flat ones: each one level
    radii = np.array([_radius(rng, 2.0, 48.0) for _ in range(20000)])
    assert radii.min() >= 2.0 and radii.max() <= 48.0
    # p(r) ~ r^-3: P(r > 2 r0) / P(r > r0) = ((2 r0)^-2 - r_max^-2) / (r0^-2 - r_max^-2)
    expected = ((8.0 ** -2 - 48.0 ** -2) / (4.0 ** -2 - 48.0 ** -2))
    assert abs(np.mean(radii > 8) / np.mean(radii > 4) - expected) < 0.03
    colour = dead_leaves_patches(3, 32, rng, color=True)
    assert colour.shape == (3, 3, 32, 32)
    again = dead_leaves_patches(3, 32, np.random.default_rng(5))
    np.testing.assert_array_equal(again, dead_leaves_patches(3, 32, np.random.default_rng(5)))  # seeded
