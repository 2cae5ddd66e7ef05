# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Losses: one number that says how wrong the model is
#
# Training minimises a **loss**: a scalar that is small when the predictions are good. Its
# gradient with respect to the model's outputs is where every backward pass starts, so a
# loss must be correct, numerically stable and fast — it runs once per training step on
# every example of the batch. You build the three losses that cover almost all of deep
# learning:
#
# | loss | predicts | used in |
# |---|---|---|
# | `mse_loss` (mean squared error) | real numbers | regression, autoencoders |
# | `cross_entropy` (from logits) | one class out of C | MNIST, CIFAR-10, every language model |
# | `binary_cross_entropy_with_logits` | yes/no (per output) | binary and multi-label classification |
#
# All three take the model's **raw outputs** (logits), not probabilities, and each is **one
# fused op**: the forward pass is a few numpy lines, the backward pass a hand-derived formula
# with a single `Tensor.from_op`. You will see why that is both more stable and cheaper than
# composing the loss from `log_softmax`, indexing and `mean`.
#
# Every loss here averages over examples (PyTorch's `reduction="mean"`), so the gradient of
# each example carries a factor `1/N`: the learning rate does not need retuning when the
# batch size changes.

# %%
#| default_exp core.losses

# %% nbgrader={"grade": false, "grade_id": "05-losses-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import numpy as np

from tinytorch.core.activations import to_tensor  # `x` itself if a Tensor, else a Tensor holding it
from tinytorch.core.autograd import Tensor

# %% nbgrader={"grade": false, "grade_id": "05-losses-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% nbgrader={"grade": false, "grade_id": "05-losses-check-same-shape", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the shape check the losses share): importable, not part of the module's `__all__`
def check_same_shape(name, pred, target):
    "Raise a ValueError naming both shapes unless `pred` and `target` have the same shape."
    if pred.shape != target.shape:
        raise ValueError(f"{name}: predictions have shape {pred.shape} but targets have shape {target.shape}; "
                         "they must match (reshape one: silent broadcasting of e.g. (N, 1) against (N,) "
                         "would compare every prediction with every target)")

# %% [markdown]
# ## 1. Mean squared error
#
# $$\mathrm{MSE} = \frac1N \sum_i (p_i - t_i)^2, \qquad
# \frac{\partial\,\mathrm{MSE}}{\partial p_i} = \frac{2}{N}(p_i - t_i), \qquad
# \frac{\partial\,\mathrm{MSE}}{\partial t_i} = -\frac{2}{N}(p_i - t_i)$$
#
# where N counts **all** elements. Predictions and targets must have the same shape. PyTorch
# only warns when they differ and then broadcasts: predictions of shape `(N, 1)` against
# targets `(N,)` become an `(N, N)` table of every pairwise difference — a model trains on
# nonsense without a single error. `check_same_shape` (given) refuses instead.
#
# The target is usually data, but it can be a Tensor that requires a gradient (a
# distillation target, say), so the backward returns a gradient for both parents. Compute
# in the prediction's dtype so float32 stays float32: cast the target's data with
# `.astype(pred.dtype)`, and return the target's gradient in the target's own dtype.
# Remember that `g`, the upstream gradient of a scalar loss, is a 0-d array.

# %% nbgrader={"grade": false, "grade_id": "05-losses-mse", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def mse_loss(pred, target):
    "Mean of (pred - target)² over all elements; one fused differentiable op."
    pred, target = to_tensor(pred), to_tensor(target)
    check_same_shape("mse_loss", pred, target)
    ### BEGIN SOLUTION
    diff = pred.data - target.data.astype(pred.dtype)
    n = max(diff.size, 1)
    out = np.mean(diff * diff)

    def backward(g):
        gp = diff * (g * (2 / n))
        return gp, (-gp).astype(target.dtype)
    return Tensor.from_op(out, (pred, target), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "05-losses-mse-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
pred = Tensor([[1.0, 2.0], [3.0, 4.0]])
target = Tensor([[1.0, 0.0], [0.0, 4.0]])
loss = mse_loss(pred, target)
expect_that(isinstance(loss, Tensor), lambda v: v is True, "mse_loss", "returns a Tensor")
expect_equal(loss.shape, (), "mse_loss (a loss is a scalar Tensor, shape ())")
expect_equal(loss.dtype, np.float32, "mse_loss (float32 in, float32 out)")
expect_equal(loss.data, (4 + 9) / 4, "mse_loss")
with expect_raises(ValueError, "mse_loss (predictions (4, 1) and targets (4,))", mentions=["(4, 1)", "(4,)"]):
    mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))

