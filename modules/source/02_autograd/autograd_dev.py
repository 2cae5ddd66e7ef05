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

# %% nbgrader={"grade": false, "grade_id": "02-autograd-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_equal, expect_raises

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
fn = lambda g: (g, g)
out = Tensor.from_op(a.data + b.data, (a, b), fn)
expect_equal(out.data, [4.0, 6.0], "Tensor.from_op (wraps the data)")
expect_equal(out.requires_grad, True, "Tensor.from_op (a parent requires a gradient, so the result does)")
expect_equal(type(out._parents) is tuple and len(out._parents) == 2 and out._parents[0] is a and out._parents[1] is b,
             True, "Tensor.from_op (records the parents, in order, as a tuple)")
expect_equal(out._backward is fn, True, "Tensor.from_op (records the backward function)")
expect_equal(Tensor.from_op(b.data * 2, (b,), lambda g: (g,)).requires_grad, False,
             "Tensor.from_op (no parent needs a gradient)")
with no_grad():
    quiet = Tensor.from_op(a.data * 2, (a,), lambda g: (g,))
expect_equal((quiet.requires_grad, quiet._parents == ()), (False, True),
             "Tensor.from_op (under no_grad nothing is recorded)")
expect_equal(Tensor.from_op(a.data * 2, (a,), lambda g: (g,)).requires_grad, True,
             "Tensor.from_op (recording resumes after no_grad)")

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
k = Tensor([5.0])  # a constant: needs no gradient, so topo_sort leaves it out
d = Tensor.from_op(c.data + k.data, (c, k), lambda g: (g, g))
names = {id(a): "a", id(b): "b", id(c): "c", id(d): "d", id(k): "k"}  # by identity: == on Tensors is element-wise
expect_equal(type(topo_sort(c)).__name__, "list", "topo_sort (returns a list)")
expect_equal([names.get(id(t), "?") for t in topo_sort(c)], ["a", "b", "c"],
             "topo_sort (each node once, parents before the nodes that use them)")
expect_equal([names.get(id(t), "?") for t in topo_sort(d)], ["a", "b", "c", "d"],
             "topo_sort (tensors that do not require a gradient are left out)")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-backward-accumulates", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# c = a + 2a: a is used twice, so its gradient is 1 + 2 = 3
c.backward()
expect_equal(type(a.grad).__name__, "Tensor", "Tensor.backward (a leaf's .grad is a Tensor)")
expect_equal(a.grad.data, [3.0], "Tensor.backward (a is used twice: its gradients add up)")
c.backward()
expect_equal(a.grad.data, [6.0], "Tensor.backward (leaf gradients accumulate across calls)")
expect_equal(b.grad is None, True, "Tensor.backward (only leaves keep .grad)")
# A backward may return None for a parent: that parent gets nothing, and backward goes on with the others.
p = Tensor([1.0], requires_grad=True)
q = Tensor.from_op(p.data * 2, (p,), lambda g: (g * 2,))
r = Tensor.from_op(q.data + p.data, (q, p), lambda g: (None, g))
r.backward()
expect_equal(p.grad.data, [1.0],
             "Tensor.backward (a None gradient skips that parent only; the other paths still count)")
# A backward that returns a gradient of the wrong shape is caught where it happens.
v = Tensor([1.0, 2.0], requires_grad=True)
wrong = Tensor.from_op(v.data.sum(), (v,), lambda g: (np.ones(3),))
with expect_raises(RuntimeError, "Tensor.backward (an op's backward gave a (3,) gradient for a (2,) input)",
                   mentions=["(3,)", "(2,)"]):
    wrong.backward()

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

# %% nbgrader={"grade": true, "grade_id": "02-autograd-unbroadcast-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
g = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
expect_equal(unbroadcast(g, (4, 2, 3)), g, "unbroadcast (to the same shape: nothing to sum)")
expect_equal(unbroadcast(g, (3,)), g.sum(axis=(0, 1)), "unbroadcast (to (3,): sums the leading axes)")
expect_equal(unbroadcast(g, (2, 3)), g.sum(axis=0), "unbroadcast (to (2, 3))")
expect_equal(unbroadcast(g, (2, 1)), g.sum(axis=(0, 2))[:, None],
             "unbroadcast (to (2, 1): sums the stretched size-1 axis too)")
