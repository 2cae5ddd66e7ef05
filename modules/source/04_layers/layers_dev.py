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
# # 04 · Layers: modules, parameters and the Linear layer
#
# A network is a function with **parameters**: numbers the optimiser is allowed to change.
# A two-layer MLP for MNIST already has ~100,000 of them, a GPT millions, spread over
# dozens of layers nested inside blocks nested inside a model. Nobody wants to list them by
# hand. This module builds the bookkeeping every framework has:
#
# | piece | what it does |
# |---|---|
# | `Parameter` | a `Tensor` that is learnable (`requires_grad=True`) and marked as such |
# | `Module` | a base class that **finds** its parameters and sub-modules by looking at its attributes, switches train/eval mode, and saves/loads its weights |
# | `xavier_uniform`, `he_normal` | initialisers that keep signals at a healthy scale through many layers |
# | `Linear` | `y = x @ W + b`, the workhorse of every model in this course, as one fused graph node |
# | `Sequential` | layers applied one after another |
# | `Dropout` | a regulariser that randomly silences units while training |
#
# The pattern is PyTorch's: you write `self.fc1 = Linear(784, 128)` in `__init__` and a
# `forward`, and `model.parameters()` hands every weight to the optimiser (module 06).

# %%
#| default_exp core.layers

# %% nbgrader={"grade": false, "grade_id": "04-layers-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
from pathlib import Path

import numpy as np
from fastcore.basics import patch

from tinytorch.core.autograd import Tensor

# %% nbgrader={"grade": false, "grade_id": "04-layers-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. Parameters
#
# Not every tensor in a model is learnable: inputs, masks and cached positional tables are
# not. A `Parameter` is simply a `Tensor` subclass that always requires a gradient; being a
# distinct *type* is what lets a `Module` tell "weight" from "some array I keep around".
# Because it *is* a Tensor, every operation and every gradient from modules 01–02 works on
# it unchanged.

# %% nbgrader={"grade": false, "grade_id": "04-layers-parameter", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Parameter(Tensor):
    "A learnable Tensor: always `requires_grad=True` (float32 unless `dtype` says otherwise)."

    def __init__(self, data, dtype=None):
        ### BEGIN SOLUTION
        super().__init__(data, dtype=dtype, requires_grad=True)
        ### END SOLUTION

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]

# %% nbgrader={"grade": true, "grade_id": "04-layers-parameter-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
p = Parameter(np.ones((2, 3)))
expect_that(isinstance(p, Parameter) and isinstance(p, Tensor), lambda v: v is True, "Parameter.__init__", "a Parameter is a Tensor")
expect_equal(p.shape, (2, 3), "Parameter.__init__ (shape)")
expect_equal(p.dtype, np.float32, "Parameter.__init__ (float data becomes float32)")
expect_equal(bool(p.requires_grad), True, "Parameter.__init__ (a Parameter always requires a gradient)")
expect_equal(Parameter([1.0], dtype=np.float64).dtype, np.float64, "Parameter.__init__ (an explicit dtype is kept)")
(p * 2).sum().backward()
expect_equal(p.grad.data, np.full((2, 3), 2.0), "Parameter.__init__ (the gradient of sum(2p))")

# %% [markdown]
# ## 2. Modules find their own parameters
#
# A `Module` is a callable object: `model(x)` runs `model.forward(x)`. Its parameters are
# whatever it stores in attributes — directly (`self.weight = Parameter(...)`), inside a
# sub-module (`self.fc1 = Linear(...)`), or inside a list or tuple of sub-modules
# (`self.blocks = [Block() for _ in range(6)]`). Python keeps an object's attributes in
# `vars(self)`, a dict **in the order they were assigned**, so one pass over it finds
# everything in a stable, predictable order. No registration calls, no `hasattr` guessing:
# the attribute's *type* decides.
#
# `named_parameters()` walks the tree and builds dotted names — `fc1.weight`,
# `blocks.3.attn.proj.bias` — the keys a checkpoint is saved under. One parameter may be
# reachable twice (GPT-2 **ties** its token embedding and its output projection): it must
# be listed once, or the optimiser would update it twice per step.
#
# ```
# MLP                       named_parameters()
# ├── fc1: Linear           fc1.weight (784, 128), fc1.bias (128,)
# ├── drop: Dropout         (none)
# └── heads: [Linear, Linear]  heads.0.weight, heads.0.bias, heads.1.weight, heads.1.bias
# ```

# %% nbgrader={"grade": false, "grade_id": "04-layers-module", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Module:
    "Base class of layers and models: finds parameters and sub-modules in its attributes."

    training = True  # a class default, so a subclass that skips `super().__init__()` still works

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        "`module(x)` runs `module.forward(x)`."
        ### BEGIN SOLUTION
        return self.forward(*args, **kwargs)
        ### END SOLUTION

    def members(self):
        "(name, value) for each Parameter or Module attribute, in assignment order; list/tuple items as `name.i`."
        ### BEGIN SOLUTION
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Parameter, Module)):
                        yield f"{name}.{i}", item
        ### END SOLUTION

    def named_parameters(self, prefix="", seen=None):
        "[(dotted name, Parameter)] of this module and all sub-modules, each parameter once."
        seen = set() if seen is None else seen
        ### BEGIN SOLUTION
        out = []
        for name, value in self.members():
            if isinstance(value, Module):
                out += value.named_parameters(prefix + name + ".", seen)
            elif id(value) not in seen:
                seen.add(id(value))
                out.append((prefix + name, value))
        return out
        ### END SOLUTION

    def parameters(self):
        "Every Parameter of this module and its sub-modules, each once."
        ### BEGIN SOLUTION
        return [p for _, p in self.named_parameters()]
        ### END SOLUTION

    def children(self):
        "The direct sub-modules, in attribute order."
        ### BEGIN SOLUTION
        return [m for _, m in self.members() if isinstance(m, Module)]
        ### END SOLUTION

    def __repr__(self):
        inner = "".join(f"\n  ({name}): " + repr(m).replace("\n", "\n  ")
                        for name, m in self.members() if isinstance(m, Module))
        return f"{type(self).__name__}({inner}\n)" if inner else f"{type(self).__name__}()"

