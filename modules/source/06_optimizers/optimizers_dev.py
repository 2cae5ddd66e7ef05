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
# # 06 · Optimizers: turning gradients into progress
#
# `loss.backward()` tells every parameter which way is uphill. An **optimiser** decides how
# far to step the other way, and it is the difference between a model that trains in
# minutes and one that crawls or diverges. In this module you build the optimisers and
# helpers that every training loop in the rest of the course uses:
#
# | piece | idea |
# |---|---|
# | `SGD` | step against the gradient; **momentum** remembers past steps, **Nesterov** looks ahead, **weight decay** pulls weights towards 0 |
# | `Adam` | a per-parameter step size from running averages of the gradient and its square |
# | `AdamW` | Adam with weight decay *decoupled* from the gradient (what transformers use) |
# | `StepLR`, `CosineWarmupLR` | change the learning rate over training |
# | `clip_grad_norm` | cap the size of a step when a gradient explodes |
#
# Every update follows PyTorch's formulas exactly, so the tests can compare your optimiser
# with `torch.optim` step by step.

# %%
#| default_exp core.optimizers

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import math

import numpy as np
from fastcore.basics import patch

from tinytorch.core.autograd import Tensor

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. The optimiser's contract
#
# An optimiser holds the list of parameters it updates (`model.parameters()`) and a learning
# rate `lr`. The training loop calls two methods:
#
# ```python
# optimizer.zero_grad()   # forget last step's gradients (they accumulate otherwise)
# loss.backward()         # fill p.grad for every parameter
# optimizer.step()        # update every p.data from p.grad
# ```
#
# An update is **not** part of the model's computation: it must not build a graph. So
# optimisers work on the numpy arrays directly — `p.data` and `p.grad.data` — and update
# `p.data` **in place** (`p.data -= ...`). In place matters: other objects (a tied weight,
# a view, a checkpoint loader) refer to the same array, and a large model should not
# allocate a fresh copy of every weight at every step.
#
# Some optimisers remember things between steps (a momentum buffer, Adam's two running
# averages). That **state** lives in `self.state`, a dict from a parameter's *position* in
# the list to a dict of numpy arrays. Positions, not the Parameter objects, make the state
# easy to save and to load into a freshly built model whose parameters are new objects.
#
# The base class below loops over the parameters, skips those without a gradient (a frozen
# layer, or one not used this step), and calls `update(p, grad, state)`, the one method
# each optimiser writes.

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-base", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Optimizer:
    "Base class: holds `params`, the learning rate `lr`, and per-parameter `state` keyed by position."

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list (did the model store its layers as attributes?)")
        if not all(isinstance(p, Tensor) and p.requires_grad for p in self.params):
            raise TypeError("an optimizer updates Tensors that require a gradient (Parameters)")
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.lr = lr
        self.state = {}  # position -> {name: numpy array or step count}

    def zero_grad(self):
        "Forget every parameter's gradient."
        ### BEGIN SOLUTION
        for p in self.params:
            p.grad = None
        ### END SOLUTION

    def step(self):
        "Update every parameter that has a gradient, in place."
        ### BEGIN SOLUTION
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(p, p.grad.data, self.state.setdefault(i, {}))
        ### END SOLUTION

    def update(self, p, grad, state):
        "Change `p.data` in place given its gradient `grad` (numpy) and its `state` dict."
        raise NotImplementedError(f"{type(self).__name__} must define update()")