expect_equal(unbroadcast(g, (1, 3)), g.sum(axis=(0, 1))[None, :], "unbroadcast (to (1, 3))")
expect_equal(unbroadcast(g, (4, 1, 3)), g.sum(axis=1, keepdims=True), "unbroadcast (to (4, 1, 3))")
expect_equal(unbroadcast(g, ()), np.float32(276.0), "unbroadcast (to (): sums everything)")

# %% nbgrader={"grade": false, "grade_id": "02-autograd-op-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the operators below use them): importable by name, not part of the module's `__all__`
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

def backward_grads(fn, *inputs, seed=0):
    "The gradients `backward()` gives the inputs that require one, for the loss `sum(w * fn(*inputs))`, `w` drawn from `seed`."
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    checked = [x for x in inputs if x.requires_grad]
    for x in checked:
        x.grad = None
    out.backward(weights.astype(out.dtype))  # the gradient of sum(weights * out)
    return [None if x.grad is None else x.grad.data for x in checked]

def central_differences(fn, *inputs, seed=0, eps=1e-6):
    "The same gradients as `backward_grads` (same `w`), by central differences (`numerical_grad`), in float64."
    weights = np.random.default_rng(seed).standard_normal(fn(*inputs).shape)
    return numerical_grad(fn, inputs, weights, eps)

def gradcheck(fn, *inputs, eps=None, atol=None, rtol=None, seed=0):
    "Check `backward()` against central differences for every input that requires a gradient; raise on mismatch."
    checked = [x for x in inputs if x.requires_grad]
    float64 = all(x.dtype == np.float64 for x in checked)  # integer index inputs do not count
    eps = eps or (1e-6 if float64 else 1e-2)
    atol = atol or (1e-6 if float64 else 1e-2)
    rtol = rtol or (1e-5 if float64 else 1e-2)
    grads = backward_grads(fn, *inputs, seed=seed)
    for k, (x, got, num) in enumerate(zip(checked, grads, central_differences(fn, *inputs, seed=seed, eps=eps))):
        got = np.zeros(x.shape) if got is None else got
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
x_np, y_np = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
x = Tensor(x_np, dtype=np.float64, requires_grad=True)
y = Tensor(y_np, dtype=np.float64, requires_grad=True)
c = Tensor([7.0, 7.0, 7.0], dtype=np.float64)  # needs no gradient: numerical_grad skips it
w = np.array([1.0, 2.0, -1.0])
expect_equal(numerical_grad(square, [x], w, 1e-4), [2 * w * x_np],
             "numerical_grad (a list, one gradient per input; central differences: (f(x+eps) - f(x-eps)) / (2*eps))")
expect_equal(numerical_grad(lambda x, c, y: product(x, y), [x, c, y], w, 1e-4), [w * y_np, w * x_np],
             "numerical_grad (the first and third inputs; the constant between them is skipped)")
expect_equal(x.data, [1.0, -2.0, 3.0], "numerical_grad (must put every nudged value back)", rtol=0, atol=0)

# %% nbgrader={"grade": true, "grade_id": "02-autograd-shared-subexpression", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
y = x * x + x           # dy/dx = 2x + 1
y.backward(np.ones(3))  # a gradient for each output element (sum() comes in section 4)
expect_equal(type(x.grad).__name__, "Tensor", "Tensor.backward (x.grad is a Tensor)")
expect_equal(x.grad.data, [3.0, -3.0, 7.0],
             "Tensor.__mul__ and __add__ backward (x * x + x: summed where x is used twice)")

# %% [markdown]
# From here on the tests run an op forward and backpropagate a fixed weighting `W` of its
# outputs, i.e. take the gradient of `sum(W * f(a, b))` (the same trick `gradcheck` uses), and
# compare the value and each input's gradient with the rule above, written out in numpy.

