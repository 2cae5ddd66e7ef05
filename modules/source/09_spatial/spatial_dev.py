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
# # 09 · Spatial: convolution and pooling
#
# An MLP treats a 32×32 colour image as 3,072 unrelated numbers: move the cat two pixels to
# the right and, as far as the first layer can tell, it is a different input. Images have
# structure an MLP ignores:
#
# - **locality**: a pixel is mostly related to its neighbours (edges, corners, textures are
#   small patterns);
# - **translation**: a pattern means the same thing wherever it appears.
#
# A **convolution** builds both into the layer. It slides one small filter (say 5×5 over all
# input channels) across the image and computes a dot product at every position. The filter's
# weights are **shared** by every position, so a conv layer that maps 3 channels to 6 with
# 5×5 filters has 6·3·5·5 + 6 = **456** parameters, whereas a dense layer between the same
# 3×32×32 input and 6×28×28 output would need 3072·4704 ≈ **14.5 million**.
#
# | piece | what it does |
# |---|---|
# | `conv_output_size` | the output size formula for a kernel, stride and padding |
# | `im2col` / `col2im` | unfold every patch into a column, and fold columns back (its adjoint) |
# | `conv2d` | convolution as **one big matrix multiplication**, with its hand-derived backward |
# | `max_pool2d`, `avg_pool2d` | downsampling by the maximum or the mean of each window |
# | `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten` | the layers, as `Module`s |
#
# At the end you assemble **LeNet-5** (LeCun et al., 1998), the network the CIFAR-10 and
# MNIST milestones train.

# %%
#| default_exp core.spatial

# %% nbgrader={"grade": false, "grade_id": "09-spatial-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import numpy as np

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Module, Parameter, he_normal

# %% nbgrader={"grade": false, "grade_id": "09-spatial-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. Shapes first
#
# Images travel through the network as **NCHW** arrays: `(batch, channels, height, width)`.
# A conv weight has shape `(out_channels, in_channels, kernel_h, kernel_w)`: one filter per
# output channel, each spanning *all* input channels.
#
# Sliding a kernel of size `k` along an axis of size `n`, padded with `p` zeros on both
# sides and moving `s` pixels at a time, the kernel fits at
#
# $$ n_{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 $$
#
# positions. Examples: 32 → 28 for a 5×5 kernel (no padding, stride 1); "same" padding
# `p = (k-1)/2` keeps 32 → 32 for odd `k`; stride 2 roughly halves the size. Kernel sizes,
# strides and padding may be given as one number or as an `(h, w)` pair; `pair` turns either
# into a pair.

# %% nbgrader={"grade": false, "grade_id": "09-spatial-pair", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helper: importable from tinytorch.core.spatial, not part of its `__all__`
def pair(v):
    "`v` as an (h, w) pair of ints: 3 -> (3, 3), (3, 5) -> (3, 5)."
    h, w = (v, v) if np.ndim(v) == 0 else v
    return int(h), int(w)

# %% nbgrader={"grade": false, "grade_id": "09-spatial-output-size", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv_output_size(n, kernel, stride=1, padding=0):
    "How many positions a kernel of size `kernel` fits along an axis of size `n` (padded by `padding` each side)."
    ### BEGIN SOLUTION
    return (n + 2 * padding - kernel) // stride + 1
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "09-spatial-output-size-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
cases = [(32, 5), (32, 5, 1, 2), (28, 2, 2), (7, 3, 2, 1), (10, 5), (6, 3, 3), (5, 5), (9, 4, 3, 2)]
sizes = {f"conv_output_size{args}": conv_output_size(*args) for args in cases}
expect_equal(sizes, {"conv_output_size(32, 5)": 28, "conv_output_size(32, 5, 1, 2)": 32, "conv_output_size(28, 2, 2)": 14,
                     "conv_output_size(7, 3, 2, 1)": 4, "conv_output_size(10, 5)": 6, "conv_output_size(6, 3, 3)": 2,
                     "conv_output_size(5, 5)": 1, "conv_output_size(9, 4, 3, 2)": 4}, "conv_output_size")
expect_that([type(v).__name__ for v in sizes.values()], lambda v: all(t in ("int", "int64", "int32") for t in v),
            "conv_output_size", "returns an integer (use // for the division)")

# %% [markdown]
# ## 2. im2col: every patch becomes a column
#
# The direct way to compute a convolution is six nested loops (batch, output channel, output
# row, output column, and the kernel's rows and columns). In Python that is hopeless: the
# first LeNet layer on a batch of 64 CIFAR images computes 64·6·28·28 = 301,056 outputs, each
# a dot product of 75 numbers.
#
# The trick every CPU framework has used (Caffe made it famous) is **im2col**: copy each
# receptive field (one `C×kh×kw` patch of the input) into a column of a matrix `cols`. For
# the whole batch, `cols` has shape `(C·kh·kw, N·OH·OW)`; the weights, flattened, are a
# `(O, C·kh·kw)` matrix, and the convolution becomes **one matrix multiplication**
#
# $$ \underbrace{W}_{O \times C k_h k_w} \; \underbrace{\text{cols}}_{C k_h k_w \times N\,OH\,OW} = \underbrace{\text{out}}_{O \times N\,OH\,OW} $$
#
# which BLAS runs at full speed. The price is memory: every input pixel is copied into up to
# `kh·kw` columns (25× for a 5×5 kernel).
#
# **Building `cols` without a loop over output pixels.** Fix one kernel offset `(i, j)`.
# The input pixels that meet kernel element `(i, j)`, for *all* output positions at once,
# form a strided slice of the padded input: rows `i, i+s, i+2s, …` (OH of them) and columns
# `j, j+s, …` (OW of them). So one slice assignment fills the whole `(i, j)` row block of
# `cols`, and the only Python loop is over the `kh·kw` offsets (25 for 5×5):
#
# ```
# cols viewed as (C, kh, kw, N, OH, OW):   cols[:, i, j] = xp[:, :, i : i+s·OH : s, j : j+s·OW : s]
# ```
#
# where `xp` is the zero-padded input transposed to `(C, N, H+2p, W+2p)`. Putting `C` first
# makes the row order `(c, i, j)`, exactly the order of `weight.reshape(O, -1)`, and each
# slice lands in one contiguous block of memory.