# %% [markdown]
# ## 2. Stochastic gradient descent, with momentum
#
# Plain SGD steps straight down the gradient: `p ← p − lr · g`.
#
# On a long narrow valley the gradient points mostly across the valley, so SGD zig-zags
# and barely moves along it. **Momentum** keeps a running *velocity* `b` (the "buffer")
# that accumulates gradients: components that keep the same sign add up, components that
# flip sign cancel out. PyTorch's formulation, which we follow exactly:
#
# ```
# g ← g + λ·p                    (weight decay λ, if any: the gradient of λ/2·‖p‖²)
# b ← g                          on the first step
# b ← μ·b + g                    afterwards (momentum μ, typically 0.9)
# g ← g + μ·b  if nesterov, else  g ← b
# p ← p − lr · g
# ```
#
# With a constant gradient the buffer approaches `g / (1 − μ)`: momentum 0.9 is a 10×
# larger effective step along consistent directions. **Nesterov** momentum evaluates the
# step as if the velocity had already been applied, a "look-ahead" that damps overshooting.
# **Weight decay** adds `λ·p` to the gradient, pulling every weight towards zero by a
# fraction each step — the simplest regulariser.
#
# Memory: the buffer is one extra array per parameter, the size of the model.

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-sgd", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SGD(Optimizer):
    "Stochastic gradient descent with optional (Nesterov) momentum and weight decay, as in torch.optim.SGD."

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, p, grad, state):
        ### BEGIN SOLUTION
        g = grad + self.weight_decay * p.data if self.weight_decay else grad
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * g
        ### END SOLUTION

# %% [markdown]
# The tests follow one scalar parameter by hand. With `lr = 0.1` and a gradient of 1 at
# every step: plain SGD moves 0.1 per step; with momentum 0.9 the buffer is 1, then 1.9;
# Nesterov steps with `1 + 0.9·b`.

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-sgd-plain", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
p = Tensor([1.0, 2.0], requires_grad=True)
opt = SGD([p], lr=0.1)
p.grad = Tensor([0.5, -1.0])
data_before = p.data
opt.step()
expect_equal(p.data, np.array([0.95, 2.1], dtype=np.float32), "SGD.update (via Optimizer.step)", rtol=1e-6)
expect_equal(p.data.dtype, np.float32, "SGD.update (the parameter keeps its dtype)")
expect_that(p.data is data_before, lambda v: v is True, "SGD.update",
            "update p.data in place (p.data -= ...), not by assigning a new array")