# %% [markdown]
# The tests build small modules by hand. `Toy` has one parameter of its own and a plain
# array that is *not* a parameter; `Net` nests modules directly and in a list.

# %% nbgrader={"grade": true, "grade_id": "04-layers-module-discovery", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
class Toy(Module):
    def __init__(self, n=3):
        self.scale = Parameter(np.ones(n))
        self.offset = Parameter(np.zeros(n))
        self.cache = Tensor(np.zeros(n))  # a plain Tensor: not learnable
        self.note = "ignored"

    def forward(self, x):
        return x * self.scale + self.offset

toy = Toy()
named = toy.named_parameters()
expect_that(isinstance(named, list), lambda v: v is True, "Module.members / Module.named_parameters", "returns a list")
expect_equal([n for n, _ in named], ["scale", "offset"], "Module.members / Module.named_parameters")
expect_that(all(isinstance(p, Parameter) for _, p in named), lambda v: v is True, "Module.members / Module.named_parameters",
            "returns (name, Parameter) pairs")
params = toy.parameters()
expect_that(isinstance(params, list), lambda v: v is True, "Module.parameters", "returns a list")
expect_equal(len(params), 2, "Module.parameters")
expect_that(params[0] is toy.scale and params[1] is toy.offset, lambda v: v is True, "Module.parameters",
            "the Parameter objects themselves, in attribute order")
expect_that(isinstance(toy.children(), list), lambda v: v is True, "Module.children", "returns a list")
expect_equal(len(toy.children()), 0, "Module.children (Toy has no sub-modules)")
out = toy(Tensor([1.0, 2.0, 3.0]))
expect_equal(out.shape, (3,), "Module.__call__ (calling a module runs forward)")
expect_equal(out.data, [1.0, 2.0, 3.0], "Module.__call__ (calling a module runs forward)")

# %% nbgrader={"grade": true, "grade_id": "04-layers-module-nested", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
class Net(Module):
    def __init__(self):
        self.first = Toy(2)
        self.blocks = [Toy(4), Toy(5)]
        self.last = Parameter(np.zeros((5, 1)))

net = Net()
expect_equal([n for n, _ in net.named_parameters()],
             ["first.scale", "first.offset", "blocks.0.scale", "blocks.0.offset", "blocks.1.scale", "blocks.1.offset",
              "last"], "Module.members / Module.named_parameters (nested modules, a list of modules)")
expect_equal([p.shape for p in net.parameters()], [(2,), (2,), (4,), (4,), (5,), (5,), (5, 1)],
             "Module.parameters (nested modules, a list of modules)")
kids = net.children()
expect_that(isinstance(kids, list), lambda v: v is True, "Module.children", "returns a list")
expect_equal(len(kids), 3, "Module.children (first, blocks.0, blocks.1)")
expect_that(kids[0] is net.first and kids[1] is net.blocks[0] and kids[2] is net.blocks[1], lambda v: v is True,
            "Module.children", "the sub-modules themselves, in attribute order")
### BEGIN HIDDEN TESTS
class Tied(Module):
    def __init__(self):
        self.a = Toy(3)
        self.b = Toy(3)
        self.b.scale = self.a.scale  # weight tying: one parameter reachable twice
        self.pair = (Toy(1), "not a module")

tied = Tied()
expect_equal([n for n, _ in tied.named_parameters()], ["a.scale", "a.offset", "b.offset", "pair.0.scale", "pair.0.offset"],
             "Module.members / Module.named_parameters (a tied parameter is listed once; tuples)")
expect_equal(len(tied.parameters()), 5, "Module.parameters (a tied parameter is listed once)")
expect_equal(len(tied.children()), 3, "Module.children (tuples of modules)")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Training mode, evaluation mode, and clearing gradients
#
# Some layers behave differently while training: dropout drops units, batch norm uses batch
# statistics. `model.train()` and `model.eval()` set the flag `training` on the module **and
# every sub-module** (recursively, through `children()`), and return the module so you can
# write `model.eval()(x)`.
#
# Gradients accumulate across `backward()` calls (module 02), so every training step starts
# with `model.zero_grad()`, which forgets each parameter's `.grad`.

# %% nbgrader={"grade": false, "grade_id": "04-layers-modes", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def train(self: Module, mode=True):
    "Set training mode (`mode=False`: evaluation) on this module and all sub-modules; returns self."
    ### BEGIN SOLUTION
    self.training = mode
    for child in self.children():
        child.train(mode)
    return self
    ### END SOLUTION

@patch
def eval(self: Module):
    "Evaluation mode for this module and all sub-modules; returns self."
    ### BEGIN SOLUTION
    return self.train(False)
    ### END SOLUTION

@patch
def zero_grad(self: Module):
    "Forget the accumulated gradient of every parameter."
    ### BEGIN SOLUTION
    for p in self.parameters():
        p.grad = None
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "04-layers-modes-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
net = Net()
expect_equal([bool(m.training) for m in (net, net.first, net.blocks[0], net.blocks[1])], [True] * 4,
             "Module.training (modules start in training mode)")