# %% nbgrader={"grade": false, "grade_id": "02-autograd-value-and-grads", "locked": true, "schema_version": 3, "solution": false, "task": false}
def value_and_grads(fn, *arrays, weights):
    """`fn`'s value on float64 inputs made from `arrays`, and the gradient `backward()` gives each input for
    sum(weights * value) (None where none arrived)."""
    inputs = [Tensor(x, dtype=np.float64, requires_grad=True) for x in arrays]
    out = fn(*inputs)
    out.backward(np.asarray(weights, dtype=np.float64))
    return {"value": out.data, "grads": [None if x.grad is None else x.grad.data for x in inputs]}

# %% nbgrader={"grade": true, "grade_id": "02-autograd-arith-grads", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(1)
A, B = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))
W = rng.standard_normal((3, 4))  # the weighting of the outputs: the gradients are those of sum(W * f(a, b))
expect_equal(value_and_grads(lambda a, b: a + b, A, B, weights=W), {"value": A + B, "grads": [W, W]},
             "Tensor.__add__ (value and backward)")
expect_equal(value_and_grads(lambda a, b: a - b, A, B, weights=W), {"value": A - B, "grads": [W, -W]},
             "Tensor.__sub__ (value and backward)")
expect_equal(value_and_grads(lambda a, b: a * b, A, B, weights=W), {"value": A * B, "grads": [W * B, W * A]},
             "Tensor.__mul__ (value and backward)")
expect_equal(value_and_grads(lambda a, b: a / b, A, B, weights=W), {"value": A / B, "grads": [W / B, -W * A / B ** 2]},
             "Tensor.__truediv__ (value and backward)")
expect_equal(value_and_grads(lambda a, b: a ** 3 - 2 * b, A, B, weights=W),
             {"value": A ** 3 - 2 * B, "grads": [3 * A ** 2 * W, -2 * W]},
             "Tensor.__pow__ and __rmul__ (value and backward of a ** 3 - 2 * b)")
expect_equal(value_and_grads(lambda a, b: -a + 1 / b, A, B, weights=W),
             {"value": -A + 1 / B, "grads": [-W, -W / B ** 2]},
             "Tensor.__neg__ and __rtruediv__ (value and backward of -a + 1 / b)")
expect_equal(value_and_grads(lambda a, b: (1 - a) + (b + 2), A, B, weights=W),
             {"value": (1 - A) + (B + 2), "grads": [-W, W]},
             "Tensor.__rsub__ and __add__ (value and backward of (1 - a) + (b + 2))")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-broadcast-grads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.ones((4, 3)), requires_grad=True)
bias = Tensor([1.0, 2.0, 3.0], requires_grad=True)
(x * bias).backward(np.ones((4, 3)))
expect_equal(bias.grad.data, [4.0, 4.0, 4.0],
             "Tensor.__mul__ backward (bias was broadcast over 4 rows: its gradient has shape (3,), summed over them)")
expect_equal(x.grad.data, np.tile([1.0, 2.0, 3.0], (4, 1)), "Tensor.__mul__ backward (the (4, 3) input)")
rng = np.random.default_rng(6)
C, R, W = rng.standard_normal((4, 1)), rng.standard_normal((1, 5)), rng.standard_normal((4, 5))
expect_equal(value_and_grads(lambda c, r: c * r + c, C, R, weights=W),
             {"value": C * R + C, "grads": [(W * R).sum(axis=1, keepdims=True) + W.sum(axis=1, keepdims=True),
                                            (W * C).sum(axis=0, keepdims=True)]},
             "Tensor.__mul__ and __add__ (value and backward, broadcasting (4, 1) * (1, 5) + (4, 1))")
