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

# %% nbgrader={"grade": false, "grade_id": "01-tensor-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

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
expect_that(t.data, lambda v: isinstance(v, np.ndarray), "Tensor.__init__", "Tensor.data must be a numpy array")
expect_equal(t.data, [[1.0, 2.0], [3.0, 4.0]], "Tensor.__init__ (keeps the values)")
expect_equal(t.dtype, np.float32, "Tensor.__init__ (Python floats become float32)")
expect_equal(Tensor(np.zeros(3, dtype=np.float64)).dtype, np.float32, "Tensor.__init__ (float64 arrays become float32)")
expect_equal(Tensor(np.zeros(3, dtype=np.float16)).dtype, np.float32, "Tensor.__init__ (float16 arrays become float32)")
expect_equal(Tensor([1, 2, 3]).dtype.kind, "i", "Tensor.__init__ (integers stay integers: they are indices)")
expect_equal(Tensor([True, False]).dtype, np.bool_, "Tensor.__init__ (booleans stay booleans)")
expect_equal(Tensor([1.0], dtype=np.float64).dtype, np.float64, "Tensor.__init__ (an explicit dtype is kept)")
expect_equal(Tensor([1, 2], dtype=np.float16).dtype, np.float16, "Tensor.__init__ (an explicit dtype is kept)")

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
expect_equal(zeros(2, 3).data, np.zeros((2, 3)), "zeros")
expect_equal(zeros(2, 3).dtype, np.float32, "zeros (float32 unless given a dtype)")
expect_equal(ones(4).data, np.ones(4), "ones")
expect_equal(ones(4).dtype, np.float32, "ones (float32 unless given a dtype)")
expect_equal(full((2,), 7.0).data, [7.0, 7.0], "full")
expect_equal(full((2, 3), 1.5).data, np.full((2, 3), 1.5), "full (fills every element)")
expect_equal(full((2, 3), 1.5).dtype, np.float32, "full (float32 unless given a dtype)")
expect_equal(arange(5).data, [0, 1, 2, 3, 4], "arange(5)")
expect_equal(arange(5).dtype.kind, "i", "arange(5) (integer arguments give integers)")
expect_equal(arange(1, 7, 2).data, [1, 3, 5], "arange(1, 7, 2)")
expect_equal(arange(0.0, 1.0, 0.25).data, [0.0, 0.25, 0.5, 0.75], "arange(0.0, 1.0, 0.25)")
# an explicit dtype is kept
expect_equal(zeros(2, 3, dtype=np.float64).dtype, np.float64, "zeros(..., dtype=np.float64)")
expect_equal(zeros(2, 3, dtype=np.int64).dtype, np.int64, "zeros(..., dtype=np.int64)")
expect_equal(ones(2, 3, dtype=np.float64).dtype, np.float64, "ones(..., dtype=np.float64)")
expect_equal(ones(2, 3, dtype=np.int64).dtype, np.int64, "ones(..., dtype=np.int64)")
expect_equal(full((2, 3), 1.5, dtype=np.float64).dtype, np.float64, "full(..., dtype=np.float64)")
expect_equal(full((2, 3), 1.5, dtype=np.int64).dtype, np.int64, "full(..., dtype=np.int64)")
# requires_grad is passed on, and off by default
expect_equal(zeros(2, requires_grad=True).requires_grad, True, "zeros(2, requires_grad=True)")
expect_equal(zeros(2).requires_grad, False, "zeros(2) (no gradient by default)")
expect_equal(ones(2, requires_grad=True).requires_grad, True, "ones(2, requires_grad=True)")
expect_equal(ones(2).requires_grad, False, "ones(2) (no gradient by default)")
expect_equal(randn(2, requires_grad=True).requires_grad, True, "randn(2, requires_grad=True)")
expect_equal(randn(2).requires_grad, False, "randn(2) (no gradient by default)")
# random numbers: the same seed gives the same numbers (which ones is up to you)
a, b = randn(3, 4, seed=0), randn(3, 4, seed=0)
expect_equal(a.shape, (3, 4), "randn(3, 4, seed=0)")
expect_equal(a.dtype, np.float32, "randn (float32)")
expect_agree(a.data, b.data, "randn (the same seed gives the same numbers)", rtol=0, atol=0)
expect_that([a.data, randn(3, 4, seed=1).data], lambda v: not np.array_equal(v[0], v[1]), "randn",
            "different seeds must give different numbers")