expect_that(net.eval() is net, lambda v: v is True, "Module.eval", "eval() returns the module")
expect_equal([bool(m.training) for m in (net, net.first, net.blocks[0], net.blocks[1])], [False] * 4,
             "Module.train / Module.eval (eval sets evaluation mode on every sub-module)")
expect_that(net.train() is net, lambda v: v is True, "Module.train", "train() returns the module")
expect_equal([bool(m.training) for m in (net, net.first, net.blocks[0], net.blocks[1])], [True] * 4,
             "Module.train (sets training mode on every sub-module)")
(net.first(Tensor([1.0, 2.0])).sum() + net.last.sum()).backward()
expect_equal([net.first.scale.grad is None, net.last.grad is None], [False, False],
             "Module.zero_grad (before it, backward gave gradients)")
net.zero_grad()
expect_equal([p.grad is None for p in net.parameters()], [True] * 7, "Module.zero_grad (clears every .grad)")

# %% [markdown]
# ## 4. Initialisation: keeping the signal alive
#
# Take a layer `y = x @ W` with `n_in` inputs of unit variance and independent weights of
# variance `σ²`. Each output is a sum of `n_in` products, so `Var(y) = n_in · σ²`. Stack ten
# layers with `σ = 1` and `n_in = 256`: the signal grows by 256× in variance per layer and
# overflows; with `σ = 0.01` it shrinks to nothing. Both kill training, and the gradients
# (which flow through `Wᵀ`, scaling by `n_out · σ²`) suffer the same fate.
#
# - **Xavier/Glorot** (2010) picks `σ² = 2 / (n_in + n_out)`, a compromise that keeps both
#   the forward and the backward variance near 1 for symmetric activations (tanh, or none).
#   As a uniform distribution `U(-a, a)` has variance `a²/3`, that is
#   `a = sqrt(6 / (n_in + n_out))`.
# - **He/Kaiming** (2015) notices that ReLU zeroes half its inputs, halving the variance;
#   it doubles the weights' variance to compensate: `σ² = 2 / n_in`, drawn from a normal.
#
# Both take a numpy `Generator` so that a seed reproduces a model exactly, and return
# float32 arrays of shape `(fan_in, fan_out)`.

# %% nbgrader={"grade": false, "grade_id": "04-layers-init", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def xavier_uniform(fan_in, fan_out, rng=None):
    "Glorot/Xavier: float32 `(fan_in, fan_out)` from U(-a, a), a = sqrt(6 / (fan_in + fan_out))."
    rng = np.random.default_rng() if rng is None else rng
    ### BEGIN SOLUTION
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(np.float32)
    ### END SOLUTION

def he_normal(fan_in, fan_out, rng=None):
    "He/Kaiming for ReLU: float32 `(fan_in, fan_out)` from N(0, 2 / fan_in)."
    rng = np.random.default_rng() if rng is None else rng
    ### BEGIN SOLUTION
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "04-layers-init-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
w = xavier_uniform(400, 200, np.random.default_rng(0))
expect_that(isinstance(w, np.ndarray), lambda v: v is True, "xavier_uniform", "returns a numpy array")
expect_equal(w.shape, (400, 200), "xavier_uniform (shape (fan_in, fan_out))")
expect_equal(w.dtype, np.float32, "xavier_uniform (float32)")
# summaries of the 80,000 weights (the whole array would exceed a graded cell's output limit)
expect_that(float(np.abs(w).max()), lambda v: np.sqrt(6 / 600) * 0.99 < v <= np.sqrt(6 / 600) * (1 + 1e-6), "xavier_uniform",
            "uniform on [-a, a] with a = sqrt(6 / (fan_in + fan_out)): the largest |weight| is just below a")
expect_that(float(w.var()), lambda v: abs(v - 2 / 600) <= 0.05 * 2 / 600, "xavier_uniform", "variance 2 / (fan_in + fan_out)")
h = he_normal(500, 300, np.random.default_rng(0))
expect_that(isinstance(h, np.ndarray), lambda v: v is True, "he_normal", "returns a numpy array")
expect_equal(h.shape, (500, 300), "he_normal (shape (fan_in, fan_out))")
expect_equal(h.dtype, np.float32, "he_normal (float32)")
expect_that(float(h.std()), lambda v: abs(v - np.sqrt(2 / 500)) <= 0.03 * np.sqrt(2 / 500), "he_normal",
            "standard deviation sqrt(2 / fan_in)")
expect_that(float(h.mean()), lambda v: abs(v) < 0.003, "he_normal", "mean 0")
expect_agree(he_normal(3, 4, np.random.default_rng(7)), he_normal(3, 4, np.random.default_rng(7)),
             "he_normal (the same rng state gives the same weights)", rtol=0, atol=0)
expect_agree(xavier_uniform(3, 4, np.random.default_rng(7)), xavier_uniform(3, 4, np.random.default_rng(7)),
             "xavier_uniform (the same rng state gives the same weights)", rtol=0, atol=0)

