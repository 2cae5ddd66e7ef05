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
# # 13 · Transformers: the block that GPT stacks
#
# A GPT is a stack of identical **transformer blocks**. Each block lets the tokens talk to
# each other (attention, module 12) and then lets each token think on its own (a small
# two-layer network, the **feed-forward** part). Two more ingredients make a deep stack of
# them trainable: **residual connections** and **layer normalisation**.
#
# The pre-LN block of GPT-2 and most models since:
#
# ```
#   x ──┬──────────────────────────────┐
#       └─ LayerNorm ─ MultiHeadAttention ─ (+) ──┬────────────────────────────┐
#                                                  └─ LayerNorm ─ FeedForward ─ (+) ──> out
#
#   x = x + attention(ln1(x))
#   x = x + feedforward(ln2(x))
# ```
#
# - **Residuals** (`x + f(x)`) give the gradient a direct path from the loss to every layer:
#   the derivative of `x + f(x)` is `1 + f'(x)`, so even a badly scaled `f` cannot block it.
# - **Pre-LN**: normalising the *input* of each sublayer (rather than the sum, as the original
#   "post-LN" Transformer did) keeps the residual stream untouched, which lets deep stacks
#   train without a careful learning-rate warm-up.
#
# This module is also where speed is decided. Module 16 trains a 4-layer, `d_model = 256`
# GPT whose training step must stay within 2× of PyTorch's on a CPU. Matrix multiplications
# run at BLAS speed in both frameworks, so the difference is everything else: element-wise
# work (LayerNorm, GELU, dropout), temporaries, and the number of graph nodes. You write
# LayerNorm as a fused op with a hand-derived gradient, and measure module 03's fused GELU.

# %%
#| default_exp core.transformers

# %% nbgrader={"grade": false, "grade_id": "13-transformers-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import math

import numpy as np

from tinytorch.core.activations import gelu_tanh
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Dropout, Linear, Module, Parameter

# %% nbgrader={"grade": false, "grade_id": "13-transformers-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_that

# %% nbgrader={"grade": false, "grade_id": "13-transformers-gradient-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The gradient checks of the graded cells: the gradients your backward gives, against central differences
# (module 02's helpers).
from tinytorch.core.autograd import backward_grads, central_differences

# %% [markdown]
# ## 1. Layer normalisation
#
# For each token's vector `x` of `d` features (the last axis), LayerNorm removes the mean and
# divides by the standard deviation, then applies a learned per-feature scale `γ` and shift
# `β` (initialised to 1 and 0, so it starts as pure normalisation):
#
# $$\mu = \frac{1}{d}\sum_i x_i, \quad \sigma^2 = \frac{1}{d}\sum_i (x_i-\mu)^2, \quad
#   \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad y_i = \gamma_i \hat x_i + \beta_i$$
#
# Unlike batch normalisation it uses no statistics across the batch, so it behaves the same
# in training and evaluation, for any batch size, and for every position of a sequence.
#
# **The backward**, with `r = 1/√(σ² + ε)` and `ĝ = g ⊙ γ` (the upstream gradient through
# the scale): because `μ` and `σ` depend on every `x_i`, the gradient is not just `r·ĝ`; two
# corrections remove its mean and its component along `x̂`:
#
# $$\frac{\partial L}{\partial x} = r\left(\hat g - \operatorname{mean}(\hat g) - \hat x \cdot \operatorname{mean}(\hat g \odot \hat x)\right),
#   \qquad \frac{\partial L}{\partial \gamma} = \sum_{\text{rows}} g \odot \hat x, \qquad
#   \frac{\partial L}{\partial \beta} = \sum_{\text{rows}} g$$
#
# Composed from Tensor ops, LayerNorm is about ten graph nodes, each allocating a
# `(B, T, d)` array forward and backward. As one op it is a handful of passes.
#
# **Systems note: short reductions.** `x.mean(axis=-1)` over `d = 256` features of 4096 rows
# is a numpy reduction loop per row, about 3× slower than it could be. `np.einsum("ij->i", x)`
# sums each row in one vectorised pass (as fast as a BLAS matrix-vector product with one
# thread, and unlike BLAS it never hands a tiny product to threads that wait for a busy
# core); `np.einsum("ij,ij->i", a, b)` computes the row-wise dot products `(a*b).sum(-1)`
# without materialising `a*b`. Work on the 2-D view `(rows, d)` and reshape back at the end,
# and make the backward's corrections in place in one buffer.

