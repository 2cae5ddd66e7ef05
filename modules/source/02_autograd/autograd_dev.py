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
# # 02 · Autograd: gradients for every operation
#
# Training a network means nudging every weight against the gradient of the loss. Writing
# those gradients by hand for each new model does not scale; **reverse-mode automatic
# differentiation** computes all of them in one backward sweep that costs about as much as
# the forward pass.
#
# The idea in three lines:
# 1. every operation remembers its inputs (`_parents`) and how to send a gradient back to
#    them (`_backward`): a **computation graph** built as the forward pass runs;
# 2. `loss.backward()` visits the graph in **reverse topological order**, so a node's
#    gradient is complete before it is passed on;
# 3. each node applies the **chain rule** locally: upstream gradient in, one gradient per
#    parent out. Where a value is used twice (`y = x*x + x`), the gradients **add up**.
#
# You extend the *same* `Tensor` from module 01: each operation is redefined here with its
# forward and backward side by side (`@patch` replaces the method on the class).

# %%
#| default_exp core.autograd

# %% nbgrader={"grade": false, "grade_id": "02-autograd-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import contextlib

import numpy as np
from fastcore.basics import patch

from tinytorch.core.tensor import Tensor, index_of, plain_methods  # 01's matmul, reshape, transpose

# %% [markdown]
# ## 1. Recording the graph, and switching it off
#
# `Tensor.from_op(data, parents, backward)` is the one place a graph node is made: it wraps
# an op's numpy result and, when any parent requires a gradient, records the parents and the
# `backward` function. `backward(grad)` receives the gradient of the loss with respect to
# this output (a numpy array of the output's shape) and returns one gradient per parent
# (`None` for a parent that needs none).
#
# During evaluation and sampling no gradient is needed; recording the graph would only cost
# memory. `with no_grad():` turns recording off.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-from-op", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GradMode:
    "Whether operations record the graph (switched off by `no_grad`)."
    enabled = True

@contextlib.contextmanager
def no_grad():
    "Within this block operations record no graph, so no gradients flow and no memory is held."
    previous, GradMode.enabled = GradMode.enabled, False
    try:
        yield
    finally:
        GradMode.enabled = previous

@patch(cls_method=True)
def from_op(cls: Tensor, data, parents, backward):
    "A Tensor for the numpy result `data`; when a parent needs a gradient, remember `parents` and `backward`."
    out = cls(data, dtype=data.dtype)
    ### BEGIN SOLUTION
    if GradMode.enabled and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = tuple(parents)
        out._backward = backward
    ### END SOLUTION
    return out

@patch
def detach(self: Tensor):
    "The same data with no graph behind it."
    return Tensor(self.data, dtype=self.dtype)

# %% nbgrader={"grade": true, "grade_id": "02-autograd-from-op-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor([1.0, 2.0], requires_grad=True)
b = Tensor([3.0, 4.0])
out = Tensor.from_op(a.data + b.data, (a, b), lambda g: (g, g))
assert isinstance(out, Tensor) and out.requires_grad and out._parents == (a, b), "from_op records the parents"
assert not Tensor.from_op(b.data * 2, (b,), lambda g: (g,)).requires_grad, "from_op: no parent needs a gradient"
with no_grad():
    assert not Tensor.from_op(a.data * 2, (a,), lambda g: (g,)).requires_grad, "from_op: no_grad records nothing"
assert Tensor.from_op(a.data * 2, (a,), lambda g: (g,)).requires_grad, "from_op: recording resumes after no_grad"