# %% [markdown]
# ## 5. The Linear layer, as one fused operation
#
# `Linear(in_features, out_features)` computes `y = x @ W + b` with `W` of shape
# `(in_features, out_features)` and `b` of shape `(out_features,)`. Storing `W` this way
# round (PyTorch stores its transpose) makes the forward a plain matmul: a batch
# `x (N, in)` gives `y (N, out)`, and any leading dimensions work the same way
# (`(B, T, in)` → `(B, T, out)` in a transformer).
#
# Built from module 02's ops, `x @ W + b` makes two graph nodes and a temporary. Because
# every model calls it so often, we write it as **one** node with a hand-derived backward.
# With `g = ∂L/∂y` of shape `(..., out)` and `X`, `G` the inputs and gradients with all
# leading dimensions flattened into rows:
#
# - `∂L/∂x = g @ Wᵀ`   (shape `(..., in)`)
# - `∂L/∂W = Xᵀ @ G`   (shape `(in, out)`: every row of the batch contributes)
# - `∂L/∂b = Σ_rows G` (shape `(out,)`: the bias was broadcast over the rows)
#
# Two matmuls and a sum — and when `x` needs no gradient (the input images of the first
# layer), skip the first matmul entirely. Adding the bias in place into the matmul's output
# avoids allocating a second `(N, out)` array. Flatten the leading dimensions into rows in
# the forward as well: numpy's `@` on a `(B, T, in)` array calls BLAS once per `(T, in)`
# slice, while one `(B·T, in)` matrix is a single, larger and faster BLAS call (about 15%
# faster on a transformer's layers).