opt.zero_grad()
expect_that(p.grad is None, lambda v: v is True, "Optimizer.zero_grad", "zero_grad sets every p.grad to None")
opt.step()  # no gradient: nothing changes
expect_equal(p.data, np.array([0.95, 2.1], dtype=np.float32), "Optimizer.step (skips a parameter without a gradient)",
             rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-sgd-momentum", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def run(steps, **kw):
    "The value of one parameter (start 1.0) after `steps` SGD steps with gradient 1."
    q = Tensor([1.0], dtype=np.float64, requires_grad=True)
    o = SGD([q], lr=0.1, **kw)
    for _ in range(steps):
        q.grad = Tensor([1.0], dtype=np.float64)
        o.step()
    return np.asarray(q.data)

expect_equal(run(2, momentum=0.9), [0.71], "SGD.update (momentum)", rtol=1e-9)                 # 1 - 0.1·1 - 0.1·1.9
expect_equal(run(2, momentum=0.9, nesterov=True), [0.539], "SGD.update (Nesterov momentum)", rtol=1e-9)  # 1 - 0.1·1.9 - 0.1·2.71
q = Tensor([2.0], dtype=np.float64, requires_grad=True)
q.grad = Tensor([0.0], dtype=np.float64)
SGD([q], lr=0.1, weight_decay=0.1).step()
expect_equal(q.data, [1.98], "SGD.update (weight decay alone shrinks p by lr·λ·p)", rtol=1e-9)
### BEGIN HIDDEN TESTS
expect_equal(run(3, momentum=0.5), [1 - 0.1 * (1 + 1.5 + 1.75)], "SGD.update (momentum, three steps)", rtol=1e-9)
expect_equal(run(1, momentum=0.9, nesterov=True, weight_decay=1.0), [1 - 0.1 * 3.8],
             "SGD.update (Nesterov momentum with weight decay)", rtol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Adam: a step size for every parameter
#
# Gradients of different parameters can differ in scale by orders of magnitude (an
# embedding row seen once in a thousand batches, a bias seen in every one). One global
# learning rate is then too large for some and too small for others. **Adam** (Kingma & Ba,
# 2015) keeps two running averages per parameter — the mean of the gradient `m` (momentum)
# and the mean of its square `v` (its scale) — and steps by their ratio:
#
# ```
# t ← t + 1
# m ← β₁·m + (1 − β₁)·g          β₁ = 0.9
# v ← β₂·v + (1 − β₂)·g²         β₂ = 0.999
# m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)     bias correction
# p ← p − lr · m̂ / (√v̂ + ε)
# ```
#
# **Why bias correction?** `m` and `v` start at zero, so early on they are biased towards
# zero: after one step `m = 0.1·g`. Dividing by `1 − β₁ᵗ` (0.1 at `t = 1`) undoes exactly
# that, so the very first step is `lr · g/|g|`: about `lr` in size whatever the gradient's
# scale. That scale-invariance is Adam's appeal: `lr = 1e-3` works across many models.
#
# PyTorch computes the last line as `p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`;
# write it that way to match it to the last digit. `t` counts the steps *this parameter*
# has taken, and lives in its state next to `m` (`exp_avg`) and `v` (`exp_avg_sq`).
#
# Memory: **two** extra arrays per parameter. For a 100M-parameter model in float32 that
# is 800 MB of optimiser state on top of 400 MB of weights and 400 MB of gradients.
#
# **Weight decay, two ways.** Adam's `weight_decay` adds `λ·p` to the gradient (L2), as SGD
# does. But Adam then divides by `√v̂`: weights with large gradients are barely decayed,
# those with small gradients a lot — not what "decay every weight by the same fraction"
# meant. **AdamW** (Loshchilov & Hutter, 2019) *decouples* the two: it shrinks the weights
# directly, `p ← p · (1 − lr·λ)`, then takes a plain Adam step with the raw gradient.
# Set `decoupled = True` to get that behaviour.

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Adam(Optimizer):
    "Adam with bias correction; `weight_decay` is L2 (added to the gradient), as in torch.optim.Adam."

    decoupled = False  # AdamW: decay the weights directly instead

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def update(self, p, grad, state):
        ### BEGIN SOLUTION
        b1, b2 = self.betas
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.weight_decay and self.decoupled:
            p.data *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:
            grad = grad + self.weight_decay * p.data
        m *= b1
        m += (1 - b1) * grad                     # m ← β1·m + (1 − β1)·g
        v *= b2
        tmp = grad * grad                        # one scratch array, reused below: fewer passes over memory
        tmp *= 1 - b2
        v += tmp                                 # v ← β2·v + (1 − β2)·g²
        denom = np.sqrt(v, out=tmp)
        denom *= 1 / math.sqrt(1 - b2 ** t)
        denom += self.eps                        # √v̂ + ε
        step = np.divide(m, denom, out=tmp)
        step *= self.lr / (1 - b1 ** t)          # lr · m̂ / (√v̂ + ε)
        p.data -= step
        ### END SOLUTION

class AdamW(Adam):
    "Adam with decoupled weight decay `p ← p·(1 − lr·λ)`, as in torch.optim.AdamW."

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-adam-first-steps", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
p = Tensor([0.0, 0.0, 0.0], dtype=np.float64, requires_grad=True)
opt = Adam([p], lr=0.1)
for _ in range(2):
    p.grad = Tensor([2.0, -0.001, 500.0], dtype=np.float64)
    opt.step()
# with a constant gradient, m̂ = g and v̂ = g², so each step is lr · sign(g), whatever the scale
expect_equal(p.data, np.array([-0.2, 0.2, -0.2]), "Adam.update (two steps)", rtol=1e-5)
st = opt.state[0]
expect_equal(st["step"], 2, "Adam.update (state['step'] counts the parameter's steps)")
expect_that(st["exp_avg"], lambda v: isinstance(v, np.ndarray) and v.shape == (3,), "Adam.update",
            "state['exp_avg'] is a numpy array of the parameter's shape")
expect_equal(st["exp_avg"], np.array([2.0, -0.001, 500.0]) * (1 - 0.9 ** 2), "Adam.update (state['exp_avg'], m)",
             rtol=1e-9)
expect_equal(st["exp_avg_sq"], np.array([4.0, 1e-6, 250000.0]) * (1 - 0.999 ** 2),
             "Adam.update (state['exp_avg_sq'], v)", rtol=1e-9)

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-adam-steps", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
p = Tensor([1.0], dtype=np.float64, requires_grad=True)
opt = Adam([p], lr=0.01)
for g in [1.0, -3.0]:
    p.grad = Tensor([g], dtype=np.float64)
    opt.step()
# step 1 moves p by lr·sign(g) = 0.01 and leaves m = 0.1, v = 0.001; step 2 by hand:
# m = 0.9·0.1 + 0.1·(-3) = -0.21, v = 0.999·0.001 + 0.001·9 = 0.009999
m_hat, v_hat = -0.21 / (1 - 0.81), 0.009999 / (1 - 0.998001)
expect_equal(p.data, [1.0 - 0.01 - 0.01 * m_hat / np.sqrt(v_hat)], "Adam.update (bias-corrected second step)", rtol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-adamw", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def zero_grad_step(cls, **kw):
    "One step with a zero gradient from p = 1: only weight decay can move p."
    q = Tensor([1.0], dtype=np.float64, requires_grad=True)
    q.grad = Tensor([0.0], dtype=np.float64)
    cls([q], **kw).step()
    return np.asarray(q.data)

expect_equal(zero_grad_step(AdamW, lr=0.1, weight_decay=0.01), np.array([1 - 0.1 * 0.01]),
             "AdamW (Adam.update with decoupled=True shrinks p by lr·λ·p)", rtol=1e-9)
# L2 in Adam: the decay term becomes the gradient, and Adam normalises it to a full lr-sized step
expect_equal(zero_grad_step(Adam, lr=0.1, weight_decay=0.01), np.array([0.9]),
             "Adam.update (weight_decay is L2: λ·p added to the gradient)", rtol=1e-6)
expect_equal(AdamW([Tensor([1.0], requires_grad=True)]).weight_decay, 0.01, "AdamW (decays by default)")
# Adam's L2 weight decay is Adam on the gradient plus λ·p: run both side by side
rng = np.random.default_rng(1)
l2, no_l2 = (Tensor([2.0, -1.5], dtype=np.float64, requires_grad=True) for _ in range(2))
opt_l2, opt_no_l2 = Adam([l2], lr=0.1, weight_decay=0.3), Adam([no_l2], lr=0.1)
for _ in range(3):
    g = rng.standard_normal(2)
    l2.grad, no_l2.grad = Tensor(g, dtype=np.float64), Tensor(g + 0.3 * no_l2.data, dtype=np.float64)
    opt_l2.step()
    opt_no_l2.step()
expect_agree(l2.data, no_l2.data, "Adam.update (weight_decay=λ steps on the gradient plus λ·p)", rtol=1e-9)
expect_equal(l2.data, np.array([1.7010234, -1.4945080]), "Adam.update (three steps with L2 weight decay)", rtol=1e-5)
### BEGIN HIDDEN TESTS
q = Tensor([2.0], dtype=np.float64, requires_grad=True)
o = AdamW([q], lr=0.1, weight_decay=0.5)
q.grad = Tensor([4.0], dtype=np.float64)
o.step()
expect_equal(q.data, [2.0 * (1 - 0.05) - 0.1], "AdamW (decay, then the Adam step)", rtol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Saving an optimiser
#
# Resuming training from a checkpoint needs the optimiser's state too: restart Adam with
# empty averages and the first steps after resuming are wild, lr-sized jumps. `state_dict()`
# returns the learning rate and **copies** of the per-position state; `load_state_dict()`
# checks that each position exists and each array has its parameter's shape, then loads
# copies, so the two optimisers never share arrays. A position with no parameter raises a
# `ValueError` naming it (`parameter 1`); a shape that differs raises one naming the
# position and both shapes.

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-state-dict-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the state copy that state_dict and load_state_dict share): importable, not part of the module's `__all__`
def copy_state(state):
    "A deep copy of {position: {name: array or number}}."
    return {i: {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in s.items()} for i, s in state.items()}

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-state-dict", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def state_dict(self: Optimizer):
    "{'lr': the learning rate, 'state': {position: {name: numpy array or step count}}} (copies)."
    ### BEGIN SOLUTION
    return {"lr": self.lr, "state": copy_state(self.state)}
    ### END SOLUTION

@patch
def load_state_dict(self: Optimizer, state_dict):
    "Restore `lr` and the per-parameter state, checking positions and shapes."
    ### BEGIN SOLUTION
    state = {int(i): s for i, s in state_dict["state"].items()}
    for i, s in state.items():
        if not 0 <= i < len(self.params):
            raise ValueError(f"load_state_dict: state for parameter {i}, but the optimizer has {len(self.params)}")
        for name, v in s.items():
            if isinstance(v, np.ndarray) and v.shape != self.params[i].shape:
                raise ValueError(f"load_state_dict: {name} of parameter {i} has shape {v.shape}, "
                                 f"the parameter has shape {self.params[i].shape}")
    self.lr = state_dict["lr"]
    self.state = copy_state(state)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-state-dict-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
grads = [rng.standard_normal((3, 2)) for _ in range(6)]
a = Tensor(np.ones((3, 2)), dtype=np.float64, requires_grad=True)
opt_a = Adam([a], lr=0.01)
for g in grads[:3]:
    a.grad = Tensor(g, dtype=np.float64)
    opt_a.step()
sd = opt_a.state_dict()
expect_equal(sorted(sd), ["lr", "state"], "Optimizer.state_dict (its keys)")
expect_equal(sd["lr"], 0.01, "Optimizer.state_dict (the learning rate)")
expect_equal(sorted(sd["state"]), [0], "Optimizer.state_dict (the state, keyed by position)")
expect_that(sd["state"][0]["exp_avg"], lambda v: isinstance(v, np.ndarray) and v.shape == (3, 2),
            "Optimizer.state_dict", "the state holds numpy arrays of the parameter's shape")
expect_agree(sd["state"][0]["exp_avg"], opt_a.state[0]["exp_avg"], "Optimizer.state_dict (the state's values)", rtol=0, atol=0)
expect_equal(sd["state"][0]["step"], 3, "Optimizer.state_dict (the step count)")
expect_that(np.shares_memory(sd["state"][0]["exp_avg"], opt_a.state[0]["exp_avg"]), lambda v: v is False,
            "Optimizer.state_dict", "state_dict holds copies, not the optimizer's own arrays")
b = Tensor(a.data.copy(), dtype=np.float64, requires_grad=True)
opt_b = Adam([b], lr=0.5)
opt_b.load_state_dict(sd)
expect_equal(opt_b.lr, 0.01, "Optimizer.load_state_dict (restores lr)")
expect_that(np.shares_memory(opt_b.state[0]["exp_avg"], sd["state"][0]["exp_avg"]), lambda v: v is False,
            "Optimizer.load_state_dict", "load_state_dict loads copies: the optimizer must not share arrays with the dict")
for g in grads[3:]:
    a.grad, b.grad = Tensor(g, dtype=np.float64), Tensor(g, dtype=np.float64)
    opt_a.step()
    opt_b.step()
expect_agree(b.data, a.data, "Optimizer.load_state_dict (resuming continues exactly)", rtol=1e-12)
with expect_raises(ValueError, "Optimizer.load_state_dict (state for a position with no parameter)",
                   mentions=["parameter 1"]):
    Adam([Tensor(np.ones((3, 2)), requires_grad=True)]).load_state_dict({"lr": 0.01, "state": {1: sd["state"][0]}})
with expect_raises(ValueError, "Optimizer.load_state_dict (state for a negative position)"):
    Adam([Tensor(np.ones((3, 2)), requires_grad=True)]).load_state_dict({"lr": 0.01, "state": {-1: sd["state"][0]}})
with expect_raises(ValueError, "Optimizer.load_state_dict (state of a (3, 2) parameter into a (4,) one)",
                   mentions=["(3, 2)", "(4,)"]):
    Adam([Tensor(np.ones(4), requires_grad=True)]).load_state_dict(sd)

# %% [markdown]
# ## 5. Learning-rate schedules
#
# A constant learning rate is a compromise: large steps make fast early progress but
# bounce around the minimum late in training; small steps settle but start slowly. A
# **schedule** changes `optimizer.lr` as training goes. The training loop calls
# `scheduler.step()` once per step (or epoch) after `optimizer.step()`.
#
# - **StepLR** multiplies the rate by `gamma` every `step_size` steps:
#   `lr(t) = lr₀ · gamma^⌊t / step_size⌋` — the classic ImageNet recipe (÷10 at epochs 30, 60).
# - **CosineWarmupLR** is the transformer recipe. Adam's `v` is a poor estimate during the
#   first steps and large steps then can wreck a transformer, so the rate first **warms up**
#   linearly, then follows half a cosine down to `min_lr`:
#
# ```
# t < W:          lr(t) = lr₀ · (t + 1) / W
# W ≤ t < T:      lr(t) = min_lr + ½ (lr₀ − min_lr) (1 + cos(π (t − W) / (T − W)))
# t ≥ T:          lr(t) = min_lr
# ```
#
# (`W` = `warmup_steps`, `T` = `total_steps`, `lr₀` = the optimiser's rate when the scheduler
# is created.) The `t + 1` makes the very first step non-zero. A scheduler sets
# `optimizer.lr = lr(0)` when it is created, and `lr(t)` after its `t`-th `step()`.

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-schedules", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LRScheduler:
    "Sets `optimizer.lr = lr_at(t)`: at creation (t = 0) and after each `step()`."

    def __init__(self, optimizer):
        self.optimizer, self.base_lr, self.t = optimizer, optimizer.lr, 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t):
        "The learning rate after `t` calls of step()."
        raise NotImplementedError

    def step(self):
        "Advance one step and set the optimizer's learning rate; returns it."
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
        return self.optimizer.lr

    def state_dict(self):
        return {"t": self.t, "base_lr": self.base_lr}

    def load_state_dict(self, state):
        self.t, self.base_lr = state["t"], state["base_lr"]
        self.optimizer.lr = self.lr_at(self.t)

class StepLR(LRScheduler):
    "Multiply the learning rate by `gamma` every `step_size` steps."

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, t):
        ### BEGIN SOLUTION
        return self.base_lr * self.gamma ** (t // self.step_size)
        ### END SOLUTION

class CosineWarmupLR(LRScheduler):
    "Linear warm-up over `warmup_steps`, then half a cosine down to `min_lr` at `total_steps`."

    def __init__(self, optimizer, warmup_steps, total_steps, min_lr=0.0):
        if not 0 <= warmup_steps <= total_steps or total_steps < 1:
            raise ValueError(f"need 0 <= warmup_steps <= total_steps and total_steps >= 1, "
                             f"got warmup_steps={warmup_steps}, total_steps={total_steps}")
        self.warmup_steps, self.total_steps, self.min_lr = warmup_steps, total_steps, min_lr
        super().__init__(optimizer)

    def lr_at(self, t):
        ### BEGIN SOLUTION
        if t < self.warmup_steps:
            return self.base_lr * (t + 1) / self.warmup_steps
        if t >= self.total_steps:
            return self.min_lr
        progress = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress))
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-steplr", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
sched = StepLR(opt, step_size=2, gamma=0.5)
lrs = [opt.lr] + [sched.step() for _ in range(5)]
expect_that(lrs, lambda v: all(isinstance(lr, float) for lr in v), "StepLR.lr_at", "learning rates are floats")
expect_equal(lrs, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25], "StepLR.lr_at")
expect_equal(opt.lr, 0.25, "StepLR.lr_at (the optimizer's lr after 5 steps)")

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-cosine", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
opt = SGD([Tensor([0.0], requires_grad=True)], lr=1.0)
sched = CosineWarmupLR(opt, warmup_steps=2, total_steps=6, min_lr=0.1)
lrs = [opt.lr] + [sched.step() for _ in range(7)]
c = 0.45 * (1 + np.cos(np.pi / 4))
expect_equal(lrs, [0.5, 1.0, 1.0, 0.1 + c, 0.55, 0.1 + 0.9 - c, 0.1, 0.1], "CosineWarmupLR.lr_at", rtol=1e-9)
### BEGIN HIDDEN TESTS
opt = SGD([Tensor([0.0], requires_grad=True)], lr=3e-4)
sched = CosineWarmupLR(opt, warmup_steps=0, total_steps=10)
expect_equal(opt.lr, 3e-4, "CosineWarmupLR.lr_at (no warm-up: t = 0 is the peak)", rtol=1e-9)
expect_equal([sched.step() for _ in range(11)][-2:], [0.0, 0.0], "CosineWarmupLR.lr_at (t >= total_steps is min_lr)",
             atol=1e-15)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Gradient clipping
