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
# # 03 · Activations: the non-linear part of a neural network
#
# Stack two linear layers and you get... one linear layer: `(x @ W1) @ W2 = x @ (W1 @ W2)`.
# Depth only buys expressive power when a **non-linear** function sits between the layers.
# These functions are called activations, and a handful of them run modern deep learning:
#
# | function | formula | where you meet it |
# |---|---|---|
# | ReLU | `max(x, 0)` | CNNs, MLPs: cheap, does not saturate for x > 0 |
# | Sigmoid | `1 / (1 + e^-x)` | gates, binary probabilities |
# | Tanh | `(e^x - e^-x) / (e^x + e^-x)` | RNNs, the GELU approximation |
# | GELU | `x · Φ(x)` | transformers (BERT, GPT-2, ...) |
# | Softmax | `e^x_i / Σ_j e^x_j` | class probabilities, attention weights |
# | LogSoftmax | `x_i - log Σ_j e^x_j` | the input of cross-entropy (module 05) |
#
# Each one is a **differentiable op** in the sense of module 02: a function that computes its
# output with numpy and records, with **one** `Tensor.from_op`, how the gradient flows back.
# Writing `softmax` out of `exp`, `sum` and `/` would work too, but would make four graph
# nodes and keep four intermediate arrays alive; a single *fused* op with a hand-derived
# backward is faster and needs less memory. The softmax you write here runs inside every
# attention layer of the GPT in module 16, so speed matters.
#
# Two themes run through this chapter:
# - **numerical stability**: `exp(1000)` is `inf` in float32 (anything above ~88.7 is), and
#   `inf / inf` is `nan`. Every function here must give finite, correct results for inputs
#   as large as ±10⁴;
# - **gradients you can trust**: each backward is checked with `gradcheck` from module 02.

# %%
#| default_exp core.activations

# %% nbgrader={"grade": false, "grade_id": "03-activations-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import math

import numpy as np

from tinytorch.core.autograd import Tensor, gradcheck


def to_tensor(x):
    "`x` itself if it is a Tensor, else a new Tensor holding it."
    return x if isinstance(x, Tensor) else Tensor(x)

# %% nbgrader={"grade": false, "grade_id": "03-activations-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_that

# %% [markdown]
# ## 1. ReLU
#
# `relu(x) = max(x, 0)`. Its derivative is 1 where `x > 0` and 0 where `x < 0`; at exactly 0
# it is undefined, and like PyTorch we use 0. So the backward pass lets the upstream gradient
# through where the input was positive and blocks it elsewhere: `g * (x > 0)`.
#
# The template for every op in this chapter is the one from module 02:
#
# ```python
# out = <numpy forward>
# return Tensor.from_op(out, (x,), lambda g: (<numpy gradient for x>,))
# ```
#
# The backward function is a closure: it can use `x.data` and `out`, which the forward pass
# computed. Keep the dtype: float32 in, float32 out (multiply by Python numbers, not by
# float64 numpy scalars, which would promote).

# %% nbgrader={"grade": false, "grade_id": "03-activations-relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def relu(x):
    "max(x, 0) element-wise, differentiable (gradient 0 at x = 0)."
    x = to_tensor(x)
    ### BEGIN SOLUTION
    return Tensor.from_op(np.maximum(x.data, 0), (x,), lambda g: (g * (x.data > 0),))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-relu-values", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])
out = relu(x)
expect_that(isinstance(out, Tensor), lambda v: v is True, "relu", "relu returns a Tensor")
expect_equal(out.shape, (2, 3), "relu (output shape)")
expect_equal(out.dtype, np.float32, "relu (float32 in, float32 out)")
expect_equal(out.data, [[0, 0, 0], [0.5, 1, 3]], "relu")

# %% nbgrader={"grade": true, "grade_id": "03-activations-relu-grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([-1.0, 0.0, 2.0, 3.0], requires_grad=True)
relu(x).backward(np.array([1.0, 1.0, 1.0, 5.0], dtype=np.float32))
expect_that(isinstance(x.grad, Tensor), lambda v: v is True, "relu backward", "x.grad is a Tensor")
expect_equal(x.grad.data, [0.0, 0.0, 1.0, 5.0], "relu backward (the gradient passes where x > 0, 0 at x = 0)")
rng = np.random.default_rng(0)
a = rng.uniform(-2, 2, (3, 4))
g = rng.standard_normal((3, 4))
x = Tensor(a, dtype=np.float64, requires_grad=True)
relu(x).backward(g)
expect_equal(x.grad.data, g * (a > 0), "relu backward (float64, random upstream gradient)", rtol=1e-12)