expect_that(randn(10_000, seed=0).data, lambda v: abs(v.mean()) < 0.05 and abs(v.std() - 1) < 0.05, "randn",
            "standard-normal samples have mean about 0 and standard deviation about 1")
r = rand(10_000, seed=0)
expect_that(r.data, lambda v: v.shape == (10_000,) and v.min() >= 0 and v.max() < 1 and abs(v.mean() - 0.5) < 0.02,
            "rand", "uniform samples in [0, 1), with mean about 0.5")
expect_equal(r.dtype, np.float32, "rand (float32)")
expect_agree(r.data, rand(10_000, seed=0).data, "rand (the same seed gives the same numbers)", rtol=0, atol=0)

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
expect_equal((a + b).data, [5.0, 7.0, 9.0], "Tensor.__add__")
expect_equal((a - b).data, [-3.0, -3.0, -3.0], "Tensor.__sub__")
expect_equal((a * b).data, [4.0, 10.0, 18.0], "Tensor.__mul__")
expect_equal((b / a).data, [4.0, 2.5, 2.0], "Tensor.__truediv__")
expect_equal((a ** 2).data, [1.0, 4.0, 9.0], "Tensor.__pow__")
expect_equal((-a).data, [-1.0, -2.0, -3.0], "Tensor.__neg__")
expect_equal([(a + b).dtype, (a - b).dtype, (a * b).dtype, (b / a).dtype, (a ** 2).dtype, (-a).dtype], [np.float32] * 6,
             "Tensor.__add__, __sub__, __mul__, __truediv__, __pow__, __neg__ in that order (float32 in, float32 out)")
d = Tensor([1.0, 2.0, 3.0], dtype=np.float64)
expect_equal([(d + d).dtype, (d * 2).dtype, (d / a).dtype], [np.float64] * 3,
             "Tensor.__add__, __mul__, __truediv__ in that order (numpy's promotion: float64 stays float64)")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-arith-scalars", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor([1.0, 2.0])
expect_equal((a + 1).data, [2.0, 3.0], "Tensor.__add__ (a + 1)")
expect_equal((1 + a).data, [2.0, 3.0], "Tensor.__radd__ (1 + a)")
expect_equal((2 * a).data, [2.0, 4.0], "Tensor.__rmul__ (2 * a)")
expect_equal((a * 0.5).data, [0.5, 1.0], "Tensor.__mul__ (a * 0.5)")
expect_equal((3 - a).data, [2.0, 1.0], "Tensor.__rsub__ (3 - a)")
expect_equal((a - 3).data, [-2.0, -1.0], "Tensor.__sub__ (a - 3)")
expect_equal((2 / a).data, [2.0, 1.0], "Tensor.__rtruediv__ (2 / a)")
expect_equal((np.array([10.0, 20.0]) - a).data, [9.0, 18.0], "Tensor.__rsub__ (numpy array - Tensor)")
expect_equal([(a + 1).dtype, (1 + a).dtype, (2 * a).dtype, (a * 0.5).dtype, (3 - a).dtype, (a - 3).dtype, (2 / a).dtype],
             [np.float32] * 7, "Tensor.__add__, __radd__, __rmul__, __mul__, __rsub__, __sub__, __rtruediv__ in that "
             "order (a Python number must not promote float32)")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-broadcasting", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
expect_equal((x + Tensor([10.0, 20.0, 30.0])).data, [[10.0, 21.0, 32.0], [13.0, 24.0, 35.0]],
             "Tensor.__add__ (broadcasting (2, 3) + (3,))")
expect_equal((Tensor([[1.0], [2.0], [3.0]]) * Tensor([[1.0, 10.0]])).data, [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]],
             "Tensor.__mul__ (broadcasting (3, 1) * (1, 2))")
with expect_raises(ValueError, "Tensor.__add__ (shapes (2, 3) and (4,) cannot broadcast)", mentions=["(2, 3)", "(4,)"]):
    x + Tensor([1.0, 2.0, 3.0, 4.0])
### BEGIN HIDDEN TESTS
with expect_raises(ValueError, "Tensor.__mul__ (shapes (5, 1, 3) and (4, 2) cannot broadcast)", mentions=["(5, 1, 3)", "(4, 2)"]):
    Tensor(np.ones((5, 1, 3))) * Tensor(np.ones((4, 2)))