# %% [markdown]
# ## 2. The backward pass
#
# `backward()` must visit each node **after** every node that uses it. A depth-first
# post-order gives a topological order (parents before children); walking it in reverse
# gives the order we need. Recursion would hit Python's limit on a long chain (an RNN
# unrolled over a thousand steps, or the 10,000-op chain in the tests), so use an explicit
# stack.
#
# Gradients live in a dictionary keyed by `id(node)` while they accumulate. A **leaf** (a
# tensor that was not computed from others, such as a weight) adds its gradient into
# `.grad`, so two `backward()` calls accumulate — the reason optimisers call `zero_grad()`.
# A gradient must have the shape of its tensor; checking that catches most bugs in a new
# op's backward at the line that has them. When an op's backward returns a gradient of the
# wrong shape, raise a `RuntimeError` naming the gradient's shape and then the input's
# shape, as Python prints them: `(3,)` ... `(2,)`.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def topo_sort(root):
    "Every tensor `root` depends on that requires a gradient, parents before children, without recursion."
    ### BEGIN SOLUTION
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in visited)
    return order
    ### END SOLUTION

@patch
def backward(self: Tensor, grad=None):
    "Backpropagate from this tensor, adding into `.grad` of every leaf that requires a gradient."
    if not self.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require a gradient: no input had "
                           "requires_grad=True, it was computed under no_grad(), or it was computed before "
                           "tinytorch.core.autograd was imported")
    if grad is None:
        if self.size != 1:
            raise RuntimeError(f"backward() with no gradient needs a one-element tensor, got shape "
                               f"{self.shape}; reduce it (e.g. .sum()) or pass grad=")
        grad = np.ones_like(self.data)
    ### BEGIN SOLUTION
    grads = {id(self): np.asarray(grad, dtype=self.dtype)}
    for node in reversed(topo_sort(self)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if not node._parents:  # a leaf keeps its gradient
            g = np.array(g, dtype=node.dtype)  # a private, writable copy
            if node.grad is None:
                node.grad = Tensor(g, dtype=node.dtype)
            else:
                node.grad.data = node.grad.data + g
            continue
        for parent, pg in zip(node._parents, node._backward(g)):
            if pg is None or not parent.requires_grad:
                continue
            if np.shape(pg) != parent.shape:
                raise RuntimeError(f"the backward of {node._backward.__qualname__} gave a gradient of shape "
                                   f"{np.shape(pg)} for an input of shape {parent.shape}")
            grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg
    ### END SOLUTION

@patch
def zero_grad(self: Tensor):
    "Forget the accumulated gradient."
    self.grad = None

# %% nbgrader={"grade": true, "grade_id": "02-autograd-topo-sort", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = Tensor([1.0], requires_grad=True)
b = Tensor.from_op(a.data * 2, (a,), lambda g: (g * 2,))
c = Tensor.from_op(a.data + b.data, (a, b), lambda g: (g, g))
order = topo_sort(c)
ids = [id(t) for t in order]  # compare by identity: == on Tensors is element-wise
assert isinstance(order, list) and len(order) == 3 and set(ids) == {id(a), id(b), id(c)}, "topo_sort: a, b, c each once"
assert ids.index(id(a)) < ids.index(id(b)) < ids.index(id(c)), "topo_sort: parents come before the nodes that use them"
k = Tensor([5.0])  # a constant: needs no gradient, so topo_sort leaves it out
d = Tensor.from_op(c.data + k.data, (c, k), lambda g: (g, g))
assert id(k) not in {id(t) for t in topo_sort(d)}, "topo_sort: tensors that do not require a gradient are left out"

# %% nbgrader={"grade": true, "grade_id": "02-autograd-backward-accumulates", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# c = a + 2a: a is used twice, so its gradient is 1 + 2 = 3
c.backward()
assert isinstance(a.grad, Tensor) and a.grad.shape == (1,), "backward: a leaf's .grad is a Tensor of its shape"
np.testing.assert_allclose(np.asarray(a.grad.data), [3.0], err_msg="backward: a is used twice, its gradients add up")
c.backward()
np.testing.assert_allclose(np.asarray(a.grad.data), [6.0], err_msg="backward: leaf gradients accumulate across calls")
assert b.grad is None, "backward: only leaves keep .grad"
# A backward may return None for a parent: that parent gets nothing, and backward goes on with the others.
p = Tensor([1.0], requires_grad=True)
q = Tensor.from_op(p.data * 2, (p,), lambda g: (g * 2,))
r = Tensor.from_op(q.data + p.data, (q, p), lambda g: (None, g))
r.backward()
np.testing.assert_allclose(np.asarray(p.grad.data), [1.0],
                           err_msg="backward: a None gradient skips that parent only; the other paths still count")

# %% [markdown]
# ## 3. Arithmetic with broadcasting
#
# For `out = a + b` the local gradients are 1, so each parent receives the upstream
# gradient — but broadcasting complicates it. If `b` had shape `(3,)` and was stretched to
# `(32, 3)`, then `b` influenced 32 outputs and its gradient is the **sum** over that
# stretched axis. `unbroadcast(grad, shape)` sums a gradient back down to a shape: over the
# leading axes numpy added, and over each axis where the input had size 1.
#
# The rules: `d(a*b) = (b·g, a·g)`, `d(a/b) = (g/b, -g·a/b²)`, `d(a**p) = p·a^(p-1)·g`.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-unbroadcast", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def unbroadcast(grad, shape):
    "Sum `grad` down to `shape`, undoing numpy broadcasting."
    ### BEGIN SOLUTION
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad
    ### END SOLUTION

def lift(x, like):
    "`x` as a Tensor; a Python number takes `like`'s floating dtype so float32 stays float32."
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and like.dtype.kind == "f":
        return Tensor(x, dtype=like.dtype)
    return Tensor(x)

def broadcast_data(fn, a, b, name):
    "`fn(a.data, b.data)`, naming both shapes when they cannot broadcast."
    try:
        return fn(a.data, b.data)
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast shapes {a.shape} and {b.shape}; aligned from the right, "
                         "each dimension pair must be equal or contain a 1") from None