# %% nbgrader={"grade": false, "grade_id": "13-transformers-layernorm-op", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def layer_norm(x, gamma, beta, eps=1e-5):
    "Normalise x over its last axis, then scale by `gamma` and shift by `beta` (both (d,)); one fused op."
    d = x.shape[-1]
    if gamma.shape != (d,) or beta.shape != (d,):
        raise ValueError(f"layer_norm: gamma and beta must have shape ({d},) for input {x.shape}, "
                         f"got {gamma.shape} and {beta.shape}")
    x2 = x.data.reshape(-1, d)
    row_mean = lambda a: (np.einsum("ij->i", a) / d)[:, None]            # (rows, 1), in a's dtype
    ### BEGIN SOLUTION
    xhat = x2 - row_mean(x2)
    var = np.einsum("ij,ij->i", xhat, xhat) / d
    rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)[:, None]
    xhat *= rstd
    out = xhat * gamma.data
    out += beta.data

    def backward(g):
        g2 = g.reshape(-1, d)
        gh = g2 * gamma.data
        dx = xhat * (np.einsum("ij,ij->i", gh, xhat) / -d)[:, None]     # -x̂·mean(ĝ ⊙ x̂)
        dx += gh
        dx -= row_mean(gh)
        dx *= rstd
        return dx.reshape(x.shape), np.einsum("ij,ij->j", g2, xhat), g2.sum(axis=0)
    return Tensor.from_op(out.reshape(x.shape), (x, gamma, beta), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "13-transformers-layernorm-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
xd = (rng.standard_normal((2, 3, 8)) * 5 + 3).astype(np.float32)
x = Tensor(xd)
gamma, beta = Tensor(np.ones(8)), Tensor(np.zeros(8))
y = layer_norm(x, gamma, beta)
expect_equal([isinstance(y, Tensor), y.shape, y.dtype], [True, (2, 3, 8), np.dtype(np.float32)],
             "layer_norm (a float32 Tensor of x's shape)")
expect_equal(y.data.mean(-1), np.zeros((2, 3)), "layer_norm (each row has mean 0)", atol=1e-5)
expect_equal(y.data.std(-1), np.ones((2, 3)), "layer_norm (each row has standard deviation 1)", rtol=1e-3)
g, b = Tensor(np.arange(8.0)), Tensor(np.full(8, 0.5))
x64 = xd.astype(np.float64)
want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5) * np.arange(8) + 0.5
expect_equal(layer_norm(x, g, b).data, want, "layer_norm (scale by gamma, then shift by beta)", rtol=1e-4, atol=1e-4)
expect_equal(layer_norm(Tensor(np.full((1, 4), 7.0)), Tensor(np.ones(4)), Tensor(np.zeros(4))).data, np.zeros((1, 4)),
             "layer_norm (a constant row normalises to zeros: eps avoids dividing by 0)", atol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "13-transformers-layernorm-grad", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(1)
x = Tensor(rng.standard_normal((3, 4, 6)), dtype=np.float64, requires_grad=True)
gamma = Tensor(rng.standard_normal(6), dtype=np.float64, requires_grad=True)
beta = Tensor(rng.standard_normal(6), dtype=np.float64, requires_grad=True)
expect_equal(backward_grads(layer_norm, x, gamma, beta), central_differences(layer_norm, x, gamma, beta),
             "layer_norm backward (x, gamma, beta)", rtol=1e-5, atol=1e-6)
x2 = Tensor(rng.standard_normal((5, 3)) * 10, dtype=np.float64, requires_grad=True)
gamma2 = Tensor(gamma.data[:3], dtype=np.float64, requires_grad=True)
beta2 = Tensor(beta.data[:3], dtype=np.float64, requires_grad=True)
expect_equal(backward_grads(layer_norm, x2, gamma2, beta2), central_differences(layer_norm, x2, gamma2, beta2),
             "layer_norm backward (a 2-D input of large values)", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
big = Tensor(rng.standard_normal((2, 7)) * 1e3 + 1e4, dtype=np.float64, requires_grad=True)
plain_norm = lambda x: layer_norm(x, Tensor(np.ones(7), dtype=np.float64), Tensor(np.zeros(7), dtype=np.float64))
expect_equal(backward_grads(plain_norm, big), central_differences(plain_norm, big, eps=1e-3),
             "layer_norm backward (rows of mean 1e4 and standard deviation 1e3)", rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# The layer keeps `γ` and `β` as parameters named `gamma` and `beta`.

# %% nbgrader={"grade": false, "grade_id": "13-transformers-layernorm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LayerNorm(Module):
    "Layer normalisation over the last axis with a learned scale `gamma` (ones) and shift `beta` (zeros)."

    def __init__(self, dim, eps=1e-5):
        self.dim, self.eps = dim, eps
        ### BEGIN SOLUTION
        self.gamma = Parameter(np.ones(dim, dtype=np.float32))
        self.beta = Parameter(np.zeros(dim, dtype=np.float32))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return layer_norm(x, self.gamma, self.beta, self.eps)
        ### END SOLUTION

    def __repr__(self):
        return f"LayerNorm({self.dim}, eps={self.eps})"

# %% nbgrader={"grade": true, "grade_id": "13-transformers-layernorm-layer", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ln = LayerNorm(4)
expect_equal([n for n, _ in ln.named_parameters()], ["gamma", "beta"], "LayerNorm.__init__ (parameters gamma and beta)")
expect_equal([ln.gamma.data, ln.beta.data], [np.ones(4), np.zeros(4)], "LayerNorm.__init__ (gamma starts at ones, beta at zeros)",
             rtol=0, atol=0)
x = Tensor(np.array([[1.0, 2.0, 3.0, 4.0]]))
out = ln(x)
expect_equal([isinstance(out, Tensor), out.shape], [True, (1, 4)], "LayerNorm.forward (a Tensor of x's shape)")
expect_equal(out.data, np.array([(np.arange(4) - 1.5) / np.sqrt(1.25 + 1e-5)]), "LayerNorm.forward (normalises each row)",
             rtol=1e-5)
out.sum().backward()
expect_equal(ln.beta.grad.data, np.ones(4), "LayerNorm backward (beta's gradient)")
expect_equal(ln.gamma.grad.data, (np.arange(4) - 1.5) / np.sqrt(1.25 + 1e-5), "LayerNorm backward (gamma's gradient is x̂)",
             rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## 2. A fast GELU
#
# The feed-forward network uses GELU in GPT-2's tanh form, from module 03:
#
# $$\mathrm{gelu}(x) = \tfrac12 x\,(1 + \tanh u), \qquad u = k\,(x + 0.044715\,x^3), \quad k = \sqrt{2/\pi}$$
#
# In a GPT with `d_ff = 1024` it runs on `B·T·1024 = 4` million numbers per layer. That is
# pure element-wise work, which is **memory-bound**: each numpy operation reads and writes
# whole arrays (16 MB each here), so the cost is the number of passes and temporaries, not
# the arithmetic. Module 03 gives `gelu_tanh`, the same function written for that: no
# `x ** 3`, in-place operators into one buffer, scalars kept in float32, and cache blocking
# (the formula's eight steps run on 256 KB blocks that stay in the CPU cache). The feed-forward
# network below uses it. How much do these habits buy? Compare it with your clear
# `gelu(x, approximate="tanh")` on one feed-forward layer's activations (`32 × 128 × 1024`
# floats), forward and backward.

# %%
import time
from tinytorch.core.activations import gelu

def fwd_bwd_ms(fn, x, repeats=3):
    "Fastest forward+backward time of fn(x) in ms."
    g = np.ones(x.shape, dtype=x.dtype)
    best = float("inf")
    for _ in range(repeats):
        x.grad = None
        start = time.perf_counter()
        fn(x).backward(g)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best

h = Tensor(np.random.default_rng(0).standard_normal((32 * 128, 1024)).astype(np.float32), requires_grad=True)
print(f"GELU fwd+bwd on {h.shape}: module 03 tanh form {fwd_bwd_ms(lambda t: gelu(t, approximate='tanh'), h):.0f} ms, "
      f"fused gelu_tanh {fwd_bwd_ms(gelu_tanh, h):.0f} ms")
del h

# %% [markdown]
# ## 3. The feed-forward network
#
# Each token's vector goes through `Linear(d_model, d_ff)`, GELU, `Linear(d_ff, d_model)`,
# then dropout. `d_ff = 4·d_model` is the usual choice: the feed-forward network holds two
# thirds of a block's parameters and FLOPs. It works on each position independently; all
# mixing between positions happens in attention.

# %% nbgrader={"grade": false, "grade_id": "13-transformers-feedforward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class FeedForward(Module):
    "Position-wise MLP: Linear(d_model, d_ff) -> GELU (tanh form) -> Linear(d_ff, d_model) -> Dropout."

    def __init__(self, d_model, d_ff, dropout=0.0, seed=None):
        self.d_model, self.d_ff = d_model, d_ff
        ### BEGIN SOLUTION
        self.fc1 = Linear(d_model, d_ff, seed=seed)
        self.fc2 = Linear(d_ff, d_model, seed=None if seed is None else seed + 1)
        self.drop = Dropout(dropout, seed=None if seed is None else seed + 2)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.drop(self.fc2(gelu_tanh(self.fc1(x))))
        ### END SOLUTION

    def __repr__(self):
        return f"FeedForward(d_model={self.d_model}, d_ff={self.d_ff}, dropout={self.drop.p})"

# %% nbgrader={"grade": true, "grade_id": "13-transformers-feedforward-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ff = FeedForward(8, 32, seed=0)
FeedForward(8, 32, dropout=0.1)  # without a seed too
expect_equal([n for n, _ in ff.named_parameters()], ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
             "FeedForward.__init__ (two Linear layers fc1, fc2)")
expect_equal([ff.fc1.weight.shape, ff.fc2.weight.shape], [(8, 32), (32, 8)],
             "FeedForward.__init__ (fc1: Linear(d_model, d_ff), fc2: Linear(d_ff, d_model))")
xd = np.random.default_rng(3).standard_normal((2, 5, 8))
x = Tensor(xd)
out = ff(x)
expect_equal([isinstance(out, Tensor), out.shape], [True, (2, 5, 8)], "FeedForward.forward (a Tensor of x's shape)")
h = x.data @ ff.fc1.weight.data + ff.fc1.bias.data
expect_agree(out.data, (0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))) @ ff.fc2.weight.data
             + ff.fc2.bias.data, "FeedForward.forward (fc2(gelu_tanh(fc1(x))))", rtol=1e-4, atol=1e-5)
expect_agree(ff(x[:, 2:3]).data, out.data[:, 2:3], "FeedForward.forward (each position is processed on its own)",
             rtol=1e-5, atol=1e-6)
drop = FeedForward(8, 32, dropout=0.5, seed=0)
expect_that([drop(x).data, drop(x).data], lambda v: not np.allclose(v[0], v[1]), "FeedForward.forward (dropout)",
            "in training mode dropout makes two calls differ")
expect_that(float(np.mean(drop(x).data == 0)), lambda f: 0.2 < f < 0.8, "FeedForward.forward (dropout)",
            "in training mode about half the outputs are exactly 0 for dropout=0.5")
expect_agree(drop.eval()(x).data, out.data, "FeedForward.forward (eval mode: no dropout; the same seed, the same weights)",
             rtol=1e-5, atol=1e-6)
known = np.random.default_rng(9)
w1, b1, w2, b2 = (known.standard_normal(s) * 0.5 for s in ((8, 32), (32,), (32, 8), (8,)))
ff.fc1.weight.data, ff.fc1.bias.data = w1.astype(np.float32), b1.astype(np.float32)
ff.fc2.weight.data, ff.fc2.bias.data = w2.astype(np.float32), b2.astype(np.float32)
hk = xd @ w1 + b1
expect_equal(ff(x).data, (0.5 * hk * (1 + np.tanh(np.sqrt(2 / np.pi) * (hk + 0.044715 * hk ** 3)))) @ w2 + b2,
             "FeedForward.forward (known weights: fc2(gelu_tanh(fc1(x))))", rtol=1e-4, atol=1e-5)

# %% [markdown]
# ## 4. The transformer block
#
# `TransformerBlock(d_model, n_heads, d_ff, dropout=0.0, causal=True)` wires it together:
# `ln1`, `attn` (a `MultiHeadAttention` whose dropout covers the attention weights and its
# output), `ln2`, `ffn`. `forward(x, mask=None, cache=None)` passes `mask` and `cache` to
# the attention (module 12): the same block serves training, padded batches and cached
# generation.

# %% nbgrader={"grade": false, "grade_id": "13-transformers-block", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TransformerBlock(Module):
    """Pre-LN transformer block: x + attn(ln1(x)), then + ffn(ln2(x)).

    forward(x, mask=None, cache=None): `mask` and `cache` go to MultiHeadAttention (a dict per block for
    cached generation under no_grad; see MultiHeadAttention).
    """

    def __init__(self, d_model, n_heads, d_ff, dropout=0.0, causal=True, seed=None):
        self.d_model, self.n_heads, self.d_ff = d_model, n_heads, d_ff
        sub = (lambda k: None) if seed is None else (lambda k: seed + 10 * k)
        ### BEGIN SOLUTION
        self.ln1 = LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout=dropout, causal=causal, seed=sub(1))
        self.ln2 = LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff, dropout=dropout, seed=sub(2))
        ### END SOLUTION

    def forward(self, x, mask=None, cache=None):
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln1(x), mask=mask, cache=cache)
        return x + self.ffn(self.ln2(x))
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "13-transformers-block-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
TransformerBlock(8, 2, 32, dropout=0.1)  # without a seed too
block = TransformerBlock(16, 4, 64, seed=0)
names = [n for n, _ in block.named_parameters()]
expect_equal([names[:2], "attn.qkv.weight" in names, names[-1]], [["ln1.gamma", "ln1.beta"], True, "ffn.fc2.bias"],
             "TransformerBlock.__init__ (ln1, attn, ln2, ffn)")
