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
# # 12 · Attention: every token looks at every other
#
# A convolution mixes a pixel with its fixed neighbours. **Attention** lets each token
# decide, from the content, which other tokens to read from. Every token emits three
# vectors through learned projections:
#
# - a **query** `q` ("what am I looking for?"),
# - a **key** `k` ("what do I contain?"),
# - a **value** `v` ("what do I pass on if chosen?").
#
# Token `i` scores every token `j` by `q_i · k_j`, turns the scores into weights with a
# softmax, and outputs the weighted average of the values:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d}}\right) V$$
#
# Shapes, for a batch of `B` sequences of `T` tokens with head size `d`:
#
# ```
#   Q (B, T, d) @ Kᵀ (B, d, T) -> scores (B, T, T) -> softmax over the last axis -> weights (B, T, T)
#   weights (B, T, T) @ V (B, T, d) -> out (B, T, d)
# ```
#
# Why divide by `√d`? If `q` and `k` have unit-variance entries, `q·k` is a sum of `d`
# products with variance `d`; for `d = 64` the scores would be ±8 and the softmax nearly
# one-hot, with vanishing gradients. Dividing by `√d` brings them back to unit variance.
#
# **Cost.** The `(T, T)` score matrix is the price of letting everyone see everyone:
# `2·T²·d` multiply-adds and `T²` numbers stored *per head and sequence*, quadratic in the
# sequence length. Module 14 measures it; here we keep the constant small by fusing the
# whole computation into one graph node.
#
# What you build:
#
# | piece | purpose |
# |---|---|
# | `causal_mask`, `padding_mask` | which keys each query may see |
# | `masked_softmax` | masked positions get weight exactly 0; a fully masked row gives zeros, not NaN |
# | `attention_forward` / `attention_backward` | the math in numpy, with a hand-derived backward |
# | `scaled_dot_product_attention` | one differentiable op: `(out, weights)` |
# | `SelfAttention` | one head, q/k/v from one fused projection |
# | `MultiHeadAttention` | `n_heads` heads by reshape, no loop; a KV cache for generation |

# %%
#| default_exp core.attention

# %% nbgrader={"grade": false, "grade_id": "12-attention-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import math

import numpy as np

from tinytorch.core.autograd import Tensor, no_grad, unbroadcast
from tinytorch.core.layers import Dropout, Linear, Module

# %% nbgrader={"grade": false, "grade_id": "12-attention-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_that

# %% nbgrader={"grade": false, "grade_id": "12-attention-gradient-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The gradient checks of the graded cells: the gradients your backward gives, against central differences
# (module 02's helpers).
from tinytorch.core.autograd import backward_grads, central_differences

# %% nbgrader={"grade": false, "grade_id": "12-attention-mask-data", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helper (used by the ops below): importable, not part of the module's `__all__`
def mask_data(mask):
    "A mask (bool Tensor, array or None) as a numpy bool array or None."
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        raise TypeError(f"an attention mask must be boolean (True = may attend), got dtype {m.dtype}")
    return m

# %% [markdown]
# ## 1. Masks: who may look at whom
#
# A mask is a boolean array that broadcasts against the scores `(..., T_q, T_k)`:
# **`True` means "may attend"** (PyTorch's convention for boolean masks).
#
# - **Causal**: a language model predicting token `t+1` must not peek at tokens after `t`.
#   Query `i` may attend key `j` only if `j ≤ i`: a lower-triangular `(T, T)` matrix.
#   During generation with a cache (section 6) the `T_q` new queries come *after*
#   `T_k - T_q` cached keys: query `i` sits at position `T_k - T_q + i`, so it may attend
#   keys `j ≤ T_k - T_q + i`. `causal_mask(T_q, T_k)` covers both (`T_k` defaults to `T_q`).
# - **Padding**: sequences of different lengths are padded to a common `T`; the padding
#   keys must get no attention. `padding_mask(lengths, T)` has shape `(B, 1, T)`: row `b`
#   is `True` for key positions `< lengths[b]`, and it broadcasts over the queries.
#
# `np.tri` builds lower-triangular matrices.

# %% nbgrader={"grade": false, "grade_id": "12-attention-masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def causal_mask(T_q, T_k=None):
    "Bool Tensor (T_q, T_k): query i (at position T_k - T_q + i) may attend keys j <= its position."
    T_k = T_q if T_k is None else T_k
    if T_k < T_q:
        raise ValueError(f"causal_mask: {T_q} queries need at least as many keys, got T_k={T_k}")
    ### BEGIN SOLUTION
    return Tensor(np.tri(T_q, T_k, k=T_k - T_q, dtype=bool))
    ### END SOLUTION

def padding_mask(lengths, T):
    "Bool Tensor (B, 1, T): True for key positions before each sequence's length."
    lengths = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    ### BEGIN SOLUTION
    return Tensor(np.arange(T)[None, None, :] < lengths[:, None, None])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "12-attention-masks-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
m = causal_mask(4)
expect_equal([isinstance(m, Tensor), m.shape, m.dtype], [True, (4, 4), np.dtype(np.bool_)], "causal_mask (a (T, T) bool Tensor)")
expect_equal(m.data, np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=bool),
             "causal_mask (query i may attend keys j <= i)")
m = causal_mask(2, 5)
expect_equal(m.data, np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool),
             "causal_mask (2 new queries after 3 cached keys: positions 3 and 4)")
p = padding_mask([3, 1], 4)
expect_equal([isinstance(p, Tensor), p.shape, p.dtype], [True, (2, 1, 4), np.dtype(np.bool_)],
             "padding_mask (a (B, 1, T) bool Tensor)")
expect_equal(p.data, np.array([[[1, 1, 1, 0]], [[1, 0, 0, 0]]], dtype=bool), "padding_mask (True before each length)")