# %% nbgrader={"grade": true, "grade_id": "05-losses-mse-grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
p = Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
mse_loss(p, Tensor([0.0, 2.0, 5.0, 4.0])).backward()
expect_that(isinstance(p.grad, Tensor), lambda v: v is True, "mse_loss backward", "the prediction's .grad is a Tensor")
expect_equal(p.grad.data, [0.5, 0.0, -1.0, 0.0], "mse_loss backward (2/N · (p - t))")
rng = np.random.default_rng(0)
pa, ta = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
a = Tensor(pa, dtype=np.float64, requires_grad=True)
b = Tensor(ta, dtype=np.float64, requires_grad=True)
loss = mse_loss(a, b)
expect_equal(loss.data, np.mean((pa - ta) ** 2), "mse_loss (float64)", rtol=1e-12)
loss.backward(np.array(0.7))
expect_equal(a.grad.data, 0.7 * 2 / 12 * (pa - ta), "mse_loss backward (gradient of the predictions, float64)", rtol=1e-9, atol=1e-12)
expect_that(b.grad is None, lambda v: v is False, "mse_loss backward", "a target that requires a gradient gets one")
expect_equal(b.grad.data, -0.7 * 2 / 12 * (pa - ta), "mse_loss backward (gradient of the targets, float64)", rtol=1e-9, atol=1e-12)
one = Tensor([3.0], requires_grad=True)
mse_loss(one, Tensor([1.0])).backward()
expect_equal(one.grad.data, [4.0], "mse_loss backward (one element: 2/1 · (3 - 1))")

# %% [markdown]
# ## 2. Cross-entropy from logits
#
# A classifier outputs one score (logit) `x_c` per class; softmax turns them into
# probabilities `s_c`. Cross-entropy is the negative log-probability of the correct class
# `y`, averaged over the N examples:
#
# $$\ell = -\log s_y = -\bigl(x_y - \log\textstyle\sum_c e^{x_c}\bigr)
#        = \mathrm{logsumexp}(x) - x_y .$$
#
# Computed this way, with the max-shift from module 03 inside the log-sum-exp, it is finite
# even when the model is confidently wrong (`log(softmax)` would give `log 0 = -inf`).
#
# **The fused gradient.** Differentiating `logsumexp(x) - x_y` gives the most famous formula
# in deep learning:
#
# $$\frac{\partial \ell}{\partial x_c} = s_c - [c = y], \qquad\text{so for the mean:}\qquad
# \frac{\partial L}{\partial x} = \frac{\mathrm{softmax}(x) - \mathrm{onehot}(y)}{N}.$$
#
# Probability mass the model put on wrong classes is pushed down, and the missing mass on the
# right class is pushed up. You never need to build the one-hot matrix: copy the softmax and
# subtract 1 at `[rows, y]` (fancy indexing with `np.arange(M)` and `y`).
#
# **Shapes.** Logits `(N, C)` with targets `(N,)`, or, for a language model, logits
# `(B, T, C)` with targets `(B, T)`: in general `(..., C)` with `(...)`. Flatten to
# `(M, C)` and `(M,)`, compute, and reshape the gradient back. Targets are integer class
# indices; the given checks below reject float targets, a shape mismatch and out-of-range
# classes with a clear message.
#
# **`ignore_index`.** Sequences in a batch are padded to the same length, and the padding
# positions must not count. Targets equal to `ignore_index` contribute nothing to the loss
# and get a zero gradient, and the mean is over the **non-ignored** positions only (if
# every position is ignored there is nothing to average: we return 0 with zero gradients,
# where PyTorch returns nan).
#
# **Label smoothing** ε replaces the one-hot target by `q = (1-ε)·onehot(y) + ε/C`, which
# keeps the model from driving logits to infinity to reach probability exactly 1. Then
#
# $$\ell = -\sum_c q_c \log s_c = (1-\varepsilon)\bigl(\mathrm{lse} - x_y\bigr)
#         + \varepsilon\bigl(\mathrm{lse} - \mathrm{mean}_c\, x_c\bigr),
# \qquad \frac{\partial \ell}{\partial x} = s - q ,$$
#
# the same formula as PyTorch's `cross_entropy(..., label_smoothing=ε)` (the max-shift
# cancels in both brackets, so you may use the shifted logits `z` throughout).

