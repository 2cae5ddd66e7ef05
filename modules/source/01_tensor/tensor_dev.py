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
# # 01 · Tensor: an n-dimensional array that knows its shape
#
# Every deep-learning framework starts with one data structure: the **tensor**, an
# n-dimensional array of numbers with a shape and a dtype. In this module you build
# `tinytorch`'s `Tensor` on top of numpy. It is the one class the whole course uses:
# module 02 teaches it to compute gradients, module 16 trains a GPT with it.
#
# What you build:
#
# | piece | why it matters later |
# |---|---|
# | a dtype policy (float32 by default) | half the memory and twice the matmul speed of float64 |
# | broadcasting arithmetic | adding a bias `(out,)` to a batch `(batch, out)` |
# | `matmul`, batched too | every Linear layer and attention score |
# | reductions with `axis`/`keepdims` | losses, means, softmax |
# | `reshape`, `transpose`, indexing | attention heads, embeddings, im2col |
# | clear shape errors | your future self, debugging a transformer at midnight |

# %%
#| default_exp core.tensor

# %% nbgrader={"grade": false, "grade_id": "01-tensor-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import numpy as np
from fastcore.basics import patch  # adds a method to a class from a later cell

# %% [markdown]
# ## 1. The dtype policy and the constructor
#
# Deep learning runs in **float32**: 4 bytes a number, and BLAS matmul runs about twice as
# fast as in float64. So a `Tensor` made from Python floats, or from a floating numpy array
# of any other precision (float64, float16, ...), stores float32 — unless you ask for a dtype
# explicitly: an explicit `dtype` is always kept (`dtype=np.float64` is useful for precise
# gradient checks). Integer and boolean data keep their dtype: class labels and token ids
# are indices, not quantities. Results of operations follow numpy's promotion rules, so
# float32 in gives float32 out, and a Python number does not promote float32.
#
# A `Tensor` also carries three fields that module 02 brings to life: `requires_grad`,
# `grad` and the graph links `_parents`/`_backward`. Here they are simply stored.

# %% nbgrader={"grade": false, "grade_id": "01-tensor-class", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Tensor:
    "An n-dimensional array over numpy: float32 by default, integers kept for indices."

    __array_priority__ = 1000  # so `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False):
        ### BEGIN SOLUTION
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind == "f" and arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        ### END SOLUTION
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients, got dtype {arr.dtype}")
        self.data = arr
        self.requires_grad = requires_grad
        self.grad = None        # filled in by backward() (module 02)
        self._parents = ()      # the tensors this one was computed from (module 02)
        self._backward = None   # maps the gradient of this tensor to its parents' (module 02)

    shape = property(lambda self: self.data.shape, doc="The tuple of dimension sizes.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype of the elements.")

    def numpy(self):
        "The underlying numpy array (shared, not copied)."
        return self.data

    def item(self):
        "The single element of a one-element tensor as a Python number."
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def backward(self, grad=None):
        "Module 02 replaces this; until then no operation records a graph, so there is nothing to go back through."
        raise RuntimeError("backward() needs autograd, which module 02 adds to Tensor: `import tinytorch.core.autograd` "
                           "before computing, so that operations record the graph")

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all() "
                             "on .data, or compare a one-element tensor")
        return bool(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4, separator=', ')}, dtype={self.dtype}{grad})"

    __hash__ = object.__hash__  # `==` is element-wise, so keep identity hashing explicitly

# %% [markdown]
# The first tests check the dtype policy. Run them: each cell is graded on its own, so a
# passing cell earns its points even while others still fail.

# %% nbgrader={"grade": true, "grade_id": "01-tensor-dtype-policy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
t = Tensor([[1.0, 2.0], [3.0, 4.0]])
assert isinstance(t.data, np.ndarray), "Tensor.__init__: Tensor.data must be a numpy array"
assert t.shape == (2, 2) and t.dtype == np.float32, f"Tensor.__init__: floats become float32, got {t.dtype}"
assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float32, "Tensor.__init__: float64 arrays become float32"
assert Tensor([1, 2, 3]).dtype.kind == "i", "Tensor.__init__: integers stay integers (they are indices)"
assert Tensor([1.0], dtype=np.float64).dtype == np.float64, "Tensor.__init__: an explicit dtype is kept"
np.testing.assert_array_equal(np.asarray(t.data), [[1, 2], [3, 4]], err_msg="Tensor.__init__ keeps the values")