# %% [markdown]
# ## 2. Sigmoid, computed without overflow
#
# `σ(x) = 1 / (1 + e^-x)` squashes any number into (0, 1). Its derivative has a neat form:
# `σ'(x) = σ(x) (1 - σ(x))`, so the backward pass reuses the forward output. Its largest
# value is 0.25 (at x = 0): a gradient passing through ten sigmoids shrinks by at least
# 0.25¹⁰ ≈ 10⁻⁶ — the **vanishing gradient** that made deep networks hard to train before ReLU.
#
# The formula as written breaks for large negative x: `e^-x` overflows (`np.exp(1e4)` is
# `inf`, with a warning) even though the answer, 0, is perfectly representable. The fix is to
# only ever exponentiate a non-positive number. With `e = exp(-|x|)`, which lies in (0, 1]:
#
# - for `x ≥ 0`: `σ(x) = 1 / (1 + e)`
# - for `x < 0`: `σ(x) = e / (1 + e)` (multiply the top and bottom of the formula by `e^x`)
#
# `np.where(condition, a, b)` picks between the two element by element.

# %% nbgrader={"grade": false, "grade_id": "03-activations-sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sigmoid(x):
    "1 / (1 + exp(-x)) element-wise, without overflow for large |x|; differentiable."
    x = to_tensor(x)
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(x.data))
    out = np.where(x.data >= 0, 1 / (1 + e), e / (1 + e))
    return Tensor.from_op(out, (x,), lambda g: (g * out * (1 - out),))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-sigmoid-values", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