# %% nbgrader={"grade": false, "grade_id": "05-losses-class-targets", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the target checks of cross_entropy): importable, not part of the module's `__all__`
def class_targets(logits, targets, ignore_index):
    "Targets as a flat int array (M,), checked against logits (..., C), and the mask of positions that count."
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if y.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {y.dtype}")
    if logits.ndim == 0 or y.shape != logits.shape[:-1]:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need targets of shape "
                         f"{logits.shape[:-1]} (one class index per row of logits), got {y.shape}")
    y = y.reshape(-1)
    valid = np.ones(y.shape, dtype=bool) if ignore_index is None else y != ignore_index
    num_classes = logits.shape[-1]
    bad = valid & ((y < 0) | (y >= num_classes))
    if bad.any():
        raise IndexError(f"cross_entropy: target {y[bad][0]} is out of range for {num_classes} classes "
                         f"(valid: 0..{num_classes - 1}" + (f", or ignore_index={ignore_index})" if ignore_index
                                                            is not None else ")"))
    return np.where(valid, y, 0), valid

# %% nbgrader={"grade": false, "grade_id": "05-losses-cross-entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def cross_entropy(logits, targets, ignore_index=None, label_smoothing=0.0):
    "Mean over non-ignored positions of -log softmax(logits)[target]; logits (..., C), int targets (...)."
    logits = to_tensor(logits)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    y, valid = class_targets(logits, targets, ignore_index)
    num_classes = logits.shape[-1]
    x = logits.data.reshape(-1, num_classes)
    rows, count, eps = np.arange(len(y)), max(int(valid.sum()), 1), label_smoothing
    ### BEGIN SOLUTION
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=1, keepdims=True)
    lse = np.log(total[:, 0])
    per_row = lse - z[rows, y]
    if eps:
        per_row = (1 - eps) * per_row + eps * (lse - z.mean(axis=1))
    out = np.sum(per_row * valid) / count

    def backward(g):
        grad = e / total
        grad[rows, y] -= 1 - eps
        if eps:
            grad -= eps / num_classes
        grad *= (valid.astype(x.dtype) * (g / count))[:, None]
        return (grad.reshape(logits.shape),)
    return Tensor.from_op(out, (logits,), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 3.0]], dtype=np.float32)