# %% [markdown]
# ## 2. Creating tensors
#
# Models start from zeros (biases), ones (scales) and random numbers (weights). A random
# helper takes a `seed` so that an experiment can be repeated exactly: reproducibility is
# what lets you tell a real improvement from luck. `zeros`, `ones` and `full` make float32
# unless given a `dtype`, which they keep; `zeros`, `ones` and `randn` also take
# `requires_grad`; `arange` follows `np.arange` (integer arguments give integers).

# %% nbgrader={"grade": false, "grade_id": "01-tensor-creation", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def zeros(*shape, dtype=np.float32, requires_grad=False):
    "A tensor of zeros with the given shape."
    ### BEGIN SOLUTION
    return Tensor(np.zeros(shape), dtype=dtype, requires_grad=requires_grad)
    ### END SOLUTION

def ones(*shape, dtype=np.float32, requires_grad=False):
    "A tensor of ones with the given shape."
    ### BEGIN SOLUTION
    return Tensor(np.ones(shape), dtype=dtype, requires_grad=requires_grad)
    ### END SOLUTION

def full(shape, value, dtype=np.float32):
    "A tensor of the given shape filled with `value`."
    ### BEGIN SOLUTION
    return Tensor(np.full(shape, value), dtype=dtype)
    ### END SOLUTION

def arange(start, stop=None, step=1, dtype=None):
    "Evenly spaced values in [start, stop), like `np.arange` (integers stay integers)."
    ### BEGIN SOLUTION
    return Tensor(np.arange(start, stop, step) if stop is not None else np.arange(start), dtype=dtype)
    ### END SOLUTION

def randn(*shape, seed=None, requires_grad=False):
    "Standard-normal float32 samples; the same `seed` gives the same numbers."
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=requires_grad)
    ### END SOLUTION

def rand(*shape, seed=None):
    "Uniform float32 samples in [0, 1); the same `seed` gives the same numbers."
    ### BEGIN SOLUTION
    return Tensor(np.random.default_rng(seed).random(shape, dtype=np.float32))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "01-tensor-creation-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
z = zeros(2, 3)
assert isinstance(z, Tensor) and z.shape == (2, 3) and z.dtype == np.float32
np.testing.assert_array_equal(np.asarray(ones(4).data), np.ones(4))
np.testing.assert_array_equal(np.asarray(full((2,), 7.0).data), [7.0, 7.0])
assert arange(5).dtype.kind == "i" and arange(5).shape == (5,), "arange(5): integers 0..4"
np.testing.assert_array_equal(np.asarray(arange(1, 7, 2).data), [1, 3, 5], err_msg="arange(1, 7, 2)")
a, b = randn(3, 4, seed=0), randn(3, 4, seed=0)
assert a.shape == (3, 4) and a.dtype == np.float32
np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))
assert not np.array_equal(np.asarray(a.data), np.asarray(randn(3, 4, seed=1).data)), "different seeds differ"
assert 0 <= rand(100, seed=0).data.min() and rand(100, seed=0).data.max() < 1
for make, name in [(lambda **kw: zeros(2, 3, **kw), "zeros"), (lambda **kw: ones(2, 3, **kw), "ones"),
                   (lambda **kw: full((2, 3), 1.5, **kw), "full")]:
    assert make(dtype=np.float64).dtype == np.float64, f"{name}(..., dtype=np.float64) must give float64"
    assert make(dtype=np.int64).dtype == np.int64, f"{name}(..., dtype=np.int64) must give int64"
for make, name in [(zeros, "zeros"), (ones, "ones"), (randn, "randn")]:
    assert make(2, requires_grad=True).requires_grad, f"{name}(2, requires_grad=True) must require a gradient"
    assert not make(2).requires_grad, f"{name}(2) must not require a gradient by default"