out = sigmoid(x)
expect_that(isinstance(out, Tensor), lambda v: v is True, "sigmoid", "sigmoid returns a Tensor")
expect_equal(out.shape, (7,), "sigmoid (output shape)")
expect_equal(out.dtype, np.float32, "sigmoid (float32 in, float32 out)")
expect_equal(out.data, 1 / (1 + np.exp(-np.array([-3.0, -1, -0.5, 0, 0.5, 1, 3]))), "sigmoid", rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "03-activations-sigmoid-stable", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
with np.errstate(over="raise", invalid="raise", divide="raise"):  # an overflow anywhere is an error here
    out = sigmoid(Tensor([-1e4, -100.0, 100.0, 1e4]))
expect_equal(out.shape, (4,), "sigmoid (output shape)")
expect_that(out.data, lambda v: bool(np.all(np.isfinite(v))), "sigmoid (inputs of ±1e4)",
            "sigmoid must stay finite for inputs of ±1e4")
expect_equal(out.data, [0.0, 0.0, 1.0, 1.0], "sigmoid (inputs of ±1e4)", atol=1e-30)

# %% nbgrader={"grade": true, "grade_id": "03-activations-sigmoid-grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([0.0], requires_grad=True)
sigmoid(x).backward()
expect_equal(x.grad.data, [0.25], "sigmoid backward (σ'(0) = 0.25)")
rng = np.random.default_rng(1)
a = rng.uniform(-4, 4, (3, 4))
g = rng.standard_normal((3, 4))
x = Tensor(a, dtype=np.float64, requires_grad=True)
sigmoid(x).backward(g)
s = 1 / (1 + np.exp(-a))
expect_equal(x.grad.data, g * s * (1 - s), "sigmoid backward (float64, random upstream gradient)", rtol=1e-9)

# %% [markdown]
# ## 3. Tanh
#
# `tanh(x) = 2σ(2x) - 1` ranges over (-1, 1) and is zero-centred, which is why RNNs prefer it
# to the sigmoid. numpy's `np.tanh` is already stable for any input. The derivative again
# reuses the output: `tanh'(x) = 1 - tanh(x)²`.

# %% nbgrader={"grade": false, "grade_id": "03-activations-tanh", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def tanh(x):
    "Hyperbolic tangent element-wise, differentiable."
    x = to_tensor(x)
    ### BEGIN SOLUTION
    out = np.tanh(x.data)
    return Tensor.from_op(out, (x,), lambda g: (g * (1 - out * out),))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-tanh-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([-1e4, -1.0, 0.0, 0.5, 1e4])
out = tanh(x)
expect_that(isinstance(out, Tensor), lambda v: v is True, "tanh", "tanh returns a Tensor")
expect_equal(out.shape, (5,), "tanh (output shape)")
expect_equal(out.dtype, np.float32, "tanh (float32 in, float32 out)")
expect_equal(out.data, np.tanh([-1e4, -1.0, 0.0, 0.5, 1e4]), "tanh", rtol=1e-6)
rng = np.random.default_rng(2)
a = rng.uniform(-3, 3, (2, 5))
g = rng.standard_normal((2, 5))
x = Tensor(a, dtype=np.float64, requires_grad=True)
tanh(x).backward(g)
expect_equal(x.grad.data, g * (1 - np.tanh(a) ** 2), "tanh backward (float64, random upstream gradient)", rtol=1e-9)

# %% [markdown]
# ## 4. GELU, two ways
#
# The Gaussian Error Linear Unit weights its input by the probability that a standard normal
# variable is smaller than it:
#
# $$\mathrm{GELU}(x) = x\,\Phi(x), \qquad \Phi(x) = \tfrac12\bigl(1 + \mathrm{erf}(x/\sqrt2)\bigr).$$
#
# It behaves like ReLU for large |x| but is smooth around 0 and lets a little negative signal
# through (its minimum is about -0.17 at x ≈ -0.75). By the product rule its derivative is
#
# $$\mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x), \qquad \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}.$$
#
# There are two forms in use, and you implement both:
#
# - **`approximate="none"`: the exact form** above, with the error function `erf`. This is
#   PyTorch's default (`nn.GELU()`).
# - **`approximate="tanh"`: the tanh approximation**
#   `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, from the era when erf was slow on
#   accelerators. **GPT-2 used this form** (BERT too), so a model ported from GPT-2 weights
#   must use it to reproduce their outputs. It differs from the exact form by less than
#   about 10⁻³. Its derivative, with `u = √(2/π)(x + 0.044715x³)` and `t = tanh(u)`:
#   `0.5(1 + t) + 0.5·x·(1 - t²)·√(2/π)(1 + 3·0.044715·x²)`.
#
# **erf without scipy.** numpy has no `erf`, and calling `math.erf` element by element is a
# Python loop (about a hundred times slower than a numpy expression). The given cell below
# computes the normal CDF Φ with a rational-exponential approximation in the form of
# Numerical Recipes' `erfcc`, `erfc(z) ≈ t·exp(-z² + P(t))` with `t = 1/(1 + z/2)`, where
# the degree-14 polynomial `P` was fitted by Chebyshev interpolation to Python's own
# `math.erfc`. The relative error of `erfc` is below 10⁻⁹ everywhere, so `erf` and Φ are
# within about 10⁻¹⁰ (far below float32's rounding of 6·10⁻⁸). Φ for negative x comes from
# `erfc` directly, so tiny tail probabilities keep their relative precision instead of being
# rounded to 0 by `1 - ...`.

# %% nbgrader={"grade": false, "grade_id": "03-activations-erfc", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the coefficients and the erfc that erf and normal_cdf use): importable, not part of the module's `__all__`
# P(t) for erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0; lowest power first.
ERFC_COEFFS = (-1.2655121238854017, 1.000000180429518, 0.37498649538581036, 0.08373281331084104,
               -0.09212673646760451, -0.086118300063851, -0.440135408100113, 1.4571427351432655,
               -3.91583664710456, 8.063597928069731, -10.52340231652403, 8.53993212766557,
               -4.241975083054663, 1.1917196213888628, -0.14600528615216415)

def erfc_nonneg(z):
    "erfc(z) for an array z ≥ 0 (relative error < 1e-9), computed in z's dtype."
    t = 1 / (1 + 0.5 * z)
    poly = ERFC_COEFFS[-1] + 0 * t
    for c in ERFC_COEFFS[-2::-1]:  # Horner's rule
        poly = poly * t + c
    return t * np.exp(-z * z + poly)

# %% nbgrader={"grade": false, "grade_id": "03-activations-normal-cdf", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
def erf(x):
    "The error function element-wise (numpy has none)."
    x = np.asarray(x)
    r = erfc_nonneg(np.abs(x))
    return np.where(x >= 0, 1 - r, r - 1)

def normal_cdf(x):
    "Φ(x), the standard normal CDF, with full relative precision in the lower tail."
    x = np.asarray(x)
    half_tail = 0.5 * erfc_nonneg(np.abs(x) * (1 / math.sqrt(2)))
    return np.where(x >= 0, 1 - half_tail, half_tail)

# %% [markdown]
# A quick look at the given helper against the standard library (not graded: it is given
# code, and it runs in a blink):

# %%
_z = np.linspace(-6, 6, 1001)
np.testing.assert_allclose(erf(_z), [math.erf(v) for v in _z], rtol=1e-9, atol=1e-10)
np.testing.assert_allclose(normal_cdf(-_z[_z > 0] * 3), [0.5 * math.erfc(v * 3 / math.sqrt(2)) for v in _z[_z > 0]],
                           rtol=1e-8)
assert erf(np.float32(0.5)).dtype == np.float32, "float32 in, float32 out"

# %% nbgrader={"grade": false, "grade_id": "03-activations-gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def gelu(x, approximate="none"):
    "x·Φ(x) element-wise: exact with erf (`approximate='none'`) or the tanh form (`'tanh'`, GPT-2's); differentiable."
    x = to_tensor(x)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    a = x.data
    if approximate == "tanh":
        ### BEGIN SOLUTION
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (a + 0.044715 * (a * a * a)))  # a*a*a: numpy's ** 3 is a slow pow()
        out = 0.5 * a * (1 + t)
        return Tensor.from_op(out, (x,), lambda g: (
            g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * k * (1 + 3 * 0.044715 * a * a)),))
        ### END SOLUTION
    ### BEGIN SOLUTION
    cdf = normal_cdf(a)
    out = a * cdf
    return Tensor.from_op(out, (x,), lambda g: (
        g * (cdf + a * np.exp(-0.5 * a * a) * (1 / math.sqrt(2 * math.pi))),))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-gelu-exact", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
vals = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
out = gelu(Tensor(vals))
expect_that(isinstance(out, Tensor), lambda v: v is True, "gelu", "gelu returns a Tensor")
expect_equal(out.shape, (7,), "gelu (output shape)")
expect_equal(out.dtype, np.float32, "gelu (float32 in, float32 out)")
expect_equal(out.data, [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in vals], "gelu (approximate='none')",
             rtol=1e-5, atol=1e-7)