# %% nbgrader={"grade": false, "grade_id": "04-layers-linear-op", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def linear(x, weight, bias=None):
    "`x @ weight + bias` as one graph node: x (..., in), weight (in, out), bias (out,) or None."
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[0]:
        raise ValueError(f"linear: the input's last dimension must be in_features={weight.shape[0]} "
                         f"(weight shape {weight.shape}), got input shape {x.shape}")
    ### BEGIN SOLUTION
    X = x.data.reshape(-1, x.shape[-1])              # all leading dimensions as rows: one BLAS call
    out = X @ weight.data
    if bias is not None:
        np.add(out, bias.data, out=out)

    def backward(g):
        rows = g.reshape(-1, g.shape[-1])
        gx = (rows @ weight.data.T).reshape(x.shape) if x.requires_grad else None
        gw = X.T @ rows if weight.requires_grad else None
        if bias is None:
            return gx, gw
        return gx, gw, rows.sum(axis=0)
    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor.from_op(out.reshape(x.shape[:-1] + (weight.shape[1],)), parents, backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "04-layers-linear-op-values", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
xa, wa, ba = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
out = linear(Tensor(xa), Tensor(wa), Tensor(ba))
expect_that(isinstance(out, Tensor), lambda v: v is True, "linear", "returns a Tensor")
expect_equal(out.shape, (4, 2), "linear (output shape)")
expect_equal(out.dtype, np.float32, "linear (float32 in, float32 out)")
expect_equal(out.data, xa @ wa + ba, "linear", rtol=1e-5, atol=1e-6)
x3a = rng.standard_normal((2, 5, 3))
out3 = linear(Tensor(x3a), Tensor(wa))
expect_equal(out3.shape, (2, 5, 2), "linear (leading dimensions pass through; no bias)")
expect_equal(out3.data, x3a @ wa, "linear (a (2, 5, in) input, no bias)", rtol=1e-5, atol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "04-layers-linear-op-grads", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
xa, Wa, ba = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
g = rng.standard_normal((4, 2))
x = Tensor(xa, dtype=np.float64, requires_grad=True)
W = Tensor(Wa, dtype=np.float64, requires_grad=True)
b = Tensor(ba, dtype=np.float64, requires_grad=True)
linear(x, W, b).backward(g)
expect_equal(x.grad.data, g @ Wa.T, "linear backward (input gradient)", rtol=1e-9, atol=1e-12)
expect_equal(W.grad.data, xa.T @ g, "linear backward (weight gradient)", rtol=1e-9, atol=1e-12)
expect_equal(b.grad.data, g.sum(axis=0), "linear backward (bias gradient)", rtol=1e-9, atol=1e-12)
x3a = rng.standard_normal((2, 3, 3))
g3 = rng.standard_normal((2, 3, 2))
x3 = Tensor(x3a, dtype=np.float64, requires_grad=True)
W = Tensor(Wa, dtype=np.float64, requires_grad=True)
b = Tensor(ba, dtype=np.float64, requires_grad=True)
linear(x3, W, b).backward(g3)
expect_equal(x3.grad.data, g3 @ Wa.T, "linear backward (a (2, 3, in) input: input gradient)", rtol=1e-9, atol=1e-12)
expect_equal(W.grad.data, x3a.reshape(-1, 3).T @ g3.reshape(-1, 2),
             "linear backward (a (2, 3, in) input: the weight gradient sums over all rows)", rtol=1e-9, atol=1e-12)
expect_equal(b.grad.data, g3.sum(axis=(0, 1)), "linear backward (a (2, 3, in) input: the bias gradient sums over all rows)",
             rtol=1e-9, atol=1e-12)
x = Tensor(xa, dtype=np.float64, requires_grad=True)
W = Tensor(Wa, dtype=np.float64, requires_grad=True)
linear(x, W).backward(g)
expect_equal(x.grad.data, g @ Wa.T, "linear backward (no bias: input gradient)", rtol=1e-9, atol=1e-12)
expect_equal(W.grad.data, xa.T @ g, "linear backward (no bias: weight gradient)", rtol=1e-9, atol=1e-12)
### BEGIN HIDDEN TESTS
va = rng.standard_normal(3)
gv = rng.standard_normal(2)
v = Tensor(va, dtype=np.float64, requires_grad=True)
W = Tensor(Wa, dtype=np.float64, requires_grad=True)
b = Tensor(ba, dtype=np.float64, requires_grad=True)
linear(v, W, b).backward(gv)
expect_equal(v.grad.data, Wa @ gv, "linear backward (a single (in,) vector: input gradient)", rtol=1e-9, atol=1e-12)
expect_equal(W.grad.data, np.outer(va, gv), "linear backward (a single (in,) vector: weight gradient)", rtol=1e-9, atol=1e-12)
expect_equal(b.grad.data, gv, "linear backward (a single (in,) vector: bias gradient)", rtol=1e-9, atol=1e-12)
ca = rng.standard_normal((4, 3))
const = Tensor(ca, dtype=np.float64)
W = Tensor(Wa, dtype=np.float64, requires_grad=True)
b = Tensor(ba, dtype=np.float64, requires_grad=True)
linear(const, W, b).backward(g)
expect_equal(W.grad.data, ca.T @ g, "linear backward (an input that needs no gradient: weight gradient)", rtol=1e-9, atol=1e-12)
expect_equal(b.grad.data, g.sum(axis=0), "linear backward (an input that needs no gradient: bias gradient)", rtol=1e-9, atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# The layer itself only owns its parameters and chooses their initial values. `init="xavier"`
# suits layers followed by tanh/sigmoid or nothing, `init="he"` layers followed by ReLU.
# Biases start at zero: the random weights already break the symmetry between units.
# `seed` makes the initial weights reproducible.
#
# Parameter count: `in·out + out`. A `Linear(784, 128)` holds 100,480 float32 numbers,
# 393 KB — and training keeps a gradient of the same size, plus two more copies for Adam.

# %% nbgrader={"grade": false, "grade_id": "04-layers-linear", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
INITIALISERS = {"xavier": xavier_uniform, "he": he_normal}

class Linear(Module):
    "`y = x @ weight + bias`, weight `(in_features, out_features)`, bias `(out_features,)`."

    def __init__(self, in_features, out_features, bias=True, init="xavier", seed=None):
        if init not in INITIALISERS:
            raise ValueError(f"Linear: init must be one of {sorted(INITIALISERS)}, got {init!r}")
        self.in_features, self.out_features = in_features, out_features
        rng = np.random.default_rng(seed)
        ### BEGIN SOLUTION
        self.weight = Parameter(INITIALISERS[init](in_features, out_features, rng))
        self.bias = Parameter(np.zeros(out_features, dtype=np.float32)) if bias else None
        ### END SOLUTION

    def forward(self, x):
        "Apply the layer to `x` of shape `(..., in_features)`."
        ### BEGIN SOLUTION
        return linear(x, self.weight, self.bias)
        ### END SOLUTION

    def __repr__(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None})"

# %% nbgrader={"grade": true, "grade_id": "04-layers-linear-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
layer = Linear(3, 2, seed=0)
expect_that(isinstance(layer.weight, Parameter), lambda v: v is True, "Linear.__init__", "the weight is a Parameter")
expect_equal(layer.weight.shape, (3, 2), "Linear.__init__ (weight shape (in_features, out_features))")
expect_equal(layer.weight.dtype, np.float32, "Linear.__init__ (float32 weight)")
expect_that(isinstance(layer.bias, Parameter), lambda v: v is True, "Linear.__init__", "the bias is a Parameter")
expect_equal(layer.bias.shape, (2,), "Linear.__init__ (bias shape (out_features,))")
expect_equal(layer.bias.data, [0.0, 0.0], "Linear.__init__ (the bias starts at zero)")
expect_equal([n for n, _ in layer.named_parameters()], ["weight", "bias"], "Linear.__init__ (parameter names)")
expect_agree(Linear(3, 2, seed=0).weight.data, layer.weight.data, "Linear.__init__ (the same seed gives the same weights)",
             rtol=0, atol=0)
expect_that((Linear(3, 2, seed=1).weight.data, layer.weight.data), lambda v: not np.array_equal(v[0], v[1]),
            "Linear.__init__", "another seed gives other weights")
W = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], dtype=np.float32)
layer.weight.data[...] = W
layer.bias.data[...] = [0.1, -0.2]
xs = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
y = layer(Tensor(xs))
expect_that(isinstance(y, Tensor), lambda v: v is True, "Linear.forward", "returns a Tensor")
expect_equal(y.shape, (5, 2), "Linear.forward (output shape)")
expect_equal(y.dtype, np.float32, "Linear.forward (float32 in, float32 out)")
expect_equal(y.data, xs @ W + np.array([0.1, -0.2], dtype=np.float32), "Linear.forward", rtol=1e-5, atol=1e-6)
nob = Linear(3, 2, bias=False, seed=0)
expect_equal(nob.bias is None, True, "Linear.__init__ (bias=False: no bias)")
expect_equal(len(nob.parameters()), 1, "Linear.__init__ (bias=False: one parameter)")
### BEGIN HIDDEN TESTS
big = Linear(1000, 500, init="he", seed=0)
expect_that(float(big.weight.data.std()), lambda v: abs(v - np.sqrt(2 / 1000)) <= 0.03 * np.sqrt(2 / 1000), "Linear.__init__ (init='he')",
            "He initialisation: standard deviation sqrt(2 / in_features)")
wide = Linear(300, 300, seed=0)
expect_that(float(np.abs(wide.weight.data).max()), lambda v: np.sqrt(6 / 600) * 0.99 < v <= np.sqrt(6 / 600) * (1 + 1e-6),
            "Linear.__init__ (default init='xavier')", "Xavier initialisation: uniform on [-a, a], a = sqrt(6 / (in + out))")
### END HIDDEN TESTS

# %% [markdown]
# Does it learn? Fit `y = x @ W* + b*` by plain gradient descent — the loop an optimiser
# (module 06) will hide: forward, loss, `zero_grad`, `backward`, step each parameter
# against its gradient.

