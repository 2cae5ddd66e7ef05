"Behaviour of tinytorch.core.activations beyond the op catalog: stability, normalisation, dtypes, layers."
import math

import numpy as np
import pytest

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.activations import (BLOCK, GELU, ReLU, Sigmoid, Softmax, LogSoftmax, Tanh, erf, gelu, gelu_tanh,
                                        log_softmax, normal_cdf, relu, sigmoid, softmax, tanh)

FUNCS = {
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "gelu": gelu,
    "gelu_tanh": lambda x: gelu(x, approximate="tanh"), "gelu_tanh_fused": gelu_tanh,
    "softmax": softmax, "log_softmax": log_softmax,
    "softmax_axis0": lambda x: softmax(x, axis=0), "log_softmax_axis0": lambda x: log_softmax(x, axis=0),
}
EXTREME = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -3.0, 1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCS)
def test_extreme_inputs_stay_finite_forward_and_backward(name, dtype):
    x = Tensor(EXTREME, dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = FUNCS[name](x)
        out.backward(np.ones(out.shape, dtype=dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(out.data)), f"{name} forward has inf/nan at ±1e4"
    assert np.all(np.isfinite(x.grad.data)), f"{name} backward has inf/nan at ±1e4"


def test_extreme_values_are_right():
    x = Tensor(EXTREME)
    np.testing.assert_allclose(sigmoid(x).data[0], [1, 0, 0.5, 1 / (1 + math.exp(-3))], rtol=1e-6)
    np.testing.assert_allclose(tanh(x).data[0], [1, -1, 0, math.tanh(3)], rtol=1e-6)
    for form in ("none", "tanh"):
        np.testing.assert_allclose(gelu(x, approximate=form).data[0, :2], [1e4, 0], atol=1e-6)
    np.testing.assert_allclose(softmax(x).data[1], [0.25] * 4, rtol=1e-6)
    np.testing.assert_allclose(softmax(x).data[0], [1, 0, 0, 0], atol=1e-30)
    np.testing.assert_allclose(log_softmax(x).data[0], [0, -2e4, -1e4, 3 - 1e4], rtol=1e-6)
    np.testing.assert_allclose(log_softmax(x).data[2], [-math.log(3)] * 2 + [-3 - 1e4 - math.log(3), -math.log(3)],
                               rtol=1e-6)


@pytest.mark.parametrize("shape, axis", [((5, 7), -1), ((5, 7), 0), ((2, 3, 4), 1), ((6,), 0)])
def test_softmax_sums_to_one_and_matches_log_softmax(shape, axis):
    x = np.random.default_rng(0).standard_normal(shape) * 30  # wide logits
    s, ls = softmax(Tensor(x), axis=axis).data, log_softmax(Tensor(x), axis=axis).data
    assert s.shape == shape and ls.shape == shape
    assert np.all(s >= 0) and np.all(ls <= 0)
    np.testing.assert_allclose(s.sum(axis=axis), np.ones(np.delete(shape, axis % len(shape))), rtol=1e-5)
    np.testing.assert_allclose(np.exp(ls), s, rtol=1e-5, atol=1e-30)


def test_softmax_ignores_a_constant_shift():
    x = np.random.default_rng(1).standard_normal((4, 6))
    np.testing.assert_allclose(softmax(Tensor(x + 1000.0, dtype=np.float64)).data,
                               softmax(Tensor(x, dtype=np.float64)).data, rtol=1e-12)
    np.testing.assert_allclose(log_softmax(Tensor(x - 1000.0, dtype=np.float64)).data,
                               log_softmax(Tensor(x, dtype=np.float64)).data, rtol=1e-9)


def test_softmax_gradient_sums_to_zero_along_its_axis():
    # the outputs always sum to 1, so moving every input along any direction leaves that sum unchanged
    x = Tensor(np.random.default_rng(2).standard_normal((3, 5)), dtype=np.float64, requires_grad=True)
    softmax(x, axis=1).backward(np.random.default_rng(3).standard_normal((3, 5)))
    np.testing.assert_allclose(x.grad.data.sum(axis=1), np.zeros(3), atol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
def test_each_function_is_one_fused_graph_node(name):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    out = FUNCS[name](x)
    assert len(out._parents) == 1 and out._parents[0] is x
    with no_grad():
        assert not FUNCS[name](x).requires_grad


def test_numpy_inputs_are_accepted():
    out = relu(np.array([-1.0, 2.0]))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [0.0, 2.0])


def test_erf_and_normal_cdf_match_the_standard_library():
    z = np.linspace(-8, 8, 4001)
    np.testing.assert_allclose(erf(z), [math.erf(v) for v in z], atol=1e-10, rtol=1e-9)
    tail = np.linspace(-30, -1, 300)
    np.testing.assert_allclose(normal_cdf(tail), [0.5 * math.erfc(-v / math.sqrt(2)) for v in tail], rtol=1e-8)
    assert erf(np.float32(1.0)).dtype == np.float32 and normal_cdf(np.ones(3, np.float32)).dtype == np.float32


def test_gelu_forms_differ_little_and_bad_form_is_rejected():
    x = np.linspace(-6, 6, 1201)
    diff = gelu(Tensor(x, dtype=np.float64)).data - gelu(Tensor(x, dtype=np.float64), approximate="tanh").data
    assert 1e-5 < np.max(np.abs(diff)) < 1e-3, "they are different functions, but close"
    with pytest.raises(ValueError, match="approximate"):
        gelu(Tensor(x), approximate="fast")


def test_gelu_tail_keeps_relative_precision():
    # x·Φ(x) = x·erfc(-x/√2)/2: computing it as x·(1 + erf(x/√2))/2 would round the tail to 0
    x = np.array([-30.0, -12.0, -8.0, -5.0, -2.5])
    want = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(gelu(Tensor(x, dtype=np.float64)).data, want, rtol=1e-8)


def test_sigmoid_gradient_vanishes_in_the_tails_without_nan():
    x = Tensor([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float64, requires_grad=True)
    sigmoid(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0, math.exp(-50), 0.25, math.exp(-50), 0], rtol=1e-6, atol=1e-21)


def test_layers_wrap_the_functions():
    x = Tensor(np.random.default_rng(4).standard_normal((3, 4)), dtype=np.float64)
    pairs = [(ReLU(), relu(x)), (Sigmoid(), sigmoid(x)), (Tanh(), tanh(x)), (GELU(), gelu(x)),
             (GELU(approximate="tanh"), gelu(x, approximate="tanh")), (Softmax(axis=0), softmax(x, axis=0)),
             (Softmax(), softmax(x)), (LogSoftmax(axis=0), log_softmax(x, axis=0))]
    for layer, want in pairs:
        out = layer(x)
        assert isinstance(out, Tensor)
        np.testing.assert_array_equal(out.data, want.data, err_msg=repr(layer))
        np.testing.assert_array_equal(layer.forward(x).data, want.data)
    assert GELU().approximate == "none" and Softmax().axis == -1 and LogSoftmax(axis=1).axis == 1
    assert repr(Softmax(axis=0)) == "Softmax(axis=0)" and repr(ReLU()) == "ReLU()"


def test_layers_pass_gradients_in_a_chain():
    x = Tensor(np.random.default_rng(5).standard_normal((2, 3)), dtype=np.float64, requires_grad=True)
    out = x
    for layer in (Tanh(), GELU(), ReLU(), Sigmoid(), LogSoftmax()):
        out = layer(out)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == (2, 3) and np.all(np.isfinite(x.grad.data))


def test_fused_gelu_tanh_equals_the_clear_form_across_cache_blocks():
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(-6, 6, (3, BLOCK + 123)).astype(np.float32), requires_grad=True)  # two blocks, one partial
    g = rng.standard_normal(x.shape).astype(np.float32)
    fast, clear = gelu_tanh(x), gelu(x, approximate="tanh")
    assert fast.dtype == np.float32 and fast.shape == x.shape
    np.testing.assert_allclose(fast.data, clear.data, rtol=1e-5, atol=1e-6)
    fast.backward(g)
    fast_grad, x.grad = x.grad.data.copy(), None
    clear.backward(g)
    np.testing.assert_allclose(fast_grad, x.grad.data, rtol=1e-4, atol=1e-5)
