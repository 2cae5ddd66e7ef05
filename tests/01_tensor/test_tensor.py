"""Behaviour of the exported Tensor (tinytorch.core.tensor): dtype policy, creation, shape errors, matmul,
reductions, shape ops, indexing, comparisons. Values of the differentiable ops against numpy are in the op
catalog (ops.py / test_ops.py) and not repeated here.

Nothing here imports module 02 (a student who solved only 01 runs these); behaviours must also hold once
tinytorch.core.autograd re-defines the ops, which tests/02_autograd checks.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor, arange, full, ones, rand, randn, zeros

ROOT = Path(__file__).resolve().parents[2]


# --- dtype policy ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [[1.0, 2.0], np.zeros(3), np.float64(2.5), 3.5, np.ones((2, 2), np.float16)])
def test_float_data_becomes_float32(data):
    assert Tensor(data).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32])
def test_an_explicit_dtype_is_kept(dtype):
    assert Tensor([1, 2], dtype=dtype).dtype == dtype
    assert Tensor(np.zeros(2, np.float64), dtype=dtype).dtype == dtype


@pytest.mark.parametrize("data, kind", [([1, 2, 3], "i"), (np.arange(3, dtype=np.int32), "i"),
                                        (np.array([1, 2], np.uint8), "u"), ([True, False], "b")])
def test_integer_and_bool_data_keep_their_kind(data, kind):
    t = Tensor(data)
    assert t.dtype.kind == kind and t.dtype == np.asarray(data).dtype


def test_tensor_from_a_tensor_takes_its_data():
    a = Tensor([1.0, 2.0])
    b = Tensor(a)
    assert isinstance(b.data, np.ndarray) and b.dtype == np.float32
    np.testing.assert_array_equal(b.data, a.data)
    assert Tensor(a, dtype=np.float64).dtype == np.float64


def test_only_floating_tensors_can_require_gradients():
    with pytest.raises(TypeError, match="int"):
        Tensor([1, 2], requires_grad=True)
    assert Tensor([1.0], requires_grad=True).requires_grad


@pytest.mark.parametrize("make", [lambda a: a + 1, lambda a: 2 * a, lambda a: a - 0.5, lambda a: 1.5 / a,
                                  lambda a: a ** 2, lambda a: -a, lambda a: a + np.float32(1)])
def test_python_numbers_do_not_promote_float32(make):
    assert make(Tensor([1.0, 2.0])).dtype == np.float32


def test_results_follow_numpy_promotion():
    f32, f64 = Tensor([1.0, 2.0]), Tensor([1.0, 2.0], dtype=np.float64)
    i64 = Tensor([1, 2])
    assert (f32 + f64).dtype == np.float64
    assert (f32 * f32).dtype == np.float32
    assert (i64 + i64).dtype == np.int64 and (i64 * 3).dtype == np.int64
    assert (i64 / 2).dtype == np.float64, "true division of integers gives floats, as in numpy"
    assert (f32 @ f32).dtype == np.float32


# --- properties and conversions ----------------------------------------------------------------

def test_properties_describe_the_data():
    t = Tensor(np.zeros((2, 3, 4)))
    assert (t.shape, t.ndim, t.size, t.dtype, len(t)) == ((2, 3, 4), 3, 24, np.float32, 2)
    assert Tensor(5.0).shape == () and Tensor(5.0).ndim == 0


def test_numpy_shares_memory_and_item_returns_a_python_number():
    t = Tensor([[1.5]])
    assert t.numpy() is t.data
    assert isinstance(t.item(), float) and t.item() == 1.5
    assert isinstance(Tensor([3]).item(), int)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        Tensor(np.zeros((2, 2))).item()


def test_truth_value_only_for_one_element():
    assert bool(Tensor([1.0])) and not bool(Tensor(0.0))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        bool(Tensor([1.0, 2.0, 3.0]))


def test_repr_shows_values_dtype_and_grad_flag():
    assert "float32" in repr(Tensor([1.0])) and "requires_grad" not in repr(Tensor([1.0]))
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))
    assert "1.5" in repr(Tensor([1.5]))


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b" and len({a, b, a}) == 2


# --- creation ----------------------------------------------------------------------------------

def test_creation_helpers():
    assert zeros(2, 3).shape == (2, 3) and zeros(2, 3).dtype == np.float32 and not zeros(2).data.any()
    assert ones(4).data.sum() == 4 and zeros(3, dtype=np.int64).dtype == np.int64
    assert full((2,), 7, dtype=np.int32).dtype == np.int32
    assert zeros(3, requires_grad=True).requires_grad and ones(3, requires_grad=True).requires_grad
    assert full((2, 2), 3.0).dtype == np.float32 and np.all(full((2, 2), 3.0).data == 3)
    np.testing.assert_array_equal(arange(2, 10, 3).data, [2, 5, 8])
    assert arange(4.0).dtype.kind == "f"
    assert zeros().shape == ()


def test_random_tensors_are_reproducible_and_in_range():
    assert randn(2, 3, seed=7).dtype == np.float32 and randn(2, 3, seed=7).shape == (2, 3)
    np.testing.assert_array_equal(randn(5, seed=7).data, randn(5, seed=7).data)
    assert not np.array_equal(randn(5, seed=7).data, randn(5, seed=8).data)
    big = randn(20_000, seed=0).data
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1) < 0.05
    u = rand(10_000, seed=1).data
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    np.testing.assert_array_equal(rand(3, seed=2).data, rand(3, seed=2).data)
    assert randn(3, requires_grad=True).requires_grad


# --- broadcasting and its errors ---------------------------------------------------------------

@pytest.mark.parametrize("op", ["+", "-", "*", "/", "==", "<"])
@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4,)), ((5, 1, 3), (4, 2)), ((3,), (2, 2))])
def test_broadcast_errors_name_both_shapes(op, a_shape, b_shape):
    a, b = Tensor(np.ones(a_shape)), Tensor(np.ones(b_shape))
    with pytest.raises(ValueError) as err:
        eval(f"a {op} b")
    assert str(a_shape) in str(err.value) and str(b_shape) in str(err.value), str(err.value)


def test_broadcasting_with_arrays_and_numbers_on_either_side():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    left = np.array([1.0, 2.0, 3.0]) + t
    assert isinstance(left, Tensor) and left.shape == (2, 3), "ndarray + Tensor gives a Tensor"
    np.testing.assert_allclose(left.data, np.arange(6.0).reshape(2, 3) + [1, 2, 3])
    assert isinstance(np.ones((2, 3)) * t, Tensor) and isinstance(t - np.ones(3), Tensor)
    np.testing.assert_allclose((1 - t).data, 1 - t.data)
    np.testing.assert_allclose((Tensor(2.0) * t).data, 2 * t.data)
    assert (Tensor(np.ones((4, 1, 3))) + Tensor(np.ones((2, 1)))).shape == (4, 2, 3)


# --- matmul ------------------------------------------------------------------------------------

@pytest.mark.parametrize("a_shape, b_shape", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 2)),
                                              ((4,), (3, 2))])
def test_matmul_inner_dimension_errors_name_both_shapes(a_shape, b_shape):
    with pytest.raises(ValueError) as err:
        Tensor(np.ones(a_shape)) @ Tensor(np.ones(b_shape))
    assert str(a_shape) in str(err.value) and str(b_shape) in str(err.value), str(err.value)


def test_matmul_batch_mismatch_and_scalars_are_errors():
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4, 2\)"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 2)))
    with pytest.raises(ValueError, match="dimension"):
        Tensor(2.0) @ Tensor(np.ones(3))
    with pytest.raises(ValueError):
        Tensor(np.ones(3)) @ Tensor(2.0)


def test_matmul_shapes_follow_numpy():
    for a, b in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3, 5)), ((3,), (4, 3, 2)),
                 ((2, 1, 3, 4), (5, 4, 2))]:
        x, y = np.ones(a, np.float32), np.ones(b, np.float32)
        out = Tensor(x) @ Tensor(y)
        assert out.shape == (x @ y).shape, (a, b)
        assert Tensor(x).matmul(Tensor(y)).shape == (x @ y).shape
    assert (np.ones((2, 3)) @ Tensor(np.ones((3, 4)))).shape == (2, 4), "ndarray @ Tensor works too"


# --- reductions --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (-1, -3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy_for_every_axis_form(name, axis, keepdims):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    out = getattr(Tensor(x), name)(axis=axis, keepdims=keepdims)
    want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    assert isinstance(out, Tensor) and out.shape == np.shape(want) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, want, rtol=1e-6)


def test_integer_reductions_and_bad_axes():
    i = Tensor([[1, 2], [3, 4]])
    assert i.sum().dtype.kind == "i" and i.sum().item() == 10
    assert i.max(axis=0).dtype.kind == "i"
    assert i.mean().item() == 2.5
    with pytest.raises(Exception):
        Tensor(np.ones((2, 3))).sum(axis=2)


# --- shapes ------------------------------------------------------------------------------------

def test_reshape_forms_and_errors():
    t = Tensor(np.arange(24.0))
    assert t.reshape(2, 3, 4).shape == (2, 3, 4) and t.reshape((4, 6)).shape == (4, 6)
    assert t.reshape([2, -1]).shape == (2, 12) and t.reshape(-1).shape == (24,)
    with pytest.raises(ValueError, match=r"\(24,\).*\(5, 5\)"):
        t.reshape(5, 5)
    with pytest.raises(ValueError):
        t.reshape(-1, -1)


def test_transpose_forms():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = Tensor(x)
    np.testing.assert_array_equal(t.transpose().data, np.swapaxes(x, -1, -2))
    np.testing.assert_array_equal(t.T.data, np.swapaxes(x, -1, -2))
    np.testing.assert_array_equal(t.transpose((1, 2, 0)).data, x.transpose(1, 2, 0))
    np.testing.assert_array_equal(t.transpose([2, 1, 0]).data, x.transpose(2, 1, 0))
    assert Tensor(np.ones(5)).transpose().shape == (5,) and Tensor(np.ones(5)).T.shape == (5,)
    with pytest.raises(ValueError):
        t.transpose(0, 1)


# --- indexing ----------------------------------------------------------------------------------

def test_indexing_like_numpy():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = Tensor(x)
    for key in [0, -1, (1, 2), (slice(None), 1), (Ellipsis, 0), (None, 0), (0, slice(None, None, -1)),
                np.array([1, 0, 1]), (np.array([0, 1]), np.array([2, 0])), x > 11]:
        out = t[key]
        assert isinstance(out, Tensor), key
        np.testing.assert_array_equal(out.data, x[key])
    assert t[1, 2, 3].shape == () and t[1, 2, 3].item() == 23


def test_indexing_with_tensors():
    x = np.arange(12.0).reshape(3, 4)
    t = Tensor(x)
    np.testing.assert_array_equal(t[Tensor([2, 2, 0])].data, x[[2, 2, 0]])
    np.testing.assert_array_equal(t[Tensor([0, 2]), Tensor([3, 1])].data, [3, 9])
    np.testing.assert_array_equal(t[t > 6].data, x[x > 6])
    np.testing.assert_array_equal(t[:, Tensor([1])].data, x[:, [1]])


def test_indexing_errors():
    t = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError):
        t[5]
    with pytest.raises(IndexError):
        t[0, 0, 0]


# --- comparisons and element-wise math --------------------------------------------------------

def test_comparisons_give_bool_tensors_and_broadcast():
    a = Tensor([[1.0, 2.0, 3.0]])
    b = Tensor([[2.0], [1.0]])
    for got, want in [(a == b, [[0, 1, 0], [1, 0, 0]]), (a != b, [[1, 0, 1], [0, 1, 1]]),
                      (a < b, [[1, 0, 0], [0, 0, 0]]), (a <= b, [[1, 1, 0], [1, 0, 0]]),
                      (a > b, [[0, 0, 1], [0, 1, 1]]), (a >= 2, [[0, 1, 1]])]:
        assert isinstance(got, Tensor) and got.dtype == np.bool_
        np.testing.assert_array_equal(got.data, np.array(want, bool))
    assert not (a > 0).requires_grad


def test_exp_log_keep_float32_and_handle_edges():
    x = Tensor([0.0, 1.0, -1.0])
    assert x.exp().dtype == np.float32 and x.exp().data[0] == 1
    with np.errstate(divide="ignore"):
        assert Tensor([0.0]).log().data[0] == -np.inf


# --- module 01 on its own ----------------------------------------------------------------------

def test_module_01_works_without_autograd():
    "The 01 export alone (before module 02 patches the class) has the same behaviour and records no graph."
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from tinytorch.core.tensor import Tensor
        assert "tinytorch.core.autograd" not in sys.modules
        a = Tensor(np.ones((2, 3)))
        assert (a + 1).dtype == np.float32 and (a @ Tensor(np.ones((3, 2)))).shape == (2, 2)
        for expr in ("a + Tensor(np.ones(4))", "a @ Tensor(np.ones((4, 2)))", "a.reshape(4, 2)"):
            try:
                eval(expr)
            except ValueError as err:
                assert "(2, 3)" in str(err), err
            else:
                raise AssertionError(expr + " must raise")
        assert a.sum(axis=0, keepdims=True).shape == (1, 3) and a[Tensor([1, 0])].shape == (2, 3)
        w = Tensor([1.0], requires_grad=True)
        assert (w * 2)._parents == () and (w * 2)._backward is None
        try:
            (w * 2).sum().backward()
        except RuntimeError as err:  # no silent loss of gradients: the error names the import that fixes it
            assert "import tinytorch.core.autograd" in str(err), err
        else:
            raise AssertionError("backward() without autograd must raise")
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_creation_helpers_keep_an_explicit_dtype():
    from tinytorch.core.tensor import full, ones, zeros
    assert zeros(2, dtype=np.float64).dtype == np.float64
    assert ones(3, dtype=np.float64).dtype == np.float64
    assert full((2,), 1.5, dtype=np.float64).dtype == np.float64
    assert zeros(2, dtype=np.int64).dtype == np.int64