# %% nbgrader={"grade": true, "grade_id": "02-autograd-unbroadcast-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
g = np.ones((4, 2, 3), dtype=np.float32)
for shape, want in [((4, 2, 3), g), ((3,), np.full(3, 8.0)), ((2, 1), np.full((2, 1), 12.0)),
                    ((1, 3), np.full((1, 3), 8.0)), ((), np.float32(24.0))]:
    got = unbroadcast(g, shape)
    assert np.shape(got) == shape, f"unbroadcast to {shape} gave shape {np.shape(got)}"
    np.testing.assert_allclose(np.asarray(got), want)

# %% nbgrader={"grade": false, "grade_id": "02-autograd-arithmetic", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def __add__(self: Tensor, other):
    "`self + other`, differentiable."
    other = lift(other, self)
    ### BEGIN SOLUTION
    a, b = self, other
    return Tensor.from_op(broadcast_data(np.add, a, b, "add"), (a, b),
                          lambda g: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)))
    ### END SOLUTION

@patch
def __sub__(self: Tensor, other):
    "`self - other`, differentiable."
    other = lift(other, self)
    ### BEGIN SOLUTION
    a, b = self, other
    return Tensor.from_op(broadcast_data(np.subtract, a, b, "sub"), (a, b),
                          lambda g: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)))
    ### END SOLUTION

@patch
def __mul__(self: Tensor, other):
    "`self * other`, differentiable."
    other = lift(other, self)
    ### BEGIN SOLUTION
    a, b = self, other
    return Tensor.from_op(broadcast_data(np.multiply, a, b, "mul"), (a, b),
                          lambda g: (unbroadcast(g * b.data, a.shape), unbroadcast(g * a.data, b.shape)))
    ### END SOLUTION

@patch
def __truediv__(self: Tensor, other):
    "`self / other`, differentiable."
    other = lift(other, self)
    ### BEGIN SOLUTION
    a, b = self, other
    return Tensor.from_op(broadcast_data(np.divide, a, b, "div"), (a, b),
                          lambda g: (unbroadcast(g / b.data, a.shape),
                                     unbroadcast(-g * a.data / (b.data * b.data), b.shape)))
    ### END SOLUTION