#
# A single bad batch, or the long products of an RNN or a deep transformer, can produce a
# gradient thousands of times larger than usual; one such step can throw the weights
# somewhere training never recovers from. **Clipping by global norm** treats all gradients
# as one long vector `g` and, if its length exceeds `max_norm`, scales every gradient by
# the same factor so the length becomes `max_norm`:
#
# ```
# ‖g‖ = sqrt(Σ_params Σ g²)
# if ‖g‖ > max_norm:  g ← g · max_norm / (‖g‖ + 1e-6)
# ```
#
# Scaling *all* gradients by one factor keeps the step's **direction** and only shortens
# it. It returns the norm measured before clipping: logging it is the cheapest early warning
# that training is going unstable. (Sum the squares in float64: a float32 sum over millions
# of numbers loses digits.)

# %% nbgrader={"grade": false, "grade_id": "06-optimizers-clip", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def clip_grad_norm(params, max_norm):
    "Scale all gradients together so their global L2 norm is at most `max_norm`; returns the norm before."
    grads = [p.grad for p in params if p.grad is not None]
    ### BEGIN SOLUTION
    total = math.sqrt(sum(float(np.sum(np.square(g.data, dtype=np.float64))) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g.data = g.data * g.data.dtype.type(coef)
    return total
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-clip-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
a = Tensor([0.0, 0.0], requires_grad=True)
b = Tensor([[0.0]], requires_grad=True)
a.grad, b.grad = Tensor([3.0, 0.0]), Tensor([[4.0]])
norm = clip_grad_norm([a, b], max_norm=1.0)
expect_that(isinstance(norm, float), lambda v: v is True, "clip_grad_norm", "the norm is returned as a Python float")
expect_equal(norm, 5.0, "clip_grad_norm (returns the norm before clipping)", rtol=1e-6)
expect_equal(a.grad.data, np.array([0.6, 0.0], dtype=np.float32), "clip_grad_norm (scales every gradient)", rtol=1e-5)
expect_equal(b.grad.data, np.array([[0.8]], dtype=np.float32), "clip_grad_norm (scales every gradient)", rtol=1e-5)
expect_equal(a.grad.data.dtype, np.float32, "clip_grad_norm (gradients keep their dtype)")
norm = clip_grad_norm([a, b, Tensor([1.0], requires_grad=True)], max_norm=10.0)  # a param without grad is skipped
expect_equal(norm, 1.0, "clip_grad_norm (skips parameters without a gradient)", rtol=1e-5)
expect_equal(a.grad.data, np.array([0.6, 0.0], dtype=np.float32), "clip_grad_norm (below max_norm nothing changes)",
             rtol=1e-5)
clip_grad_norm([a, b], max_norm=1.5)  # the norm is 1.0
expect_equal(b.grad.data, np.array([[0.8]], dtype=np.float32),
             "clip_grad_norm (never scales gradients up: below max_norm nothing changes)", rtol=1e-5)

# %% [markdown]
# ## 7. Putting it together
#
# A two-layer network (module 04's `Linear`) learns a non-linear function. The loop is the
# one every later module uses: zero the gradients, forward, loss, backward, clip, step,
# schedule. Compare how far SGD with momentum and Adam get in the same number of steps.

# %% nbgrader={"grade": true, "grade_id": "06-optimizers-train", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.layers import Linear, Sequential

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, (128, 2)).astype(np.float32)
Y = (np.sin(X[:, :1]) * X[:, 1:]).astype(np.float32)   # y = sin(x1)·x2

def train(make_opt, steps=300):
    "Fit Y with a small MLP (its ReLU written inline); returns the final mean squared error."
    model = Sequential(Linear(2, 32, init="he", seed=1), lambda t: t * (t.data > 0), Linear(32, 1, seed=2))
    opt = make_opt(model.parameters())
    sched = CosineWarmupLR(opt, warmup_steps=10, total_steps=steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(Tensor(X)) - Tensor(Y)) ** 2).mean()
        loss.backward()
        clip_grad_norm(model.parameters(), 5.0)
        opt.step()
        sched.step()
    return loss.item()