# %% nbgrader={"grade": false, "grade_id": "09-spatial-pad", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helper: importable from tinytorch.core.spatial, not part of its `__all__`
def pad_channels_first(x, padding):
    "`x` (N, C, H, W) as a new (C, N, H+2ph, W+2pw) array with zero borders."
    (n, c, h, w), (ph, pw) = x.shape, pair(padding)
    xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    return xp

# %% nbgrader={"grade": false, "grade_id": "09-spatial-im2col", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def im2col(x, kernel, stride=1, padding=0):
    "Patches of the numpy array `x` (N, C, H, W) as columns: returns cols (C*kh*kw, N*OH*OW) and (OH, OW)."
    (n, c, h, w), (kh, kw), (sh, sw), (ph, pw) = x.shape, pair(kernel), pair(stride), pair(padding)
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if oh < 1 or ow < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit an input of size {h}x{w} with padding {(ph, pw)}")
    xp = pad_channels_first(x, (ph, pw))
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    ### BEGIN SOLUTION
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    ### END SOLUTION
    return cols.reshape(c * kh * kw, n * oh * ow), (oh, ow)

# %% nbgrader={"grade": true, "grade_id": "09-spatial-im2col-shape", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5)
cols, size = im2col(x, 3)
expect_equal(type(cols).__name__, "ndarray", "im2col (cols is a numpy array)")
expect_equal(cols.shape, (3 * 3 * 3, 2 * 3 * 3), "im2col (cols has shape (C*kh*kw, N*OH*OW))")
expect_equal(tuple(size), (3, 3), "im2col (returns (OH, OW))")
expect_equal(cols.dtype, np.float32, "im2col (keeps the input's dtype)")
cols, size = im2col(x, (2, 3), stride=2, padding=1)
expect_equal(cols.shape, (3 * 2 * 3, 2 * 3 * 3), "im2col (cols shape, kernel (2, 3), stride 2, padding 1)")
expect_equal(tuple(size), (3, 3), "im2col (returns (OH, OW), kernel (2, 3), stride 2, padding 1)")

# %% nbgrader={"grade": true, "grade_id": "09-spatial-im2col-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def im2col_reference(x, kernel, stride, padding):
    "Column b*OH*OW + r*OW + c: the patch of image b at output position (r, c), flattened in (channel, i, j) order."
    (kh, kw), (s, p) = ((kernel, kernel) if np.ndim(kernel) == 0 else kernel), (stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (xp.shape[2] - kh) // s + 1, (xp.shape[3] - kw) // s + 1
    return np.stack([xp[b, :, r * s:r * s + kh, c * s:c * s + kw].reshape(-1)
                     for b in range(x.shape[0]) for r in range(oh) for c in range(ow)], axis=1)

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
cols, _ = im2col(x, 3, 1, 0)
expect_equal(cols, im2col_reference(x, 3, 1, 0),
             "im2col (column b*OH*OW + r*OW + c is the patch at (r, c) of image b, rows in (channel, i, j) order)")
cols, _ = im2col(x, 3, 2, 1)
expect_equal(cols, im2col_reference(x, 3, 2, 1), "im2col (stride 2, padding 1)")
cols, _ = im2col(x, (2, 3), 1, 2)
expect_equal(cols, im2col_reference(x, (2, 3), 1, 2), "im2col (kernel (2, 3), padding 2)")

# %% [markdown]
# ## 3. col2im: the way back
#
# The backward pass of a convolution produces a gradient for every entry of `cols`. Each
# entry is a *copy* of one input pixel, and a pixel copied into several columns (overlapping
# patches) influenced the loss through each of them, so the input gradient is the **sum**
# of the gradients of all its copies. Folding the columns back into an image while adding
# overlaps is **col2im**. It is the *adjoint* of im2col: for any `x` and any `c` of the right
# shapes,
#
# $$ \langle \text{im2col}(x), c \rangle = \langle x, \text{col2im}(c) \rangle , $$
#
# the defining property of "the gradient of a linear map is its transpose".
#
# The loop is the same as im2col's with the assignment turned around: for each kernel offset,
# **add** the `(i, j)` block of `cols` into the strided slice of a zero padded gradient, then
# cut the padding off. Within one offset the slice touches each pixel at most once, so `+=`
# on a slice is safe; the overlaps are added across offsets.

# %% nbgrader={"grade": false, "grade_id": "09-spatial-col2im", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def col2im(cols, x_shape, kernel, stride=1, padding=0):
    "Fold columns (C*kh*kw, N*OH*OW) back into an (N, C, H, W) array, summing where patches overlap."
    (n, c, h, w), (kh, kw), (sh, sw), (ph, pw) = x_shape, pair(kernel), pair(stride), pair(padding)
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    blocks = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    ### BEGIN SOLUTION
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += blocks[:, i, j]
    ### END SOLUTION
    return np.ascontiguousarray(xp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3))

# %% nbgrader={"grade": true, "grade_id": "09-spatial-col2im-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
counts = col2im(np.ones((9, 9), dtype=np.float32), (1, 1, 5, 5), 3)
expect_equal(type(counts).__name__, "ndarray", "col2im (returns a numpy array)")
expect_equal(counts, np.array([[[[1, 2, 3, 2, 1], [2, 4, 6, 4, 2], [3, 6, 9, 6, 3], [2, 4, 6, 4, 2], [1, 2, 3, 2, 1]]]]),
             "col2im (each pixel's value counts the 3x3 patches that contain it)")

def col2im_reference(cols, shape, kernel, stride, padding):
    "Add column b*OH*OW + r*OW + c, as a (C, kh, kw) patch, onto image b at output position (r, c)."
    (n, ch, h, w), (kh, kw), (s, p) = shape, ((kernel, kernel) if np.ndim(kernel) == 0 else kernel), (stride, padding)
    oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    xp = np.zeros((n, ch, h + 2 * p, w + 2 * p))
    for k, (b, r, c) in enumerate((b, r, c) for b in range(n) for r in range(oh) for c in range(ow)):
        xp[b, :, r * s:r * s + kh, c * s:c * s + kw] += cols[:, k].reshape(ch, kh, kw)
    return xp[:, :, p:p + h, p:p + w]

