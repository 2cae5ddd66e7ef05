"The exported profiler: exact FLOP attribution, forward/backward counts, self time, and leaving tinytorch as it was."
import time

import numpy as np
import pytest

import tinytorch.core.activations as activations
import tinytorch.core.layers as layers
from tinytorch.core.activations import softmax
from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Linear
from tinytorch.core.profiling import OpStats, Profiler, find_ops, op_flops
from tinytorch.core.spatial import conv2d

rng = np.random.default_rng(0)


def snapshot():
    "Every attribute the profiler may replace: Tensor's, the tinytorch modules' and this module's globals."
    state = {("Tensor", k): v for k, v in vars(Tensor).items()}
    for owner, attr, fn, _ in find_ops(globals()):
        state[(id(owner), attr)] = fn
    return state


def assert_untouched(before):
    after = snapshot()
    assert after.keys() == before.keys()
    changed = [k for k in before if after[k] is not before[k]]
    assert not changed, f"not restored: {changed}"


@pytest.mark.parametrize("a_shape, b_shape", [((8, 16), (16, 4)), ((3, 5, 7), (7, 2)), ((2, 3, 4, 6), (2, 3, 6, 5)),
                                              ((7,), (7, 3)), ((4, 7), (7,))])
def test_matmul_flops_and_bytes_are_exact(a_shape, b_shape):
    a, b = Tensor(rng.standard_normal(a_shape)), Tensor(rng.standard_normal(b_shape))
    with Profiler() as prof:
        out = a @ b
    want = np.asarray(a.data) @ np.asarray(b.data)
    np.testing.assert_allclose(out.data, want, rtol=1e-5)
    st = prof["matmul"]
    assert isinstance(st, OpStats) and st.calls == 1 and st.untimed == 0
    assert st.flops == 2 * want.size * a_shape[-1]
    assert st.bytes_out == want.size * 4 and st.bytes_in == (a.size + b.size) * 4
    assert list(prof.stats) == ["matmul"]


def test_linear_and_conv_flops_through_the_profiler():
    layer = Linear(10, 7, seed=0)
    x = Tensor(rng.standard_normal((32, 10)))
    img = Tensor(rng.standard_normal((2, 3, 8, 8)))
    w = Tensor(rng.standard_normal((6, 3, 3, 3)))
    with Profiler() as prof:
        layer(x)
        conv2d(img, w, padding=1)
    assert prof["linear"].flops == 2 * 32 * 10 * 7 + 32 * 7
    assert prof["conv2d"].flops == 2 * (2 * 6 * 8 * 8) * (3 * 3 * 3)
    assert op_flops("conv2d", [(2, 3, 8, 8), (6, 3, 3, 3)], (2, 6, 8, 8)) == prof["conv2d"].flops


def test_forward_and_backward_calls_are_counted_per_op():
    w = Tensor(rng.standard_normal((16, 4)), requires_grad=True)
    x = Tensor(rng.standard_normal((8, 16)))
    with Profiler() as prof:
        for _ in range(4):
            loss = softmax(x @ w).sum()
            loss.backward()
        with no_grad():
            x @ w
    for name in ("matmul", "softmax", "sum"):
        assert prof[name].bwd_calls == 4 and prof[name].bwd_time > 0, name
    assert prof["matmul"].calls == 5 and prof["softmax"].calls == 4 and prof["sum"].calls == 4
    assert prof["matmul"].flops == 5 * 2 * 8 * 16 * 4
    ref = Tensor(np.asarray(w.data), requires_grad=True)
    for _ in range(4):
        softmax(x @ ref).sum().backward()
    np.testing.assert_allclose(w.grad.data, ref.grad.data, rtol=1e-6, atol=1e-7)


def test_backward_after_the_block_is_not_recorded_and_still_correct():
    x = Tensor(rng.standard_normal(6), requires_grad=True)
    with Profiler() as prof:
        loss = (x * 3.0).sum()
    loss.backward()  # outside the block: the ops' backward closures must run unrecorded
    assert [prof[name].bwd_calls for name in ("mul", "sum")] == [0, 0]
    np.testing.assert_allclose(x.grad.data, np.full(6, 3.0), rtol=1e-6)


def test_backward_wrapper_keeps_the_closure_name():
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    plain = x.matmul(Tensor(np.ones((3, 2))))._backward.__qualname__
    with Profiler():
        wrapped = x.matmul(Tensor(np.ones((3, 2))))._backward
    assert wrapped.__qualname__ == plain and wrapped is not None


def test_everything_is_restored_after_exit_and_after_an_exception():
    before = snapshot()
    original_from_op = vars(Tensor)["from_op"]
    with Profiler() as prof:
        assert Profiler.active is prof
        assert vars(Tensor)["from_op"] is not original_from_op
        assert activations.relu is not before[(id(activations), "relu")]
        assert softmax is not before[(id(globals()), "softmax")], "imported names in the caller's globals are wrapped"
    assert Profiler.active is None and vars(Tensor)["from_op"] is original_from_op
    assert_untouched(before)
    with pytest.raises(ZeroDivisionError):
        with Profiler():
            Tensor([1.0]) + Tensor([2.0])
            1 / 0
    assert Profiler.active is None and vars(Tensor)["from_op"] is original_from_op
    assert_untouched(before)