# %% nbgrader={"grade": true, "grade_id": "04-layers-linear-learns", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
X = rng.standard_normal((64, 4)).astype(np.float32)
W_true = rng.standard_normal((4, 2)).astype(np.float32)
Y = X @ W_true + np.array([0.5, -1.0], dtype=np.float32)
model = Linear(4, 2, seed=0)
model.weight.data[...] = np.random.default_rng(7).uniform(-0.5, 0.5, (4, 2))  # an explicit start: the run is reproducible
model.bias.data[...] = 0.0
for step in range(200):
    loss = ((model(Tensor(X)) - Tensor(Y)) ** 2).mean()
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad.data
expect_that(isinstance(loss, Tensor), lambda v: v is True, "Linear (trained by gradient descent)", "the loss is a Tensor")
expect_that(float(loss.data), lambda v: v < 1e-4, "Linear (trained by gradient descent)", "the loss should reach ~0")
expect_equal(model.weight.data, W_true, "Linear (trained by gradient descent: the weight)", atol=1e-2)
expect_equal(model.bias.data, [0.5, -1.0], "Linear (trained by gradient descent: the bias)", atol=1e-2)

# %% [markdown]
# ## 6. Sequential
#
# Most models are, at least in parts, a pipeline: `Linear → ReLU → Linear`. `Sequential`
# keeps its layers in a list (so `Module` finds their parameters as `layers.0.weight`, ...)
# and feeds each one's output to the next. Any callable works as a stage — an activation
# object from module 03, or a plain function — and only `Module`s contribute parameters.

# %% nbgrader={"grade": false, "grade_id": "04-layers-sequential", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Sequential(Module):
    "Apply `layers` one after another: `Sequential(a, b, c)(x) == c(b(a(x)))`."

    def __init__(self, *layers):
        ### BEGIN SOLUTION
        self.layers = list(layers)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def __getitem__(self, i):
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

# %% nbgrader={"grade": true, "grade_id": "04-layers-sequential-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
relu = lambda t: t * (t.data > 0)  # a stand-in for module 03's ReLU: any callable is a stage
mlp = Sequential(Linear(4, 8, init="he", seed=0), relu, Linear(8, 3, seed=1))
expect_equal([n for n, _ in mlp.named_parameters()], ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"],
             "Sequential.__init__ (the stages are found as layers.i)")
expect_equal(len(mlp), 3, "Sequential.__init__ (three stages)")
expect_that(mlp[0] is mlp.layers[0], lambda v: v is True, "Sequential.__init__", "the stages are kept in order in self.layers")
wrng = np.random.default_rng(8)
W0, b0 = wrng.standard_normal((4, 8)).astype(np.float32), wrng.standard_normal(8).astype(np.float32)
W2, b2 = wrng.standard_normal((8, 3)).astype(np.float32), wrng.standard_normal(3).astype(np.float32)
mlp[0].weight.data[...], mlp[0].bias.data[...] = W0, b0
mlp[2].weight.data[...], mlp[2].bias.data[...] = W2, b2
xs = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
out = mlp(Tensor(xs))
expect_that(isinstance(out, Tensor), lambda v: v is True, "Sequential.forward", "returns a Tensor")
expect_equal(out.shape, (6, 3), "Sequential.forward (output shape)")
expect_equal(out.data, np.maximum(xs @ W0 + b0, 0) @ W2 + b2, "Sequential.forward", rtol=1e-5, atol=1e-5)

# %% [markdown]
# ## 7. Dropout
#
# A large network can memorise its training set. **Dropout** (Srivastava et al., 2014) sets
# each activation to zero with probability `p` during training, so no unit can rely on any
# particular other unit being there; the network learns redundant features that generalise.
#
# At test time every unit is present, so activations would be larger on average than
# during training by a factor `1/(1-p)`. **Inverted dropout** fixes this while training
# instead: the kept units are scaled by `1/(1-p)`, so the expected value of every
# activation is unchanged, `E[y] = (1-p) · x/(1-p) = x`, and evaluation is the identity —
# no extra work where speed matters.
#
# The mask is also the backward: `∂y/∂x = mask / (1-p)`, so the gradient flows only through
# the units that were kept. A seed makes the masks reproducible.

# %% nbgrader={"grade": false, "grade_id": "04-layers-dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dropout(Module):
    "Inverted dropout: zero each element with probability `p` and scale the rest by 1/(1-p); identity in eval."

    def __init__(self, p=0.5, seed=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x):
        ### BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        mask = (self.rng.random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype) * x.dtype.type(scale)
        return Tensor.from_op(x.data * mask, (x,), lambda g: (g * mask,))
        ### END SOLUTION

    def __repr__(self):
        return f"Dropout(p={self.p})"

# %% nbgrader={"grade": true, "grade_id": "04-layers-dropout-train", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
drop = Dropout(0.25, seed=0)
x = Tensor(np.ones((200, 500)), requires_grad=True)
y = drop(x)
expect_that(isinstance(y, Tensor), lambda v: v is True, "Dropout.forward", "returns a Tensor")
expect_equal(y.shape, (200, 500), "Dropout.forward (output shape)")
expect_equal(y.dtype, np.float32, "Dropout.forward (float32 in, float32 out)")
# summaries of the 100,000 outputs (the whole array would exceed a graded cell's output limit)
expect_that(np.unique(y.data), lambda v: v.shape == (2,) and np.allclose(v, [0.0, 1 / 0.75], rtol=1e-6),
            "Dropout.forward", "dropped units are 0, kept units are scaled by 1/(1-p)")