rng = np.random.default_rng(1)
x = rng.standard_normal((2, 3, 6, 5))
cols, _ = im2col(x, 3, 1, 0)
c = rng.standard_normal((27, 2 * 4 * 3))
back = col2im(c, (2, 3, 6, 5), 3, 1, 0)
expect_equal(back, col2im_reference(c, (2, 3, 6, 5), 3, 1, 0), "col2im (kernel 3)", rtol=1e-10)
expect_agree(float(np.sum(cols * c)), float(np.sum(x * back)), "col2im (the adjoint of im2col, kernel 3)", rtol=1e-10)
x = rng.standard_normal((2, 2, 7, 7))
cols, _ = im2col(x, 3, 2, 1)
c = rng.standard_normal((18, 2 * 4 * 4))
back = col2im(c, (2, 2, 7, 7), 3, 2, 1)
expect_equal(back, col2im_reference(c, (2, 2, 7, 7), 3, 2, 1), "col2im (stride 2, padding 1)", rtol=1e-10)
expect_agree(float(np.sum(cols * c)), float(np.sum(x * back)), "col2im (the adjoint of im2col, stride 2, padding 1)",
             rtol=1e-10)
x = rng.standard_normal((1, 2, 5, 6))
cols, _ = im2col(x, (2, 3), 2, 2)
c = rng.standard_normal((12, 1 * 4 * 4))
back = col2im(c, (1, 2, 5, 6), (2, 3), 2, 2)
expect_equal(back, col2im_reference(c, (1, 2, 5, 6), (2, 3), 2, 2), "col2im (kernel (2, 3), stride 2, padding 2)",
             rtol=1e-10)
expect_agree(float(np.sum(cols * c)), float(np.sum(x * back)),
             "col2im (the adjoint of im2col, kernel (2, 3), stride 2, padding 2)", rtol=1e-10)

# %% [markdown]
# ## 4. conv2d, forward and backward
#
# **Forward.** `cols, (OH, OW) = im2col(x)`, then `out = W₂ @ cols + b` with
# `W₂ = weight.reshape(O, C·kh·kw)`, giving `(O, N·OH·OW)`; reshape to `(O, N, OH, OW)` and
# move the batch axis to the front for NCHW.
#
# **Backward.** Call the upstream gradient, rearranged the same way, `G` `(O, N·OH·OW)`.
# The forward was a matrix product, so module 02's rules apply:
#
# | gradient | formula | shape |
# |---|---|---|
# | weight | `G @ colsᵀ`, reshaped to the weight's shape | `(O, C, kh, kw)` |
# | bias | `G` summed over its columns (every position used the bias) | `(O,)` |
# | input | `col2im(W₂ᵀ @ G)` | `(N, C, H, W)` |
#
# Two details decide the speed: keep `cols` from the forward pass (the weight gradient
# needs it), and **skip the input gradient when the input needs none**: the first layer's
# input is the image, and col2im is the most expensive step of the backward pass.
#
# A third is given: **skinny products in blocks.** The products here are very wide and very
# thin (LeNet's first layer: `6 × 75` times `75 × 50 176`). OpenBLAS multiplies small
# matrices with a dedicated fast kernel (on AVX-512 machines, up to about a million
# multiply-adds per call) but takes a slow general path for such skinny shapes, so one big
# call is 2-4× slower than a loop of calls on blocks of 2048 columns. `matmul_blocks` and
# `matmul_t_blocks` below do that; use them for the forward product and the weight gradient
# (`G @ colsᵀ` sums over the long axis: add up the products of its blocks).

# %% nbgrader={"grade": false, "grade_id": "09-spatial-matmul-blocks", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helpers: importable from tinytorch.core.spatial, not part of its `__all__`
MATMUL_BLOCK = 2048  # columns per BLAS call for the skinny products of a convolution

def matmul_blocks(a, b):
    "a @ b for 2-D arrays, one BLAS call per block of MATMUL_BLOCK columns of b (fast for skinny, wide b)."
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for i in range(0, b.shape[1], MATMUL_BLOCK):
        np.matmul(a, b[:, i:i + MATMUL_BLOCK], out=out[:, i:i + MATMUL_BLOCK])
    return out

def matmul_t_blocks(a, b):
    "a @ b.T for 2-D arrays with a long shared last axis, summed over blocks of MATMUL_BLOCK of it."
    out = np.zeros((a.shape[0], b.shape[0]), dtype=np.result_type(a, b))
    for i in range(0, a.shape[1], MATMUL_BLOCK):
        out += a[:, i:i + MATMUL_BLOCK] @ b[:, i:i + MATMUL_BLOCK].T
    return out

# %%
_a, _b = np.random.default_rng(0).standard_normal((3, 5)), np.random.default_rng(1).standard_normal((5, 5000))
np.testing.assert_allclose(matmul_blocks(_a, _b), _a @ _b, rtol=1e-12)
np.testing.assert_allclose(matmul_t_blocks(_a @ _b, _b), (_a @ _b) @ _b.T, rtol=1e-12)

# %% nbgrader={"grade": false, "grade_id": "09-spatial-conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv2d(x, weight, bias=None, stride=1, padding=0):
    "2-D convolution (cross-correlation, as in every framework) of x (N, C, H, W) with weight (O, C, kh, kw)."
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input must be (N, C, H, W) and weight (out, C, kh, kw) with the same C; "
                         f"got input {x.shape} and weight {weight.shape}")
    o, kernel = weight.shape[0], weight.shape[2:]
    ### BEGIN SOLUTION
    cols, (oh, ow) = im2col(x.data, kernel, stride, padding)
    w2 = weight.data.reshape(o, -1)
    out = matmul_blocks(w2, cols)
    if bias is not None:
        out += bias.data[:, None]
    out = np.ascontiguousarray(out.reshape(o, x.shape[0], oh, ow).transpose(1, 0, 2, 3))

    def backward(g):
        g2 = g.transpose(1, 0, 2, 3).reshape(o, -1)
        gw = matmul_t_blocks(g2, cols).reshape(weight.shape) if weight.requires_grad else None
        gx = col2im(w2.T @ g2, x.shape, kernel, stride, padding) if x.requires_grad else None
        return (gx, gw) if bias is None else (gx, gw, g2.sum(axis=1))
    ### END SOLUTION
    return Tensor.from_op(out, (x, weight) if bias is None else (x, weight, bias), backward)

