"""Behaviour of the exported autograd (tinytorch.core.autograd): graph recording, accumulation, broadcast-aware
gradients, no_grad, gradcheck, deep graphs, leaf-only gradients. Per-op gradients are in the op catalog
(tests/01_tensor/ops.py) and not repeated here."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.autograd import GradMode, Tensor, gradcheck, no_grad, topo_sort, unbroadcast

rng = np.random.default_rng(0)


def f64(*shape, low=-2.0, high=2.0):
    return Tensor(rng.uniform(low, high, shape), dtype=np.float64, requires_grad=True)


# --- accumulation on shared subexpressions ------------------------------------------------------

def test_a_value_used_twice_gets_both_gradients():
    x = Tensor([3.0], requires_grad=True)
    (x + x).backward()
    np.testing.assert_allclose(x.grad.data, [2.0])
    x.zero_grad()
    (x * x * x).backward()
    np.testing.assert_allclose(x.grad.data, [27.0], err_msg="d(x³)/dx = 3x²")


def test_diamond_graph_sums_both_paths_and_visits_each_node_once():
    x = Tensor([2.0], dtype=np.float64, requires_grad=True)
    calls = []
    def counted(t):
        return Tensor.from_op(t.data * 1.0, (t,), lambda g: (calls.append(1) or g,))
    a = counted(x)
    b, c = a * 3.0, a ** 2     # two uses of a
    d = b * c                  # d = 3a · a² = 3a³ -> dd/da = 9a² = 36
    d.backward()
    np.testing.assert_allclose(x.grad.data, [36.0])
    assert len(calls) == 1, "a's backward runs once, with the summed gradient"
    order = [id(t) for t in topo_sort(d)]
    assert len(order) == len(set(order)) == 5
    assert order.index(id(x)) < order.index(id(a)) < min(order.index(id(b)), order.index(id(c)))


def test_shared_subexpression_matches_central_differences():
    x, y = f64(3, 4), f64(4)
    def f(x, y):
        h = x * y + x          # h used three times below
        return (h * h - h / (y * y + 1.0) + h.exp()).sum(axis=0)
    assert gradcheck(f, x, y)


def test_leaf_gradients_accumulate_across_backward_calls_until_zero_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for k in range(1, 4):
        (w * w).sum().backward()
        np.testing.assert_allclose(w.grad.data, k * np.array([2.0, 4.0]))
    w.zero_grad()
    assert w.grad is None
    (w * 5.0).sum().backward()
    np.testing.assert_allclose(w.grad.data, [5.0, 5.0])


def test_backward_twice_through_the_same_graph_accumulates():
    w = Tensor([1.5], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(w.grad.data, [6.0])


# --- broadcast-aware gradients -----------------------------------------------------------------

@pytest.mark.parametrize("a_shape, b_shape", [((4, 3), (3,)), ((4, 1), (1, 5)), ((2, 3, 4), (3, 1)),
                                              ((), (2, 3)), ((2, 1, 4), (5, 1)), ((1,), (3, 2))])
def test_broadcast_gradients_have_the_input_shapes(a_shape, b_shape):
    a, b = f64(*a_shape), f64(*b_shape, low=0.5)
    for f in (lambda a, b: a + b, lambda a, b: a * b - b, lambda a, b: a / b):
        a.grad = b.grad = None
        out = f(a, b)
        out.backward(np.ones(out.shape))
        assert a.grad.shape == a_shape and b.grad.shape == b_shape
        assert gradcheck(f, a, b)


def test_bias_gradient_sums_over_the_batch():
    x = Tensor(np.ones((8, 3)), requires_grad=True)
    bias = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    (x + bias).sum().backward()
    np.testing.assert_allclose(bias.grad.data, [8.0, 8.0, 8.0])


def test_batched_matmul_weight_gradient_sums_over_the_batch():
    x, w = f64(5, 2, 3), f64(3, 4)
    (x @ w).sum().backward()
    np.testing.assert_allclose(w.grad.data, x.data.sum(axis=(0, 1))[:, None] * np.ones((1, 4)))
    assert gradcheck(lambda x, w: (x @ w) * 2.0, x, w)


def test_unbroadcast_directly():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(g, (2, 3, 4)), g)
    np.testing.assert_array_equal(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(g, (2, 1, 4)), g.sum(axis=1, keepdims=True))
    assert np.shape(unbroadcast(g, ())) == () and unbroadcast(g, ()) == g.sum()


def test_arrays_and_numbers_on_the_left_pass_gradients():
    x = f64(2, 3)
    out = np.ones((2, 3)) * x + 2.0 - np.full(3, 0.5) / (x * x + 1.0)
    out.sum().backward()
    assert x.grad.shape == (2, 3)
    assert gradcheck(lambda x: 3.0 - x * np.arange(3.0) + np.ones((2, 1)) @ x.sum(axis=0, keepdims=True), x)
    y = Tensor([1.0, 2.0], requires_grad=True)
    (np.ones((3, 2)) @ y).sum().backward()
    np.testing.assert_allclose(y.grad.data, [3.0, 3.0])


# --- reductions, shapes and indexing beyond the catalog ----------------------------------------

def test_reductions_over_tuple_and_negative_axes():
    x = f64(2, 3, 4)
    for f in (lambda x: x.sum(axis=(0, -1)), lambda x: x.mean(axis=(-1, -2), keepdims=True),
              lambda x: x.max(axis=(0, 2)), lambda x: x.mean(axis=-2)):
        assert gradcheck(f, x)


def test_max_ties_share_the_gradient():
    x = Tensor([[1.0, 4.0, 4.0, 4.0], [2.0, 2.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0, 0]], rtol=1e-6)


def test_repeated_indices_scatter_add():
    table = Tensor(np.zeros((4, 2)), requires_grad=True)
    ids = Tensor([3, 0, 3, 3])
    (table[ids] * Tensor([[1.0, 2.0]])).sum().backward()
    np.testing.assert_allclose(table.grad.data, [[1, 2], [0, 0], [0, 0], [3, 6]])


def test_comparisons_and_detach_stop_gradients():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    mask = x > 0
    assert not mask.requires_grad
    d = x.detach()
    assert not d.requires_grad and d._parents == () and np.array_equal(d.data, x.data)
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad.data, x.data, err_msg="the detached factor is a constant")


# --- no_grad -----------------------------------------------------------------------------------

def test_no_grad_records_nothing_and_restores_the_mode():
    w = Tensor([2.0], requires_grad=True)
    assert GradMode.enabled
    with no_grad():
        assert not GradMode.enabled
        y = (w * 3.0).exp().sum()
        with no_grad():
            pass
        assert not GradMode.enabled, "leaving an inner no_grad keeps the outer one"
    assert GradMode.enabled
    assert not y.requires_grad and y._parents == () and y._backward is None
    with pytest.raises(RuntimeError, match="require"):
        y.backward()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert GradMode.enabled
    assert (Tensor([1.0], requires_grad=True) * 2.0).requires_grad


def test_results_of_tensors_without_grad_do_not_require_grad():
    a, b = Tensor([1.0]), Tensor([2.0])
    assert not (a * b + 1.0).requires_grad
    assert (a * Tensor([1.0], requires_grad=True)).requires_grad


# --- backward errors and leaf-only gradients ---------------------------------------------------

def test_only_leaves_that_require_grad_get_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])                     # data, not a parameter
    h = x * c
    out = (h + 1.0).sum()
    out.backward()
    assert x.grad is not None and c.grad is None and h.grad is None and out.grad is None
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_leaf_grad_is_a_tensor_of_the_leaf_dtype_and_independent_of_graph_arrays():
    x = Tensor([1.0, 2.0], requires_grad=True)
    up = np.array([1.0, 1.0], dtype=np.float64)
    x.__mul__(1.0).backward(up)
    assert isinstance(x.grad, Tensor) and x.grad.dtype == np.float32 and not x.grad.requires_grad
    up[:] = 100.0
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0], err_msg="the gradient is a private copy")


def test_backward_errors():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError):
        Tensor([1.0]).backward()
    bad = Tensor.from_op(x.data.sum(), (x,), lambda g: (np.ones(3),))  # wrong gradient shape
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        bad.backward()


def test_a_none_gradient_means_no_gradient_for_that_parent():
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    Tensor.from_op(a.data + b.data, (a, b), lambda g: (g, None)).backward()
    np.testing.assert_allclose(a.grad.data, [1.0])
    assert b.grad is None


def test_backward_from_a_leaf():
    x = Tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.shape == () and x.grad.item() == 1.0


# --- gradcheck ---------------------------------------------------------------------------------

def wrong_square(x):
    "x² with a deliberately wrong backward (x instead of 2x)."
    return Tensor.from_op(x.data ** 2, (x,), lambda g: (g * x.data,))


def slightly_wrong_sin(x):
    "sin with a backward off by 1%."
    return Tensor.from_op(np.sin(x.data), (x,), lambda g: (g * np.cos(x.data) * 1.01,))


def test_gradcheck_catches_wrong_backwards():
    x = f64(3, 2)
    with pytest.raises(AssertionError, match=r"gradient of input 0 \(shape \(3, 2\)\)"):
        gradcheck(wrong_square, x)
    with pytest.raises(AssertionError):
        gradcheck(slightly_wrong_sin, x)
    with pytest.raises(AssertionError, match="input 1"):
        gradcheck(lambda a, b: a + wrong_square(b), f64(2), f64(2))


def test_gradcheck_catches_a_missing_gradient():
    a, b = f64(3), f64(3)
    forgets_b = lambda a, b: Tensor.from_op(a.data * b.data, (a, b), lambda g: (g * b.data, None))
    with pytest.raises(AssertionError, match="input 1"):
        gradcheck(forgets_b, a, b)


def test_gradcheck_passes_correct_ops_and_skips_inputs_without_grad():
    x = f64(4)
    assert gradcheck(lambda x: Tensor.from_op(np.sin(x.data), (x,), lambda g: (g * np.cos(x.data),)), x) is True
    const = Tensor(rng.standard_normal(4), dtype=np.float64)
    assert gradcheck(lambda x, c: x * c, x, const) is True
    assert const.grad is None


def test_gradcheck_in_float32_uses_looser_tolerances():
    x = Tensor(rng.uniform(-1, 1, (3, 3)), requires_grad=True)  # float32
    assert gradcheck(lambda x: (x * x).sum(axis=1), x)
    with pytest.raises(AssertionError):
        gradcheck(wrong_square, x)


def test_gradcheck_leaves_its_inputs_unchanged():
    x = f64(2, 3)
    before = x.data.copy()
    gradcheck(lambda x: (x * x).exp(), x)
    np.testing.assert_array_equal(x.data, before)


# --- deep graphs -------------------------------------------------------------------------------

def chain(n):
    x = Tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001
    return x, y


def test_a_10000_op_chain_backpropagates_without_recursion():
    x, y = chain(10_000)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [1.0001 ** 10_000], rtol=1e-9)


def test_backward_time_grows_linearly_with_depth():
    def backward_seconds(n):
        best = float("inf")
        for _ in range(3):
            x, y = chain(n)
            start = time.perf_counter()
            y.backward()
            best = min(best, time.perf_counter() - start)
        return best
    backward_seconds(2_000)  # warm up
    small, large = backward_seconds(5_000), backward_seconds(20_000)
    # 4x the nodes: linear is ~4x; quadratic would be ~16x. The bound leaves room for a busy machine.
    assert large < 10 * small + 0.05, f"5k nodes: {small:.4f}s, 20k nodes: {large:.4f}s"
    assert large < 2.0, f"backward over 20,000 nodes took {large:.2f}s"


def test_a_wide_graph_with_many_uses_of_one_leaf():
    x = Tensor([1.0, 2.0], requires_grad=True)
    total = x * 0.0
    for k in range(2_000):
        total = total + x * float(k % 3)
    total.sum().backward()
    np.testing.assert_allclose(x.grad.data, [sum(k % 3 for k in range(2_000))] * 2)


def test_gradcheck_perturbs_non_contiguous_inputs():
    from tinytorch.core.autograd import Tensor, gradcheck
    a = np.random.default_rng(0).standard_normal((3, 4))
    x = Tensor(a.T, dtype=np.float64, requires_grad=True)  # a transposed view: not C-contiguous
    assert not x.data.flags.c_contiguous
    assert gradcheck(lambda x: x * x, x)


def test_gradcheck_with_index_inputs_keeps_float64_tolerance():
    from tinytorch.core.autograd import Tensor, gradcheck
    x = Tensor(np.random.default_rng(1).standard_normal((5, 3)), dtype=np.float64, requires_grad=True)
    idx = Tensor(np.array([0, 2, 2, 4]))

    def gather_slightly_wrong(x, i):  # a backward 0.5% off must be caught
        return Tensor.from_op(x.data[i.data], (x,), lambda g: (_scatter(g, i.data, x.shape) * 1.005,))

    def _scatter(g, i, shape):
        full = np.zeros(shape)
        np.add.at(full, i, g)
        return full
    with pytest.raises(AssertionError):
        gradcheck(gather_slightly_wrong, x, idx)


# --- import order: the graph is recorded, or an error names the fix -----------------------------

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ORDERS = {
    "tensor first, autograd before computing": """
        from tinytorch.core.tensor import Tensor
        import tinytorch.core.autograd
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        assert list(x.grad.data) == [2.0, 4.0]
    """,
    "computed before autograd is imported": """
        from tinytorch.core.tensor import Tensor
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        import tinytorch.core.autograd
        try:
            y.backward()
        except RuntimeError as err:
            assert "before tinytorch.core.autograd was imported" in str(err), err
        else:
            raise AssertionError("backward() through a graph that was never recorded must raise")
    """,
}


@pytest.mark.parametrize("order", IMPORT_ORDERS, ids=list(IMPORT_ORDERS))
def test_every_import_order_records_the_graph_or_says_why_not(order):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(IMPORT_ORDERS[order]) + "\nprint('ok')"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
