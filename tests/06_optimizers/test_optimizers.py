"Behaviour of tinytorch.core.optimizers: updates against torch.optim, schedules against their formulas, clipping, state."
import math

import numpy as np
import pytest

from tinytorch.core.autograd import Tensor
from tinytorch.core.layers import Linear, Parameter, Sequential
from tinytorch.core.optimizers import (SGD, Adam, AdamW, CosineWarmupLR, Optimizer, StepLR,
                                       clip_grad_norm)

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 10


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s), dtype=np.float64) for s in SHAPES]


def gradients(params, step):
    "A gradient for each parameter that depends on where the parameter is (so errors compound); None = no grad."
    rng = np.random.default_rng(100 + step)
    grads = [rng.standard_normal(p.shape) + 0.3 * p.data for p in params]
    if step == 3:
        grads[1] = None  # a parameter without a gradient this step is skipped (torch does the same)
    return grads


def compare_with_torch(ours_cls, torch_cls, ours_kw, torch_kw, lr_change=None):
    torch = pytest.importorskip("torch")
    ours = make_params()
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    opt, topt = ours_cls(ours, **ours_kw), torch_cls(theirs, **torch_kw)
    for step in range(STEPS):
        if lr_change and step == lr_change[0]:
            opt.lr = lr_change[1]
            for group in topt.param_groups:
                group["lr"] = lr_change[1]
        grads = gradients(ours, step)
        for p, tp, g in zip(ours, theirs, grads):
            p.grad = None if g is None else Tensor(g, dtype=np.float64)
            tp.grad = None if g is None else torch.tensor(g)
        opt.step()
        topt.step()
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-6, atol=1e-12,
                                       err_msg=f"parameter {i} after step {step + 1}")


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
                                dict(lr=0.05, momentum=0.8, weight_decay=0.1),
                                dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)],
                         ids=["plain", "momentum", "nesterov", "momentum_wd", "nesterov_wd"])
def test_sgd_matches_torch(kw):
    import_torch = pytest.importorskip("torch")
    compare_with_torch(SGD, import_torch.optim.SGD, kw, kw, lr_change=(6, 0.01))


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6),
                                dict(lr=0.01, weight_decay=0.1)], ids=["default", "betas_eps", "l2"])
def test_adam_matches_torch(kw):
    torch = pytest.importorskip("torch")
    compare_with_torch(Adam, torch.optim.Adam, kw, kw, lr_change=(5, 0.003))


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.02, weight_decay=0.1, betas=(0.85, 0.98))],
                         ids=["default_decay", "custom"])
def test_adamw_matches_torch(kw):
    torch = pytest.importorskip("torch")
    compare_with_torch(AdamW, torch.optim.AdamW, kw, kw, lr_change=(5, 0.003))


def test_updates_are_in_place_keep_dtype_and_build_no_graph():
    for opt_cls in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps), lambda ps: AdamW(ps)):
        p = Parameter(np.ones((3, 2)))
        data = p.data
        opt = opt_cls([p])
        p.grad = Tensor(np.full((3, 2), 0.5))
        opt.step()
        assert p.data is data, "p.data is updated in place"
        assert p.dtype == np.float32 and p.requires_grad and p._parents == ()
        assert not np.allclose(p.data, 1.0)
        assert all(v.dtype == np.float32 for v in opt.state[0].values() if isinstance(v, np.ndarray))


def test_zero_grad_and_skipping_parameters_without_gradients():
    a, b = Parameter([1.0]), Parameter([2.0])
    opt = Adam([a, b], lr=0.1)
    a.grad = Tensor([1.0])
    opt.step()
    np.testing.assert_allclose(b.data, [2.0])
    assert set(opt.state) == {0}, "no state for a parameter that never had a gradient"
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_momentum_buffer_reaches_g_over_one_minus_mu():
    p = Parameter([0.0], dtype=np.float64)
    opt = SGD([p], lr=1.0, momentum=0.9)
    for _ in range(300):
        p.grad = Tensor([1.0], dtype=np.float64)
        opt.step()
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [10.0], rtol=1e-9)