rng = np.random.default_rng(3)
a = rng.uniform(-3, 3, (3, 4))
g = rng.standard_normal((3, 4))
x = Tensor(a, dtype=np.float64, requires_grad=True)
gelu(x).backward(g)
cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in a.ravel()]).reshape(a.shape)
expect_equal(x.grad.data, g * (cdf + a * np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)),
             "gelu backward (approximate='none', float64)", rtol=1e-7, atol=1e-9)

# %% nbgrader={"grade": true, "grade_id": "03-activations-gelu-tanh", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
out = gelu(Tensor(vals), approximate="tanh")
expect_that(isinstance(out, Tensor), lambda v: v is True, "gelu (approximate='tanh')", "gelu returns a Tensor")
expect_equal(out.shape, (7,), "gelu (approximate='tanh', output shape)")
expect_equal(out.dtype, np.float32, "gelu (approximate='tanh', float32 in, float32 out)")
expect_equal(out.data, 0.5 * vals * (1 + np.tanh(math.sqrt(2 / math.pi) * (vals + 0.044715 * vals ** 3))),
             "gelu (approximate='tanh')", rtol=1e-5, atol=1e-7)
expect_agree(out.data, gelu(Tensor(vals)).data, "gelu (the tanh and exact forms agree to about 1e-3)", rtol=0, atol=1e-3)
rng = np.random.default_rng(33)
a = rng.uniform(-3, 3, (3, 4))
g = rng.standard_normal((3, 4))
x = Tensor(a, dtype=np.float64, requires_grad=True)
gelu(x, approximate="tanh").backward(g)
k = math.sqrt(2 / math.pi)
t = np.tanh(k * (a + 0.044715 * a ** 3))
expect_equal(x.grad.data, g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * k * (1 + 3 * 0.044715 * a * a)),
             "gelu backward (approximate='tanh', float64)", rtol=1e-9, atol=1e-12)

# %% nbgrader={"grade": true, "grade_id": "03-activations-gelu-stable", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor([-1e4, -30.0, 30.0, 1e4], requires_grad=True)
with np.errstate(over="raise", invalid="raise", divide="raise"):
    out = gelu(x, approximate="none")
    out.backward(np.ones(4, dtype=np.float32))
expect_equal(out.data, [0.0, 0.0, 30.0, 1e4], "gelu (approximate='none', inputs of ±30 and ±1e4)", atol=1e-6)
expect_equal(x.grad.data, [0.0, 0.0, 1.0, 1.0], "gelu backward (approximate='none', inputs of ±30 and ±1e4)", atol=1e-6)
x = Tensor([-1e4, -30.0, 30.0, 1e4], requires_grad=True)
with np.errstate(over="raise", invalid="raise", divide="raise"):
    out = gelu(x, approximate="tanh")
    out.backward(np.ones(4, dtype=np.float32))
expect_equal(out.data, [0.0, 0.0, 30.0, 1e4], "gelu (approximate='tanh', inputs of ±30 and ±1e4)", atol=1e-6)
expect_equal(x.grad.data, [0.0, 0.0, 1.0, 1.0], "gelu backward (approximate='tanh', inputs of ±30 and ±1e4)", atol=1e-6)

# %% [markdown]
# ### The fast tanh form, as given code
#
# Your `gelu(x, approximate="tanh")` is the formula as you would write it on paper. In a
# GPT it runs on millions of numbers per layer (`B·T·d_ff`, 4 million in the capstone), and
# there the formula's cost is not the arithmetic but **memory**: every numpy operation reads
# and writes whole arrays (16 MB each), and `0.5 * a * (1 + t)` makes a new temporary at
# each step. Such element-wise work is *memory-bound*: its cost is the number of passes over
# memory. `gelu_tanh` below (given, and used by module 13's transformer) computes the same
# numbers with three habits and one trick:
#
# - no `x ** 3` (numpy's general power function): reuse `x·x`;
# - in-place operators (`t *= a`, `np.tanh(t, out=t)`) write into one buffer instead of
#   allocating a new array per step, and scalars stay in the array's dtype (a `np.float64`
#   scalar would silently promote float32 work to float64);
# - the derivative is regrouped so it needs only `x` and `t = tanh u`:
#   `gelu'(x) = (1 + t)·(½ + x·(1 - t)·½k(1 + 3·0.044715·x²))`;
# - **cache blocking**: the array is processed in blocks of 64K numbers (256 KB of float32),
#   small enough to stay in the CPU's cache, so the eight steps of the formula run on cached
#   data and memory sees one read of `x` and the writes of `t` and the output. On the
#   capstone's activations this is about 2× faster than the same formula over whole arrays.
#
# The test below checks it against your `gelu`, value and gradient.

# %% nbgrader={"grade": false, "grade_id": "03-activations-gelu-tanh-blocks", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the constants and the blocks gelu_tanh works in): importable, not part of the module's `__all__`
GELU_K = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715
BLOCK = 1 << 16  # numbers per cache block: 256 KB of float32