# %% [markdown]
# ## 2. The masked softmax
#
# Give masked scores the value `-∞`: `exp(-∞) = 0` exactly, so a masked key gets weight
# exactly zero (not 1e-9), and the other weights renormalise among the allowed keys. As in
# module 03, subtract the row maximum before `exp` so nothing overflows.
#
# One corner case: a row with **no** allowed key (a query whose whole context is padding).
# Its maximum is `-∞`, and `-∞ - (-∞)` is NaN, which would spread through the whole batch
# in the next matmul. Replace a non-finite maximum by 0: then every `exp` is `exp(-∞) = 0`,
# the row sum is 0, and dividing by 1 instead of that 0 leaves a row of zeros. That query
# then outputs zeros: a harmless, finite answer.
#
# The backward is module 03's softmax backward. For `p = softmax(s)` and upstream `g`:
#
# $$\frac{\partial L}{\partial s} = p \odot \left(g - \textstyle\sum_j g_j p_j\right)$$
#
# which is automatically 0 wherever `p` is 0: masked positions and fully masked rows get no
# gradient. The numpy helpers `softmax_rows` and `softmax_rows_backward` are reused by the
# fused attention below; `masked_softmax` wraps them as an op.

# %% nbgrader={"grade": false, "grade_id": "12-attention-masked-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| exporti
# internal numpy helpers (reused by the fused attention): importable, not part of the module's `__all__`
def softmax_rows(s, mask=None):
    "Softmax of the array `s` over its last axis; where `mask` is False the weight is exactly 0 (all-False rows: zeros)."
    ### BEGIN SOLUTION
    e = np.where(mask, s, -np.inf) if mask is not None else s.copy()   # our own array: work in place
    m = e.max(axis=-1, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    e -= m
    np.exp(e, out=e)
    total = e.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0
    e /= total
    return e
    ### END SOLUTION

def softmax_rows_backward(g, p):
    "Gradient with respect to the scores, given the upstream gradient `g` and the weights `p`."
    ### BEGIN SOLUTION
    row = np.einsum("...ij,...ij->...i", g, p)[..., None]   # Σ_j g·p of each row, no (…, Tq, Tk) temporary
    ds = g - row
    ds *= p
    return ds
    ### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "12-attention-masked-softmax-op", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
def masked_softmax(scores, mask=None):
    "Softmax over the last axis of the Tensor `scores`, with a boolean `mask` (True = keep); differentiable."
    p = softmax_rows(scores.data, mask_data(mask))
    return Tensor.from_op(p, (scores,), lambda g: (softmax_rows_backward(g, p),))

# %% nbgrader={"grade": true, "grade_id": "12-attention-masked-softmax-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
s = Tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
p = masked_softmax(s)
expect_equal([isinstance(p, Tensor), p.shape, p.dtype], [True, (2, 3), np.dtype(np.float32)],
             "masked_softmax (a float32 Tensor of the scores' shape)")
e = np.exp([1.0, 2.0, 3.0])
expect_equal(p.data, np.array([e / e.sum(), [1 / 3] * 3]), "softmax_rows (no mask: softmax over the last axis)", rtol=1e-6)
p = masked_softmax(s, np.array([[True, True, False], [True, True, True]]))
expect_equal(p.data, np.array([[e[0] / e[:2].sum(), e[1] / e[:2].sum(), 0], [1 / 3] * 3]),
             "softmax_rows (mask: the allowed weights renormalise)", rtol=1e-6)
expect_equal(p.data[0, 2], 0.0, "softmax_rows (a masked position gets weight exactly 0)", rtol=0, atol=0)
big = masked_softmax(Tensor([[1000.0, 0.0, -1000.0]]))
expect_equal(big.data, np.array([[1.0, 0.0, 0.0]]), "softmax_rows (subtract the row max: no overflow)", atol=1e-7)

# %% nbgrader={"grade": true, "grade_id": "12-attention-masked-softmax-empty-row", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
sd = np.random.default_rng(0).standard_normal((2, 3, 4))
s = Tensor(sd, dtype=np.float64, requires_grad=True)
mask = np.array([[True, False, True, True], [False, False, False, False], [True, True, True, True]])
p = masked_softmax(s, mask)
expect_equal(p.shape, (2, 3, 4), "masked_softmax (the scores' shape)")
expect_that(p.data, lambda v: bool(np.all(np.isfinite(v))), "softmax_rows (a fully masked row)", "no NaN or inf anywhere")
expect_equal(p.data[:, 1], np.zeros((2, 4)), "softmax_rows (a fully masked row gives zeros)", rtol=0, atol=0)
expect_equal(p.data[:, [0, 2]].sum(-1), np.ones((2, 2)), "softmax_rows (rows with an allowed key sum to 1)")
allowed = np.where(mask, np.exp(sd), 0.0)
expect_equal(p.data, allowed / np.maximum(allowed.sum(-1, keepdims=True), 1e-300),
             "softmax_rows (masked softmax of random scores)", rtol=1e-9, atol=1e-12)
masked = lambda s: masked_softmax(s, mask)
expect_equal(backward_grads(masked, s), central_differences(masked, s), "softmax_rows_backward (through masked_softmax)",
             rtol=1e-5, atol=1e-6)
s.grad = None
masked_softmax(s, mask).backward(np.random.default_rng(5).standard_normal((2, 3, 4)))
expect_equal([s.grad.data[:, 1], s.grad.data[:, 0, 1]], [np.zeros((2, 4)), np.zeros(2)],
             "softmax_rows_backward (no gradient into masked scores)", rtol=0, atol=0)
### BEGIN HIDDEN TESTS
h = Tensor(np.random.default_rng(1).standard_normal((5, 6)), dtype=np.float64, requires_grad=True)
expect_equal(backward_grads(masked_softmax, h), central_differences(masked_softmax, h),
             "softmax_rows_backward (no mask)", rtol=1e-5, atol=1e-6)
sharp = lambda h: masked_softmax(h * 30.0, np.tri(5, 6, k=1, dtype=bool))
expect_equal(backward_grads(sharp, h), central_differences(sharp, h), "softmax_rows_backward (large scores, banded mask)",
             rtol=1e-5, atol=1e-6)
inf_scores = Tensor([[-np.inf, 0.0], [-np.inf, -np.inf]])
expect_equal(masked_softmax(inf_scores).data, np.array([[0.0, 1.0], [0.0, 0.0]]),
             "softmax_rows (scores of -inf: weight 0; a row of -inf gives zeros)")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Attention as one fused op
#
# Written with Tensor ops, attention is three graph nodes (matmul, masked softmax, matmul)
# plus one for the scale. Each node stores its inputs and, in backward, allocates its
# gradients: for GPT-sized batches the `(B, H, T, T)` arrays dominate. Writing forward and
# backward by hand makes it **one** node that stores only `q, k, v` and the weights `p`.
#
# Forward, with `c = 1/√d` and `P` the (masked) softmax of `S = c·QKᵀ`:
# `O = P V`. Backward, given `G = ∂L/∂O`, is the chain rule through the three steps:
#
# $$\frac{\partial L}{\partial V} = P^\top G, \qquad
#   \frac{\partial L}{\partial P} = G V^\top, \qquad
#   \frac{\partial L}{\partial S} = P \odot \left(\tfrac{\partial L}{\partial P} - \textstyle\sum_j (\tfrac{\partial L}{\partial P})_j P_j\right)$$
#
# $$\frac{\partial L}{\partial Q} = c\,\frac{\partial L}{\partial S} K, \qquad
#   \frac{\partial L}{\partial K} = c \left(\frac{\partial L}{\partial S}\right)^{\!\top} Q$$
#
# (`ᵀ` swaps the last two axes; batch axes ride along in numpy's `@`.)
#
# **Dropout on the weights.** GPT-style models drop attention weights during training. With
# a dropout multiplier `keep` (zeros and `1/(1-p)`, of `P`'s shape) the forward uses
# `P̃ = P ⊙ keep`, so `∂L/∂V = P̃ᵀG` and `∂L/∂P = (G Vᵀ) ⊙ keep`; the rest is unchanged.

# %% nbgrader={"grade": false, "grade_id": "12-attention-fused", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| exporti
# internal numpy functions (the op below wraps them): importable, not part of the module's `__all__`
def swap(a):
    "Swap the last two axes of an array (a view)."
    return np.swapaxes(a, -1, -2)

def attention_forward(q, k, v, mask=None, keep=None):
    "numpy arrays q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv) -> (out (..., Tq, dv), weights p (..., Tq, Tk))."
    scale = 1.0 / math.sqrt(q.shape[-1])
    ### BEGIN SOLUTION
    p = softmax_rows((q * q.dtype.type(scale)) @ swap(k), mask)
    out = (p if keep is None else p * keep) @ v
    return out, p
    ### END SOLUTION

def attention_backward(g, q, k, v, p, keep=None):
    "Gradients (dq, dk, dv) of attention, given the upstream gradient `g` of its output and the saved weights `p`."
    scale = q.dtype.type(1.0 / math.sqrt(q.shape[-1]))
    ### BEGIN SOLUTION
    dp = g @ swap(v)
    if keep is None:
        dv = swap(p) @ g
    else:
        dv = swap(p * keep) @ g
        dp *= keep
    ds = softmax_rows_backward(dp, p)
    dq = ds @ k
    dq *= scale
    dk = swap(ds) @ q
    dk *= scale
    return dq, dk, dv
    ### END SOLUTION

# %% [markdown]
# Check the hand-derived backward against central differences on the numpy functions
# themselves, before wrapping them as an op (float64 throughout).

# %% nbgrader={"grade": true, "grade_id": "12-attention-fused-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
out, p = attention_forward(q, k, v)
expect_equal([out.shape, p.shape], [(2, 3, 6), (2, 3, 5)], "attention_forward (out (..., Tq, dv), weights (..., Tq, Tk))")
s = q @ k.transpose(0, 2, 1) / 2.0
want_p = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
expect_equal(p, want_p, "attention_forward (the weights softmax(q kᵀ / √d))", rtol=1e-10)
expect_equal(out, want_p @ v, "attention_forward (the output weights @ v)", rtol=1e-10)
out, p = attention_forward(q, k, v, mask=np.tri(3, 5, k=2, dtype=bool))   # causal_mask(3, 5)
expect_equal([p[:, 0, 3:], p[:, 1, 4]], [np.zeros((2, 2)), np.zeros(2)],
             "attention_forward (masked keys get weight exactly 0: query 0 sits at position 2)", rtol=0, atol=0)
allowed = np.where(np.tri(3, 5, k=2, dtype=bool), np.exp(s), 0.0)
want_masked = allowed / allowed.sum(-1, keepdims=True)
expect_equal(p, want_masked, "attention_forward (mask: 3 queries after 2 earlier keys)", rtol=1e-10)
expect_equal(out, want_masked @ v, "attention_forward (mask: the output)", rtol=1e-10)
keep = (np.random.default_rng(9).random((2, 3, 5)) > 0.5) * 2.0
out, p = attention_forward(q, k, v, None, keep)
expect_equal(p, want_p, "attention_forward (with keep: the returned weights are before dropout)", rtol=1e-10)
expect_equal(out, (want_p * keep) @ v, "attention_forward (with keep: the output uses weights * keep)", rtol=1e-10)

# %% nbgrader={"grade": true, "grade_id": "12-attention-fused-backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def numeric(f, x, eps=1e-6):
    "Central differences of the scalar function f at array x."
    grad, flat = np.zeros_like(x), x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps; up = f()
        flat[i] = old - eps; down = f()
        flat[i] = old
        grad.reshape(-1)[i] = (up - down) / (2 * eps)
    return grad

rng = np.random.default_rng(1)
q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 3))
g = rng.standard_normal((2, 3, 3))
mask = np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 0]], dtype=bool)
keep = (rng.random((2, 3, 4)) > 0.3) / 0.7
loss = lambda mk, kp: lambda: np.sum(g * attention_forward(q, k, v, mk, kp)[0])
out, p = attention_forward(q, k, v)
expect_equal(list(attention_backward(g, q, k, v, p)), [numeric(loss(None, None), x) for x in (q, k, v)],
             "attention_backward (dq, dk, dv without a mask)", rtol=1e-5, atol=1e-7)