def test_constructor_checks():
    with pytest.raises(ValueError):
        SGD([], lr=0.1)
    with pytest.raises(ValueError):
        SGD([Parameter([1.0])], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        Adam([Parameter([1.0])], lr=-1.0)
    with pytest.raises(TypeError):
        SGD([Tensor([1.0])], lr=0.1)
    assert isinstance(SGD((p for p in [Parameter([1.0])]), lr=0.1), Optimizer), "a generator of parameters works"
    with pytest.raises(NotImplementedError):
        p = Parameter([1.0])
        p.grad = Tensor([1.0])
        Optimizer([p], lr=0.1).step()


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                                  lambda ps: Adam(ps, lr=0.01), lambda ps: AdamW(ps, lr=0.01)],
                         ids=["sgd", "adam", "adamw"])
def test_state_dict_round_trip_resumes_exactly(make):
    a, b = make_params(), make_params()
    opt_a = make(a)
    for step in range(4):
        for p, g in zip(a, gradients(a, step)):
            p.grad = None if g is None else Tensor(g, dtype=np.float64)
        opt_a.step()
    for p, q in zip(a, b):
        q.data[...] = p.data
    opt_a.lr *= 0.5
    sd = opt_a.state_dict()
    assert set(sd) == {"lr", "state"} and sd["lr"] == opt_a.lr
    assert all(isinstance(v, (np.ndarray, int)) for s in sd["state"].values() for v in s.values())
    opt_b = make(b)
    opt_b.load_state_dict(sd)
    for s in sd["state"].values():  # the loaded state is a copy: changing the dict changes nothing
        for v in s.values():
            if isinstance(v, np.ndarray):
                v += 1000.0
    for step in range(4, 8):
        for p, q, g in zip(a, b, gradients(a, step)):
            p.grad = q.grad = None if g is None else Tensor(g, dtype=np.float64)
        opt_a.step()
        opt_b.step()
    for p, q in zip(a, b):
        np.testing.assert_array_equal(q.data, p.data)


def test_load_state_dict_checks_positions_and_shapes():
    opt = SGD(make_params(), lr=0.1, momentum=0.9)
    for p in opt.params:
        p.grad = Tensor(np.ones(p.shape), dtype=np.float64)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match=r"\(3,\)"):
        SGD([Parameter(np.ones((4, 3))), Parameter(np.ones(5)), Parameter(np.ones((2, 2, 2)))], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter 1"):
        SGD([Parameter(np.ones((4, 3)))], lr=0.1).load_state_dict(sd)


def test_steplr_sequence_matches_formula_and_torch():
    p = Parameter([0.0])
    opt = SGD([p], lr=0.3)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    got = [opt.lr] + [sched.step() for _ in range(10)]
    want = [0.3 * 0.5 ** (t // 3) for t in range(11)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    torch = pytest.importorskip("torch")
    tp = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.3)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    tlrs = [topt.param_groups[0]["lr"]]
    for _ in range(10):
        topt.step()
        tsched.step()
        tlrs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, tlrs, rtol=1e-12)


@pytest.mark.parametrize("warmup,total,min_lr", [(5, 20, 1e-4), (0, 10, 0.0), (3, 3, 1e-4), (1, 8, 0.0)])
def test_cosine_warmup_sequence_matches_formula(warmup, total, min_lr):
    base = 2e-3
    opt = Adam([Parameter([0.0])], lr=base)
    sched = CosineWarmupLR(opt, warmup_steps=warmup, total_steps=total, min_lr=min_lr)
    got = [opt.lr] + [sched.step() for _ in range(total + 3)]

    def formula(t):
        if t < warmup:
            return base * (t + 1) / warmup
        if t >= total:
            return min_lr
        return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup)))
    np.testing.assert_allclose(got, [formula(t) for t in range(total + 4)], rtol=1e-12, atol=1e-18)
    assert max(got) <= base + 1e-15 and got[-1] == min_lr
    if warmup:
        assert got[0] > 0 and all(got[i] < got[i + 1] for i in range(warmup - 1)), "warm-up increases linearly"
    decay = got[warmup:total + 1]
    assert all(x >= y for x, y in zip(decay, decay[1:])), "then the rate only goes down"


