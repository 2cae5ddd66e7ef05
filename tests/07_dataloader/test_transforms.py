"Batch transforms: shapes, dtypes, randomness per example, no mutation of the input."
import numpy as np
import pytest

from tinytorch.core.dataloader import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToFloat


def test_normalize_errors_and_float32():
    with pytest.raises(ValueError):
        Normalize([0.5, 0.5], [0.1])
    with pytest.raises(ValueError):
        Normalize(0.5, 0.0)
    with pytest.raises(ValueError, match="axis 1"):
        Normalize([0.1, 0.2, 0.3], [1, 1, 1])(np.zeros((2, 1, 4, 4)))
    out = Normalize([1.0, 2.0], [1.0, 2.0])(np.ones((3, 2), np.float64))  # (N, C) features work too
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, -0.5]] * 3)


def test_normalize_output_has_unit_statistics():
    x = np.random.default_rng(0).normal([[[[3.0]], [[-2.0]]]], [[[[2.0]], [[0.5]]]], (500, 2, 4, 4))
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-3)


def test_random_crop_rectangular_and_offsets_cover_the_range():
    n, p = 400, 2
    x = np.tile(np.arange(5 * 7).reshape(1, 5, 7) + 1, (n, 1, 1))  # (N, H, W), no channel axis
    out = RandomCrop((5, 7), padding=p, seed=3)(x)
    assert out.shape == (n, 5, 7)
    padded = np.pad(x[0], p)
    tops, lefts = [], []
    for img in out:
        hits = [(t, l) for t in range(2 * p + 1) for l in range(2 * p + 1) if np.array_equal(img, padded[t:t + 5, l:l + 7])]
        assert len(hits) == 1
        tops.append(hits[0][0]), lefts.append(hits[0][1])
    assert set(tops) == set(range(5)) and set(lefts) == set(range(5)), "every shift up to the padding occurs"


def test_random_crop_too_large():
    with pytest.raises(ValueError):
        RandomCrop(9, padding=0)(np.zeros((2, 3, 8, 8)))


def test_transforms_do_not_modify_their_input():
    x = np.random.default_rng(0).integers(0, 256, (16, 3, 8, 8)).astype(np.uint8)
    before = x.copy()
    Compose([RandomCrop(8, padding=4, seed=0), RandomHorizontalFlip(p=0.5, seed=0), ToFloat(), Normalize(0.5, 0.2)])(x)
    np.testing.assert_array_equal(x, before)


def test_flip_is_seeded_and_per_example():
    x = np.arange(64 * 2 * 3).reshape(64, 1, 2, 3)
    a, b = RandomHorizontalFlip(seed=7)(x), RandomHorizontalFlip(seed=7)(x)
    np.testing.assert_array_equal(a, b)
    flipped = [np.array_equal(a[i], x[i, ..., ::-1]) for i in range(64)]
    assert 0 < sum(flipped) < 64
    assert RandomHorizontalFlip(seed=7)(x).shape == x.shape