np.testing.assert_array_equal(np.asarray(full((2, 3), 1.5).data), np.full((2, 3), 1.5), err_msg="full fills every element")

# %% [markdown]
# ## 3. Arithmetic with broadcasting
#
# `a + b` works element by element when shapes agree, and **broadcasts** when they do not:
# shapes are aligned from the right, and a dimension of size 1 (or a missing one) stretches
# to match. `(32, 10) + (10,)` adds one bias row to every example; `(3, 1) * (1, 4)` makes
# a `(3, 4)` table. Shapes that cannot broadcast, like `(2, 3)` and `(4,)`, are a bug in the
# caller: raise a `ValueError` whose message shows **both shapes** as Python prints them,
# `(2, 3)` and `(4,)`, so the bug is found in seconds (the tests look for exactly those
# strings). The comparisons of section 7 go through the same function and share the rule.
#
# Python numbers and numpy arrays on either side are turned into tensors, so `2 * x`,
# `x - 1` and `1 / x` all work (that is what the reflected `__radd__`, `__rsub__`, ...
# methods are for).

# %% nbgrader={"grade": false, "grade_id": "01-tensor-elementwise", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def data_of(x):
    "The numpy data behind `x`: a Tensor's array, a Python number as is, anything else via `Tensor`."
    if isinstance(x, Tensor): return x.data
    return x if isinstance(x, (int, float, bool)) else Tensor(x).data

def wrap(out):
    "A Tensor around an op's numpy result, keeping the dtype numpy computed (float32 stays float32)."
    return Tensor(out, dtype=out.dtype)

def elementwise(fn, a, b, name):
    "Apply the numpy function `fn` to `a` and `b` with broadcasting; name both shapes if they clash."
    ### BEGIN SOLUTION
    a, b = data_of(a), data_of(b)
    try:
        return wrap(fn(a, b))
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast shapes {np.shape(a)} and {np.shape(b)}; "
                         "aligned from the right, each dimension pair must be equal or contain a 1") from None
    ### END SOLUTION

# %% [markdown]
# With `elementwise` in place each operator is one line. Python calls `a.__add__(b)` for
# `a + b`, and `b.__radd__(a)` when `a` is a number that does not know about tensors.

# %% nbgrader={"grade": false, "grade_id": "01-tensor-operators", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def __add__(self: Tensor, other):
    "Element-wise `self + other`."
    ### BEGIN SOLUTION
    return elementwise(np.add, self, other, "add")
    ### END SOLUTION

@patch
def __sub__(self: Tensor, other):
    "Element-wise `self - other`."
    ### BEGIN SOLUTION
    return elementwise(np.subtract, self, other, "sub")
    ### END SOLUTION

@patch
def __mul__(self: Tensor, other):
    "Element-wise `self * other`."
    ### BEGIN SOLUTION
    return elementwise(np.multiply, self, other, "mul")
    ### END SOLUTION

@patch
def __truediv__(self: Tensor, other):
    "Element-wise `self / other`."
    ### BEGIN SOLUTION
    return elementwise(np.divide, self, other, "div")
    ### END SOLUTION

@patch
def __pow__(self: Tensor, exponent):
    "Element-wise `self ** exponent` for a number `exponent`."
    ### BEGIN SOLUTION
    return elementwise(np.power, self, exponent, "pow")
    ### END SOLUTION

@patch
def __neg__(self: Tensor):
    "Element-wise `-self`."
    ### BEGIN SOLUTION
    return wrap(-self.data)
    ### END SOLUTION

@patch
def __radd__(self: Tensor, other): return self + other
@patch
def __rmul__(self: Tensor, other): return self * other
@patch
def __rsub__(self: Tensor, other): return elementwise(np.subtract, other, self, "sub")
@patch
def __rtruediv__(self: Tensor, other): return elementwise(np.divide, other, self, "div")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-arith-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
a, b = Tensor([1.0, 2.0, 3.0]), Tensor([4.0, 5.0, 6.0])
for name, got, want in [("__add__", a + b, [5, 7, 9]), ("__sub__", a - b, [-3, -3, -3]),
                        ("__mul__", a * b, [4, 10, 18]), ("__truediv__", b / a, [4, 2.5, 2]),
                        ("__pow__", a ** 2, [1, 4, 9]), ("__neg__", -a, [-1, -2, -3])]:
    assert isinstance(got, Tensor) and got.shape == (3,), f"{name}: expected a Tensor of shape (3,), got {got!r}"
    np.testing.assert_allclose(np.asarray(got.data), want, err_msg=name)