@patch
def __pow__(self: Tensor, exponent):
    "`self ** exponent` for a number `exponent`, differentiable in `self`."
    if not isinstance(exponent, (int, float)):
        raise TypeError(f"** takes a Python number as exponent, got {type(exponent).__name__}")
    ### BEGIN SOLUTION
    a = self
    return Tensor.from_op(a.data ** exponent, (a,), lambda g: (g * exponent * a.data ** (exponent - 1),))
    ### END SOLUTION

@patch
def __neg__(self: Tensor):
    "`-self`, differentiable."
    return Tensor.from_op(-self.data, (self,), lambda g: (-g,))

@patch
def __radd__(self: Tensor, other): return lift(other, self) + self
@patch
def __rsub__(self: Tensor, other): return lift(other, self) - self
@patch
def __rmul__(self: Tensor, other): return lift(other, self) * self
@patch
def __rtruediv__(self: Tensor, other): return lift(other, self) / self

# %% [markdown]
# A gradient you cannot check is a guess. The **central difference**
# `(f(x+ε) − f(x−ε)) / 2ε` approximates each partial derivative with error O(ε²), so the
# helper below compares it, element by element, with what `backward()` computes. To test
# every output at once it backpropagates a random weighting `w` of the outputs, i.e. checks
# the gradient of `sum(w * f(x))`. Use float64 inputs for tight tolerances; float32 works
# with looser ones. Later modules check every new op with it.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-gradcheck", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def numerical_grad(fn, inputs, weights, eps):
    "Central-difference gradient of `sum(weights * fn(*inputs))` for each input that requires one, in float64."
    grads = []
    with no_grad():
        for x in (x for x in inputs if x.requires_grad):
            g = np.zeros(x.shape, dtype=np.float64)
            for idx in np.ndindex(*x.shape):  # index x.data itself: a reshaped view may be a copy
                old = x.data[idx]
                ### BEGIN SOLUTION
                x.data[idx] = old + eps
                up = np.sum(weights * fn(*inputs).data.astype(np.float64))
                x.data[idx] = old - eps
                down = np.sum(weights * fn(*inputs).data.astype(np.float64))
                x.data[idx] = old
                g[idx] = (up - down) / (2 * eps)
                ### END SOLUTION
            grads.append(g)
    return grads

def gradcheck(fn, *inputs, eps=None, atol=None, rtol=None, seed=0):
    "Check `backward()` against central differences for every input that requires a gradient; raise on mismatch."
    checked = [x for x in inputs if x.requires_grad]
    float64 = all(x.dtype == np.float64 for x in checked)  # integer index inputs do not count
    eps = eps or (1e-6 if float64 else 1e-2)
    atol = atol or (1e-6 if float64 else 1e-2)
    rtol = rtol or (1e-5 if float64 else 1e-2)
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    for x in checked:
        x.grad = None
    out.backward(weights.astype(out.dtype))  # the gradient of sum(weights * out)
    for k, (x, num) in enumerate(zip(checked, numerical_grad(fn, inputs, weights, eps))):
        got = np.zeros(x.shape) if x.grad is None else x.grad.data
        if not np.allclose(got, num, atol=atol, rtol=rtol):
            _check_numerical_grad()  # a wrong oracle must not be blamed on a correct backward
            worst = np.unravel_index(np.argmax(np.abs(got - num)), x.shape) if x.shape else ()
            raise AssertionError(f"gradient of input {k} (shape {x.shape}) is wrong: at index {worst} backward "
                                 f"gave {np.asarray(got)[worst]:.6g}, central differences (numerical_grad) {num[worst]:.6g}")
    return True