expect_equal((Tensor(np.ones((5, 1, 3))) * Tensor(np.ones((4, 1)))).data, np.ones((5, 4, 3)),
             "Tensor.__mul__ (broadcasting (5, 1, 3) * (4, 1))")
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
expect_equal((a @ b).data, [[1.0, 2.0, 8.0], [3.0, 4.0, 18.0], [5.0, 6.0, 28.0]], "Tensor.matmul ((3, 2) @ (2, 3))")
expect_equal((a @ b).dtype, np.float32, "Tensor.matmul (float32 in, float32 out)")
expect_equal(a.matmul(Tensor([1.0, 1.0])).data, [3.0, 7.0, 11.0], "Tensor.matmul ((3, 2) @ (2,))")
expect_equal((Tensor([1.0, 2.0]) @ b).data, [1.0, 2.0, 8.0], "Tensor.matmul ((2,) @ (2, 3))")
expect_equal((Tensor([1.0, 2.0]) @ Tensor([3.0, 4.0])).data, 11.0,
             "Tensor.matmul (two vectors give their dot product, a 0-d tensor)")
for left, right in [(Tensor(2.0), Tensor([1.0, 2.0])), (Tensor([1.0, 2.0]), Tensor(2.0))]:
    with expect_raises(ValueError, "Tensor.matmul (a 0-d operand: use * for scalars)"):
        left @ right

# %% nbgrader={"grade": true, "grade_id": "01-tensor-matmul-batched", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
x, w = rng.standard_normal((4, 5, 3)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
expect_equal((Tensor(x) @ Tensor(w)).data, x @ w, "Tensor.matmul (batched (4, 5, 3) @ (3, 2))", rtol=1e-5, atol=1e-5)
p, q = rng.standard_normal((2, 1, 3, 4)).astype(np.float32), rng.standard_normal((5, 4, 2)).astype(np.float32)
expect_equal((Tensor(p) @ Tensor(q)).data, p @ q, "Tensor.matmul (batch dimensions broadcast: (2, 1, 3, 4) @ (5, 4, 2))",
             rtol=1e-5, atol=1e-5)
with expect_raises(ValueError, "Tensor.matmul ((2, 3) @ (4, 5) do not align)", mentions=["(2, 3)", "(4, 5)"]):
    Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
with expect_raises(ValueError, "Tensor.matmul (batch dimensions (2,) and (5,) cannot broadcast)",
                   mentions=["(2, 3, 4)", "(5, 4, 2)"]):
    Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 2)))

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
expect_equal(x.sum().data, 21.0, "Tensor.sum() (a 0-d tensor)")
expect_equal(x.sum().dtype, np.float32, "Tensor.sum (float32 stays float32)")
expect_equal(x.sum(axis=0).data, [5.0, 7.0, 9.0], "Tensor.sum(axis=0)")
expect_equal(x.sum(axis=(0, 1)).data, 21.0, "Tensor.sum(axis=(0, 1))")
expect_equal(x.sum(axis=0, keepdims=True).data, [[5.0, 7.0, 9.0]], "Tensor.sum(axis=0, keepdims=True)")
expect_equal(x.mean().data, 3.5, "Tensor.mean()")
expect_equal(x.mean(axis=1).data, [3.0, 4.0], "Tensor.mean(axis=1)")
expect_equal(x.mean(axis=-1, keepdims=True).data, [[3.0], [4.0]], "Tensor.mean(axis=-1, keepdims=True)")
expect_equal(x.mean().dtype, np.float32, "Tensor.mean (float32 stays float32)")
expect_equal(x.max().data, 6.0, "Tensor.max()")
expect_equal(x.max(axis=0).data, [4.0, 5.0, 6.0], "Tensor.max(axis=0)")
expect_equal(x.max(axis=1, keepdims=True).data, [[5.0], [6.0]], "Tensor.max(axis=1, keepdims=True)")

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
expect_equal(x.reshape(2, 3).data, np.arange(6).reshape(2, 3), "Tensor.reshape(2, 3)")
expect_equal(x.reshape((3, 2)).data, np.arange(6).reshape(3, 2), "Tensor.reshape((3, 2)) (one tuple)")
expect_equal(x.reshape([3, 2]).data, np.arange(6).reshape(3, 2), "Tensor.reshape([3, 2]) (one list)")
expect_equal(x.reshape(-1, 2).data, np.arange(6).reshape(3, 2), "Tensor.reshape(-1, 2)")
m = x.reshape(2, 3)
expect_equal(m.reshape(-1).data, np.arange(6), "Tensor.reshape(-1) (flattens)")
expect_equal(m.T.data, np.arange(6).reshape(2, 3).T, "Tensor.transpose (m.T)")
expect_equal(m.transpose().data, np.arange(6).reshape(2, 3).T, "Tensor.transpose() (of a matrix)")
b = Tensor(np.arange(24, dtype=np.float32).reshape(4, 2, 3))
expect_equal(b.transpose().data, np.arange(24).reshape(4, 2, 3).transpose(0, 2, 1),
             "Tensor.transpose() (with no axes, swaps the last two dimensions)")