# %% [markdown]
# Before testing the fast version we need the truth to compare with. The direct definition,
# written with loops over output positions, is slow but obviously right:
#
# $$ \text{out}[n, o, r, c] = b[o] + \sum_{ch, i, j} x_p[n, ch, r s + i, c s + j]\; w[o, ch, i, j] $$

# %%
def conv2d_reference(x, w, b=None, stride=1, padding=0):
    "Convolution straight from the definition (loops over output positions); numpy in, numpy out."
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, _, kh, kw = w.shape
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow), dtype=np.result_type(x, w))
    for r in range(oh):
        for c in range(ow):
            patch = xp[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw]
            out[:, :, r, c] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out if b is None else out + b[None, :, None, None]

def numerical_gradient(f, a, eps=1e-6):
    "Central differences of the numpy function f (returning a number) at the float64 array a."
    a, grad = np.array(a, dtype=np.float64), np.zeros(np.shape(a))
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f(a)
        a[i] = old - eps
        down = f(a)
        a[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad

# %% nbgrader={"grade": true, "grade_id": "09-spatial-conv2d-forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
x = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(4).astype(np.float32)
out = conv2d(Tensor(x), Tensor(w), Tensor(b))
expect_equal(type(out).__name__, "Tensor", "conv2d (returns a Tensor)")
expect_equal(out.shape, (2, 4, 6, 5), "conv2d (output shape (N, O, OH, OW))")
expect_equal(out.dtype, np.float32, "conv2d (keeps float32)")
expect_equal(out.data, conv2d_reference(x, w, b), "conv2d (forward values, with bias)", rtol=1e-4, atol=1e-5)
out = conv2d(Tensor(x), Tensor(w), stride=2, padding=1)
expect_equal(out.shape, (2, 4, 4, 4), "conv2d (stride 2, padding 1 on 8x7 gives 4x4)")
expect_equal(out.data, conv2d_reference(x, w, None, 2, 1), "conv2d (forward values, stride 2, padding 1)",
             rtol=1e-4, atol=1e-5)
out = conv2d(x, Tensor(w), Tensor(b), padding=(0, 1))
expect_equal(out.data, conv2d_reference(x, w, b, 1, (0, 1)), "conv2d (a numpy input, padding (0, 1))",
             rtol=1e-4, atol=1e-5)
with expect_raises(ValueError, "conv2d (input and weight channels differ)", mentions=["(2, 3, 8, 7)", "(4, 2, 3, 3)"]):
    conv2d(Tensor(x), Tensor(w[:, :2]))

# %% nbgrader={"grade": true, "grade_id": "09-spatial-conv2d-grads", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Backward with a fixed upstream gradient g: the gradients are those of sum(g * conv2d(x, w, b)).
rng = np.random.default_rng(3)
xd, wd, bd = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
g = rng.standard_normal((2, 3, 3, 3))
x, w, b = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (xd, wd, bd))
conv2d(x, w, b).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(a, wd, bd)), xd),
             "conv2d backward (input gradient)", rtol=1e-5, atol=1e-6)
expect_equal(w.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(xd, a, bd)), wd),
             "conv2d backward (weight gradient)", rtol=1e-5, atol=1e-6)
expect_equal(b.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(xd, wd, a)), bd),
             "conv2d backward (bias gradient)", rtol=1e-5, atol=1e-6)
g = rng.standard_normal((2, 3, 3, 3))
x, w = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (xd, wd))
conv2d(x, w, stride=2, padding=1).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(a, wd, None, 2, 1)), xd),
             "conv2d backward (input gradient, stride 2, padding 1)", rtol=1e-5, atol=1e-6)
expect_equal(w.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(xd, a, None, 2, 1)), wd),
             "conv2d backward (weight gradient, stride 2, padding 1)", rtol=1e-5, atol=1e-6)
image = Tensor(rng.standard_normal((1, 2, 5, 5)))  # needs no gradient
kernel = Tensor(wd.astype(np.float32), requires_grad=True)
conv2d(image, kernel).sum().backward()
expect_equal(image.grad is None, True, "conv2d backward (an input that needs no gradient gets none)")
expect_equal(kernel.grad.data, numerical_gradient(lambda a: np.sum(conv2d_reference(image.data, a)), wd),
             "conv2d backward (weight gradient when the input needs none)", rtol=1e-4, atol=1e-4)
### BEGIN HIDDEN TESTS
xd, wd = rng.standard_normal((1, 3, 6, 4)), rng.standard_normal((2, 3, 2, 3))
x, w = (Tensor(a, dtype=np.float64, requires_grad=True) for a in (xd, wd))
g = rng.standard_normal((1, 2, 4, 6))
conv2d(x, w, stride=(2, 1), padding=(1, 2)).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(a, wd, None, (2, 1), (1, 2))), xd),
             "conv2d backward (input gradient, stride (2, 1), padding (1, 2))", rtol=1e-5, atol=1e-6)
expect_equal(w.grad.data, numerical_gradient(lambda a: np.sum(g * conv2d_reference(xd, a, None, (2, 1), (1, 2))), wd),
             "conv2d backward (weight gradient, stride (2, 1), padding (1, 2))", rtol=1e-5, atol=1e-6)