def _check_numerical_grad():
    "Raise if `numerical_grad` misses the known gradient 2x of sum(x**2) (computed in numpy, no op involved)."
    x = Tensor([0.5, -1.5], dtype=np.float64, requires_grad=True)
    (num,) = numerical_grad(lambda x: Tensor(x.data ** 2, dtype=x.dtype), [x], np.ones(2), 1e-4)
    if not np.allclose(num, [1.0, -3.0], rtol=1e-6):
        raise AssertionError(f"numerical_grad is wrong, not backward: for sum(x**2) at x = [0.5, -1.5] it gave "
                             f"{np.asarray(num)}, the gradient is 2x = [1, -3]; fix numerical_grad first")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-numerical-grad-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# numerical_grad on its own, on functions written in numpy so no op of yours is involved:
# the gradient of sum(w * x**2) is 2·w·x, of sum(w * x*y) is w·y and w·x.
square = lambda x: Tensor(x.data ** 2, dtype=x.dtype)
product = lambda x, y: Tensor(x.data * y.data, dtype=x.dtype)
x = Tensor([1.0, -2.0, 3.0], dtype=np.float64, requires_grad=True)
y = Tensor([0.5, 4.0, -1.0], dtype=np.float64, requires_grad=True)
c = Tensor([7.0, 7.0, 7.0], dtype=np.float64)  # needs no gradient: numerical_grad skips it
w = np.array([1.0, 2.0, -1.0])
grads = numerical_grad(square, [x], w, 1e-4)
assert isinstance(grads, list) and len(grads) == 1, "numerical_grad returns one gradient per input that requires one"
np.testing.assert_allclose(grads[0], 2 * w * x.data, rtol=1e-6,
                           err_msg="numerical_grad: the central difference is (f(x+eps) - f(x-eps)) / (2*eps)")
gx, gy = numerical_grad(lambda x, c, y: product(x, y), [x, c, y], w, 1e-4)
np.testing.assert_allclose(gx, w * y.data, rtol=1e-6, err_msg="numerical_grad: gradient of the first input")
np.testing.assert_allclose(gy, w * x.data, rtol=1e-6, err_msg="numerical_grad: gradient of the third input")
np.testing.assert_array_equal(x.data, [1.0, -2.0, 3.0], err_msg="numerical_grad must put every nudged value back")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-shared-subexpression", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
y = x * x + x           # dy/dx = 2x + 1
y.backward(np.ones(3))  # a gradient for each output element (sum() comes in section 4)
assert isinstance(x.grad, Tensor) and x.grad.shape == (3,), "backward: x.grad is a Tensor of x's shape"
np.testing.assert_allclose(np.asarray(x.grad.data), [3.0, -3.0, 7.0],
                           err_msg="x * x + x: the backward of __mul__ and __add__, summed where x is used twice")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-arith-grads", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(1)