expect_equal(b.transpose(2, 0, 1).data, np.arange(24).reshape(4, 2, 3).transpose(2, 0, 1), "Tensor.transpose(2, 0, 1)")
expect_equal(b.transpose((2, 0, 1)).data, np.arange(24).reshape(4, 2, 3).transpose(2, 0, 1),
             "Tensor.transpose((2, 0, 1)) (one tuple)")
v = Tensor(np.arange(3, dtype=np.float32))
expect_equal(v.transpose().data, [0.0, 1.0, 2.0], "Tensor.transpose() (a vector stays as it is)")
expect_equal(v.transpose(0).data, [0.0, 1.0, 2.0], "Tensor.transpose(0) (a vector stays as it is)")
with expect_raises(ValueError, "Tensor.reshape (6 elements into (4, 2))", mentions=["(6,)", "(4, 2)"]):
    x.reshape(4, 2)

# %% nbgrader={"grade": true, "grade_id": "01-tensor-indexing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
expect_equal(type(x[0]).__name__, "Tensor", "Tensor.__getitem__ (indexing returns a Tensor)")
expect_equal(x[0].data, [0.0, 1.0, 2.0, 3.0], "Tensor.__getitem__ (x[0])")
expect_equal(x[:, 1].data, [1.0, 5.0, 9.0], "Tensor.__getitem__ (x[:, 1])")
expect_equal(x[1:, ::2].data, [[4.0, 6.0], [8.0, 10.0]], "Tensor.__getitem__ (x[1:, ::2])")
expect_equal(x[1, 2].data, 6.0, "Tensor.__getitem__ (x[1, 2], a 0-d tensor)")
expect_equal(x[Tensor([2, 0])].data, [[8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]],
             "Tensor.__getitem__ (an integer Tensor as index)")
expect_equal(x[x.data > 9].data, [10.0, 11.0], "Tensor.__getitem__ (a boolean mask)")
### BEGIN HIDDEN TESTS
expect_equal(x[None, 1, -1].data, [7.0], "Tensor.__getitem__ (x[None, 1, -1])")
expect_equal(x[Tensor([0, 2]), Tensor([1, 3])].data, [1.0, 11.0], "Tensor.__getitem__ (a tuple of integer Tensors)")
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
expect_equal((a == b).data, np.array([False, True, False]), "Tensor.__eq__")
expect_equal((a == b).dtype, np.bool_, "Tensor.__eq__ (comparisons return boolean Tensors)")
expect_equal((a == 2).data, np.array([False, True, False]), "Tensor.__eq__ (with a number)")
expect_equal((a != b).data, np.array([True, False, True]), "Tensor.__ne__")
expect_equal((a < b).data, np.array([True, False, False]), "Tensor.__lt__")
expect_equal((a >= 2).data, np.array([False, True, True]), "Tensor.__ge__")
with expect_raises(ValueError, "Tensor.__eq__ (shapes (3,) and (2,) cannot broadcast)", mentions=["(3,)", "(2,)"]):
    a == Tensor([1.0, 2.0])
expect_equal({a: 1}[a], 1, "Tensor.__hash__ (a Tensor stays hashable, by identity)")
expect_equal(a.exp().data, np.exp([1.0, 2.0, 3.0]), "Tensor.exp", rtol=1e-6)
expect_equal(a.exp().dtype, np.float32, "Tensor.exp (float32 stays float32)")
expect_equal(a.log().data, np.log([1.0, 2.0, 3.0]), "Tensor.log", rtol=1e-6, atol=1e-7)
expect_equal(a.log().dtype, np.float32, "Tensor.log (float32 stays float32)")

# %% nbgrader={"grade": true, "grade_id": "01-tensor-item-numpy", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
expect_that(Tensor([[2.5]]).item(), lambda v: type(v) is float and v == 2.5, "Tensor.item",
            "a one-element tensor gives its element as a Python float")
expect_that(Tensor([1, 2]).numpy(), lambda v: isinstance(v, np.ndarray), "Tensor.numpy", "it returns a numpy array")
with expect_raises(ValueError, "Tensor.item (of a two-element tensor)", mentions=["(2,)"]):
    Tensor([1.0, 2.0]).item()

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
