"Behaviour of tinytorch.core.losses beyond the op catalog: stability, ignore_index, label smoothing, errors."
import math

import numpy as np
import pytest

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.activations import softmax
from tinytorch.core.losses import (BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, binary_cross_entropy_with_logits,
                                   cross_entropy, mse_loss)

rng = np.random.default_rng(0)


def log_softmax_np(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def test_cross_entropy_is_minus_log_softmax_at_the_target():
    x = rng.standard_normal((7, 5)) * 3
    y = rng.integers(0, 5, size=7)
    probs = softmax(Tensor(x, dtype=np.float64)).data
    for i in range(7):
        one = cross_entropy(Tensor(x[i:i + 1], dtype=np.float64), y[i:i + 1])
        np.testing.assert_allclose(one.data, -np.log(probs[i, y[i]]), rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(Tensor(x, dtype=np.float64), y).data,
                               -np.log(probs[np.arange(7), y]).mean(), rtol=1e-12)


def test_cross_entropy_of_a_single_row_with_a_scalar_target():
    x = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(cross_entropy(Tensor(x, dtype=np.float64), np.array(1)).data,
                               -log_softmax_np(x)[1], rtol=1e-12)


def test_uniform_logits_give_log_num_classes():
    for c in (2, 10, 65):
        np.testing.assert_allclose(cross_entropy(Tensor(np.zeros((4, c))), np.zeros(4, dtype=int)).data,
                                   math.log(c), rtol=1e-6)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x = Tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
    y = np.array([[0, 3, 3], [1, 2, 0]])
    cross_entropy(x, y).backward()
    want = (np.exp(log_softmax_np(x.data)) - np.eye(4)[y]) / 6
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(x.grad.data.sum(axis=-1), 0.0, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_extreme_logits_are_finite_and_right(dtype, smoothing):
    x = Tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, 1e4]], dtype=dtype, requires_grad=True)
    y = np.array([0, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = cross_entropy(x, y, label_smoothing=smoothing)
        loss.backward()
    assert loss.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(loss.data) and np.all(np.isfinite(x.grad.data))
    want = _smoothed_reference(x.data.astype(np.float64), y, smoothing)
    np.testing.assert_allclose(loss.data, want, rtol=1e-6)


def _smoothed_reference(x, y, eps, ignore_index=None):
    "PyTorch's documented formula: (1-ε)·nll + ε·mean_c(-log p_c), averaged over non-ignored rows."
    logp = log_softmax_np(x)
    keep = np.ones(len(y), bool) if ignore_index is None else y != ignore_index
    rows = np.flatnonzero(keep)
    nll = -logp[rows, y[rows]]
    smooth = -logp[rows].sum(axis=1) / x.shape[-1]
    return np.mean((1 - eps) * nll + eps * smooth)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5, 1.0])
def test_label_smoothing_matches_the_torch_formula(eps):
    x = rng.standard_normal((6, 7)) * 2
    y = rng.integers(0, 7, size=6)
    got = cross_entropy(Tensor(x, dtype=np.float64), y, label_smoothing=eps).data
    np.testing.assert_allclose(got, _smoothed_reference(x, y, eps), rtol=1e-12)


def test_label_smoothing_with_ignore_index_matches_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 6))
    y = rng.integers(0, 6, size=(3, 4))
    y[0, :2] = -100
    got = cross_entropy(Tensor(x, dtype=np.float64), y, ignore_index=-100, label_smoothing=0.3).data
    want = torch.nn.functional.cross_entropy(torch.tensor(x).reshape(-1, 6), torch.tensor(y).reshape(-1),
                                             ignore_index=-100, label_smoothing=0.3).item()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, _smoothed_reference(x.reshape(-1, 6), y.reshape(-1), 0.3, -100), rtol=1e-12)


def test_label_smoothing_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=1.5)


def test_ignore_index_equals_the_loss_over_the_kept_rows():
    x = rng.standard_normal((10, 4))
    y = rng.integers(0, 4, size=10)
    y[[1, 4, 5]] = -100
    keep = y != -100
    xt = Tensor(x, dtype=np.float64, requires_grad=True)
    loss = cross_entropy(xt, y, ignore_index=-100)
    np.testing.assert_allclose(loss.data, cross_entropy(Tensor(x[keep], dtype=np.float64), y[keep]).data, rtol=1e-12)
    loss.backward()
    np.testing.assert_array_equal(xt.grad.data[~keep], 0.0)
    kept = Tensor(x[keep], dtype=np.float64, requires_grad=True)
    cross_entropy(kept, y[keep]).backward()
    np.testing.assert_allclose(xt.grad.data[keep], kept.grad.data, rtol=1e-12)


def test_ignore_index_inside_the_class_range_and_everything_ignored():
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = cross_entropy(x, np.array([1, 1, 1, 1]), ignore_index=1)
    loss.backward()
    assert loss.item() == 0.0 and np.all(x.grad.data == 0), "nothing to average: loss 0, no gradient"
    assert np.isfinite(loss.item())


def test_target_errors_name_the_problem():
    x = Tensor(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3, 5\).*\(2, 3\).*\(3,\)"):
        cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        cross_entropy(x, np.zeros((2, 3)))
    with pytest.raises(IndexError, match="5 classes"):
        cross_entropy(x, np.full((2, 3), 5))
    with pytest.raises(IndexError, match="out of range"):
        cross_entropy(x, np.full((2, 3), -100))  # -100 is only skipped when it is the ignore_index
    assert np.isfinite(cross_entropy(x, np.full((2, 3), -100), ignore_index=-100).item())