labels = np.array([0, 1, 2, 0])
lp = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
loss = cross_entropy(Tensor(logits), Tensor(labels))
expect_that(isinstance(loss, Tensor), lambda v: v is True, "cross_entropy", "returns a Tensor")
expect_equal(loss.shape, (), "cross_entropy (a loss is a scalar Tensor, shape ())")
expect_equal(loss.dtype, np.float32, "cross_entropy (float32 in, float32 out)")
expect_equal(loss.data, -lp[np.arange(4), labels].mean(), "cross_entropy", rtol=1e-6)
expect_equal(cross_entropy(Tensor(logits), labels).data, -lp[np.arange(4), labels].mean(),
             "cross_entropy (targets as a numpy array)", rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(logits, requires_grad=True)
loss = cross_entropy(x, labels)
expect_that(len(loss._parents) == 1 and loss._parents[0] is x, lambda v: v is True, "cross_entropy",
            "cross_entropy is one fused op whose only parent is the logits")
loss.backward()
sm = lambda a: np.exp(a - a.max(axis=-1, keepdims=True)) / np.exp(a - a.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)
expect_that(isinstance(x.grad, Tensor), lambda v: v is True, "cross_entropy backward", "the logits' .grad is a Tensor")
expect_equal(x.grad.data, (sm(logits.astype(np.float64)) - np.eye(3)[labels]) / 4,
             "cross_entropy backward ((softmax - onehot) / N)", rtol=1e-5, atol=1e-7)
rng = np.random.default_rng(1)
a64 = rng.standard_normal((5, 4))
x64 = Tensor(a64, dtype=np.float64, requires_grad=True)
cross_entropy(x64, np.array([3, 0, 1, 1, 2])).backward(np.array(1.3))
expect_equal(x64.grad.data, 1.3 * (sm(a64) - np.eye(4)[[3, 0, 1, 1, 2]]) / 5, "cross_entropy backward (float64)",
             rtol=1e-9, atol=1e-12)

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-stable", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
big = Tensor([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], requires_grad=True)
with np.errstate(over="raise", invalid="raise", divide="raise"):
    loss = cross_entropy(big, np.array([0, 1]))  # right with certainty, then wrong by 2e4
    loss.backward()
expect_equal(loss.shape, (), "cross_entropy (logits of ±1e4: a scalar)")
expect_equal(loss.data, (0.0 + 2e4) / 2, "cross_entropy (logits of ±1e4)", rtol=1e-6)
expect_equal(big.grad.data, [[0, 0, 0], [0.5, -0.5, 0]], "cross_entropy backward (logits of ±1e4)", atol=1e-7)

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
seq = rng.standard_normal((2, 3, 5)).astype(np.float32)   # (batch, time, classes)
tokens = rng.integers(0, 5, size=(2, 3))
loss = cross_entropy(Tensor(seq), tokens)
expect_equal(loss.shape, (), "cross_entropy ((B, T, C) logits: a scalar)")
flat = seq.reshape(6, 5).astype(np.float64)
expect_equal(loss.data, np.mean(np.log(np.exp(flat).sum(axis=1)) - flat[np.arange(6), tokens.reshape(-1)]),
             "cross_entropy ((B, T, C) logits, (B, T) targets)", rtol=1e-5)
seq64 = Tensor(seq, dtype=np.float64, requires_grad=True)
cross_entropy(seq64, tokens).backward(np.array(0.9))
expect_equal(seq64.grad.data, (0.9 * (np.exp(flat) / np.exp(flat).sum(axis=1, keepdims=True) - np.eye(5)[tokens.reshape(-1)]) / 6
                               ).reshape(2, 3, 5), "cross_entropy backward ((B, T, C) logits)", rtol=1e-9, atol=1e-12)
with expect_raises(ValueError, "cross_entropy (targets of the wrong shape)"):
    cross_entropy(Tensor(seq), np.array([0, 1]))
with expect_raises(TypeError, "cross_entropy (float targets)"):
    cross_entropy(Tensor(seq), np.array([[0.0, 1.0, 2.0]] * 2))
with expect_raises(IndexError, "cross_entropy (a target out of range)"):
    cross_entropy(Tensor(seq), np.array([[0, 1, 5], [0, 0, 0]]))

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-ignore", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(logits, requires_grad=True)
padded = np.array([0, -100, 2, -100])
loss = cross_entropy(x, padded, ignore_index=-100)
expect_equal(loss.shape, (), "cross_entropy (ignore_index: a scalar)")
lp = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
expect_equal(loss.data, -(lp[0, 0] + lp[2, 2]) / 2, "cross_entropy (ignore_index: the mean is over the 2 positions that count)",
             rtol=1e-6)
loss.backward()
expect_equal(x.grad.data, (np.exp(lp) - np.eye(3)[[0, 0, 2, 0]]) / 2 * np.array([[1], [0], [1], [0]]),
             "cross_entropy backward (ignore_index: ignored positions get no gradient)", rtol=1e-5, atol=1e-7)
### BEGIN HIDDEN TESTS
x = Tensor(logits, requires_grad=True)
none_left = cross_entropy(x, np.full(4, 7), ignore_index=7)
expect_equal(none_left.data, 0.0, "cross_entropy (every position ignored: 0)")
none_left.backward()
expect_equal(x.grad.data, np.zeros((4, 3)), "cross_entropy backward (every position ignored: zero gradient)")
rng = np.random.default_rng(21)
h64 = rng.standard_normal((2, 4, 3))
x64 = Tensor(h64, dtype=np.float64, requires_grad=True)
hy = np.array([[0, 2, 2, 1], [1, 1, 0, 2]])
cross_entropy(x64, hy, ignore_index=1).backward(np.array(1.1))
expect_equal(x64.grad.data, 1.1 * (np.exp(h64) / np.exp(h64).sum(axis=-1, keepdims=True) - np.eye(3)[hy]) * (hy != 1)[..., None] / 5,
             "cross_entropy backward ((B, T, C) logits with ignore_index)", rtol=1e-9, atol=1e-12)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "05-losses-ce-smoothing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
eps = 0.1
lp = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
q = (1 - eps) * np.eye(3)[labels] + eps / 3
loss = cross_entropy(Tensor(logits), labels, label_smoothing=eps)
expect_equal(loss.shape, (), "cross_entropy (label_smoothing: a scalar)")
expect_equal(loss.data, -(q * lp).sum(axis=1).mean(), "cross_entropy (label_smoothing=0.1)", rtol=1e-5)
rng = np.random.default_rng(22)
s64 = rng.standard_normal((4, 6))
s = np.exp(s64) / np.exp(s64).sum(axis=1, keepdims=True)
x64 = Tensor(s64, dtype=np.float64, requires_grad=True)
cross_entropy(x64, np.array([5, 0, 3, 3]), label_smoothing=0.2).backward(np.array(0.8))
expect_equal(x64.grad.data, 0.8 * (s - (0.8 * np.eye(6)[[5, 0, 3, 3]] + 0.2 / 6)) / 4,
             "cross_entropy backward (label_smoothing=0.2)", rtol=1e-9, atol=1e-12)
x64 = Tensor(s64, dtype=np.float64, requires_grad=True)
cross_entropy(x64, np.array([5, 0, -1, 3]), ignore_index=-1, label_smoothing=0.3).backward(np.array(0.8))
expect_equal(x64.grad.data, 0.8 * (s - (0.7 * np.eye(6)[[5, 0, 0, 3]] + 0.3 / 6)) * np.array([[1], [1], [0], [1]]) / 3,
             "cross_entropy backward (label_smoothing=0.3 with ignore_index)", rtol=1e-9, atol=1e-12)

# %% [markdown]
# ### Fused or composed?
#
# The same loss can be written with module 03's `log_softmax`, indexing and `mean`. Both give
# the same number; compare their cost on a language-model-sized batch (64 sequences of 128
# tokens, a 65-character vocabulary).

# %%
import time

from tinytorch.core.activations import log_softmax

def cross_entropy_composed(logits, targets):
    "-mean(log_softmax(logits)[rows, targets]) from separate ops (three graph nodes)."
    flat = logits.reshape(-1, logits.shape[-1])
    return -(log_softmax(flat)[np.arange(flat.shape[0]), targets.reshape(-1)]).mean()

_rng = np.random.default_rng(0)
_logits = Tensor(_rng.standard_normal((64, 128, 65)), requires_grad=True)
_targets = _rng.integers(0, 65, size=(64, 128))
for _name, _fn in [("fused", cross_entropy), ("composed", cross_entropy_composed)]:
    _times = []
    for _ in range(6):  # the first run warms up; report the best of the rest
        _start = time.perf_counter()
        _fn(_logits, _targets).backward()
        _times.append(time.perf_counter() - _start)
    print(f"{_name:>8}: {min(_times[1:]) * 1e3:.2f} ms forward+backward")
np.testing.assert_allclose(cross_entropy_composed(_logits, _targets).data, cross_entropy(_logits, _targets).data,
                           rtol=1e-5)

# %% [markdown]
# ## 3. Binary cross-entropy with logits
#
# For a yes/no output the model gives one logit `x`; the probability of "yes" is `σ(x)`, and
# the loss for a target `t ∈ [0, 1]` is
#
# $$\ell = -\bigl[t \log\sigma(x) + (1-t)\log(1-\sigma(x))\bigr].$$
#
# Computed literally this breaks: in float32 `σ(20)` rounds to exactly 1, and `log(1 - 1)`
# is `-inf`. Rewrite it with the **softplus** `sp(x) = log(1 + e^x)`: since
# `log σ(x) = -sp(-x)`, `log(1 - σ(x)) = -sp(x)` and `sp(-x) = sp(x) - x`,
#
# $$\ell = \mathrm{sp}(x) - t\,x, \qquad \mathrm{sp}(x) = \max(x, 0) + \log\bigl(1 + e^{-|x|}\bigr),$$
#
# which never exponentiates a positive number (`np.log1p` keeps precision when `e^{-|x|}` is
# tiny). The derivative is as simple as cross-entropy's: `∂ℓ/∂x = σ(x) - t`, and
# `∂ℓ/∂t = -x`. Average over all elements (divide by N). Compute σ the stable way of module
# 03, from the same `e^{-|x|}` the forward pass already made. Targets are floats (integer 0/1
# arrays are fine too) of the logits' shape.

# %% nbgrader={"grade": false, "grade_id": "05-losses-bce", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def binary_cross_entropy_with_logits(logits, targets):
    "Mean of softplus(x) - t·x over all elements: stable binary cross-entropy on logits; one fused op."
    logits, targets = to_tensor(logits), to_tensor(targets)
    check_same_shape("binary_cross_entropy_with_logits", logits, targets)
    x, t = logits.data, targets.data.astype(logits.dtype)
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    n = max(x.size, 1)
    out = np.mean(np.maximum(x, 0) - t * x + np.log1p(e))

    def backward(g):
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        scale = g / n
        return (sig - t) * scale, (-x * scale).astype(targets.dtype)
    return Tensor.from_op(out, (logits, targets), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "05-losses-bce-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
z = np.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 0.2]], dtype=np.float32)
t = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.3]], dtype=np.float32)
p = 1 / (1 + np.exp(-z.astype(np.float64)))
loss = binary_cross_entropy_with_logits(Tensor(z), Tensor(t))
expect_that(isinstance(loss, Tensor), lambda v: v is True, "binary_cross_entropy_with_logits", "returns a Tensor")
expect_equal(loss.shape, (), "binary_cross_entropy_with_logits (a loss is a scalar Tensor, shape ())")
expect_equal(loss.dtype, np.float32, "binary_cross_entropy_with_logits (float32 in, float32 out)")
expect_equal(loss.data, -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(), "binary_cross_entropy_with_logits", rtol=1e-5)
x = Tensor(z, requires_grad=True)
binary_cross_entropy_with_logits(x, t).backward()
expect_that(isinstance(x.grad, Tensor), lambda v: v is True, "binary_cross_entropy_with_logits backward",
            "the logits' .grad is a Tensor")