### BEGIN HIDDEN TESTS
M, W = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
expect_equal(value_and_grads(lambda s, m: m / s - s * m, np.array(2.0), M, weights=W),
             {"value": M / 2.0 - 2.0 * M, "grads": [np.sum(-W * M / 4.0 - W * M), W / 2.0 - 2.0 * W]},
             "Tensor.__truediv__, __mul__ and __sub__ (value and backward, a 0-d tensor s broadcast: m / s - s * m)")
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
A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
X, Y, v = rng.standard_normal((5, 3, 4)), rng.standard_normal((5, 4, 2)), rng.standard_normal(4)
W = rng.standard_normal((3, 2))
expect_equal(value_and_grads(lambda a, b: a @ b, A, B, weights=W), {"value": A @ B, "grads": [W @ B.T, A.T @ W]},
             "Tensor.matmul (value and backward, (3, 4) @ (4, 2))")
W = rng.standard_normal((5, 3, 2))
expect_equal(value_and_grads(lambda x, b: x @ b, X, B, weights=W),
             {"value": X @ B, "grads": [W @ B.T, (X.transpose(0, 2, 1) @ W).sum(axis=0)]},
             "Tensor.matmul (value and backward, batched (5, 3, 4) @ (4, 2): B's gradient sums over the batch)")
expect_equal(value_and_grads(lambda x, y: x @ y, X, Y, weights=W),
             {"value": X @ Y, "grads": [W @ Y.transpose(0, 2, 1), X.transpose(0, 2, 1) @ W]},
             "Tensor.matmul (value and backward, both batched: (5, 3, 4) @ (5, 4, 2))")
W = rng.standard_normal(3)
expect_equal(value_and_grads(lambda a, v: a @ v, A, v, weights=W), {"value": A @ v, "grads": [np.outer(W, v), A.T @ W]},
             "Tensor.matmul (value and backward, (3, 4) @ (4,))")
W = rng.standard_normal(2)
expect_equal(value_and_grads(lambda v, b: v @ b, v, B, weights=W), {"value": v @ B, "grads": [B @ W, np.outer(v, W)]},
             "Tensor.matmul (value and backward, (4,) @ (4, 2))")

# %% nbgrader={"grade": false, "grade_id": "02-autograd-reduction-helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the reductions below use it): importable by name, not part of the module's `__all__`
def expand_reduced(g, shape, axis, keepdims):
    "Broadcast the gradient of a reduction over `axis` back to the input `shape`."
    if axis is not None and not keepdims:
        axes = (axis,) if isinstance(axis, int) else axis
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape)

# %% nbgrader={"grade": false, "grade_id": "02-autograd-reductions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
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
X = rng.standard_normal((3, 4, 2))
W = rng.standard_normal(())
expect_equal(value_and_grads(lambda x: x.sum(), X, weights=W), {"value": X.sum(), "grads": [np.full(X.shape, W)]},
             "Tensor.sum (value and backward of sum())")
expect_equal(value_and_grads(lambda x: x.mean(), X, weights=W),
             {"value": X.mean(), "grads": [np.full(X.shape, W / 24)]},
             "Tensor.mean (value and backward of mean())")
expect_equal(value_and_grads(lambda x: x.max(), X, weights=W), {"value": X.max(), "grads": [(X == X.max()) * W]},
             "Tensor.max (value and backward of max())")
W = rng.standard_normal((3, 2))
expect_equal(value_and_grads(lambda x: x.sum(axis=1), X, weights=W),
             {"value": X.sum(axis=1), "grads": [np.broadcast_to(W[:, None, :], X.shape)]},
             "Tensor.sum (value and backward, axis=1)")
expect_equal(value_and_grads(lambda x: x.max(axis=1), X, weights=W),
             {"value": X.max(axis=1), "grads": [(X == X.max(axis=1, keepdims=True)) * W[:, None, :]]},
             "Tensor.max (value and backward, axis=1)")
W = rng.standard_normal((1, 4, 1))
expect_equal(value_and_grads(lambda x: x.sum(axis=(0, 2), keepdims=True), X, weights=W),
             {"value": X.sum(axis=(0, 2), keepdims=True), "grads": [np.broadcast_to(W, X.shape)]},
             "Tensor.sum (value and backward, axis=(0, 2), keepdims=True)")