expect_equal(conv2d(x, w, padding=1).data, conv2d_reference(xd, wd, None, 1, 1), "conv2d (float64, padding 1)",
             rtol=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Pooling
#
# Pooling shrinks each channel on its own: a `k×k` window slides with stride `s` (by default
# `s = k`, so windows do not overlap) and is replaced by its **maximum** (max pooling: "is the
# feature present anywhere here?") or its **mean** (average pooling: a blur followed by
# subsampling). A 2×2 pool with stride 2 halves height and width, quartering the work of the
# next layer, and makes the network a little less sensitive to small shifts.
#
# Pooling needs no im2col copy. For each kernel position `(i, j)` the strided view
# `x[:, :, i::s, j::s]` (cut to `OH×OW`) holds element `(i, j)` of *every* window at once, so
# pooling is a loop over the `k·k` views, each a fast whole-array numpy operation: a running
# maximum (or a sum) of the views. `window_views` below gives them. The gradients go back
# through the same views of an all-zero `gx` (with `+=`: overlapping windows add up):
#
# - **mean**: every element of a window receives `g / (k·k)`.
# - **max**: only the element that *was* the maximum influenced the output, so it receives
#   all of `g`, the others nothing. Remember in the forward pass which view won each window,
#   and in the backward add `g` through that view only. On ties (common after ReLU: a
#   window of zeros) send the gradient to the first maximum only, as PyTorch does: after
#   the running maximum, mark for each view where it equals the maximum and no earlier view
#   did. (Whole-array comparisons and logical operations are fast; masked writes such as
#   `a[mask] = k` are several times slower.)

# %% nbgrader={"grade": false, "grade_id": "09-spatial-window-views", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal helpers: importable from tinytorch.core.spatial, not part of its `__all__`
def window_views(a, kernel_size, stride):
    "The kh*kw strided views of `a` (N, C, H, W), one per kernel position (i, j): view[..., y, x] = a[..., y*sh + i, x*sw + j]."
    (kh, kw), (sh, sw) = pair(kernel_size), pair(stride)
    oh, ow = conv_output_size(a.shape[2], kh, sh), conv_output_size(a.shape[3], kw, sw)
    if oh < 1 or ow < 1:
        raise ValueError(f"a {kh}x{kw} pooling window does not fit an input of size {a.shape[2]}x{a.shape[3]}")
    return [a[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] for i in range(kh) for j in range(kw)]

def check_pool_input(x, name):
    if x.ndim != 4:
        raise ValueError(f"{name}: input must be (N, C, H, W), got shape {x.shape}")

# %% nbgrader={"grade": false, "grade_id": "09-spatial-pooling", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def max_pool2d(x, kernel_size, stride=None):
    "Maximum over each `kernel_size` window (stride defaults to the kernel size), differentiable."
    x = x if isinstance(x, Tensor) else Tensor(x)
    check_pool_input(x, "max_pool2d")
    stride = kernel_size if stride is None else stride
    views = window_views(x.data, kernel_size, stride)
    ### BEGIN SOLUTION
    out = views[0].copy()
    for view in views[1:]:
        np.maximum(out, view, out=out)
    taken = np.zeros(out.shape, dtype=bool)
    firsts = []                                    # per view: where it holds its window's first maximum
    for v in views:
        first = (v == out) & ~taken
        taken |= first
        firsts.append(first)

    def backward(g):
        gx = np.zeros(x.shape, dtype=g.dtype)
        for v, first in zip(window_views(gx, kernel_size, stride), firsts):
            v += g * first
        return (gx,)
    ### END SOLUTION
    return Tensor.from_op(out, (x,), backward)

def avg_pool2d(x, kernel_size, stride=None):
    "Mean over each `kernel_size` window (stride defaults to the kernel size), differentiable."
    x = x if isinstance(x, Tensor) else Tensor(x)
    check_pool_input(x, "avg_pool2d")
    stride = kernel_size if stride is None else stride
    views = window_views(x.data, kernel_size, stride)
    ### BEGIN SOLUTION
    out = views[0].copy()
    for v in views[1:]:
        out += v
    out /= len(views)

    def backward(g):
        gx = np.zeros(x.shape, dtype=g.dtype)
        share = g / len(views)
        for v in window_views(gx, kernel_size, stride):
            v += share
        return (gx,)
    ### END SOLUTION
    return Tensor.from_op(out, (x,), backward)

# %% [markdown]
# The truth for pooling, again straight from the definition: a loop over output positions.

# %%
def pool_reference(x, kernel_size, stride, reduce):
    "`reduce` (np.max or np.mean) of every window of the numpy array x (N, C, H, W); numpy in, numpy out."
    (kh, kw), (sh, sw) = pair(kernel_size), pair(stride)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for r in range(oh):
        for c in range(ow):
            out[:, :, r, c] = reduce(x[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw], axis=(2, 3))
    return out

# %% nbgrader={"grade": true, "grade_id": "09-spatial-max-pool-forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
out = max_pool2d(Tensor(x), 2)
expect_equal(type(out).__name__, "Tensor", "max_pool2d (returns a Tensor)")
expect_equal(out.dtype, np.float32, "max_pool2d (keeps float32)")
expect_equal(out.data, np.array([[[[5, 7], [13, 15]]]]), "max_pool2d (2x2 windows)")
out = max_pool2d(Tensor(x), 3, stride=1)
expect_equal(out.data, np.array([[[[10, 11], [14, 15]]]]), "max_pool2d (overlapping 3x3 windows with stride 1)")
x = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
expect_equal(max_pool2d(Tensor(x), 2).data, x.reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)),
             "max_pool2d (random input, 2x2 windows)")
expect_equal(max_pool2d(x, (3, 2), stride=(1, 2)).data, pool_reference(x, (3, 2), (1, 2), np.max),
             "max_pool2d (a numpy input, window (3, 2), stride (1, 2))")
expect_equal(max_pool2d(Tensor(-x), 2).data, -x.reshape(2, 3, 3, 2, 3, 2).min(axis=(3, 5)),
             "max_pool2d (negative values)")

# %% nbgrader={"grade": true, "grade_id": "09-spatial-max-pool-grads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Backward with a fixed upstream gradient g: the gradient is that of sum(g * max_pool2d(x)).
rng = np.random.default_rng(5)
xd = rng.standard_normal((2, 2, 6, 5))
g = rng.standard_normal((2, 2, 3, 2))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
max_pool2d(x, 2).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, 2, 2, np.max)), xd),
             "max_pool2d backward (2x2 windows)", rtol=1e-5, atol=1e-6)
g = rng.standard_normal((2, 2, 2, 2))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
max_pool2d(x, 3, stride=2).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, 3, 2, np.max)), xd),
             "max_pool2d backward (overlapping 3x3 windows, stride 2)", rtol=1e-5, atol=1e-6)