# %% nbgrader={"grade": true, "grade_id": "01-tensor-arith-scalars", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor([1.0, 2.0])
for got, want in [(a + 1, [2, 3]), (1 + a, [2, 3]), (2 * a, [2, 4]), (a * 0.5, [0.5, 1]),
                  (3 - a, [2, 1]), (a - 3, [-2, -1]), (2 / a, [2, 1])]:
    assert isinstance(got, Tensor), "operations with Python numbers return Tensors"
    assert got.dtype == np.float32, f"a Python number must not promote float32, got {got.dtype}"
    np.testing.assert_allclose(np.asarray(got.data), want)

# %% nbgrader={"grade": true, "grade_id": "01-tensor-broadcasting", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
out = x + Tensor([10.0, 20.0, 30.0])
assert isinstance(out, Tensor) and out.shape == (2, 3)
np.testing.assert_allclose(np.asarray(out.data), [[10, 21, 32], [13, 24, 35]])
table = Tensor([[1.0], [2.0], [3.0]]) * Tensor([[1.0, 10.0]])
assert table.shape == (3, 2)
np.testing.assert_allclose(np.asarray(table.data), [[1, 10], [2, 20], [3, 30]])
try:
    x + Tensor([1.0, 2.0, 3.0, 4.0])
except ValueError as err:
    assert "(2, 3)" in str(err) and "(4,)" in str(err), f"the error must name both shapes: {err}"
else:
    raise AssertionError("adding shapes (2, 3) and (4,) must raise ValueError")
### BEGIN HIDDEN TESTS
try:
    Tensor(np.ones((5, 1, 3))) * Tensor(np.ones((4, 2)))
except ValueError as err:
    assert "(5, 1, 3)" in str(err) and "(4, 2)" in str(err)
else:
    raise AssertionError("(5, 1, 3) * (4, 2) must raise ValueError")
np.testing.assert_allclose(np.asarray((Tensor(np.ones((5, 1, 3))) * Tensor(np.ones((4, 1)))).data), np.ones((5, 4, 3)))
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Matrix multiplication
#
# `a @ b` contracts the last dimension of `a` with the second-to-last of `b`:
# `(m, k) @ (k, n) -> (m, n)`. Leading dimensions are **batch** dimensions and broadcast,
# so `(batch, m, k) @ (k, n)` applies one weight matrix to a whole batch, and
# `(batch, heads, t, d) @ (batch, heads, d, t)` computes every attention score at once.
# This one operation is where almost all of a network's time goes: `m·k·n` multiply-adds,
# done by an optimised BLAS library rather than by Python loops.
#
# A mismatch (`(2, 3) @ (4, 5)`) raises a `ValueError` whose message shows both shapes as
# Python prints them, `(2, 3)` and `(4, 5)` (the tests look for exactly those strings);
# saying which dimensions disagree (3 and 4) helps the reader more, but is not checked.
# Batch dimensions that cannot broadcast (`(2, 3, 4) @ (5, 4, 2)`) raise the same way, and
# so does a 0-dimensional operand, with a message saying matmul needs at least one
# dimension (use `*` for a scalar).

# %% nbgrader={"grade": false, "grade_id": "01-tensor-matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def matmul(self: Tensor, other):
    "Matrix product `self @ other`; leading (batch) dimensions broadcast."
    ### BEGIN SOLUTION
    a, b = self.data, data_of(other)
    if a.ndim == 0 or np.ndim(b) == 0:
        raise ValueError(f"matmul needs tensors with at least one dimension, got shapes {a.shape} and "
                         f"{np.shape(b)}; use * to multiply by a scalar")
    k_other = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k_other:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align: the last dimension of the "
                         f"first ({a.shape[-1]}) must equal the second-to-last of the second ({k_other})")
    try:
        return wrap(np.matmul(a, b))
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} cannot broadcast") from None
    ### END SOLUTION