expect_equal(int(sum(p.size for p in block.parameters())),
             2 * 16 + (16 * 48 + 48 + 16 * 16 + 16) + 2 * 16 + (16 * 64 + 64 + 64 * 16 + 16),
             "TransformerBlock.__init__ (the parameter count of two LayerNorms, attention and the feed-forward network)")
x = Tensor(np.random.default_rng(4).standard_normal((2, 6, 16)))
out = block(x)
expect_equal([isinstance(out, Tensor), out.shape], [True, (2, 6, 16)], "TransformerBlock.forward (a Tensor of x's shape)")
h = x + block.attn(block.ln1(x))
expect_agree(out.data, (h + block.ffn(block.ln2(h))).data,
             "TransformerBlock.forward (pre-LN: x + attn(ln1(x)), then + ffn(ln2(.)))", rtol=1e-5, atol=1e-6)
x2 = Tensor(x.data.copy()); x2.data[:, 4:] = -3.0
expect_agree(block(x2).data[:, :4], out.data[:, :4], "TransformerBlock.forward (causal by default: the future does not change the past)",
             rtol=1e-5, atol=1e-5)
### BEGIN HIDDEN TESTS
enc = TransformerBlock(16, 2, 32, causal=False, seed=1)
x3 = Tensor(x.data.copy()); x3.data[:, 5] *= -2.0     # (adding a constant would vanish in LayerNorm)
expect_that([enc(x3).data[:, 0], enc(x).data[:, 0]], lambda v: not np.allclose(v[0], v[1]),
            "TransformerBlock (causal=False)", "every position sees every other: changing the last token changes the first output")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "13-transformers-block-grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