expect_equal(x.grad.data, (p - t) / 6, "binary_cross_entropy_with_logits backward ((sigmoid(x) - t) / N)", rtol=1e-5, atol=1e-7)

# %% nbgrader={"grade": true, "grade_id": "05-losses-bce-stable-grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1e4, -1e4, 1e4, -1e4, 30.0], requires_grad=True)
with np.errstate(over="raise", invalid="raise", divide="raise"):
    loss = binary_cross_entropy_with_logits(x, Tensor([1.0, 0.0, 0.0, 1.0, 0.0]))
    loss.backward()
expect_equal(loss.shape, (), "binary_cross_entropy_with_logits (logits of ±1e4: a scalar)")
expect_equal(loss.data, (0 + 0 + 1e4 + 1e4 + 30) / 5, "binary_cross_entropy_with_logits (logits of ±1e4)", rtol=1e-6)
expect_equal(x.grad.data, np.array([0, 0, 1, -1, 1]) / 5, "binary_cross_entropy_with_logits backward (logits of ±1e4)",
             atol=1e-7)
rng = np.random.default_rng(3)
za, ta = rng.standard_normal((3, 4)) * 3, rng.uniform(0, 1, (3, 4))
a = Tensor(za, dtype=np.float64, requires_grad=True)
b = Tensor(ta, dtype=np.float64, requires_grad=True)
loss = binary_cross_entropy_with_logits(a, b)
expect_equal(loss.data, np.mean(np.logaddexp(0, za) - ta * za), "binary_cross_entropy_with_logits (float64)", rtol=1e-12)
loss.backward(np.array(0.6))
expect_equal(a.grad.data, 0.6 * (1 / (1 + np.exp(-za)) - ta) / 12,
             "binary_cross_entropy_with_logits backward (gradient of the logits, float64)", rtol=1e-9, atol=1e-12)
