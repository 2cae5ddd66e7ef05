"accuracy, predictions and confusion_matrix from the exported package."
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.tensor import Tensor
from tinytorch.core.training import accuracy, confusion_matrix, predictions


@settings(max_examples=50, deadline=None)
@given(c=st.integers(1, 6), n=st.integers(0, 60), seed=st.integers(0, 10_000))
def test_confusion_matrix_matches_counting(c, n, seed):
    rng = np.random.default_rng(seed)
    preds, labels = rng.integers(0, c, n), rng.integers(0, c, n)
    want = np.zeros((c, c), np.int64)
    for p, t in zip(preds, labels):
        want[t, p] += 1
    got = confusion_matrix(preds, labels, c)
    np.testing.assert_array_equal(got, want)
    if n:
        np.testing.assert_allclose(np.trace(got) / n, accuracy(preds, labels))


def test_confusion_matrix_from_sequence_logits():
    logits = np.zeros((2, 3, 4))
    logits[..., 1] = 1.0
    labels = np.array([[1, 1, 0], [3, 1, 1]])
    m = confusion_matrix(Tensor(logits), Tensor(labels), 4)
    assert m.sum() == 6 and m[1, 1] == 4 and m[0, 1] == 1 and m[3, 1] == 1


def test_shape_errors():
    with pytest.raises(ValueError):
        accuracy(np.zeros((4, 3)), np.zeros(5, np.int64))
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 2)
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, -1]), np.array([0, 1]), 2)


def test_predictions_kinds():
    np.testing.assert_array_equal(predictions(np.array([[0.1, 0.9], [2.0, 1.0]]), np.array([0, 0])), [1, 0])
    np.testing.assert_array_equal(predictions(np.array([-0.5, 0.5]), np.array([0.0, 1.0])), [0, 1])
    np.testing.assert_array_equal(predictions(np.array([2, 0]), np.array([1, 0])), [2, 0])
    assert accuracy(np.zeros((0, 3)), np.zeros(0, np.int64)) == 0.0