block = TransformerBlock(8, 2, 16, seed=5)
for p in block.parameters():                       # float64 copies, randomised so every path matters
    p.data = np.random.default_rng(p.size).standard_normal(p.shape) * 0.5
x = Tensor(np.random.default_rng(6).standard_normal((2, 3, 8)), dtype=np.float64, requires_grad=True)
whole = lambda x, *ps: block(x)
inputs = ["x"] + [n for n, _ in block.named_parameters()]
expect_equal(dict(zip(inputs, backward_grads(whole, x, *block.parameters()))),
             dict(zip(inputs, central_differences(whole, x, *block.parameters()))),
             "TransformerBlock backward (x and every parameter)", rtol=1e-5, atol=1e-6)
block.zero_grad()
block(x).sum().backward()
expect_that({n: p.grad is not None and bool(np.any(p.grad.data != 0)) for n, p in block.named_parameters()},
            lambda v: all(v.values()), "TransformerBlock backward", "every parameter gets a nonzero gradient")

# %% nbgrader={"grade": true, "grade_id": "13-transformers-block-cache", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
block = TransformerBlock(16, 4, 32, dropout=0.2, seed=7)
x = Tensor(np.random.default_rng(8).standard_normal((2, 7, 16)))
expect_that([block(x).data, block(x).data], lambda v: not np.allclose(v[0], v[1]), "TransformerBlock.forward (dropout)",
            "in training mode dropout makes two calls differ")