expect_that(b.grad is None, lambda v: v is False, "binary_cross_entropy_with_logits backward",
            "a target that requires a gradient gets one")
expect_equal(b.grad.data, -0.6 * za / 12, "binary_cross_entropy_with_logits backward (gradient of the targets, float64)",
             rtol=1e-9, atol=1e-12)
one = Tensor([0.0], requires_grad=True)
binary_cross_entropy_with_logits(one, Tensor([1.0])).backward()
expect_equal(one.grad.data, [-0.5], "binary_cross_entropy_with_logits backward (one element: sigmoid(0) - 1)")

# %% [markdown]
# ## 4. Loss objects
#
# Training loops (module 08's `Trainer`) take a loss as an object: `loss_fn(pred, target)`.
# The classes hold the options and call the functions; the base class is given.

# %% nbgrader={"grade": false, "grade_id": "05-losses-classes", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Loss:
    "Base of the loss objects: calling one runs `forward(pred, target)`; no parameters."
    def __call__(self, pred, target): return self.forward(pred, target)
    def forward(self, pred, target): raise NotImplementedError
    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({opts})"

class MSELoss(Loss):
    "Mean squared error."
    def forward(self, pred, target):
        ### BEGIN SOLUTION
        return mse_loss(pred, target)
        ### END SOLUTION