@patch
def __matmul__(self: Tensor, other): return self.matmul(other)
@patch
def __rmatmul__(self: Tensor, other): return Tensor(other).matmul(self)

# %% nbgrader={"grade": true, "grade_id": "01-tensor-matmul-2d", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
a = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
b = Tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
out = a @ b
assert isinstance(out, Tensor) and out.shape == (3, 3) and out.dtype == np.float32
np.testing.assert_allclose(np.asarray(out.data), np.asarray(a.data) @ np.asarray(b.data))
np.testing.assert_allclose(np.asarray(a.matmul(Tensor([1.0, 1.0])).data), [3, 7, 11])
np.testing.assert_allclose(np.asarray((Tensor([1.0, 2.0]) @ b).data), [1, 2, 8], err_msg="matmul: (2,) @ (2, 3)")
dot = Tensor([1.0, 2.0]) @ Tensor([3.0, 4.0])
assert dot.shape == () and dot.item() == 11, "matmul of two vectors is their dot product, a 0-d tensor"
for left, right in [(Tensor(2.0), Tensor([1.0, 2.0])), (Tensor([1.0, 2.0]), Tensor(2.0))]:
    try:
        left @ right
    except ValueError:
        pass
    else:
        raise AssertionError(f"matmul of shapes {left.shape} and {right.shape} must raise ValueError (use * for scalars)")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-matmul-batched", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