out, p = attention_forward(q, k, v, mask)
expect_equal(list(attention_backward(g, q, k, v, p)), [numeric(loss(mask, None), x) for x in (q, k, v)],
             "attention_backward (dq, dk, dv with a mask and a fully masked row)", rtol=1e-5, atol=1e-7)
out, p = attention_forward(q, k, v, mask, keep)
expect_equal(list(attention_backward(g, q, k, v, p, keep)), [numeric(loss(mask, keep), x) for x in (q, k, v)],
             "attention_backward (dq, dk, dv with a mask and a dropout keep)", rtol=1e-5, atol=1e-7)

# %% [markdown]
# ### The op
#
# `scaled_dot_product_attention(q, k, v, mask=None)` returns `(out, weights)`: `out` is one
# graph node whose backward calls `attention_backward`; `weights` is a plain Tensor of the
# attention weights (no gradient: it is for inspection and plotting). Batch dimensions may
# broadcast (one `k, v` shared by several `q`), so each gradient is summed back to its
# input's shape with `unbroadcast`. Given code, once your two functions work.

# %% nbgrader={"grade": false, "grade_id": "12-attention-dropout-keep", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helper: importable, not part of the module's `__all__`
def dropout_keep(shape, p, rng, dtype=np.float32):
    "Inverted-dropout multipliers: 0 with probability p, else 1/(1-p)."
    return (rng.random(shape, dtype=np.float32) >= p).astype(dtype) * dtype(1.0 / (1.0 - p))