class CrossEntropyLoss(Loss):
    "Cross-entropy from logits with integer targets; optional ignore_index and label smoothing."
    def __init__(self, ignore_index=None, label_smoothing=0.0):
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
    def forward(self, logits, targets):
        ### BEGIN SOLUTION
        return cross_entropy(logits, targets, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing)
        ### END SOLUTION

class BCEWithLogitsLoss(Loss):
    "Binary cross-entropy on logits."
    def forward(self, logits, targets):
        ### BEGIN SOLUTION
        return binary_cross_entropy_with_logits(logits, targets)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "05-losses-classes-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
lp = logits - np.log(np.exp(logits.astype(np.float64)).sum(axis=1, keepdims=True))
got = MSELoss()(Tensor(z), Tensor(t))
expect_equal(got.shape, (), "MSELoss.forward (a scalar)")
expect_equal(got.data, np.mean((z.astype(np.float64) - t) ** 2), "MSELoss.forward", rtol=1e-6)
expect_agree(got.data, mse_loss(Tensor(z), Tensor(t)).data, "MSELoss.forward (the same as mse_loss)")
got = BCEWithLogitsLoss()(Tensor(z), Tensor(t))
expect_equal(got.shape, (), "BCEWithLogitsLoss.forward (a scalar)")
expect_equal(got.data, np.mean(np.logaddexp(0, z.astype(np.float64)) - t * z), "BCEWithLogitsLoss.forward", rtol=1e-5)
expect_agree(got.data, binary_cross_entropy_with_logits(Tensor(z), Tensor(t)).data,
             "BCEWithLogitsLoss.forward (the same as binary_cross_entropy_with_logits)")