x, w = rng.standard_normal((4, 5, 3)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
out = Tensor(x) @ Tensor(w)
assert isinstance(out, Tensor) and out.shape == (4, 5, 2)
np.testing.assert_allclose(np.asarray(out.data), x @ w, rtol=1e-5, atol=1e-5)
try:
    Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
except ValueError as err:
    assert "(2, 3)" in str(err) and "(4, 5)" in str(err), f"the error must name both shapes: {err}"
else:
    raise AssertionError("(2, 3) @ (4, 5) must raise ValueError")

# %% [markdown]
# ## 5. Reductions
#
# A reduction collapses dimensions: `sum`, `mean` and `max` over everything (a scalar, e.g.
# a loss) or along an `axis` (per-example, per-feature). `keepdims=True` keeps the reduced
# dimension with size 1, so the result still broadcasts against the input:
# `x - x.max(axis=1, keepdims=True)` is the first line of a stable softmax.

# %% nbgrader={"grade": false, "grade_id": "01-tensor-reductions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def sum(self: Tensor, axis=None, keepdims=False):
    "Sum over `axis` (all elements when None)."
    ### BEGIN SOLUTION
    return wrap(np.sum(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION

@patch
def mean(self: Tensor, axis=None, keepdims=False):
    "Mean over `axis` (all elements when None)."
    ### BEGIN SOLUTION
    return wrap(np.mean(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION

@patch
def max(self: Tensor, axis=None, keepdims=False):
    "Maximum over `axis` (all elements when None)."
    ### BEGIN SOLUTION
    return wrap(np.max(self.data, axis=axis, keepdims=keepdims))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "01-tensor-reductions-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
for got, shape, want in [(x.sum(), (), 21), (x.sum(axis=0), (3,), [5, 7, 9]),
                         (x.mean(axis=1), (2,), [3, 4]), (x.max(), (), 6),
                         (x.max(axis=1, keepdims=True), (2, 1), [[5], [6]]),
                         (x.sum(axis=(0, 1)), (), 21), (x.mean(axis=-1, keepdims=True), (2, 1), [[3], [4]])]:
    assert isinstance(got, Tensor) and got.shape == shape, f"expected shape {shape}, got {getattr(got, 'shape', got)}"
    np.testing.assert_allclose(np.asarray(got.data), want)
assert x.sum().dtype == np.float32

# %% [markdown]
# ## 6. Shape operations and indexing
#
# `reshape` reinterprets the same numbers with a new shape (`-1` means "whatever fits");
# `transpose` swaps dimensions — with no arguments, the last two, which is the matrix
# transpose a batch of matrices needs (`.T` is a shortcut). Indexing takes everything numpy
# does: integers, slices, `None`, boolean masks and integer arrays (an embedding lookup is
# `table[token_ids]`). `reshape` and `transpose` accept their sizes or axes as separate
# arguments or as one tuple or list. A reshape that cannot fit raises a `ValueError` naming
# the tensor's shape first and the requested one after it, e.g. `(6,)` and `(4, 2)`.

# %% nbgrader={"grade": false, "grade_id": "01-tensor-shape-ops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def reshape(self: Tensor, *shape):
    "The same elements with a new shape; accepts `reshape(2, 3)` or `reshape((2, 3))`, and one -1."
    ### BEGIN SOLUTION
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        return wrap(self.data.reshape(shape))
    except ValueError:
        raise ValueError(f"reshape: cannot view shape {self.shape} ({self.size} elements) as {shape}") from None
    ### END SOLUTION

@patch
def transpose(self: Tensor, *axes):
    "Permute dimensions by `axes`; with none given, swap the last two."
    ### BEGIN SOLUTION
    if not axes:
        axes = tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2) if self.ndim >= 2 else ()
    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return wrap(np.transpose(self.data, axes or None))
    ### END SOLUTION

Tensor.T = property(lambda self: self.transpose(), doc="The last two dimensions swapped.")

# Module 02 makes these methods differentiable: its versions call the ones you wrote here for the result.
plain_methods = {name: getattr(Tensor, name) for name in ("matmul", "reshape", "transpose")}

def index_of(key):
    "A numpy index from `key`, with any Tensors inside it replaced by their data."
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key.data if isinstance(key, Tensor) else key

@patch
def __getitem__(self: Tensor, key):
    "Indexing and slicing as in numpy; integer Tensors can index too."
    ### BEGIN SOLUTION
    return wrap(self.data[index_of(key)])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "01-tensor-reshape-transpose", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.arange(6, dtype=np.float32))
for got, shape in [(x.reshape(2, 3), (2, 3)), (x.reshape((3, 2)), (3, 2)), (x.reshape(-1, 2), (3, 2))]:
    assert isinstance(got, Tensor) and got.shape == shape
    np.testing.assert_array_equal(np.asarray(got.data).ravel(), np.arange(6))
m = x.reshape(2, 3)
assert m.T.shape == (3, 2) and m.transpose().shape == (3, 2)
np.testing.assert_array_equal(np.asarray(m.T.data), np.arange(6).reshape(2, 3).T)
np.testing.assert_array_equal(np.asarray(m.reshape(-1).data), np.arange(6), err_msg="reshape(-1) flattens")
b = Tensor(np.zeros((4, 2, 3)))
assert b.transpose().shape == (4, 3, 2), "with no axes, transpose swaps the last two dimensions"
assert b.transpose(2, 0, 1).shape == (3, 4, 2) and b.transpose((2, 0, 1)).shape == (3, 4, 2), "transpose(axes...)"
v = Tensor(np.arange(3, dtype=np.float32))
assert v.transpose().shape == (3,) and v.transpose(0).shape == (3,), "transposing a vector leaves it as it is"
try:
    x.reshape(4, 2)
except ValueError as err:
    assert "(6,)" in str(err) and "(4, 2)" in str(err), f"the error must name both shapes: {err}"
else:
    raise AssertionError("reshaping 6 elements into (4, 2) must raise ValueError")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-indexing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
for got, want in [(x[0], [0, 1, 2, 3]), (x[:, 1], [1, 5, 9]), (x[1:, ::2], [[4, 6], [8, 10]]),
                  (x[Tensor([2, 0])], [[8, 9, 10, 11], [0, 1, 2, 3]]), (x[x.data > 9], [10, 11])]:
    assert isinstance(got, Tensor), "indexing returns a Tensor"
    np.testing.assert_array_equal(np.asarray(got.data), want)
### BEGIN HIDDEN TESTS
np.testing.assert_array_equal(np.asarray(x[None, 1, -1].data), [7])
np.testing.assert_array_equal(np.asarray(x[Tensor([0, 2]), Tensor([1, 3])].data), [1, 11])
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Comparisons and element-wise math
#
# Comparisons give boolean tensors: masks for ReLU, for accuracy (`pred == labels`), for
# causal attention. Because `==` is element-wise, a Tensor cannot be hashed by value; it
# keeps identity hashing so it can still be a dictionary key (optimisers rely on that).
# `exp` and `log` complete the toolbox that softmax and cross-entropy are made of.

# %% nbgrader={"grade": false, "grade_id": "01-tensor-compare-math", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def __eq__(self: Tensor, other):
    "Element-wise `==` as a boolean Tensor."
    ### BEGIN SOLUTION
    return elementwise(np.equal, self, other, "eq")
    ### END SOLUTION

@patch
def __ne__(self: Tensor, other): return elementwise(np.not_equal, self, other, "ne")
@patch
def __lt__(self: Tensor, other): return elementwise(np.less, self, other, "lt")
@patch
def __le__(self: Tensor, other): return elementwise(np.less_equal, self, other, "le")
@patch
def __gt__(self: Tensor, other): return elementwise(np.greater, self, other, "gt")
@patch
def __ge__(self: Tensor, other): return elementwise(np.greater_equal, self, other, "ge")

@patch
def exp(self: Tensor):
    "Element-wise e**x."
    ### BEGIN SOLUTION
    return wrap(np.exp(self.data))
    ### END SOLUTION

@patch
def log(self: Tensor):
    "Element-wise natural logarithm."
    ### BEGIN SOLUTION
    return wrap(np.log(self.data))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "01-tensor-compare-math-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
a, b = Tensor([1.0, 2.0, 3.0]), Tensor([3.0, 2.0, 1.0])
for got, want in [(a == b, [False, True, False]), (a != b, [True, False, True]),
                  (a < b, [True, False, False]), (a >= 2, [False, True, True])]:
    assert isinstance(got, Tensor) and got.dtype == np.bool_, "comparisons return boolean Tensors"
    np.testing.assert_array_equal(np.asarray(got.data), want)
assert {a: 1}[a] == 1, "a Tensor must stay hashable (by identity)"
np.testing.assert_allclose(np.asarray(a.exp().data), np.exp([1, 2, 3]), rtol=1e-6)
np.testing.assert_allclose(np.asarray(a.log().data), np.log([1, 2, 3]), rtol=1e-6)
assert a.exp().dtype == np.float32

# %% nbgrader={"grade": true, "grade_id": "01-tensor-item-numpy", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
s = Tensor([[2.5]])
assert isinstance(s.item(), float) and s.item() == 2.5
assert isinstance(Tensor([1, 2]).numpy(), np.ndarray)
try:
    Tensor([1.0, 2.0]).item()
except ValueError as err:
    assert "(2,)" in str(err)
else:
    raise AssertionError("item() of a two-element tensor must raise ValueError")

# %% [markdown]
# ## Reflection
#
# Answer in a sentence or three each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "01-tensor-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Memory.** A `(1024, 1024)` float32 weight matrix and its float64 twin: how many bytes
# each? A model with 10 million parameters trained with Adam keeps the weights, their
# gradients and two moment buffers: how much memory is that in float32?

# %% [markdown] nbgrader={"grade": true, "grade_id": "01-tensor-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 4 MiB vs 8 MiB. 10M params × 4 buffers × 4 bytes = 160 MB (about 153 MiB).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "01-tensor-reflect-matmul-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Cost.** How many multiply-adds does `(64, 784) @ (784, 128)` take? Why is calling numpy's
# matmul far faster than three nested Python loops computing the same numbers?

# %% [markdown] nbgrader={"grade": true, "grade_id": "01-tensor-reflect-matmul", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 64·784·128 ≈ 6.4 million. BLAS runs compiled, vectorised (SIMD), cache-blocked and
# multi-threaded code; a Python loop pays interpreter overhead per element (~100× slower).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
