"Behaviour of core.spatial beyond the op catalog: torch parity over many shapes, layers, errors, dtypes."
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinytorch.core.spatial as spatial
from op_catalog import HAS_TORCH
from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Linear, Module, Sequential
from tinytorch.core.spatial import (AvgPool2d, Conv2d, Flatten, MaxPool2d, avg_pool2d, col2im, conv2d,
                                    conv_output_size, im2col, max_pool2d)

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: parity is checked where it is")


@st.composite
def conv_configs(draw):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, k[0] - 2 * p[0]), 9))
    w = draw(st.integers(max(1, k[1] - 2 * p[1]), 9))
    return dict(n=draw(st.integers(1, 3)), c=draw(st.integers(1, 4)), o=draw(st.integers(1, 5)),
                h=h, w=w, k=k, s=s, p=p, seed=draw(st.integers(0, 1000)))


@needs_torch
@settings(max_examples=40, deadline=None)
@given(conv_configs())
def test_conv2d_matches_torch_on_random_shapes(cfg):
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal((cfg["n"], cfg["c"], cfg["h"], cfg["w"]))
    w = rng.standard_normal((cfg["o"], cfg["c"]) + cfg["k"])
    b = rng.standard_normal(cfg["o"])
    ours = [Tensor(a, dtype=np.float64, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = conv2d(*ours, stride=cfg["s"], padding=cfg["p"])
    tout = F.conv2d(*theirs, stride=cfg["s"], padding=cfg["p"])
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


@needs_torch
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(3, 9), st.integers(3, 9), st.integers(0, 1000))
def test_pooling_matches_torch_on_random_shapes(k, s, h, w, seed):
    import torch
    import torch.nn.functional as F
    k = min(k, h, w)
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    for ours_fn, torch_fn in [(max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)]:
        a = Tensor(x, dtype=np.float64, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        out, tout = ours_fn(a, k, s), torch_fn(t, k, s)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
        g = np.random.default_rng(seed + 1).standard_normal(out.shape)
        out.backward(g)
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
def test_max_pool_ties_after_relu_match_torch():
    import torch
    import torch.nn.functional as F
    x = np.maximum(np.random.default_rng(0).standard_normal((4, 3, 8, 8)), 0) * (np.arange(8) % 3 == 0)
    a, t = Tensor(x, dtype=np.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    max_pool2d(a, 2).sum().backward()
    F.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(a.grad.data, t.grad.numpy())


@needs_torch
def test_small_cnn_float32_gradients_match_torch():
    "A conv-pool-conv-pool-linear network: the same weights give the same loss gradients as torch."
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(1)
    c1, c2, fc = Conv2d(3, 8, 3, padding=1, seed=0), Conv2d(8, 16, 3, stride=2, seed=1), Linear(16 * 3 * 3, 10, seed=2)
    x = rng.standard_normal((16, 3, 16, 16)).astype(np.float32)
    def ours(x):
        h = max_pool2d(conv2d(x, c1.weight, c1.bias, padding=1), 2)
        h = avg_pool2d(conv2d(h, c2.weight, c2.bias, stride=2), 1)
        return fc(Flatten()(h))
    out = ours(Tensor(x))
    tw = [torch.tensor(p.data, requires_grad=True) for p in (c1.weight, c1.bias, c2.weight, c2.bias, fc.weight, fc.bias)]
    th = F.max_pool2d(F.conv2d(torch.tensor(x), tw[0], tw[1], padding=1), 2)
    th = F.conv2d(th, tw[2], tw[3], stride=2)
    tout = th.flatten(1) @ tw[4] + tw[5]
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for p, t in zip((c1.weight, c1.bias, c2.weight, c2.bias, fc.weight, fc.bias), tw):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-3, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(conv_configs())
def test_col2im_is_the_adjoint_of_im2col(cfg):
    rng = np.random.default_rng(cfg["seed"])
    shape = (cfg["n"], cfg["c"], cfg["h"], cfg["w"])
    x = rng.standard_normal(shape)
    cols, (oh, ow) = im2col(x, cfg["k"], cfg["s"], cfg["p"])
    assert cols.shape == (cfg["c"] * cfg["k"][0] * cfg["k"][1], cfg["n"] * oh * ow)
    assert oh == conv_output_size(cfg["h"], cfg["k"][0], cfg["s"][0], cfg["p"][0])
    c = rng.standard_normal(cols.shape)
    back = col2im(c, shape, cfg["k"], cfg["s"], cfg["p"])
    assert back.shape == shape
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-9)


def test_dtypes_are_kept():
    x32 = Tensor(np.ones((1, 2, 6, 6), dtype=np.float32), requires_grad=True)
    w32 = Tensor(np.ones((3, 2, 3, 3), dtype=np.float32), requires_grad=True)
    for out in (conv2d(x32, w32), max_pool2d(x32, 2), avg_pool2d(x32, 3, 1), Flatten()(x32)):
        assert out.dtype == np.float32
        out.sum().backward()
    assert x32.grad.dtype == np.float32 and w32.grad.dtype == np.float32
    x64 = Tensor(np.ones((1, 2, 6, 6)), dtype=np.float64)
    assert conv2d(x64, Tensor(np.ones((3, 2, 3, 3)), dtype=np.float64)).dtype == np.float64
    assert max_pool2d(x64, 2).dtype == np.float64


def test_input_gradient_is_skipped_when_not_needed(monkeypatch):
    calls = []
    real = spatial.col2im
    monkeypatch.setattr(spatial, "col2im", lambda *a, **k: calls.append(1) or real(*a, **k))
    image = Tensor(np.ones((2, 3, 8, 8), dtype=np.float32))
    conv = Conv2d(3, 4, 3, seed=0)
    conv(image).sum().backward()
    assert calls == [] and image.grad is None and conv.weight.grad is not None
    hidden = Tensor(np.ones((2, 3, 8, 8), dtype=np.float32), requires_grad=True)
    conv(hidden).sum().backward()
    assert calls == [1] and hidden.grad.shape == hidden.shape


def test_no_graph_under_no_grad():
    x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    with no_grad():
        for out in (conv2d(x, Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)), max_pool2d(x, 2), avg_pool2d(x, 2)):
            assert not out.requires_grad


@pytest.mark.parametrize("call, words", [
    (lambda: conv2d(Tensor(np.ones((1, 3, 8, 8))), Tensor(np.ones((4, 2, 3, 3)))), ["(1, 3, 8, 8)", "(4, 2, 3, 3)"]),
    (lambda: conv2d(Tensor(np.ones((3, 8, 8))), Tensor(np.ones((4, 3, 3, 3)))), ["(3, 8, 8)"]),
    (lambda: conv2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 3, 3)))), ["3x3", "2x2"]),
    (lambda: max_pool2d(Tensor(np.ones((8, 8))), 2), ["max_pool2d", "(8, 8)"]),
    (lambda: avg_pool2d(Tensor(np.ones((2, 8, 8))), 2), ["avg_pool2d", "(2, 8, 8)"]),
])
def test_shape_errors_name_the_shapes(call, words):
    with pytest.raises(ValueError) as err:
        call()
    for word in words:
        assert word in str(err.value)