zeros = Tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
max_pool2d(zeros, 2).sum().backward()
expect_equal(zeros.grad.data, np.array([[[[1, 0], [0, 0]]]]),
             "max_pool2d backward (on a tie the whole gradient goes to the first maximum)")
ties = Tensor(np.array([[[[0, 3, 1, 1], [3, 0, 1, 1], [2, 2, 0, 5], [2, 2, 5, 5]]]]), dtype=np.float64, requires_grad=True)
max_pool2d(ties, 2).backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
expect_equal(ties.grad.data, np.array([[[[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 0, 4], [0, 0, 0, 0]]]]),
             "max_pool2d backward (only the first maximum of each window, in row-major order, gets g)")

# %% nbgrader={"grade": true, "grade_id": "09-spatial-avg-pool", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
out = avg_pool2d(Tensor(x), 2)
expect_equal(type(out).__name__, "Tensor", "avg_pool2d (returns a Tensor)")
expect_equal(out.dtype, np.float32, "avg_pool2d (keeps float32)")
expect_equal(out.data, np.array([[[[2.5, 4.5], [10.5, 12.5]]]]), "avg_pool2d (2x2 windows)")
expect_equal(avg_pool2d(Tensor(x), 3, stride=1).data, np.array([[[[5, 6], [9, 10]]]]),
             "avg_pool2d (overlapping 3x3 windows with stride 1)")
# Backward with a fixed upstream gradient g: the gradient is that of sum(g * avg_pool2d(x)).
rng = np.random.default_rng(6)
xd = rng.standard_normal((2, 3, 5, 6))
g = rng.standard_normal((2, 3, 2, 3))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
avg_pool2d(x, 2).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, 2, 2, np.mean)), xd),
             "avg_pool2d backward (2x2 windows)", rtol=1e-5, atol=1e-6)
g = rng.standard_normal((2, 3, 3, 4))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
avg_pool2d(x, 3, stride=1).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, 3, 1, np.mean)), xd),
             "avg_pool2d backward (overlapping 3x3 windows, stride 1)", rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
expect_equal(avg_pool2d(xd, (2, 3), stride=(1, 2)).data, pool_reference(xd, (2, 3), (1, 2), np.mean),
             "avg_pool2d (a numpy input, window (2, 3), stride (1, 2))", rtol=1e-5, atol=1e-6)
g = rng.standard_normal((2, 3, 4, 2))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
avg_pool2d(x, (2, 3), stride=(1, 2)).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, (2, 3), (1, 2), np.mean)), xd),
             "avg_pool2d backward (window (2, 3), stride (1, 2))", rtol=1e-5, atol=1e-6)
g = rng.standard_normal((2, 3, 2, 5))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
max_pool2d(x, (3, 2), stride=(2, 1)).backward(g)
expect_equal(x.grad.data, numerical_gradient(lambda a: np.sum(g * pool_reference(a, (3, 2), (2, 1), np.max)), xd),
             "max_pool2d backward (window (3, 2), stride (2, 1))", rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. The layers
#
# `Conv2d` owns a weight `(out, in, kh, kw)` and a bias `(out,)`. For a conv followed by ReLU
# the right scale is He's: each output sums `fan_in = in·kh·kw` products, so the weights are
# drawn from `N(0, 2 / fan_in)`. `he_normal(fan_in, out_channels)` from module 04 draws
# exactly that, as a `(fan_in, out)` matrix: transpose it and reshape to the filter shape.
# The bias starts at zero.
#
# `MaxPool2d` and `AvgPool2d` just remember their window, and `Flatten` turns `(N, C, H, W)`
# into `(N, C·H·W)` so the classifier at the end can be `Linear` layers. None of the three has
# parameters.

# %% nbgrader={"grade": false, "grade_id": "09-spatial-layers", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Conv2d(Module):
    "A 2-D convolution layer: weight (out_channels, in_channels, kh, kw), He-initialised; bias (out_channels,)."

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, seed=None):
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = pair(kernel_size), stride, padding
        kh, kw = self.kernel_size
        rng = np.random.default_rng(seed)
        ### BEGIN SOLUTION
        w = he_normal(in_channels * kh * kw, out_channels, rng).T.reshape(out_channels, in_channels, kh, kw)
        self.weight = Parameter(np.ascontiguousarray(w))
        self.bias = Parameter(np.zeros(out_channels, dtype=np.float32)) if bias else None
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)
        ### END SOLUTION

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})")

class MaxPool2d(Module):
    "Max pooling over `kernel_size` windows (stride defaults to the kernel size)."

    def __init__(self, kernel_size, stride=None):
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        ### BEGIN SOLUTION
        return max_pool2d(x, self.kernel_size, self.stride)
        ### END SOLUTION

    def __repr__(self):
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

class AvgPool2d(Module):
    "Average pooling over `kernel_size` windows (stride defaults to the kernel size)."

    def __init__(self, kernel_size, stride=None):
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        ### BEGIN SOLUTION
        return avg_pool2d(x, self.kernel_size, self.stride)
        ### END SOLUTION

    def __repr__(self):
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={self.stride})"

class Flatten(Module):
    "(N, d1, d2, ...) -> (N, d1*d2*...): keeps the batch axis, joins the rest."

    def forward(self, x):
        ### BEGIN SOLUTION
        return x.reshape(x.shape[0], -1)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "09-spatial-conv-layer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