def test_cosine_warmup_rejects_bad_lengths():
    with pytest.raises(ValueError):
        CosineWarmupLR(SGD([Parameter([0.0])], lr=0.1), warmup_steps=10, total_steps=5)


def test_scheduler_state_dict_restores_position():
    opt = SGD([Parameter([0.0])], lr=1.0)
    sched = CosineWarmupLR(opt, warmup_steps=2, total_steps=10)
    for _ in range(5):
        sched.step()
    sd = sched.state_dict()
    opt2 = SGD([Parameter([0.0])], lr=1.0)
    sched2 = CosineWarmupLR(opt2, warmup_steps=2, total_steps=10)
    sched2.load_state_dict(sd)
    assert opt2.lr == opt.lr
    assert sched2.step() == sched.step()


def test_clip_grad_norm_against_the_definition():
    rng = np.random.default_rng(0)
    params = [Parameter(np.zeros(s)) for s in [(5, 4), (4,), (3, 3)]]
    raw = [rng.standard_normal(p.shape).astype(np.float32) * 10 for p in params]
    for p, g in zip(params, raw):
        p.grad = Tensor(g.copy())
    frozen = Parameter(np.zeros(2))  # no gradient: ignored
    norm = clip_grad_norm(params + [frozen], max_norm=2.0)
    want = float(np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in raw)))
    assert isinstance(norm, float)
    np.testing.assert_allclose(norm, want, rtol=1e-7)
    coef = 2.0 / (want + 1e-6)
    for p, g in zip(params, raw):
        np.testing.assert_allclose(p.grad.data, g * coef, rtol=1e-6)
        assert p.grad.dtype == np.float32
    after = math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum()) for p in params))
    np.testing.assert_allclose(after, 2.0, rtol=1e-5)
    assert frozen.grad is None


def test_clip_grad_norm_leaves_small_gradients_alone_and_handles_none():
    p = Parameter([0.0, 0.0])
    p.grad = Tensor([0.3, 0.4])
    assert abs(clip_grad_norm([p], 1.0) - 0.5) < 1e-6
    np.testing.assert_array_equal(p.grad.data, np.array([0.3, 0.4], dtype=np.float32))
    assert clip_grad_norm([Parameter([1.0])], 1.0) == 0.0


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(s) * 3 for s in [(6, 2), (7,)]]
    ours = [Parameter(np.zeros(g.shape), dtype=np.float64) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad, tp.grad = Tensor(g, dtype=np.float64), torch.tensor(g)
    norm = clip_grad_norm(ours, 1.5)
    tnorm = torch.nn.utils.clip_grad_norm_(theirs, 1.5)
    np.testing.assert_allclose(norm, float(tnorm), rtol=1e-12)
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-12)


def test_adamw_trains_a_model_with_schedule_and_clipping():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = (X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    model = Sequential(Linear(3, 16, init="he", seed=0), lambda t: t * (t.data > 0), Linear(16, 1, seed=1))
    opt = AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
    sched = CosineWarmupLR(opt, warmup_steps=5, total_steps=150)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = ((model(Tensor(X)) - Tensor(Y)) ** 2).mean()
        first = loss.item() if first is None else first
        loss.backward()
        clip_grad_norm(model.parameters(), 10.0)
        opt.step()
        sched.step()
    assert loss.item() < 0.02 * first, f"loss went from {first:.3f} to {loss.item():.4f}"