def test_conv2d_layer_init_and_state():
    conv = Conv2d(16, 32, (3, 5), stride=2, padding=1, seed=3)
    assert isinstance(conv, Module)
    assert conv.weight.shape == (32, 16, 3, 5) and conv.bias.shape == (32,)
    assert conv.weight.data.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.std(conv.weight.data), np.sqrt(2 / (16 * 15)), rtol=0.05)
    assert abs(float(np.mean(conv.weight.data))) < 0.01
    np.testing.assert_array_equal(conv.bias.data, 0)
    assert sorted(conv.state_dict()) == ["bias", "weight"]
    assert Conv2d(16, 32, 3, seed=4).weight.data[0, 0, 0, 0] != conv.weight.data[0, 0, 0, 0]
    out = conv(Tensor(np.ones((2, 16, 9, 9), dtype=np.float32)))
    assert out.shape == (2, 32, 5, 4)
    assert "Conv2d(16, 32" in repr(conv)


def lenet5(in_channels, first_padding):
    from tinytorch.core.activations import ReLU
    return Sequential(Conv2d(in_channels, 6, 5, padding=first_padding, seed=0), ReLU(), MaxPool2d(2),
                      Conv2d(6, 16, 5, seed=1), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(400, 120, seed=2), ReLU(), Linear(120, 84, seed=3), ReLU(), Linear(84, 10, seed=4))


def test_lenet5_shapes_for_mnist_and_cifar():
    cifar = lenet5(3, 0)
    assert sum(p.size for p in cifar.parameters()) == 62006
    assert cifar(Tensor(np.zeros((4, 3, 32, 32), dtype=np.float32))).shape == (4, 10)
    mnist = lenet5(1, 2)
    assert mnist(Tensor(np.zeros((4, 1, 28, 28), dtype=np.float32))).shape == (4, 10)
    names = [n for n, _ in cifar.named_parameters()]
    assert names[:2] == ["layers.0.weight", "layers.0.bias"] and len(names) == 10


def test_pool_layers_and_flatten():
    x = Tensor(np.arange(2 * 2 * 4 * 4, dtype=np.float32).reshape(2, 2, 4, 4), requires_grad=True)
    np.testing.assert_array_equal(MaxPool2d(2)(x).data, x.data[:, :, 1::2, 1::2])
    np.testing.assert_allclose(AvgPool2d(4)(x).data[:, :, 0, 0], x.data.mean(axis=(2, 3)))
    flat = Flatten()(x)
    assert flat.shape == (2, 32)
    flat.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 1)
    assert MaxPool2d(2).parameters() == [] and Flatten().parameters() == []