conv = Conv2d(3, 8, 5, padding=2, seed=0)
expect_equal([n for n, _ in conv.named_parameters()], ["weight", "bias"], "Conv2d.__init__ (parameters weight and bias)")
expect_equal(conv.weight.shape, (8, 3, 5, 5), "Conv2d.__init__ (weight shape (out, in, kh, kw))")
expect_equal(conv.bias.shape, (8,), "Conv2d.__init__ (bias shape (out,))")
expect_equal(conv.weight.dtype, np.float32, "Conv2d.__init__ (float32 weight)")
expect_equal(conv.bias.data, np.zeros(8), "Conv2d.__init__ (the bias starts at zero)")
out = conv(Tensor(np.ones((2, 3, 16, 16), dtype=np.float32)))
expect_equal(type(out).__name__, "Tensor", "Conv2d.forward (returns a Tensor)")
expect_equal(out.shape, (2, 8, 16, 16), "Conv2d.forward (padding 2 keeps 16x16 with a 5x5 kernel)")
# With weights set explicitly, the layer's output is the convolution with its stride and padding.
rng = np.random.default_rng(7)
layer = Conv2d(2, 3, 3, stride=2, padding=1, seed=0)
wd, bd = rng.standard_normal((3, 2, 3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
layer.weight.data[...] = wd
layer.bias.data[...] = bd
xd = rng.standard_normal((2, 2, 7, 6)).astype(np.float32)
expect_equal(layer(Tensor(xd)).data, conv2d_reference(xd, wd, bd, 2, 1), "Conv2d.forward (weight, bias, stride, padding)",
             rtol=1e-4, atol=1e-5)
big = Conv2d(64, 64, 3, seed=1)
expect_that(float(np.std(big.weight.data)), lambda v: abs(v - np.sqrt(2 / (64 * 9))) < 0.005, "Conv2d.__init__ (He init)",
            "the weights' std is sqrt(2 / fan_in) = sqrt(2 / 576) = 0.0589")
expect_that(float(np.mean(big.weight.data)), lambda v: abs(v) < 0.005, "Conv2d.__init__ (He init)",
            "the weights have mean 0")
expect_that(np.std(big.weight.data.reshape(64, -1), axis=1), lambda v: v.min() > 0.03, "Conv2d.__init__ (He init)",
            "every filter is random (std of each output channel's weights near 0.0589)")
expect_equal(Conv2d(3, 4, 3, bias=False).bias is None, True, "Conv2d.__init__ (bias=False gives no bias)")
expect_equal([n for n, _ in Conv2d(3, 4, 3, bias=False).named_parameters()], ["weight"],
             "Conv2d.__init__ (bias=False: the weight is the only parameter)")
expect_agree(Conv2d(3, 4, 3, seed=7).weight.data, Conv2d(3, 4, 3, seed=7).weight.data,
             "Conv2d.__init__ (the same seed gives the same weights)")
expect_equal(bool(np.array_equal(Conv2d(3, 4, 3, seed=7).weight.data, Conv2d(3, 4, 3, seed=8).weight.data)), False,
             "Conv2d.__init__ (the seed is used: different seeds give different weights)")

# %% nbgrader={"grade": true, "grade_id": "09-spatial-pool-flatten-layers", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
xd = np.random.default_rng(8).standard_normal((2, 3, 8, 8)).astype(np.float32)
x = Tensor(xd)
expect_equal(type(MaxPool2d(2)(x)).__name__, "Tensor", "MaxPool2d.forward (returns a Tensor)")
expect_equal(MaxPool2d(2)(x).data, xd.reshape(2, 3, 4, 2, 4, 2).max(axis=(3, 5)), "MaxPool2d.forward (2x2 windows)")
expect_equal(MaxPool2d(3, 1)(x).data, pool_reference(xd, 3, 1, np.max), "MaxPool2d.forward (3x3 windows, stride 1)")
expect_equal(type(AvgPool2d(2)(x)).__name__, "Tensor", "AvgPool2d.forward (returns a Tensor)")
expect_equal(AvgPool2d(2)(x).data, xd.reshape(2, 3, 4, 2, 4, 2).mean(axis=(3, 5)), "AvgPool2d.forward (2x2 windows)",
             rtol=1e-6)
expect_equal(AvgPool2d(3, 1)(x).data, pool_reference(xd, 3, 1, np.mean), "AvgPool2d.forward (3x3 windows, stride 1)",
             rtol=1e-5, atol=1e-6)
expect_equal(type(Flatten()(x)).__name__, "Tensor", "Flatten.forward (returns a Tensor)")
expect_equal(Flatten()(x).data, xd.reshape(2, -1), "Flatten.forward ((N, C, H, W) -> (N, C*H*W))")
expect_equal(Flatten()(Tensor(xd[:, :, :2, :3])).data, xd[:, :, :2, :3].reshape(2, 18),
             "Flatten.forward ((2, 3, 2, 3) -> (2, 18))")
expect_equal([len(layer.parameters()) for layer in (MaxPool2d(2), AvgPool2d(2), MaxPool2d(3, 1), Flatten())],
             [0, 0, 0, 0], "MaxPool2d, AvgPool2d, Flatten (no parameters)")

# %% [markdown]
# ## 7. LeNet-5
#
# LeCun's network for digits, in its modern form (ReLU instead of scaled tanh, max pooling
# instead of trainable subsampling), for 3×32×32 CIFAR-10 images (MNIST digits are padded
# from 28×28 to 32×32, or the first conv gets `padding=2`):
#
# | layer | output shape | parameters |
# |---|---|---|
# | Conv2d(3, 6, 5) + ReLU | 6×28×28 | 456 |
# | MaxPool2d(2) | 6×14×14 | 0 |
# | Conv2d(6, 16, 5) + ReLU | 16×10×10 | 2,416 |
# | MaxPool2d(2) | 16×5×5 | 0 |
# | Flatten, Linear(400, 120) + ReLU | 120 | 48,120 |
# | Linear(120, 84) + ReLU | 84 | 10,164 |
# | Linear(84, 10) | 10 | 850 |
#
# 62,006 parameters, 80% of them in the first Linear layer, yet most of the *compute* is in
# the convolutions: conv1 alone does 28·28·6·75 ≈ 353 k multiply-adds per image, more than
# all the Linear layers together (≈ 59 k).

# %%
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential

def lenet5(in_channels=3, num_classes=10, seed=0):
    "LeNet-5 with ReLU and max pooling for 32x32 inputs."
    return Sequential(Conv2d(in_channels, 6, 5, seed=seed), ReLU(), MaxPool2d(2),
                      Conv2d(6, 16, 5, seed=seed + 1), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(400, 120, init="he", seed=seed + 2), ReLU(),
                      Linear(120, 84, init="he", seed=seed + 3), ReLU(),
                      Linear(84, num_classes, seed=seed + 4))

model = lenet5()
print(f"LeNet-5: {sum(p.size for p in model.parameters()):,} parameters")

# %% [markdown]
# The test below trains LeNet-5 for a few steps on 32 random images with random labels,
# using nothing but this module, module 04 and a hand-written softmax cross-entropy and SGD
# step. A network of 62 k parameters can memorise 32 labels; if the loss does not fall,
# some gradient is wrong.

# %% nbgrader={"grade": true, "grade_id": "09-spatial-lenet-learns", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def softmax_cross_entropy(logits, labels):
    "Mean cross-entropy of integer labels under softmax(logits), one fused node."
    z = logits.data - logits.data.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = -np.log(p[rows, labels]).mean()

    def backward(g):
        d = p.copy()
        d[rows, labels] -= 1
        return (g * d / len(labels),)
    return Tensor.from_op(np.asarray(loss, dtype=logits.dtype), (logits,), backward)

rng = np.random.default_rng(9)
images = Tensor(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
labels = rng.integers(0, 10, 32)
model = lenet5(seed=1)
out = model(images)
expect_equal(type(out).__name__, "Tensor", "LeNet-5 forward (Conv2d, MaxPool2d, Flatten return Tensors)")
expect_equal(out.shape, (32, 10), "LeNet-5 forward (Conv2d, MaxPool2d, Flatten shapes)")
expect_equal(out.dtype, np.float32, "LeNet-5 forward (Conv2d, MaxPool2d, Flatten keep float32)")
losses = []
for step in range(25):
    loss = softmax_cross_entropy(model(images), labels)
    model.zero_grad()
    loss.backward()
    expect_equal([p.grad is not None and p.grad.shape == p.shape for p in model.parameters()], [True] * 10,
                 "LeNet-5 backward (conv2d backward: every parameter gets a gradient of its shape)")
    for p in model.parameters():
        p.data -= 0.05 * p.grad.data
    losses.append(loss.item())
expect_that(losses, lambda v: v[-1] < 0.5 * v[0], "LeNet-5 training (conv2d, max_pool2d and their backward)",
            "the loss of 25 SGD steps on 32 examples should halve")

# %% [markdown]
# ## 8. Where the time goes
#
# Time one training step of LeNet-5 on a batch of 64 and see which part costs what. The
# numbers depend on your machine; the proportions are the lesson:
#
# - the matrix multiplications are a small share: conv1 is only ~45 MFLOP forward, a few
#   milliseconds even at modest BLAS speed;
# - **memory traffic** dominates: im2col writes `kh·kw = 25` copies of the input (for conv1
#   on 64 CIFAR images, a `75 × 50,176` float32 matrix, 15 MB), and col2im reads as much back;
# - skipping the image's gradient saves the largest col2im of the network.
#
# The course's own benchmarks compare the whole step with PyTorch's on the same machine.

# %%
import time

def median_ms(fn, repeats=5):
    "Median wall time of fn() in milliseconds."
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))

batch = Tensor(np.random.default_rng(10).standard_normal((64, 3, 32, 32)).astype(np.float32))
conv1 = Conv2d(3, 6, 5, seed=0)
print(f"im2col (64x3x32x32, 5x5):   {median_ms(lambda: im2col(batch.data, 5)):6.2f} ms")
print(f"conv1 forward:              {median_ms(lambda: conv1(batch)):6.2f} ms")
model = lenet5()
def train_step():
    loss = softmax_cross_entropy(model(batch), labels.repeat(2))
    model.zero_grad()
    loss.backward()
print(f"LeNet-5 step, batch 64:     {median_ms(train_step):6.2f} ms")
small = Tensor(batch.data[:4])
print(f"naive loop conv, 4 images:  {median_ms(lambda: conv2d_reference(small.data, conv1.weight.data), 2):6.2f} ms"
      f"   vs im2col: {median_ms(lambda: conv1(small)):6.2f} ms")

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "09-spatial-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **im2col's memory.** For a 3×3 convolution with stride 1 and "same" padding on a batch of
# 64 feature maps of 64×56×56 float32 values, how large is the input and how large is
# `cols`? What does that suggest about im2col for large images, and what could a framework do
# instead (name one alternative)?

# %% [markdown] nbgrader={"grade": true, "grade_id": "09-spatial-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Input 64·64·56·56·4 B ≈ 51 MB; cols is 9× that ≈ 462 MB (kept for the backward pass).
# im2col trades memory (kh·kw copies) for one fast GEMM; for large maps, tile the batch or the
# image into chunks, or use direct/implicit-GEMM convolution (no materialised cols),
# Winograd or FFT convolution.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "09-spatial-reflect-sharing-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Weight sharing.** Conv1 of LeNet-5 has 456 parameters but does about 353,000
# multiply-adds per image; the first Linear layer has 48,120 parameters and does about
# 48,000. Explain the difference, and what it means for where a CNN's parameters and its
# compute sit (and so, what to optimise for speed versus for model size).

# %% [markdown] nbgrader={"grade": true, "grade_id": "09-spatial-reflect-sharing", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# A conv filter is reused at every output position (28·28 = 784 times), so compute =
# params × positions; a Linear weight is used once per example. Parameters (memory/size)
# sit in the dense layers, compute (time) in the convolutions: optimise conv kernels (im2col,
# GEMM, memory traffic) for speed, shrink the dense layers for size.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "09-spatial-reflect-maxpool-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Max pooling's gradient.** In a 2×2 max pool only one of the four inputs of each window
# receives a gradient. Why is that the correct derivative and not a flaw? What happens to the
# gradient of a window whose four values are all 0 after a ReLU, and why must it not be
# split among the ties here?

# %% [markdown] nbgrader={"grade": true, "grade_id": "09-spatial-reflect-maxpool", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# max is locally the identity on the winning element and constant in the others (small
# changes of a non-maximal element do not change the output), so their partial derivatives
# are 0. For an all-zero window the max is not differentiable; any subgradient works;
# frameworks pick the first maximum (one element gets g). Splitting is also a subgradient,
# but it would disagree with PyTorch; and behind ReLU at 0 the gradient is 0 anyway, so no
# learning signal is lost.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