block.eval().ffn.train()
expect_that([block(x).data, block(x).data], lambda v: not np.allclose(v[0], v[1]), "TransformerBlock.__init__ (dropout)",
            "the feed-forward network gets the block's dropout (only ffn in training mode: two calls differ)")
block.eval().attn.train()
expect_that([block(x).data, block(x).data], lambda v: not np.allclose(v[0], v[1]), "TransformerBlock.__init__ (dropout)",
            "the attention gets the block's dropout (only attn in training mode: two calls differ)")
block.eval()
full = block(x).data
cache = {}
with no_grad():
    steps = [block(Tensor(x.data[:, :3]), cache=cache).data] + \
            [block(Tensor(x.data[:, t:t + 1]), cache=cache).data for t in range(3, 7)]
expect_agree(np.concatenate(steps, axis=1), full, "TransformerBlock.forward (cached generation reproduces the full pass)",
             rtol=1e-4, atol=1e-5)

# %% [markdown]
# ## 5. A stack, and where its time goes
#
# Module 16 stacks four of these blocks with `d_model = 256, n_heads = 4, d_ff = 1024` on
# batches of 32 sequences of 128 characters. A quick look at one block's forward and
# backward at a quarter of that batch (module 14's profiler breaks it down op by op):

# %%
block = TransformerBlock(256, 4, 1024, dropout=0.1, seed=0)
x = Tensor(np.random.default_rng(0).standard_normal((8, 128, 256)).astype(np.float32), requires_grad=True)
g = np.ones(x.shape, dtype=np.float32)
times = []
for _ in range(3):
    start = time.perf_counter()
    block(x).backward(g)
    times.append(time.perf_counter() - start)