def test_targets_may_be_int_tensors_lists_or_arrays():
    x = Tensor(rng.standard_normal((3, 4)))
    want = cross_entropy(x, np.array([0, 3, 1])).item()
    for targets in (Tensor([0, 3, 1]), [0, 3, 1], np.array([0, 3, 1], dtype=np.int32), np.array([0, 3, 1], np.uint8)):
        assert cross_entropy(x, targets).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(dtype):
    x = Tensor(rng.standard_normal((4, 3)), dtype=dtype, requires_grad=True)
    t = Tensor(rng.uniform(0, 1, (4, 3)), dtype=dtype, requires_grad=True)
    for loss in (cross_entropy(x, np.array([0, 1, 2, 0])), mse_loss(x, t), binary_cross_entropy_with_logits(x, t)):
        assert loss.shape == () and loss.dtype == dtype
        x.grad = t.grad = None
        loss.backward()
        assert x.grad.dtype == dtype


def test_float32_targets_with_float64_predictions_and_back():
    p = Tensor(rng.standard_normal(5), dtype=np.float64, requires_grad=True)
    t = Tensor(rng.standard_normal(5), requires_grad=True)  # float32
    loss = mse_loss(p, t)
    loss.backward()
    assert loss.dtype == np.float64 and p.grad.dtype == np.float64 and t.grad.dtype == np.float32
    np.testing.assert_allclose(t.grad.data, -p.grad.data, rtol=1e-6)


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\)"):
        mse_loss(Tensor(np.zeros((8, 1))), Tensor(np.zeros(8)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        binary_cross_entropy_with_logits(Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 2))))


def test_mse_values_and_target_gradient():
    p = Tensor([[1.0, -1.0], [0.5, 2.0]], dtype=np.float64, requires_grad=True)
    t = Tensor([[0.0, 1.0], [0.5, 0.0]], dtype=np.float64, requires_grad=True)
    loss = mse_loss(p, t)
    np.testing.assert_allclose(loss.data, (1 + 4 + 0 + 4) / 4)
    loss.backward()
    np.testing.assert_allclose(p.grad.data, [[0.5, -1.0], [0.0, 1.0]])
    np.testing.assert_allclose(t.grad.data, -p.grad.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_is_stable_where_the_naive_formula_breaks(dtype):
    x = Tensor([1e4, -1e4, 1e4, -1e4, 50.0, -50.0, 0.0], dtype=dtype, requires_grad=True)
    t = Tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = binary_cross_entropy_with_logits(x, t)
        loss.backward()
    per_element = [0, 0, 1e4, 1e4, math.log1p(math.exp(-50)), 50 + math.log1p(math.exp(-50)), math.log(2)]
    np.testing.assert_allclose(loss.data, np.mean(per_element), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, np.array([0, 0, 1, -1, 0, -1, 0]) / 7, atol=1e-7)


def test_bce_matches_the_textbook_formula_on_moderate_logits():
    x = rng.uniform(-5, 5, (4, 5))
    t = rng.uniform(0, 1, (4, 5))
    p = 1 / (1 + np.exp(-x))
    want = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    np.testing.assert_allclose(binary_cross_entropy_with_logits(Tensor(x, dtype=np.float64),
                                                                Tensor(t, dtype=np.float64)).data, want, rtol=1e-12)


def test_bce_accepts_integer_labels():
    x = Tensor([2.0, -1.0, 0.0], requires_grad=True)
    loss = binary_cross_entropy_with_logits(x, np.array([1, 0, 1]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.shape == (3,)
    want = np.mean([math.log1p(math.exp(-2)), math.log1p(math.exp(-1)), math.log(2)])
    np.testing.assert_allclose(loss.data, want, rtol=1e-6)


def test_losses_are_single_fused_nodes_and_respect_no_grad():
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    t = Tensor(np.zeros((2, 3)))
    for loss in (cross_entropy(x, np.array([0, 1])), mse_loss(x, t), binary_cross_entropy_with_logits(x, t)):
        assert loss._parents[0] is x and len(loss._parents) <= 2
    with no_grad():
        assert not cross_entropy(x, np.array([0, 1])).requires_grad


def test_loss_classes_hold_their_options():
    x = Tensor(rng.standard_normal((5, 3)))
    y = np.array([0, -1, 2, 2, 1])
    ce = CrossEntropyLoss(ignore_index=-1, label_smoothing=0.1)
    assert ce(x, y).item() == cross_entropy(x, y, ignore_index=-1, label_smoothing=0.1).item()
    assert ce.forward(x, y).item() == ce(x, y).item()
    assert repr(ce) == "CrossEntropyLoss(ignore_index=-1, label_smoothing=0.1)"
    t = Tensor(rng.uniform(0, 1, (5, 3)))
    assert MSELoss()(x, t).item() == mse_loss(x, t).item()
    assert BCEWithLogitsLoss()(x, t).item() == binary_cross_entropy_with_logits(x, t).item()
    with pytest.raises(IndexError):
        CrossEntropyLoss()(x, y)  # -1 is a bad class without ignore_index


def test_gradient_descent_on_cross_entropy_lowers_the_loss():
    # a linear softmax classifier on separable 2-D blobs: a few plain gradient steps must reduce the loss
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = np.repeat(np.arange(3), 20)
    data = Tensor(centers[y] + rng.standard_normal((60, 2)) * 0.5)
    w = Tensor(np.zeros((2, 3)), requires_grad=True)
    losses = []
    for _ in range(30):
        w.grad = None
        loss = cross_entropy(data @ w, y)
        loss.backward()
        w.data -= 0.5 * w.grad.data
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(3), rel=1e-6)
    assert losses[-1] < 0.3 * losses[0]