def blocks(n):
    "Slices covering range(n) in steps of BLOCK."
    return [slice(i, min(i + BLOCK, n)) for i in range(0, n, BLOCK)]

# %% nbgrader={"grade": false, "grade_id": "03-activations-gelu-tanh-fast", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
def gelu_tanh(x):
    "GELU's tanh form, same values as `gelu(x, approximate='tanh')`, as a cache-blocked fused op (given code)."
    x = to_tensor(x)
    a = np.ascontiguousarray(x.data).reshape(-1)
    f = a.dtype.type                                   # scalars in the array's dtype
    k, kc, half = f(GELU_K), f(GELU_K * GELU_C), f(0.5)
    t, out = np.empty_like(a), np.empty_like(a)
    for b in blocks(a.size):
        ab, tb, ob = a[b], t[b], out[b]
        np.multiply(ab, ab, out=tb)
        tb *= kc
        tb += k
        tb *= ab                                       # u = k·(a + c·a³)
        np.tanh(tb, out=tb)                            # t = tanh(u), kept for the backward
        np.add(tb, 1, out=ob)
        ob *= ab
        ob *= half                                     # out = ½·a·(1 + t)

    def backward(g):
        g = np.ascontiguousarray(g).reshape(-1)
        d = np.empty_like(a)
        s = np.empty(min(BLOCK, a.size), dtype=a.dtype)
        hk, hkc3 = f(0.5 * GELU_K), f(1.5 * GELU_K * GELU_C)
        for b in blocks(a.size):
            ab, tb, db, sb = a[b], t[b], d[b], s[:b.stop - b.start]
            np.multiply(ab, ab, out=sb)
            sb *= hkc3
            sb += hk
            sb *= ab                                   # ½k·a·(1 + 3c·a²)
            np.subtract(1, tb, out=db)
            sb *= db
            sb += half
            np.add(tb, 1, out=db)
            db *= sb
            db *= g[b]                                 # g·(1 + t)·(½ + a·(1 - t)·½k(1 + 3c·a²))
        return (d.reshape(x.shape),)
    return Tensor.from_op(out.reshape(x.shape), (x,), backward)

# %%
_x = Tensor(np.random.default_rng(4).uniform(-5, 5, (3, 70000)), dtype=np.float64, requires_grad=True)  # > 1 block
_g = np.random.default_rng(5).standard_normal(_x.shape)
_fast, _clear = gelu_tanh(_x), gelu(_x, approximate="tanh")
np.testing.assert_allclose(_fast.data, _clear.data, rtol=1e-12, atol=1e-15)
_fast.backward(_g)
_fast_grad, _x.grad = _x.grad.data, None
_clear.backward(_g)
np.testing.assert_allclose(_fast_grad, _x.grad.data, rtol=1e-9, atol=1e-12)
assert gradcheck(gelu_tanh, Tensor(np.linspace(-4, 4, 12).reshape(3, 4), dtype=np.float64, requires_grad=True))
assert gelu_tanh(Tensor(np.ones(3, dtype=np.float32))).dtype == np.float32

# %% [markdown]
# ## 5. Softmax and LogSoftmax along an axis
#
# Softmax turns a vector of scores (logits) into probabilities: positive, summing to 1.
#
# $$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$$
#
# **Stability.** Adding the same constant `c` to every `x_i` multiplies the top and the
# bottom by `e^c`, so the result does not change. Choose `c = -max(x)`: every exponent is
# then ≤ 0, no `exp` can overflow, and the largest term is exactly `e^0 = 1`, so the sum is at
# least 1 and never underflows to 0 either. With logits `[1000, 0]` the naive formula gives
# `inf/inf = nan`; the shifted one gives `[1, 0]`.
#
# **LogSoftmax** is `log(softmax(x))`, but computing it that way fails when a probability
# underflows to 0 (`log 0 = -inf`). Instead, with `z = x - max(x)`:
#
# $$\mathrm{log\_softmax}(x)_i = z_i - \log \sum_j e^{z_j}$$
#
# (the **log-sum-exp** trick), which is exact and finite: logits `[10⁴, -10⁴]` give
# `[0, -2·10⁴]`.
#
# **Gradients.** With `s = softmax(x)` and upstream gradient `g` (all along the same axis):
#
# - softmax: `∂s_i/∂x_j = s_i(δ_ij - s_j)`, so `dx = s ⊙ (g - Σ_j g_j s_j)`;
# - log_softmax: `∂out_i/∂x_j = δ_ij - s_j`, so `dx = g - s · Σ_j g_j`.
#
# Neither builds the `C × C` Jacobian: each costs a few passes over the data, which is what
# makes the fused op fast. `axis` may be any axis (negative counts from the end); the sums
# use `keepdims=True` so they broadcast back. The tests check that each function is **one**
# graph node whose parent is the input.