flops = 3 * 2 * 8 * 128 * (256 * 768 + 256 * 256 + 2 * 256 * 1024 + 2 * 128 * 256)
print(f"one block, batch (8, 128, 256): {1e3 * min(times):.0f} ms forward+backward, "
      f"{flops / min(times) / 1e9:.0f} GFLOP/s of matrix multiplications")

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "13-transformers-reflect-preln-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Pre-LN versus post-LN.** The original Transformer computed `x = LayerNorm(x + f(x))`.
# Follow the gradient from the output back to the first block's input in a stack of `L`
# blocks, in both arrangements. Why does pre-LN train stably without warm-up, and why does a
# pre-LN GPT need one extra LayerNorm after the last block?

# %% [markdown] nbgrader={"grade": true, "grade_id": "13-transformers-reflect-preln", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Pre-LN: the residual stream is x_L = x_0 + Σ f_i(...), so ∂x_L/∂x_0 = I + Σ(...): an identity
# path reaches every block undisturbed. Post-LN puts a LayerNorm (whose Jacobian rescales by
# 1/σ) on the main path L times, so gradients near the input can shrink/blow up and need warm-up.
# The stream in pre-LN is never normalised, its scale grows with depth, so a final LayerNorm
# normalises it before the output projection.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "13-transformers-reflect-layernorm-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Why not batch normalisation?** Give two reasons LayerNorm suits language models better
# than BatchNorm (think: padded sequences, batch size 1 at generation time, train versus
# eval behaviour).

# %% [markdown] nbgrader={"grade": true, "grade_id": "13-transformers-reflect-layernorm", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# LayerNorm normalises each token on its own: identical in train and eval, no running
# statistics, works for batch size 1 (generation, one token at a time with a cache) and is
# not polluted by padding positions or by the other sequences in the batch; BatchNorm's
# statistics over batch (and time) depend on batch composition and sequence length.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "13-transformers-reflect-budget-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **The budget.** For one block with `d_model = 256, d_ff = 1024, T = 128`: count the
# parameters of attention and of the feed-forward network, and the multiply-adds per token of
# each (include the `T`-dependent attention part). Element-wise ops do almost no arithmetic;
# why can they still take a large share of the time in numpy?

# %% [markdown] nbgrader={"grade": true, "grade_id": "13-transformers-reflect-budget", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Attention: 4·256² + 4·256 ≈ 263k params; FFN: 2·256·1024 + 1024 + 256 ≈ 525k (2/3).
# Per token: attention projections 4·256² ≈ 262k MACs plus scores/values 2·T·256 ≈ 65k;
# FFN 2·256·1024 ≈ 524k. Element-wise ops are memory-bound: each numpy op is a full pass over
# arrays of 1-4M floats (reading/writing tens of MB) with fresh temporaries, single-threaded,
# while matmuls run at ~100 GFLOP/s in BLAS on both cores.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