a = Tensor(rng.standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
b = Tensor(rng.uniform(0.5, 2, (3, 4)), dtype=np.float64, requires_grad=True)
for name, f in [("__add__", lambda a, b: a + b), ("__sub__", lambda a, b: a - b), ("__mul__", lambda a, b: a * b),
                ("__truediv__", lambda a, b: a / b), ("__pow__ and __sub__", lambda a, b: a ** 3 - 2 * b),
                ("__neg__ and __rtruediv__", lambda a, b: -a + 1 / b)]:
    try:
        gradcheck(f, a, b)
    except AssertionError as err:
        raise AssertionError(f"backward of {name}: {err}") from None

# %% nbgrader={"grade": true, "grade_id": "02-autograd-broadcast-grads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.ones((4, 3)), requires_grad=True)
bias = Tensor([1.0, 2.0, 3.0], requires_grad=True)
(x * bias).backward(np.ones((4, 3)))
assert bias.grad.shape == (3,), f"bias was broadcast over 4 rows: its gradient has shape (3,), got {bias.grad.shape}"
np.testing.assert_allclose(np.asarray(bias.grad.data), [4.0, 4.0, 4.0])
np.testing.assert_allclose(np.asarray(x.grad.data), np.tile([1.0, 2.0, 3.0], (4, 1)))
col = Tensor(rng.standard_normal((4, 1)), dtype=np.float64, requires_grad=True)
row = Tensor(rng.standard_normal((1, 5)), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda c, r: c * r + c, col, row)
### BEGIN HIDDEN TESTS
s = Tensor(2.0, dtype=np.float64, requires_grad=True)
m = Tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda s, m: m / s - s * m, s, m)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Matrix multiplication, reductions, shapes and indexing
#
# - `C = A @ B`: `dA = dC @ Bᵀ`, `dB = Aᵀ @ dC` (transposing the last two axes); batch axes
#   that broadcast are summed back with `unbroadcast`; a 1-D operand is treated as a row
#   (left) or a column (right) and squeezed back.
# - `sum`: every input element contributed once, so the gradient is the upstream gradient
#   broadcast back to the input shape (re-inserting the reduced axes first when
#   `keepdims=False`). `mean` divides by the count. `max` sends the gradient to the maximal
#   elements (split evenly between ties).
# - `reshape` and `transpose` only move numbers: reshape the gradient back, transpose it by
#   the inverse permutation (the default, swapping the last two axes, is its own inverse).
# - The forward passes of `matmul`, `reshape` and `transpose` are the ones you wrote in 01
#   (`plain_methods` keeps them): here you add only the backward.
# - Indexing picks elements; its gradient **scatter-adds** into zeros of the input's shape
#   (`np.add.at`), because one element picked twice (`x[[0, 0]]`) gets both gradients.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-matmul", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def matmul(self: Tensor, other):
    "`self @ other` with batch broadcasting, differentiable (the product itself is your 01 `matmul`)."
    a, b = self, lift(other, self)
    out = plain_methods["matmul"](a, b).data          # checks the shapes, multiplies
    a2 = a.data[None, :] if a.ndim == 1 else a.data   # (k,) -> (1, k)
    b2 = b.data[:, None] if b.ndim == 1 else b.data   # (k,) -> (k, 1)
    out2_shape = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])  # a2 @ b2's

    def backward(g):
        ### BEGIN SOLUTION
        g2 = g.reshape(out2_shape)
        ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb
        ### END SOLUTION
    return Tensor.from_op(out, (a, b), backward)

@patch
def __matmul__(self: Tensor, other): return self.matmul(other)
@patch
def __rmatmul__(self: Tensor, other): return lift(other, self).matmul(self)

# %% nbgrader={"grade": true, "grade_id": "02-autograd-matmul-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
A = Tensor(rng.standard_normal((3, 4)), dtype=np.float64, requires_grad=True)
B = Tensor(rng.standard_normal((4, 2)), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda A, B: A @ B, A, B)
X = Tensor(rng.standard_normal((5, 3, 4)), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda X, B: X @ B, X, B), "batched (5, 3, 4) @ (4, 2): B's gradient sums over the batch"
Y = Tensor(rng.standard_normal((5, 4, 2)), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda X, Y: X @ Y, X, Y), "matmul backward, both batched: (5, 3, 4) @ (5, 4, 2)"
v = Tensor(rng.standard_normal(4), dtype=np.float64, requires_grad=True)
assert gradcheck(lambda A, v: A @ v, A, v)
assert gradcheck(lambda v, B: v @ B, v, B)

# %% nbgrader={"grade": false, "grade_id": "02-autograd-reductions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def expand_reduced(g, shape, axis, keepdims):
    "Broadcast the gradient of a reduction over `axis` back to the input `shape`."
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else axis
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape)

@patch
def sum(self: Tensor, axis=None, keepdims=False):
    "Sum over `axis`, differentiable."
    ### BEGIN SOLUTION
    a = self
    return Tensor.from_op(np.sum(a.data, axis=axis, keepdims=keepdims), (a,),
                          lambda g: (expand_reduced(g, a.shape, axis, keepdims),))
    ### END SOLUTION