expect_that(float((y.data == 0).mean()), lambda v: abs(v - 0.25) <= 0.01, "Dropout.forward", "a fraction p of the units is dropped")
expect_that(float(y.data.mean()), lambda v: abs(v - 1.0) <= 0.01, "Dropout.forward", "inverted dropout keeps the mean")
y.sum().backward()
expect_agree(x.grad.data[:10], y.data[:10], "Dropout.forward (its backward: the gradient is the same mask, scaled)")
expect_that(bool(np.array_equal(x.grad.data, y.data)), lambda v: v is True, "Dropout.forward (its backward)",
            "the gradient is the same mask, scaled (everywhere)")

# %% nbgrader={"grade": true, "grade_id": "04-layers-dropout-eval", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
drop = Dropout(0.5, seed=0)
xa = np.random.default_rng(4).standard_normal((3, 4))
x = Tensor(xa)
expect_that(drop(x).data, lambda v: bool((v == 0).any()), "Dropout.forward (training mode)", "training mode drops units")
drop.eval()
y = drop(x)
expect_equal(y.shape, (3, 4), "Dropout.forward (eval mode: output shape)")
expect_equal(y.data, xa.astype(np.float32), "Dropout.forward (eval mode is the identity)", rtol=0, atol=0)
### BEGIN HIDDEN TESTS
expect_agree(Dropout(0.5, seed=3)(x).data, Dropout(0.5, seed=3)(x).data, "Dropout.forward (the same seed, the same mask)",
             rtol=0, atol=0)
expect_equal(Dropout(0.0)(x).data, xa.astype(np.float32), "Dropout.forward (p=0 is the identity)", rtol=0, atol=0)
expect_equal(Dropout(1.0)(x).data, np.zeros((3, 4)), "Dropout.forward (p=1 drops everything)", rtol=0, atol=0)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Saving and loading: the state dict
#
# Training for an hour and losing the result to a crash is a rite of passage best skipped.
# A model's learned state is just its parameters, so `state_dict()` returns a plain
# `{dotted name: numpy array}` dictionary — **copies**, so later training does not change a
# saved snapshot. `load_state_dict(d)` writes arrays back into the existing parameters (in
# place: an optimiser holding those Parameter objects keeps working). Before changing
# anything it checks that the names match and that every shape agrees, and says which
# parameter differs and how: a missing or unexpected name raises a `KeyError` naming it
# (`strict=False` loads the names that match and skips the rest); a shape that differs
# raises a `ValueError` naming the parameter (e.g. `layers.0.weight`) and both shapes.
# Loading a `(784, 128)` checkpoint into a `(784, 256)` layer is the classic "changed the
# model, forgot the checkpoint" mistake.
#
# On disk we use numpy's `.npz`, a zip of `.npy` arrays: portable, no pickle, one named
# entry per parameter.

# %% nbgrader={"grade": false, "grade_id": "04-layers-npz-path", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
def npz_path(path):
    "`path` with the `.npz` suffix numpy adds when saving."
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

# %% nbgrader={"grade": false, "grade_id": "04-layers-state-dict", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def state_dict(self: Module):
    "{dotted name: a copy of the parameter's numpy array}."
    ### BEGIN SOLUTION
    return {name: p.data.copy() for name, p in self.named_parameters()}
    ### END SOLUTION

@patch
def load_state_dict(self: Module, state, strict=True):
    "Copy arrays from `state` into the parameters after checking names (if `strict`) and shapes."
    params = dict(self.named_parameters())
    ### BEGIN SOLUTION
    missing = [n for n in params if n not in state]
    unexpected = [n for n in state if n not in params]
    if strict and (missing or unexpected):
        raise KeyError(f"load_state_dict: missing parameters {missing}, unexpected entries {unexpected}")
    for name, value in state.items():
        if name in params and np.shape(value) != params[name].shape:
            raise ValueError(f"load_state_dict: parameter '{name}' has shape {params[name].shape} in the model "
                             f"but {np.shape(value)} in the state dict")
    for name, value in state.items():
        if name in params:
            params[name].data[...] = value
    ### END SOLUTION
    return self

@patch
def save(self: Module, path):
    "Write the state dict to `path` (.npz); returns the path written."
    path = npz_path(path)
    ### BEGIN SOLUTION
    np.savez(path, **self.state_dict())
    ### END SOLUTION
    return path

@patch
def load(self: Module, path):
    "Load parameters saved by `save(path)`; returns self."
    ### BEGIN SOLUTION
    with np.load(npz_path(path)) as f:
        return self.load_state_dict({name: f[name] for name in f.files})
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "04-layers-state-dict-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
src = Sequential(Linear(3, 4, seed=0), Linear(4, 2, seed=1))
wrng = np.random.default_rng(10)
W0, b0 = wrng.standard_normal((3, 4)).astype(np.float32), wrng.standard_normal(4).astype(np.float32)
W1, b1 = wrng.standard_normal((4, 2)).astype(np.float32), wrng.standard_normal(2).astype(np.float32)
src[0].weight.data[...], src[0].bias.data[...] = W0, b0
src[1].weight.data[...], src[1].bias.data[...] = W1, b1
sd = src.state_dict()
expect_that(isinstance(sd, dict), lambda v: v is True, "Module.state_dict", "returns a dict")
expect_equal(list(sd), ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
             "Module.state_dict (the dotted parameter names, in order)")
expect_equal(sd, {"layers.0.weight": W0, "layers.0.bias": b0, "layers.1.weight": W1, "layers.1.bias": b1},
             "Module.state_dict (numpy arrays of the parameters)", rtol=0, atol=0)