W = rng.standard_normal((3, 4))
expect_equal(value_and_grads(lambda x: x.mean(axis=-1), X, weights=W),
             {"value": X.mean(axis=-1), "grads": [np.broadcast_to(W[:, :, None] / 2, X.shape)]},
             "Tensor.mean (value and backward, axis=-1)")
W = rng.standard_normal((1, 4, 2))
expect_equal(value_and_grads(lambda x: x.mean(axis=0, keepdims=True), X, weights=W),
             {"value": X.mean(axis=0, keepdims=True), "grads": [np.broadcast_to(W / 3, X.shape)]},
             "Tensor.mean (value and backward, axis=0, keepdims=True)")
W = rng.standard_normal((3, 4, 1))
expect_equal(value_and_grads(lambda x: x.max(axis=2, keepdims=True), X, weights=W),
             {"value": X.max(axis=2, keepdims=True), "grads": [(X == X.max(axis=2, keepdims=True)) * W]},
             "Tensor.max (value and backward, axis=2, keepdims=True)")
t = Tensor([1.0, 3.0, 3.0], requires_grad=True)
t.max().backward()
expect_equal(t.grad.data, [0.0, 0.5, 0.5], "Tensor.max backward (ties share the gradient)")

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
X = rng.standard_normal((2, 3, 4))
W = rng.standard_normal((6, 4))
expect_equal(value_and_grads(lambda x: x.reshape(6, 4), X, weights=W),
             {"value": X.reshape(6, 4), "grads": [W.reshape(2, 3, 4)]},
             "Tensor.reshape (value and backward, (6, 4))")
W = rng.standard_normal(24)
expect_equal(value_and_grads(lambda x: x.reshape(-1), X, weights=W),
             {"value": X.reshape(-1), "grads": [W.reshape(2, 3, 4)]},
             "Tensor.reshape (value and backward, -1)")
W = rng.standard_normal((2, 4, 3))
expect_equal(value_and_grads(lambda x: x.transpose(), X, weights=W),
             {"value": X.transpose(0, 2, 1), "grads": [W.transpose(0, 2, 1)]},
             "Tensor.transpose (value and backward, no axes: the last two swapped)")
W = rng.standard_normal((4, 2, 3))
expect_equal(value_and_grads(lambda x: x.transpose(2, 0, 1), X, weights=W),
             {"value": X.transpose(2, 0, 1), "grads": [W.transpose(1, 2, 0)]},
             "Tensor.transpose (value and backward, (2, 0, 1): the gradient goes back by the inverse permutation)")
expect_equal(value_and_grads(lambda x: x.transpose((2, 0, 1)), X, weights=W),
             {"value": X.transpose(2, 0, 1), "grads": [W.transpose(1, 2, 0)]},
             "Tensor.transpose (value and backward, axes as one tuple)")
W = rng.standard_normal((2, 12))
expect_equal(value_and_grads(lambda x: x.T.reshape(2, 12), X, weights=W),
             {"value": X.transpose(0, 2, 1).reshape(2, 12), "grads": [W.reshape(2, 4, 3).transpose(0, 2, 1)]},
             "Tensor.transpose and reshape (value and backward of x.T.reshape(2, 12))")
P, W = rng.standard_normal((3, 5)), rng.standard_normal((5, 3))
expect_equal(value_and_grads(lambda p: p.T, P, weights=W), {"value": P.T, "grads": [W.T]},
             "Tensor.transpose (value and backward of a matrix's .T)")
V, W = rng.standard_normal(4), rng.standard_normal(4)
expect_equal(value_and_grads(lambda v: v.transpose(), V, weights=W), {"value": V, "grads": [W]},
             "Tensor.transpose (value and backward: a vector stays as it is)")