# %% nbgrader={"grade": false, "grade_id": "12-attention-sdpa", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0, rng=None):
    "softmax(q kᵀ/√d, masked) v as one differentiable op; returns (out, weights) where weights has no gradient."
    q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (q, k, v))
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention: q {q.shape}, k {k.shape}, v {v.shape} do not fit: q and k need the same last "
                         "dimension, k and v the same number of positions")
    m = mask_data(mask)
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
        keep = dropout_keep(shape, dropout_p, rng or np.random.default_rng(), q.dtype.type)
    out, p = attention_forward(q.data, k.data, v.data, m, keep)

    def backward(g):
        dq, dk, dv = attention_backward(g, q.data, k.data, v.data, p, keep)
        return unbroadcast(dq, q.shape), unbroadcast(dk, k.shape), unbroadcast(dv, v.shape)
    return Tensor.from_op(out, (q, k, v), backward), Tensor(p, dtype=p.dtype)

# %% nbgrader={"grade": true, "grade_id": "12-attention-sdpa-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
qd, kd, vd = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5))
q, k, v = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (qd, kd, vd))
causal = np.tri(3, dtype=bool)
out, weights = scaled_dot_product_attention(q, k, v, causal)
expect_equal([isinstance(out, Tensor), out.shape, isinstance(weights, Tensor), weights.shape], [True, (2, 3, 5), True, (2, 3, 3)],
             "scaled_dot_product_attention (returns Tensors (out, weights))")
expect_equal(weights.data.sum(-1), np.ones((2, 3)), "scaled_dot_product_attention (each row of weights sums to 1)")
expect_equal(out.data[:, 0], vd[:, 0], "scaled_dot_product_attention (the first token can only see itself)")
allowed = np.where(causal, np.exp(qd @ kd.transpose(0, 2, 1) * 0.5), 0.0)
expect_equal(out.data, (allowed / allowed.sum(-1, keepdims=True)) @ vd, "scaled_dot_product_attention (causal attention)",
             rtol=1e-10)
composed = masked_softmax(q @ k.transpose() * 0.5, causal) @ v
expect_agree(out.data, composed.data, "scaled_dot_product_attention (fused equals composed)", rtol=1e-10)
attend = lambda q, k, v: scaled_dot_product_attention(q, k, v, causal)[0]
expect_equal(backward_grads(attend, q, k, v), central_differences(attend, q, k, v),
             "scaled_dot_product_attention backward (q, k, v)", rtol=1e-5, atol=1e-6)