# %% nbgrader={"grade": false, "grade_id": "03-activations-softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def softmax(x, axis=-1):
    "exp(x) / sum(exp(x)) along `axis`, shifted by the max for stability; one fused differentiable op."
    x = to_tensor(x)
    ### BEGIN SOLUTION
    out = x.data - x.data.max(axis=axis, keepdims=True)
    np.exp(out, out=out)                                   # in place: no second temporary
    out /= out.sum(axis=axis, keepdims=True)

    def backward(g):
        d = g - (g * out).sum(axis=axis, keepdims=True)
        d *= out
        return (d,)
    return Tensor.from_op(out, (x,), backward)
    ### END SOLUTION

def log_softmax(x, axis=-1):
    "x - logsumexp(x) along `axis`, computed stably; one fused differentiable op."
    x = to_tensor(x)
    ### BEGIN SOLUTION
    out = x.data - x.data.max(axis=axis, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=axis, keepdims=True))

    def backward(g):
        d = np.exp(out)                                    # softmax(x)
        d *= -g.sum(axis=axis, keepdims=True)
        d += g
        return (d,)
    return Tensor.from_op(out, (x,), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-softmax-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
out = softmax(Tensor(logits))
expect_that(isinstance(out, Tensor), lambda v: v is True, "softmax", "softmax returns a Tensor")
expect_equal(out.shape, (2, 3), "softmax (output shape)")
expect_equal(out.dtype, np.float32, "softmax (float32 in, float32 out)")
expect_equal(out.data, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), "softmax", rtol=1e-6)
expect_that(out.data, lambda v: np.allclose(v.sum(axis=-1), 1.0, rtol=1e-6, atol=0), "softmax",
            "each row sums to 1")
col = softmax(Tensor(logits), axis=0)
expect_equal(col.shape, (2, 3), "softmax (axis=0, output shape)")
expect_equal(col.data, np.exp(logits) / np.exp(logits).sum(axis=0), "softmax (axis=0)", rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "03-activations-log-softmax-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
out = log_softmax(Tensor(logits))
expect_that(isinstance(out, Tensor), lambda v: v is True, "log_softmax", "log_softmax returns a Tensor")
expect_equal(out.shape, (2, 3), "log_softmax (output shape)")
expect_equal(out.dtype, np.float32, "log_softmax (float32 in, float32 out)")
expect_equal(out.data, np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)), "log_softmax",
             rtol=1e-5, atol=1e-6)
x3 = np.random.default_rng(4).standard_normal((2, 3, 4)).astype(np.float32)
out = log_softmax(Tensor(x3), axis=1)
expect_equal(out.shape, (2, 3, 4), "log_softmax (axis=1, output shape)")
expect_equal(out.data, x3 - np.log(np.exp(x3.astype(np.float64)).sum(axis=1, keepdims=True)), "log_softmax (axis=1)",
             rtol=1e-5, atol=1e-6)
expect_that(out.data, lambda v: np.allclose(np.exp(v).sum(axis=1), 1.0, rtol=1e-5, atol=0), "log_softmax (axis=1)",
            "exp(log_softmax) sums to 1 along axis 1")