def test_a_failing_op_inside_the_block_leaves_no_stale_frame():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5)))
    with Profiler() as prof:
        with pytest.raises(ValueError):
            a @ b
        assert prof._stack == []
        a + 1.0
    assert prof["add"].calls == 1 and prof["add"].fwd_time >= 0


def test_a_failure_while_entering_restores_what_was_installed(monkeypatch):
    import tinytorch.core.profiling as profiling
    before = snapshot()
    real = profiling.find_ops
    monkeypatch.setattr(profiling, "find_ops", lambda ns=None: real(ns) + [(layers, "no_such_name", None, "x")])
    with pytest.raises(KeyError):
        with Profiler():
            pass
    monkeypatch.undo()
    assert Profiler.active is None
    assert_untouched(before)


def test_profilers_do_not_nest():
    before = snapshot()
    with Profiler() as outer:
        with pytest.raises(RuntimeError, match="already active"):
            with Profiler():
                pass
        assert Profiler.active is outer
        Tensor([1.0]) * 2.0
    assert_untouched(before)
    assert outer["mul"].calls == 1


def test_zero_overhead_when_off():
    with Profiler():
        pass
    assert not hasattr(vars(Tensor)["__add__"], "__wrapped__") and not hasattr(activations.relu, "__wrapped__")
    assert not hasattr(layers.linear, "__wrapped__")


def test_a_name_rebound_inside_the_block_is_kept():
    global softmax
    keep = softmax
    try:
        with Profiler():
            def softmax(x, axis=-1):  # noqa: F811  (the user's own redefinition)
                return x
        assert softmax(5) == 5, "the user's new definition survives the profiler's exit"
    finally:
        softmax = keep


def test_self_time_excludes_nested_ops():
    prof = Profiler()
    inner = prof._timed(lambda: time.sleep(0.02), "inner")
    outer = prof._timed(lambda: (time.sleep(0.01), inner(), inner()), "outer")
    start = time.perf_counter()
    outer()
    total = time.perf_counter() - start
    assert prof["inner"].calls == 2 and prof["inner"].fwd_time >= 0.04
    assert 0.01 <= prof["outer"].fwd_time < total - 0.039
    assert abs(prof["outer"].fwd_time + prof["inner"].fwd_time - total) < 0.005


def test_an_op_it_could_not_wrap_is_counted_as_untimed():
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    with Profiler() as prof:
        def cube(t):
            return Tensor.from_op(t.data ** 3, (t,), lambda g: (3 * g * t.data ** 2,))
        cube(x).sum().backward()
    assert prof["cube"].calls == 1 and prof["cube"].untimed == 1 and prof["cube"].fwd_time == 0
    assert prof["cube"].bwd_calls == 1 and prof["cube"].flops == 12
    text = prof.table()
    assert "cube*" in text and "could not wrap" in text


def test_record_shapes_and_table():
    x = Tensor(rng.standard_normal((4, 8, 16)))
    w = Tensor(rng.standard_normal((16, 16)), requires_grad=True)
    with Profiler(record_shapes=True) as prof:
        s = (x @ w) @ (x @ w).transpose()
        softmax(s).sum().backward()
    mm = [e for e in prof.events if e["name"] == "matmul"]
    assert [e["out_shape"] for e in mm] == [(4, 8, 16), (4, 8, 16), (4, 8, 8)]
    assert mm[2]["flops"] == 2 * 4 * 8 * 8 * 16 and all(e["fwd_time"] > 0 and e["bwd_time"] > 0 for e in mm)
    assert sum(e["flops"] for e in prof.events) == sum(st.flops for st in prof.stats.values())
    lines = prof.table().splitlines()
    rows = [l.split()[0] for l in lines[2:2 + len(prof.stats)]]
    assert sorted(rows) == sorted(prof.stats)
    totals = [prof[n].time for n in rows]
    assert totals == sorted(totals, reverse=True)
    assert len(prof.table(limit=2).splitlines()) == len(lines) - (len(prof.stats) - 2)
    empty = Profiler().table().splitlines()
    assert len(empty) == 5 and empty[3].split()[:2] == ["total", "0"], "an empty profile has only totals"


def test_fused_attention_flops_through_the_profiler():
    from tinytorch.core.attention import MultiHeadAttention, scaled_dot_product_attention
    q, k, v = (Tensor(rng.standard_normal((2, 4, n, 8))) for n in (10, 12, 12))
    mha = MultiHeadAttention(32, 4, causal=True, seed=0)
    x = Tensor(rng.standard_normal((3, 16, 32)))
    with Profiler() as prof:
        scaled_dot_product_attention(q, k, v)
        mha(x)
    assert prof["scaled_dot_product_attention"].flops == 2 * 4 * 10 * 12 * (2 * 8 + 2 * 8 + 5)
    assert prof["multi_head_attention"].flops == 4 * 3 * 16 * 16 * 32
    assert prof["linear"].calls >= 2, "the projections are profiled as linear"