shared_k = Tensor(rng.standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
shared = lambda q, k: scaled_dot_product_attention(q, k, k)[0]
expect_equal(backward_grads(shared, q, shared_k), central_differences(shared, q, shared_k),
             "scaled_dot_product_attention backward (k, v broadcast over the batch)", rtol=1e-5, atol=1e-6)

# %% [markdown]
# How much does fusing save? Time the composed version (four nodes) against the fused op
# on one GPT layer's attention, forward and backward (batch 8 here, to keep the notebook
# quick). Expect a small gain in time, if any: both do the same six batched matrix
# multiplications, which dominate. What fusing removes is the element-wise passes and the
# full-size `(B, H, T, T)` temporaries of the extra nodes (the scaled scores, their
# gradient, the engine's bookkeeping): memory, and Python overhead per node. On a machine
# shared with other work, single timings are noisy; run the cell twice.

# %%
import time

def step_time(fn, *xs, repeats=5):
    "Fastest forward+backward time of fn(*xs), in ms."
    best = float("inf")
    for _ in range(repeats):
        for x in xs: x.grad = None
        start = time.perf_counter()
        out = fn(*xs)
        out.backward(np.ones(out.shape, dtype=out.dtype))
        best = min(best, time.perf_counter() - start)
    return 1e3 * best

rng = np.random.default_rng(0)
q, k, v = (Tensor(rng.standard_normal((8, 4, 128, 64)).astype(np.float32), requires_grad=True) for _ in range(3))
cm = causal_mask(128)
t_composed = step_time(lambda q, k, v: masked_softmax(q @ k.transpose() * 0.125, cm) @ v, q, k, v)
t_fused = step_time(lambda q, k, v: scaled_dot_product_attention(q, k, v, cm)[0], q, k, v)
print(f"attention fwd+bwd, (8, 4, 128, 64): composed {t_composed:.1f} ms, fused {t_fused:.1f} ms")

# %% [markdown]
# ## 4. Self-attention: one head
#
# In **self**-attention the queries, keys and values all come from the same sequence `x`
# of shape `(B, T, d_model)`. Three `Linear` maps `d_model → d_model` make them; one
# `Linear(d_model, 3·d_model)` does the same work in one matmul (better BLAS efficiency,
# one graph node) and we slice its output into thirds. An output projection
# `Linear(d_model, d_model)` follows.
#
# `causal=True` applies `causal_mask(T)`; a `mask` passed to `forward` (for example a
# `padding_mask`) is combined with it (a key must be allowed by both). `forward(x, mask=None,
# return_weights=False)` returns the output, or `(output, weights)` when asked.

# %% nbgrader={"grade": false, "grade_id": "12-attention-combine-masks", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helper: importable, not part of the module's `__all__`
def combine_masks(T_q, T_k, causal, mask):
    "The causal mask (if `causal`) and the user's `mask` combined by logical and; None if neither."
    m = mask_data(mask)
    if causal and T_q > 1:  # one query, the newest position (cached generation), may attend every key
        c = causal_mask(T_q, T_k).data
        m = c if m is None else (c & m)
    return m

# %% nbgrader={"grade": false, "grade_id": "12-attention-self", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SelfAttention(Module):
    "Single-head self-attention on x (B, T, d_model): fused q/k/v projection, attention, output projection."

    def __init__(self, d_model, causal=False, seed=None):
        self.d_model, self.causal = d_model, causal
        ### BEGIN SOLUTION
        self.qkv = Linear(d_model, 3 * d_model, seed=seed)
        self.proj = Linear(d_model, d_model, seed=None if seed is None else seed + 1)
        ### END SOLUTION

    def forward(self, x, mask=None, return_weights=False):
        T, d = x.shape[-2], self.d_model
        ### BEGIN SOLUTION
        qkv = self.qkv(x)
        q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
        out, weights = scaled_dot_product_attention(q, k, v, combine_masks(T, T, self.causal, mask))
        out = self.proj(out)
        ### END SOLUTION
        return (out, weights) if return_weights else out

# %% nbgrader={"grade": true, "grade_id": "12-attention-self-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
attn = SelfAttention(8, causal=True, seed=0)
expect_equal([len(attn.parameters()), int(sum(p.size for p in attn.parameters()))], [4, 8 * 24 + 24 + 8 * 8 + 8],
             "SelfAttention.__init__ (a fused qkv Linear(d, 3d) and a proj Linear(d, d))")
x = Tensor(np.random.default_rng(3).standard_normal((2, 5, 8)))
out, w = attn(x, return_weights=True)
expect_equal([isinstance(out, Tensor), out.shape, w.shape], [True, (2, 5, 8), (2, 5, 5)],
             "SelfAttention.forward (return_weights=True gives (out, weights))")
expect_equal(np.triu(w.data, 1), np.zeros((2, 5, 5)), "SelfAttention.forward (causal: no weight above the diagonal)",
             rtol=0, atol=0)
h = x.data.astype(np.float64) @ attn.qkv.weight.data + attn.qkv.bias.data
scores = np.where(np.tri(5, dtype=bool), h[..., :8] @ h[..., 8:16].transpose(0, 2, 1) / np.sqrt(8), -np.inf)
e = np.exp(scores - scores.max(-1, keepdims=True))
expect_agree(out.data, (e / e.sum(-1, keepdims=True)) @ h[..., 16:] @ attn.proj.weight.data + attn.proj.bias.data,
             "SelfAttention.forward (q, k, v are the thirds of qkv(x); causal attention; then proj)", rtol=1e-4, atol=1e-5)
x2 = Tensor(x.data.copy()); x2.data[:, 3:] = 7.0          # change the future
expect_agree(attn(x2).data[:, :3], out.data[:, :3], "SelfAttention.forward (causal: outputs at t < 3 ignore tokens at t >= 3)",
             rtol=1e-5, atol=1e-6)
out, w = SelfAttention(8, seed=0)(x, mask=padding_mask([5, 2], 5), return_weights=True)
expect_equal(w.data[1, :, 2:], np.zeros((5, 3)), "SelfAttention.forward (padding keys get no weight)", rtol=0, atol=0)
_, w = attn(x, mask=padding_mask([5, 2], 5), return_weights=True)
expect_equal([np.triu(w.data, 1), w.data[1, :, 2:]], [np.zeros((2, 5, 5)), np.zeros((5, 3))],
             "SelfAttention.forward (causal and a padding mask: a key must be allowed by both)", rtol=0, atol=0)

# %% [markdown]
# ## 5. Multi-head attention, without a loop over heads
#
# One head computes one weighting of the context. **Multi-head** attention runs `H` smaller
# heads in parallel, each with `d_head = d_model / H` dimensions, so that one head can track
# the previous character while another tracks the start of the word, at the same total cost.
#
# No Python loop over heads: the fused projection gives `(B, T, 3·d_model)`; reshape it to
# `(B, T, 3, H, d_head)` and transpose to `(3, B, H, T, d_head)`. Now `q, k, v` are the three
# slices along the first axis, and every head of every sequence is one batch entry for
# numpy's batched `@`. After attention, the heads' outputs `(B, H, T, d_head)` are transposed
# back to `(B, T, H, d_head)` and reshaped to `(B, T, d_model)`: the heads concatenated.
#
# ```
#  x (B,T,D) ─Linear─> (B,T,3D) ─reshape─> (B,T,3,H,Dh) ─transpose─> q,k,v (B,H,T,Dh)
#    ─attention─> (B,H,T,Dh) ─transpose─> (B,T,H,Dh) ─reshape─> (B,T,D) ─Linear─> out
# ```
#
# `multi_head_attention(qkv, n_heads, ...)` does everything between the two `Linear`s as
# **one op**: its backward runs `attention_backward` and undoes the transposes and reshapes,
# writing `dq, dk, dv` into one `(B, T, 3·d_model)` gradient. Three slicing nodes would each
# allocate a full-size zero gradient instead.
#
# **A cache for generation.** A GPT generates one token at a time. Without a cache, step
# `t` recomputes keys and values for all `t` previous tokens, although they have not
# changed. With a **KV cache** each layer keeps the keys and values it has computed: a step
# projects only the new token(s), appends their `k, v` to the cache, and lets the new
# queries attend to everything cached (`causal_mask(T_new, T_total)`). Pass a dict as
# `cache` (empty at the start of a sequence); the op stores `cache["k"]`, `cache["v"]` as
# arrays of shape `(B, H, T_total, d_head)`. Cached keys are constants to the graph: use it
# for inference, under `no_grad()`.

# %% nbgrader={"grade": false, "grade_id": "12-attention-mha-op", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def multi_head_attention(qkv, n_heads, mask=None, causal=False, cache=None, dropout_p=0.0, rng=None):
    """Attention of H heads on a fused projection `qkv` (B, T, 3·D), as one op -> (out (B, T, D), weights (B, H, Tq, Tk)).

    `mask` broadcasts against (B, H, Tq, Tk) (a (B, 1, Tk) padding mask gets a head axis); `cache` is a dict
    holding earlier keys/values ("k", "v": (B, H, T_cached, D/H)), extended in place.
    """
    B, T, D3 = qkv.shape
    D = D3 // 3
    if D3 != 3 * D or D % n_heads:
        raise ValueError(f"multi_head_attention: last dimension {D3} must be 3 * d_model with d_model divisible "
                         f"by n_heads={n_heads}")
    hd = D // n_heads
    m = mask_data(mask)
    if m is not None and m.ndim == 3:
        m = m[:, None]                                   # (B, 1, Tk) -> (B, 1, 1, Tk): same for every head
    ### BEGIN SOLUTION
    h = qkv.data.reshape(B, T, 3, n_heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = h[0], h[1], h[2]
    if cache is not None:
        if "k" in cache:
            k = np.concatenate([cache["k"], k], axis=2)
            v = np.concatenate([cache["v"], v], axis=2)
        cache["k"], cache["v"] = k, v
    T_k = k.shape[2]
    m = combine_masks(T, T_k, causal, m)
    keep = dropout_keep((B, n_heads, T, T_k), dropout_p, rng or np.random.default_rng(), qkv.dtype.type) \
        if dropout_p > 0.0 else None
    out, p = attention_forward(q, k, v, m, keep)
    merged = out.transpose(0, 2, 1, 3).reshape(B, T, D)

    def backward(g):
        dq, dk, dv = attention_backward(g.reshape(B, T, n_heads, hd).transpose(0, 2, 1, 3), q, k, v, p, keep)
        d = np.empty((B, T, 3, n_heads, hd), dtype=qkv.dtype)   # the layout of qkv: one copy per part
        d[:, :, 0] = dq.transpose(0, 2, 1, 3)
        d[:, :, 1] = dk[:, :, T_k - T:].transpose(0, 2, 1, 3)   # cached keys get no gradient
        d[:, :, 2] = dv[:, :, T_k - T:].transpose(0, 2, 1, 3)
        return (d.reshape(B, T, D3),)
    return Tensor.from_op(merged, (qkv,), backward), Tensor(p, dtype=p.dtype)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "12-attention-mha-op-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def attend(q, k, v, mask=True):
    "numpy attention over the last two axes; keys where mask is False get no weight."
    s = np.where(mask, q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    return p @ v, p

rng = np.random.default_rng(4)
B, T, D, H = 2, 5, 12, 3
qkv_data = rng.standard_normal((B, T, 3 * D))
qkv = Tensor(qkv_data, dtype=np.float64, requires_grad=True)
out, w = multi_head_attention(qkv, H, causal=True)
expect_equal([isinstance(out, Tensor), out.shape, w.shape], [True, (B, T, D), (B, H, T, T)],
             "multi_head_attention (out (B, T, D), weights (B, H, T, T))")
split_heads = lambda a: a.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)      # (B, T, D) -> (B, H, T, d_head)
ref, ref_w = attend(split_heads(qkv_data[..., :D]), split_heads(qkv_data[..., D:2 * D]), split_heads(qkv_data[..., 2 * D:]),
                    np.tri(T, dtype=bool))
for head in range(H):
    expect_equal(out.data[..., head * 4:head * 4 + 4], ref[:, head],
                 "multi_head_attention (each head's output in its d_head columns)", rtol=1e-10)
    expect_equal(w.data[:, head], ref_w[:, head], "multi_head_attention (each head's weights)", rtol=1e-10)
causal_op = lambda t: multi_head_attention(t, H, causal=True)[0]
expect_equal(backward_grads(causal_op, qkv), central_differences(causal_op, qkv),
             "multi_head_attention backward (causal)", rtol=1e-5, atol=1e-6)
padded_op = lambda t: multi_head_attention(t, H, mask=padding_mask([5, 3], T))[0]
expect_equal(backward_grads(padded_op, qkv), central_differences(padded_op, qkv),
             "multi_head_attention backward (a (B, 1, T) padding mask)", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
out2, w2 = multi_head_attention(qkv, 1)
expect_equal(out2.data, attend(qkv_data[..., :D], qkv_data[..., D:2 * D], qkv_data[..., 2 * D:])[0],
             "multi_head_attention (one head, no mask)", rtol=1e-10)
six_heads = lambda t: multi_head_attention(t, 6, causal=True)[0]
expect_equal(backward_grads(six_heads, qkv), central_differences(six_heads, qkv),
             "multi_head_attention backward (6 heads of size 2)", rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# With the cache, feeding a sequence in pieces must give exactly what one full pass gives:

# %% nbgrader={"grade": true, "grade_id": "12-attention-kv-cache-op", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
full, _ = multi_head_attention(qkv, H, causal=True)
cache = {}
with no_grad():
    first, _ = multi_head_attention(Tensor(qkv_data[:, :3], dtype=np.float64), H, causal=True, cache=cache)
    expect_equal(cache["k"].shape, (B, H, 3, D // H), "multi_head_attention (the cache holds (B, H, T, d_head) keys)")
    steps = [first.data]
    for t in range(3, T):
        o, w = multi_head_attention(Tensor(qkv_data[:, t:t + 1], dtype=np.float64), H, causal=True, cache=cache)
        expect_equal([o.shape, w.shape], [(B, 1, D), (B, H, 1, t + 1)],
                     "multi_head_attention (with a cache, one new query attends to every cached key)")
        steps.append(o.data)
expect_equal(cache["v"].shape, (B, H, T, D // H), "multi_head_attention (the cache grows by the new values)")
expect_agree(np.concatenate(steps, axis=1), full.data, "multi_head_attention (cached steps reproduce the full pass)",
             rtol=1e-10, atol=1e-12)

# %% [markdown]
# ### The layer
#
# `MultiHeadAttention(d_model, n_heads, dropout=0.0, causal=False)` holds the fused
# projection `qkv = Linear(d_model, 3·d_model)` and the output projection
# `proj = Linear(d_model, d_model)`. In training mode, `dropout` applies to the attention
# weights (inside the op) and to the output (a `Dropout` layer), as in GPT-2; in eval mode
# neither does anything.

# %% nbgrader={"grade": false, "grade_id": "12-attention-mha", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MultiHeadAttention(Module):
    """Multi-head (self-)attention on x (B, T, d_model) with a fused q/k/v projection and no loop over heads.

    forward(x, mask=None, cache=None, return_weights=False): `mask` is a bool (True = attend) array/Tensor that
    broadcasts to (B, H, T, T) (a (B, 1, T) padding mask is fine); `causal=True` adds the causal mask.
    KV cache (generation, under no_grad): give each layer a dict, `cache = {}`, and pass it on every call; the
    first call (the prompt) fills cache["k"], cache["v"] (B, H, T, d_head); each later call with only the new
    token(s) x (B, T_new, d_model) appends to them and attends to all cached positions (the causal mask is
    offset automatically). The pieces are also usable on their own: `self.qkv(x)` then `multi_head_attention`.
    """

    def __init__(self, d_model, n_heads, dropout=0.0, causal=False, seed=None):
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.causal, self.dropout = d_model, n_heads, causal, dropout
        self.rng = np.random.default_rng(seed)
        ### BEGIN SOLUTION
        self.qkv = Linear(d_model, 3 * d_model, seed=seed)
        self.proj = Linear(d_model, d_model, seed=None if seed is None else seed + 1)
        self.drop = Dropout(dropout, seed=None if seed is None else seed + 2)
        ### END SOLUTION

    def forward(self, x, mask=None, cache=None, return_weights=False):
        ### BEGIN SOLUTION
        p = self.dropout if self.training else 0.0
        out, weights = multi_head_attention(self.qkv(x), self.n_heads, mask=mask, causal=self.causal,
                                            cache=cache, dropout_p=p, rng=self.rng)
        out = self.drop(self.proj(out))
        ### END SOLUTION
        return (out, weights) if return_weights else out

    def __repr__(self):
        return (f"MultiHeadAttention(d_model={self.d_model}, n_heads={self.n_heads}, dropout={self.dropout}, "
                f"causal={self.causal})")

# %% nbgrader={"grade": true, "grade_id": "12-attention-mha-layer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
mha = MultiHeadAttention(16, 4, causal=True, seed=0)
names = [n for n, _ in mha.named_parameters()]
expect_equal(names, ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"],
             "MultiHeadAttention.__init__ (one fused qkv Linear and one proj Linear)")
expect_equal([mha.qkv.weight.shape, mha.proj.weight.shape], [(16, 48), (16, 16)],
             "MultiHeadAttention.__init__ (qkv: Linear(d_model, 3·d_model), proj: Linear(d_model, d_model))")
xd = np.random.default_rng(5).standard_normal((3, 6, 16))
x = Tensor(xd)
out, w = mha(x, return_weights=True)
expect_equal([isinstance(out, Tensor), out.shape, w.shape], [True, (3, 6, 16), (3, 4, 6, 6)],
             "MultiHeadAttention.forward (return_weights=True gives (out, weights))")
want, _ = multi_head_attention(mha.qkv(x), 4, causal=True)
expect_agree(out.data, mha.proj(want).data, "MultiHeadAttention.forward (proj(multi_head_attention(qkv(x))))",
             rtol=1e-5, atol=1e-6)
one = MultiHeadAttention(16, 1, seed=0)
single = SelfAttention(16, seed=0)
expect_agree(one(x).data, single(x).data,
             "MultiHeadAttention vs SelfAttention (__init__ seeds qkv with seed, proj with seed + 1; one head is SelfAttention)",
             rtol=1e-5, atol=1e-6)
known = np.random.default_rng(7)
wqkv, bqkv, wp, bp = (known.standard_normal(s) * 0.3 for s in ((16, 48), (48,), (16, 16), (16,)))
mha.qkv.weight.data, mha.qkv.bias.data = wqkv.astype(np.float32), bqkv.astype(np.float32)
mha.proj.weight.data, mha.proj.bias.data = wp.astype(np.float32), bp.astype(np.float32)
heads = (xd @ wqkv + bqkv).reshape(3, 6, 3, 4, 4).transpose(2, 0, 3, 1, 4)          # (3: q/k/v, B, H, T, d_head)
scores = np.where(np.tri(6, dtype=bool), heads[0] @ heads[1].transpose(0, 1, 3, 2) / 2.0, -np.inf)
e = np.exp(scores - scores.max(-1, keepdims=True))
merged = ((e / e.sum(-1, keepdims=True)) @ heads[2]).transpose(0, 2, 1, 3).reshape(3, 6, 16)
expect_equal(mha(x).data, merged @ wp + bp, "MultiHeadAttention.forward (known weights: 4 causal heads, then proj)",
             rtol=1e-4, atol=1e-5)

# %% nbgrader={"grade": true, "grade_id": "12-attention-mha-dropout-cache", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
mha = MultiHeadAttention(16, 4, dropout=0.5, causal=True, seed=0)
expect_that([mha(x).data, mha(x).data], lambda v: not np.allclose(v[0], v[1]), "MultiHeadAttention.forward (dropout)",
            "in training mode dropout makes two calls differ")
expect_that(float(np.mean(mha(x).data == 0)), lambda f: 0.3 < f < 0.7, "MultiHeadAttention.forward (output dropout)",
            "in training mode the output is dropped too: about half its entries are exactly 0 for dropout=0.5")
mha.eval()
expect_agree(mha(x).data, mha(x).data, "MultiHeadAttention.forward (eval mode: no dropout)")
expect_agree(mha(x).data, mha.proj(multi_head_attention(mha.qkv(x), 4, causal=True)[0]).data,
             "MultiHeadAttention.forward (eval mode: no dropout on the weights or the output)", rtol=1e-5, atol=1e-6)
full = mha(x).data
cache = {}
with no_grad():
    parts = [mha(Tensor(x.data[:, :4]), cache=cache).data, mha(Tensor(x.data[:, 4:5]), cache=cache).data,
             mha(Tensor(x.data[:, 5:]), cache=cache).data]
expect_agree(np.concatenate(parts, axis=1), full, "MultiHeadAttention.forward (cached steps reproduce the full pass)",
             rtol=1e-4, atol=1e-5)
qkv = Tensor(np.random.default_rng(2).standard_normal((1, 5, 24)))
no_drop, _ = multi_head_attention(qkv, 2)
d1, _ = multi_head_attention(qkv, 2, dropout_p=0.5, rng=np.random.default_rng(0))
d2, _ = multi_head_attention(qkv, 2, dropout_p=0.5, rng=np.random.default_rng(0))
expect_that([d1.data, no_drop.data], lambda v: not np.allclose(v[0], v[1]), "multi_head_attention (dropout_p)",
            "dropout_p=0.5 drops attention weights")
expect_agree(d1.data, d2.data, "multi_head_attention (dropout_p: the same rng gives the same dropout)", rtol=0, atol=0)
MultiHeadAttention(8, 2, dropout=0.1)  # without a seed too
### BEGIN HIDDEN TESTS
mha64 = MultiHeadAttention(8, 2, causal=True, seed=1)
for prm in mha64.parameters():
    prm.data = prm.data.astype(np.float64)
    prm.data[...] = np.random.default_rng(prm.size).standard_normal(prm.shape) * 0.5
x64 = Tensor(np.random.default_rng(6).standard_normal((2, 4, 8)), dtype=np.float64, requires_grad=True)
layer = lambda x, w1, b1, w2, b2: mha64(x)
layer_inputs = (x64, mha64.qkv.weight, mha64.qkv.bias, mha64.proj.weight, mha64.proj.bias)
expect_equal(backward_grads(layer, *layer_inputs), central_differences(layer, *layer_inputs),
             "MultiHeadAttention backward (x, qkv and proj weights and biases)", rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Looking at the weights
#
# The weights say where each token looked. An untrained layer spreads attention almost
# evenly over the allowed positions (row `t` of a causal head: about `1/(t+1)` each);
# training sharpens them. Here is a head's weight matrix for 6 tokens (rows: queries,
# columns: keys); plot it with `plt.imshow(weights.data[0, head])`.

# %%
_, w = MultiHeadAttention(16, 4, causal=True, seed=0).eval()(x, return_weights=True)
print(np.round(w.data[0, 0], 2))

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "12-attention-reflect-quadratic-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Quadratic cost.** For `B = 32, H = 4, T = 128, d_model = 256`, how many bytes does one
# layer's attention-weight array take in float32, and how many multiply-adds do `QKᵀ` and
# `PV` cost? What happens to both when `T` doubles to 256, and to a Linear layer's cost?

# %% [markdown] nbgrader={"grade": true, "grade_id": "12-attention-reflect-quadratic", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Weights: 32·4·128·128 = 2.1M floats ≈ 8.4 MB (kept for backward, plus a dropout mask).
# QKᵀ and PV: 2 · B·H·T²·d_head = 2·32·4·16384·64 ≈ 268M multiply-adds. Doubling T multiplies
# both by 4 (quadratic); a Linear's cost (B·T·d_in·d_out) only doubles (linear in T).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "12-attention-reflect-cache-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **The KV cache.** Generating `N` tokens one at a time: how much projection and attention
# work does step `t` do without a cache, and with one? What does the cache cost in memory
# for a 4-layer, `d_model = 256` model at 512 positions and batch 1? Why can keys and
# values be cached but not the attention weights of earlier steps?

# %% [markdown] nbgrader={"grade": true, "grade_id": "12-attention-reflect-cache", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Without: projections for all t tokens (O(t·d²)) and attention for all t queries (O(t²·d))
# per step, O(N³)-ish overall for attention. With: projections for 1 token (O(d²)) and attention
# of 1 query over t keys (O(t·d)). Memory: 2 (k, v) · 4 layers · 512 · 256 · 4 bytes ≈ 4 MB.
# Earlier tokens' k and v never change (causal: they do not depend on later tokens); a new
# query needs a new row of weights, and old rows are never needed again.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "12-attention-reflect-fused-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Fusing.** The composed attention (`q @ kᵀ`, scale, masked softmax, `@ v`) and the fused
# op compute the same numbers. Which arrays does each keep alive for the backward pass, and
# which full-size temporaries does each allocate? The timing cell above shows little or no
# difference in time between the two (run it twice: single timings on a shared machine are
# noisy): why does fusing save so little time here, and what does it save instead?

# %% [markdown] nbgrader={"grade": true, "grade_id": "12-attention-reflect-fused", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Composed: the scores, scaled scores and weights ((B,H,T,T) each) plus q,k,v are saved by
# separate nodes; backward allocates a gradient per node (several (B,H,T,T) arrays) and the
# engine adds/accumulates them. Fused: saves q,k,v and p only, one backward with few
# temporaries. Time: both do the same six batched matmuls, which dominate; fusing removes only
# a few element-wise passes (memory-bound, but cheap next to the matmuls here) and the Python
# overhead of three nodes, so the gain is small or lost in noise (measured: equal within noise
# at (8, 4, 128, 64)). What it saves is memory: fewer (B,H,T,T) arrays alive (peak about 20%
# lower here), which matters as T grows; a fused kernel that never stores P (FlashAttention)
# is where the big time gains come from on real hardware.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