sd["layers.0.weight"][0, 0] = 123.0
expect_equal(src[0].weight.data, W0, "Module.state_dict (holds copies: changing it leaves the model alone)", rtol=0, atol=0)
dst = Sequential(Linear(3, 4, seed=5), Linear(4, 2, seed=6))
w_obj = dst[0].weight
expect_that(dst.load_state_dict(src.state_dict()) is dst, lambda v: v is True, "Module.load_state_dict", "returns the module")
expect_that(dst[0].weight is w_obj, lambda v: v is True, "Module.load_state_dict", "loading writes into the existing parameters")
expect_equal([dst[0].weight.data, dst[0].bias.data, dst[1].weight.data, dst[1].bias.data], [W0, b0, W1, b1],
             "Module.load_state_dict (the loaded values)", rtol=0, atol=0)
dst.load_state_dict({k: v.astype(np.float64) for k, v in src.state_dict().items()})
expect_equal([p.dtype for p in dst.parameters()], [np.float32] * 4,
             "Module.load_state_dict (float64 arrays are written into the float32 parameters, which stay float32)")

# %% nbgrader={"grade": true, "grade_id": "04-layers-state-dict-errors", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
wrong = Sequential(Linear(3, 5, seed=0), Linear(5, 2, seed=1))
wrong[0].weight.data[...] = 0.5
with expect_raises(ValueError, "Module.load_state_dict (a shape that differs)", mentions=["layers.0.weight", "(3, 5)", "(3, 4)"]):
    wrong.load_state_dict(src.state_dict())
expect_equal(wrong[0].weight.data, np.full((3, 5), 0.5), "Module.load_state_dict (nothing changes when a shape differs)",
             rtol=0, atol=0)
half = Sequential(Linear(3, 4, seed=0), Linear(4, 3, seed=1))
half[0].weight.data[...] = 0.5
with expect_raises(ValueError, "Module.load_state_dict (a shape that differs)", mentions=["layers.1.weight", "(4, 3)", "(4, 2)"]):
    half.load_state_dict(src.state_dict())
expect_equal(half[0].weight.data, np.full((3, 4), 0.5),
             "Module.load_state_dict (every shape is checked before anything is loaded)", rtol=0, atol=0)
with expect_raises(KeyError, "Module.load_state_dict (a missing parameter)", mentions=["bias"]):
    Linear(3, 4).load_state_dict({"weight": np.zeros((3, 4))})
part = Linear(3, 4, seed=0)
part.load_state_dict({"weight": np.ones((3, 4)), "extra": np.zeros(2)}, strict=False)
expect_equal(part.weight.data, np.ones((3, 4)), "Module.load_state_dict (strict=False loads the names that match)")

# %% nbgrader={"grade": true, "grade_id": "04-layers-save-load-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import tempfile
with tempfile.TemporaryDirectory() as tmp:
    written = src.save(Path(tmp) / "model")
    expect_that(isinstance(written, Path), lambda v: v is True, "Module.save", "returns the Path written")
    expect_equal(written.name, "model.npz", "Module.save (the file has the .npz suffix)")
    expect_equal(written.is_file(), True, "Module.save (the file exists)")
    copy = Sequential(Linear(3, 4, seed=9), Linear(4, 2, seed=9))
    expect_that(copy.load(Path(tmp) / "model.npz") is copy, lambda v: v is True, "Module.load", "returns the module")
xs = np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
expect_equal(copy(Tensor(xs)).data, (xs @ W0 + b0) @ W1 + b1, "Module.load (the loaded model computes what the saved one did)",
             rtol=1e-5, atol=1e-6)
expect_agree(copy(Tensor(xs)).data, src(Tensor(xs)).data, "Module.load (the loaded model computes what the saved one did)",
             rtol=1e-6)

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "04-layers-reflect-init-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Initialisation.** You stack 20 `Linear(512, 512)` layers with ReLU between them and
# initialise every weight from N(0, 1). What happens to the activations' scale as an input
# passes through, and to the gradients on the way back? Which initialiser would you use
# instead, and what does it do to each layer's output variance?

# %% [markdown] nbgrader={"grade": true, "grade_id": "04-layers-reflect-init", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Each layer multiplies the variance by about n_in·σ²/2 = 256 (ReLU halves it): activations
# (and gradients through Wᵀ) explode by ~256²⁰, overflow to inf/NaN. He init (σ² = 2/n_in)
# makes n_in·σ²/2 = 1, so the variance stays roughly constant from layer to layer.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "04-layers-reflect-dropout-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Dropout and evaluation.** Suppose you forget `model.eval()` before measuring test
# accuracy of a network trained with `Dropout(0.5)`. What do you observe (think about two
# runs over the same test set), and why does *inverted* dropout need no change to the
# weights when you switch to evaluation, while the original formulation did?

# %% [markdown] nbgrader={"grade": true, "grade_id": "04-layers-reflect-dropout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Predictions are random: accuracy is lower and differs between runs, since half the units
# are dropped each pass. Inverted dropout scales kept units by 1/(1-p) during training, so
# expected activations already equal the eval-time ones; the original (no scaling while
# training) had to multiply weights/activations by (1-p) at test time.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "04-layers-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Counting memory.** An MLP `Linear(784, 512) → ReLU → Linear(512, 512) → ReLU →
# Linear(512, 10)` is trained in float32 with Adam (which keeps two extra arrays per
# parameter). How many parameters does it have, and roughly how many megabytes do the
# parameters, their gradients and the optimiser state take together?

# %% [markdown] nbgrader={"grade": true, "grade_id": "04-layers-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 784·512+512 + 512·512+512 + 512·10+10 = 401,920 + 262,656 + 5,130 = 669,706 parameters;
# ×4 bytes ≈ 2.7 MB each for weights, gradients, and each of Adam's two moments: ≈ 10.7 MB
# in total (4 copies). Activations come on top and scale with the batch size.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