@patch
def mean(self: Tensor, axis=None, keepdims=False):
    "Mean over `axis`, differentiable."
    ### BEGIN SOLUTION
    a = self
    count = a.size // max(np.sum(a.data, axis=axis, keepdims=keepdims).size, 1) if a.size else 1
    return Tensor.from_op(np.mean(a.data, axis=axis, keepdims=keepdims), (a,),
                          lambda g: (expand_reduced(g / count, a.shape, axis, keepdims),))
    ### END SOLUTION

@patch
def max(self: Tensor, axis=None, keepdims=False):
    "Maximum over `axis`, differentiable (ties share the gradient)."
    ### BEGIN SOLUTION
    a = self
    out = np.max(a.data, axis=axis, keepdims=keepdims)

    def backward(g):
        hit = a.data == expand_reduced(out, a.shape, axis, keepdims)
        share = hit / np.sum(hit, axis=axis, keepdims=True)
        return (share * expand_reduced(g, a.shape, axis, keepdims),)
    return Tensor.from_op(out, (a,), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "02-autograd-reduction-tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(3)
x = Tensor(rng.standard_normal((3, 4, 2)), dtype=np.float64, requires_grad=True)
for name, f in [("sum", lambda x: x.sum()), ("sum", lambda x: x.sum(axis=1)),
                ("sum", lambda x: x.sum(axis=(0, 2), keepdims=True)), ("mean", lambda x: x.mean()),
                ("mean", lambda x: x.mean(axis=-1)), ("mean", lambda x: x.mean(axis=0, keepdims=True)),
                ("max", lambda x: x.max()), ("max", lambda x: x.max(axis=1)),
                ("max", lambda x: x.max(axis=2, keepdims=True))]:
    try:
        gradcheck(f, x)
    except AssertionError as err:
        raise AssertionError(f"backward of {name}: {err}") from None
t = Tensor([1.0, 3.0, 3.0], requires_grad=True)
t.max().backward()
np.testing.assert_allclose(np.asarray(t.grad.data), [0.0, 0.5, 0.5], err_msg="ties share the gradient")

# %% nbgrader={"grade": false, "grade_id": "02-autograd-shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def reshape(self: Tensor, *shape):
    "The same elements with a new shape, differentiable (the forward is your 01 `reshape`)."
    data = plain_methods["reshape"](self, *shape).data
    ### BEGIN SOLUTION
    a = self
    return Tensor.from_op(data, (a,), lambda g: (g.reshape(a.shape),))
    ### END SOLUTION

@patch
def transpose(self: Tensor, *axes):
    "Permute dimensions by `axes` (default: swap the last two), differentiable (the forward is your 01 `transpose`)."
    data = plain_methods["transpose"](self, *axes).data
    order = [int(i) for i in np.ravel(axes)]  # (2, 0, 1) and ((2, 0, 1),) alike; [] for the default
    ### BEGIN SOLUTION
    if order:
        inverse = tuple(np.argsort(order))
        return Tensor.from_op(data, (self,), lambda g: (np.transpose(g, inverse),))
    return Tensor.from_op(data, (self,), lambda g: (np.swapaxes(g, -1, -2) if g.ndim >= 2 else g,))
    ### END SOLUTION

@patch
def __getitem__(self: Tensor, key):
    "Indexing and slicing, differentiable: the gradient scatter-adds into the picked positions."
    a, key = self, index_of(key)
    ### BEGIN SOLUTION
    def backward(g):
        full = np.zeros_like(a.data)
        np.add.at(full, key, g)
        return (full,)
    return Tensor.from_op(np.asarray(a.data[key]), (a,), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "02-autograd-shape-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(4)
x = Tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
for f in [lambda x: x.reshape(6, 4), lambda x: x.reshape(-1), lambda x: x.transpose(),
          lambda x: x.transpose(2, 0, 1), lambda x: x.T.reshape(2, 12)]:
    assert gradcheck(f, x)

# %% nbgrader={"grade": true, "grade_id": "02-autograd-indexing-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
x[Tensor([0, 0, 2])].sum().backward()
np.testing.assert_allclose(np.asarray(x.grad.data), [2.0, 0.0, 1.0], err_msg="a repeated index accumulates")
m = Tensor(rng.standard_normal((4, 5)), dtype=np.float64, requires_grad=True)
for f in [lambda m: m[1], lambda m: m[:, 1:3], lambda m: m[np.array([3, 0, 3])], lambda m: m[1:, ::2]]:
    assert gradcheck(f, m)
### BEGIN HIDDEN TESTS
assert gradcheck(lambda m: m[np.array([0, 0, 1]), np.array([2, 2, 4])], m)
assert gradcheck(lambda m: m[m.data > 0], m)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "02-autograd-exp-log", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def exp(self: Tensor):
    "Element-wise e**x, differentiable: d/dx e^x = e^x."
    ### BEGIN SOLUTION
    out = np.exp(self.data)
    return Tensor.from_op(out, (self,), lambda g: (g * out,))
    ### END SOLUTION

@patch
def log(self: Tensor):
    "Element-wise natural logarithm, differentiable: d/dx log x = 1/x."
    ### BEGIN SOLUTION
    a = self
    return Tensor.from_op(np.log(a.data), (a,), lambda g: (g / a.data,))
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "02-autograd-exp-log-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.random.default_rng(5).uniform(0.5, 2.0, (3, 2)), dtype=np.float64, requires_grad=True)
for name, f in [("exp", lambda x: x.exp()), ("log", lambda x: x.log()), ("exp and log", lambda x: (x * 2).exp().log())]:
    try:
        gradcheck(f, x)
    except AssertionError as err:
        raise AssertionError(f"backward of {name}: {err}") from None

# %% [markdown]
# ## 5. Deep graphs, and turning the graph off
#
# A chain of 10,000 operations must backpropagate without hitting the recursion limit and in
# time proportional to its length.

# %% nbgrader={"grade": true, "grade_id": "02-autograd-deep-chain", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1.0], requires_grad=True)
y = x
for _ in range(10_000):
    y = y * 1.0001
y.sum().backward()  # a recursive topo_sort or backward raises RecursionError here
np.testing.assert_allclose(np.asarray(x.grad.data), [1.0001 ** 10_000], rtol=1e-3,
                           err_msg="backward over a 10,000-node chain (topo_sort, backward)")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-no-grad-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
w = Tensor([2.0], requires_grad=True)
with no_grad():
    z = w * 3 + 1
assert not z.requires_grad and z._parents == (), "no graph is recorded under no_grad"
np.testing.assert_allclose(np.asarray(z.data), [7.0])
assert (w * 3).requires_grad
try:
    Tensor([1.0, 2.0], requires_grad=True).__mul__(2).backward()
except RuntimeError as err:
    assert "(2,)" in str(err), "backward on a non-scalar names its shape"
else:
    raise AssertionError("backward() on a non-scalar without a gradient must raise RuntimeError")

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "02-autograd-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Memory.** The backward pass needs values saved during the forward pass. For
# `out = relu(x @ W)` with `x` of shape `(64, 1024)`, which arrays does the graph keep alive
# until `backward()` runs, and why is that why training needs far more memory than inference
# (where `no_grad()` is used)?

# %% [markdown] nbgrader={"grade": true, "grade_id": "02-autograd-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# x and W (for the matmul gradients) and the pre-activation or a mask for relu; every
# intermediate activation of every layer stays alive until backward, so memory grows with
# depth × batch; no_grad frees each intermediate as soon as it is used.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "02-autograd-reflect-reverse-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Why reverse mode?** A network has one scalar loss and millions of parameters. Why is one
# backward sweep (reverse mode) so much cheaper here than computing each parameter's
# derivative with central differences, or with forward-mode differentiation?

# %% [markdown] nbgrader={"grade": true, "grade_id": "02-autograd-reflect-reverse", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Reverse mode gets all n partial derivatives of one output in one sweep (cost ~ a forward
# pass); central differences need 2n forward passes, forward mode n sweeps (one per input).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