got = CrossEntropyLoss()(Tensor(logits), labels)
expect_equal(got.shape, (), "CrossEntropyLoss.forward (a scalar)")
expect_equal(got.data, -lp[np.arange(4), labels].mean(), "CrossEntropyLoss.forward", rtol=1e-6)
expect_agree(got.data, cross_entropy(Tensor(logits), labels).data, "CrossEntropyLoss.forward (the same as cross_entropy)")
got = CrossEntropyLoss(ignore_index=-100, label_smoothing=0.1)(Tensor(logits), padded)
expect_equal(got.shape, (), "CrossEntropyLoss.forward (ignore_index and label_smoothing: a scalar)")
expect_equal(got.data, -np.mean([0.9 * lp[0, 0] + 0.1 * lp[0].mean(), 0.9 * lp[2, 2] + 0.1 * lp[2].mean()]),
             "CrossEntropyLoss.forward (ignore_index=-100, label_smoothing=0.1)", rtol=1e-5)
expect_agree(got.data, cross_entropy(Tensor(logits), padded, ignore_index=-100, label_smoothing=0.1).data,
             "CrossEntropyLoss.forward (ignore_index and label_smoothing, the same as cross_entropy)")
expect_equal(CrossEntropyLoss(label_smoothing=0.1).label_smoothing, 0.1, "CrossEntropyLoss.__init__ (keeps label_smoothing)")

# %% [markdown]
# ## Reflection
#
# Answer in a few sentences each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "05-losses-reflect-init-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **A sanity check for free.** A freshly initialised classifier over C classes outputs
# nearly equal logits. What cross-entropy should the first training step print for MNIST
# (C = 10) and for a character model with a 65-symbol vocabulary? What would you suspect if
# the first loss were 40?

# %% [markdown] nbgrader={"grade": true, "grade_id": "05-losses-reflect-init", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Equal logits give s = 1/C, so the loss is ln C: ln 10 ≈ 2.30, ln 65 ≈ 4.17. A loss of 40
# means confidently wrong logits at initialisation: weights too large (bad init scale),
# unnormalised inputs, or a bug (e.g. probabilities passed where logits are expected).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "05-losses-reflect-logits-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Why logits?** Suppose a model applies softmax itself and the loss takes probabilities,
# computing `-log(p[y])`. Describe two things that go wrong in float32 when the model is
# very confident (and sometimes very wrong), and how taking logits avoids them.

# %% [markdown] nbgrader={"grade": true, "grade_id": "05-losses-reflect-logits", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# p[y] underflows to 0 when the model is confidently wrong → log 0 = -inf loss and inf/nan
# gradients; the backward through softmax then log multiplies/divides tiny numbers
# (1/p · p(1-p)) and loses precision, and saturated probabilities (exactly 1 or 0) give zero
# gradients. With logits, lse(x) - x_y is finite for any input and the fused gradient
# s - onehot is computed directly, bounded in [-1, 1].
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "05-losses-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Memory of a language-model loss.** A GPT with a 50,257-token vocabulary is trained on a
# batch of 8 sequences of 1,024 tokens. How large (in float32) is the logits tensor? The
# fused loss keeps one array of that size for backward and builds no one-hot matrix: how
# much would materialising `onehot(y)` as float32 add, and how much does storing `y` as
# int64 indices cost instead?

# %% [markdown] nbgrader={"grade": true, "grade_id": "05-losses-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 8·1024·50257·4 B ≈ 1.65 GB (≈1.53 GiB). A float32 one-hot is the same size again
# (≈1.65 GB); int64 indices cost 8·1024·8 B = 64 KiB.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