# %% nbgrader={"grade": true, "grade_id": "03-activations-softmax-stable", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
big = Tensor([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
with np.errstate(over="raise", invalid="raise", divide="raise"):
    s, ls = softmax(big), log_softmax(big)
expect_equal(s.shape, (3, 3), "softmax (output shape)")
expect_equal(ls.shape, (3, 3), "log_softmax (output shape)")
expect_that(s.data, lambda v: bool(np.all(np.isfinite(v))), "softmax (logits of ±1e4)", "no inf or nan")
expect_that(ls.data, lambda v: bool(np.all(np.isfinite(v))), "log_softmax (logits of ±1e4)", "no inf or nan")
expect_equal(s.data, [[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3], "softmax (logits of ±1e4)", rtol=1e-6, atol=1e-30)
expect_equal(ls.data, [[0, -2e4, -1e4], [-np.log(3)] * 3, [-np.log(3)] * 3], "log_softmax (logits of ±1e4)", rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "03-activations-softmax-grads", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(5)
a = rng.standard_normal((3, 5))
x = Tensor(a, dtype=np.float64, requires_grad=True)
out = softmax(x)
expect_that(len(out._parents) == 1 and out._parents[0] is x, lambda v: v is True, "softmax",
            "softmax is one fused op whose only parent is its input")
out = log_softmax(x)
expect_that(len(out._parents) == 1 and out._parents[0] is x, lambda v: v is True, "log_softmax",
            "log_softmax is one fused op whose only parent is its input")
g = rng.standard_normal((3, 5))
s1 = np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True)
s0 = np.exp(a) / np.exp(a).sum(axis=0, keepdims=True)
x = Tensor(a, dtype=np.float64, requires_grad=True)
softmax(x).backward(g)
expect_equal(x.grad.data, s1 * (g - (g * s1).sum(axis=-1, keepdims=True)), "softmax backward (axis=-1)", rtol=1e-9, atol=1e-12)
x = Tensor(a, dtype=np.float64, requires_grad=True)
softmax(x, axis=0).backward(g)
expect_equal(x.grad.data, s0 * (g - (g * s0).sum(axis=0, keepdims=True)), "softmax backward (axis=0)", rtol=1e-9, atol=1e-12)
x = Tensor(a, dtype=np.float64, requires_grad=True)
log_softmax(x).backward(g)
expect_equal(x.grad.data, g - s1 * g.sum(axis=-1, keepdims=True), "log_softmax backward (axis=-1)", rtol=1e-9, atol=1e-12)
x = Tensor(a, dtype=np.float64, requires_grad=True)
log_softmax(x, axis=0).backward(g)
expect_equal(x.grad.data, g - s0 * g.sum(axis=0, keepdims=True), "log_softmax backward (axis=0)", rtol=1e-9, atol=1e-12)
### BEGIN HIDDEN TESTS
b = rng.standard_normal((2, 3, 4)) * 3
gb = rng.standard_normal((2, 3, 4))
sb1 = np.exp(b) / np.exp(b).sum(axis=1, keepdims=True)
sbl = np.exp(b) / np.exp(b).sum(axis=-1, keepdims=True)
y = Tensor(b, dtype=np.float64, requires_grad=True)
softmax(y, axis=1).backward(gb)
expect_equal(y.grad.data, sb1 * (gb - (gb * sb1).sum(axis=1, keepdims=True)), "softmax backward (3-D, axis=1)", rtol=1e-9, atol=1e-12)
y = Tensor(b, dtype=np.float64, requires_grad=True)
(softmax(y, axis=-1) * 2.0).backward(gb)
expect_equal(y.grad.data, 2 * sbl * (gb - (gb * sbl).sum(axis=-1, keepdims=True)),
             "softmax backward (3-D, axis=-1, times 2)", rtol=1e-9, atol=1e-12)
y = Tensor(b, dtype=np.float64, requires_grad=True)
log_softmax(y, axis=1).backward(gb)
expect_equal(y.grad.data, gb - sb1 * gb.sum(axis=1, keepdims=True), "log_softmax backward (3-D, axis=1)", rtol=1e-9, atol=1e-12)
y = Tensor(b, dtype=np.float64, requires_grad=True)
(log_softmax(y, axis=-1) * 2.0).backward(gb)
expect_equal(y.grad.data, 2 * (gb - sbl * gb.sum(axis=-1, keepdims=True)),
             "log_softmax backward (3-D, axis=-1, times 2)", rtol=1e-9, atol=1e-12)
# a row of equal huge logits still gets a finite, correct gradient
h = Tensor([[1e4, 1e4]], requires_grad=True)
softmax(h).backward(np.array([[1.0, 0.0]], dtype=np.float32))
expect_equal(h.grad.data, [[0.25, -0.25]], "softmax backward (equal logits of 1e4)", rtol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ### Fused or composed?
#
# The same softmax can be written with the Tensor operations of modules 01–02, and autograd
# will differentiate it. Compare the two on a batch the size of an attention score tensor:
# the composed version builds five graph nodes and keeps their outputs alive for backward,
# the fused one builds one.

# %%
import time

def softmax_composed(x, axis=-1):
    "Softmax from Tensor ops (max, -, exp, sum, /): correct, but five graph nodes."
    e = (x - x.max(axis=axis, keepdims=True).detach()).exp()
    return e / e.sum(axis=axis, keepdims=True)

_x = Tensor(np.random.default_rng(0).standard_normal((64, 64, 64)), requires_grad=True)
for _name, _fn in [("fused", softmax), ("composed", softmax_composed)]:
    _times = []
    for _ in range(6):  # the first run warms up; report the best of the rest
        _start = time.perf_counter()
        _fn(_x).backward(np.ones(_x.shape, dtype=np.float32))
        _times.append(time.perf_counter() - _start)
    print(f"{_name:>8}: {min(_times[1:]) * 1e3:.2f} ms forward+backward")
np.testing.assert_allclose(softmax_composed(_x).data, softmax(_x).data, rtol=1e-5, atol=1e-7)

# %% [markdown]
# ## 6. Activation layers
#
# Models are built from layers (module 04's `Sequential(Linear(...), ReLU(), ...)`), so each
# function also gets a small class: the constructor takes the options (`axis`,
# `approximate`), `forward(x)` applies the function, and calling the object calls `forward`.
# They have no parameters. The base class is given.

# %% nbgrader={"grade": false, "grade_id": "03-activations-layers", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Activation:
    "Base of the activation layers: calling one runs `forward`; no parameters."
    def __call__(self, x): return self.forward(x)
    def forward(self, x): raise NotImplementedError
    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({opts})"

class ReLU(Activation):
    "Layer form of `relu`."
    def forward(self, x):
        ### BEGIN SOLUTION
        return relu(x)
        ### END SOLUTION

class Sigmoid(Activation):
    "Layer form of `sigmoid`."
    def forward(self, x):
        ### BEGIN SOLUTION
        return sigmoid(x)
        ### END SOLUTION

class Tanh(Activation):
    "Layer form of `tanh`."
    def forward(self, x):
        ### BEGIN SOLUTION
        return tanh(x)
        ### END SOLUTION

class GELU(Activation):
    "Layer form of `gelu`; `approximate` is 'none' (exact) or 'tanh'."
    def __init__(self, approximate="none"):
        self.approximate = approximate
    def forward(self, x):
        ### BEGIN SOLUTION
        return gelu(x, approximate=self.approximate)
        ### END SOLUTION

class Softmax(Activation):
    "Layer form of `softmax` along `axis`."
    def __init__(self, axis=-1):
        self.axis = axis
    def forward(self, x):
        ### BEGIN SOLUTION
        return softmax(x, axis=self.axis)
        ### END SOLUTION

class LogSoftmax(Activation):
    "Layer form of `log_softmax` along `axis`."
    def __init__(self, axis=-1):
        self.axis = axis
    def forward(self, x):
        ### BEGIN SOLUTION
        return log_softmax(x, axis=self.axis)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "03-activations-layers-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
a = np.random.default_rng(6).standard_normal((4, 3)).astype(np.float32)
x = Tensor(a)
expect_equal(ReLU()(x).data, np.maximum(a, 0), "ReLU.forward", rtol=1e-5, atol=1e-6)
expect_equal(Sigmoid()(x).data, 1 / (1 + np.exp(-a)), "Sigmoid.forward", rtol=1e-5, atol=1e-6)
expect_equal(Tanh()(x).data, np.tanh(a), "Tanh.forward", rtol=1e-5, atol=1e-6)
expect_equal(GELU()(x).data, a * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in a.ravel()]).reshape(a.shape)),
             "GELU.forward", rtol=1e-5, atol=1e-6)
expect_agree(GELU()(x).data, gelu(x).data, "GELU.forward (the same as gelu)", rtol=1e-5, atol=1e-6)
expect_equal(GELU(approximate="tanh")(x).data,
             0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
             "GELU.forward (approximate='tanh')", rtol=1e-5, atol=1e-6)
expect_agree(GELU(approximate="tanh")(x).data, gelu(x, "tanh").data, "GELU.forward (approximate='tanh', the same as gelu)",
             rtol=1e-5, atol=1e-6)
expect_equal(Softmax(axis=0)(x).data, np.exp(a) / np.exp(a).sum(axis=0), "Softmax.forward (axis=0)", rtol=1e-5, atol=1e-6)
expect_equal(LogSoftmax()(x).data, a - np.log(np.exp(a).sum(axis=-1, keepdims=True)), "LogSoftmax.forward",
             rtol=1e-5, atol=1e-6)
expect_that(repr(GELU(approximate="tanh")), lambda v: "tanh" in v, "GELU.__init__", "GELU keeps its `approximate` option")

# %% [markdown]
# ## Reflection
#
# Answer in a few sentences each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "03-activations-reflect-vanishing-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Vanishing gradients.** A gradient flows back through 20 layers, each followed by a
# sigmoid. At best, by what factor can the activations alone shrink it? Why does ReLU not
# have this problem for positive inputs, and what problem does it have instead?

# %% [markdown] nbgrader={"grade": true, "grade_id": "03-activations-reflect-vanishing", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# σ' ≤ 0.25, so the factor is at most 0.25²⁰ ≈ 9·10⁻¹³ (ignoring weights). ReLU's derivative
# is exactly 1 for x > 0, so it does not shrink the gradient; instead a unit whose input is
# always negative gets gradient 0 and stops learning ("dead ReLU").
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "03-activations-reflect-stability-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Stability.** float32 overflows above about 3.4·10³⁸. From which logit value does
# `np.exp` overflow in float32, and what does the naive softmax return for the logits
# `[100, 0]`? Why does subtracting the maximum fix it without changing the answer?

# %% [markdown] nbgrader={"grade": true, "grade_id": "03-activations-reflect-stability", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# ln(3.4e38) ≈ 88.7; exp(100) = inf, so the naive softmax gives inf/inf = nan (and 0/inf = 0)
# → [nan, 0]. softmax(x - c) = softmax(x) because e^{-c} cancels between numerator and
# denominator; with c = max all exponents are ≤ 0 and the largest term is 1, so nothing
# overflows and the sum is ≥ 1.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "03-activations-reflect-fused-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Fused ops.** The attention scores of a GPT layer have shape (batch 32, heads 8, 256, 256)
# in float32. How many bytes is one such array? The composed softmax keeps about four arrays
# of this size alive for backward, the fused one keeps one: what does that save per layer,
# and why does the fused backward never need the `256 × 256` Jacobian of each row?

# %% [markdown] nbgrader={"grade": true, "grade_id": "03-activations-reflect-fused", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 32·8·256·256·4 B = 64 MiB. Composed ≈ 4 × 64 MiB = 256 MiB vs 64 MiB fused: about 192 MiB
# saved per layer. The Jacobian-vector product s ⊙ (g − Σ g s) needs only s and g (O(C) per
# row), never the C×C matrix diag(s) − s sᵀ.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