# %% nbgrader={"grade": true, "grade_id": "02-autograd-indexing-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
x[Tensor([0, 0, 2])].sum().backward()
expect_equal(x.grad.data, [2.0, 0.0, 1.0], "Tensor.__getitem__ backward (a repeated index accumulates)")
rng = np.random.default_rng(4)
M = rng.standard_normal((4, 5))

def scattered(key, w):
    "Zeros of M's shape with w added at M[key] (repeated positions add up)."
    out = np.zeros(M.shape)
    np.add.at(out, key, w)
    return out

W = rng.standard_normal(5)
expect_equal(value_and_grads(lambda m: m[1], M, weights=W), {"value": M[1], "grads": [scattered(1, W)]},
             "Tensor.__getitem__ (value and backward of m[1])")
W = rng.standard_normal((4, 2))
expect_equal(value_and_grads(lambda m: m[:, 1:3], M, weights=W),
             {"value": M[:, 1:3], "grads": [scattered((slice(None), slice(1, 3)), W)]},
             "Tensor.__getitem__ (value and backward of m[:, 1:3])")
W = rng.standard_normal((3, 5))
expect_equal(value_and_grads(lambda m: m[np.array([3, 0, 3])], M, weights=W),
             {"value": M[[3, 0, 3]], "grads": [scattered(np.array([3, 0, 3]), W)]},
             "Tensor.__getitem__ (value and backward of m[[3, 0, 3]]: row 3 picked twice)")
W = rng.standard_normal((3, 3))
expect_equal(value_and_grads(lambda m: m[1:, ::2], M, weights=W),
             {"value": M[1:, ::2], "grads": [scattered((slice(1, None), slice(None, None, 2)), W)]},
             "Tensor.__getitem__ (value and backward of m[1:, ::2])")
### BEGIN HIDDEN TESTS
W = rng.standard_normal(3)
expect_equal(value_and_grads(lambda m: m[np.array([0, 0, 1]), np.array([2, 2, 4])], M, weights=W),
             {"value": M[[0, 0, 1], [2, 2, 4]], "grads": [scattered((np.array([0, 0, 1]), np.array([2, 2, 4])), W)]},
             "Tensor.__getitem__ (value and backward of m[[0, 0, 1], [2, 2, 4]]: one element picked twice)")
W = rng.standard_normal(int((M > 0).sum()))
expect_equal(value_and_grads(lambda m: m[m.data > 0], M, weights=W),
             {"value": M[M > 0], "grads": [scattered(M > 0, W)]},
             "Tensor.__getitem__ (value and backward with a boolean mask)")
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
rng = np.random.default_rng(5)
X, W = rng.uniform(0.5, 2.0, (3, 2)), rng.standard_normal((3, 2))
expect_equal(value_and_grads(lambda x: x.exp(), X, weights=W), {"value": np.exp(X), "grads": [W * np.exp(X)]},
             "Tensor.exp (value and backward)")
expect_equal(value_and_grads(lambda x: x.log(), X, weights=W), {"value": np.log(X), "grads": [W / X]},
             "Tensor.log (value and backward)")
expect_equal(value_and_grads(lambda x: (x * 2).exp().log(), X, weights=W), {"value": 2 * X, "grads": [2 * W]},
             "Tensor.exp and log (value and backward of log(exp(2x)))")

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
expect_equal(x.grad.data, [1.0001 ** 10_000], "Tensor.backward and topo_sort (a 10,000-node chain)", rtol=1e-3)

# %% nbgrader={"grade": true, "grade_id": "02-autograd-no-grad-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
w = Tensor([2.0], requires_grad=True)
with no_grad():
    z = w * 3 + 1
expect_equal(z.data, [7.0], "no_grad (values are computed as usual)")
expect_equal((z.requires_grad, z._parents == ()), (False, True), "no_grad (no graph is recorded)")
expect_equal((w * 3).requires_grad, True, "no_grad (recording resumes after the block)")
with expect_raises(RuntimeError, "Tensor.backward (on a (2,) tensor without a gradient)", mentions=["(2,)"]):
    Tensor([1.0, 2.0], requires_grad=True).__mul__(2).backward()

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