start = float(((Y - Y.mean()) ** 2).mean())
sgd_loss = train(lambda ps: SGD(ps, lr=0.05, momentum=0.9))
adam_loss = train(lambda ps: Adam(ps, lr=0.02))
print(f"variance of y {start:.3f}   SGD+momentum {sgd_loss:.4f}   Adam {adam_loss:.4f}")
expect_that([sgd_loss, start], lambda v: v[0] < 0.1 * v[1], "SGD (momentum) with CosineWarmupLR and clip_grad_norm",
            "training the MLP should explain over 90% of the variance of y")
expect_that([adam_loss, start], lambda v: v[0] < 0.1 * v[1], "Adam with CosineWarmupLR and clip_grad_norm",
            "training the MLP should explain over 90% of the variance of y")

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "06-optimizers-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Optimiser memory.** A model has 350 million float32 parameters. How much memory do the
# weights, the gradients and the optimiser state take when training with plain SGD, with
# SGD + momentum, and with Adam? Which one would you pick if memory were the constraint,
# and what would you lose?

# %% [markdown] nbgrader={"grade": true, "grade_id": "06-optimizers-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 350M × 4 B = 1.4 GB per copy. SGD: weights + grads = 2.8 GB; momentum: +1.4 = 4.2 GB;
# Adam: two moments, +2.8 = 5.6 GB. Under a memory limit: SGD(+momentum), losing Adam's
# per-parameter step sizes (more lr tuning, slower/less stable training, esp. transformers).
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "06-optimizers-reflect-adamw-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Adam vs AdamW.** Your tests showed that with a zero gradient, Adam with
# `weight_decay=0.01` moved a weight by a full `lr`, while AdamW moved it by `lr·0.01`.
# Explain where the difference comes from, and why it means L2 regularisation in Adam
# decays rarely-updated or small-gradient weights very differently from the others.

# %% [markdown] nbgrader={"grade": true, "grade_id": "06-optimizers-reflect-adamw", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# In Adam the decay term λp is part of the gradient and is divided by √v̂; when the real
# gradient is small, √v̂ ≈ |λp|, so the decay is normalised to a full lr-sized step; with
# large gradients it is swamped. Decay strength thus depends on each weight's gradient
# history. AdamW applies p·(1−lr·λ) outside the adaptive scaling: every weight shrinks by
# the same fraction.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "06-optimizers-reflect-warmup-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Warm-up and clipping.** Why is a warm-up especially useful with Adam in the first few
# hundred steps, and why is logging the norm returned by `clip_grad_norm` useful even when
# you set `max_norm` so high that it rarely clips?

# %% [markdown] nbgrader={"grade": true, "grade_id": "06-optimizers-reflect-warmup", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Early on v is estimated from few gradients (noisy, can be tiny), so m̂/√v̂ steps are large
# and erratic at full lr; a small lr at first limits the damage while the averages settle.
# The gradient norm is a cheap health signal: spikes or steady growth warn of divergence
# (bad lr, bad batch, exploding activations) before the loss shows it.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
