"Behaviour of the exported attention layers (tinytorch.core.attention)."
import numpy as np
import pytest

from op_catalog import HAS_TORCH
from tinytorch.core.attention import (MultiHeadAttention, SelfAttention, causal_mask, masked_softmax,
                                      multi_head_attention, padding_mask, scaled_dot_product_attention)
from tinytorch.core.autograd import Tensor, gradcheck, no_grad, topo_sort


def test_causal_mask_shapes_and_offset():
    for tq, tk in [(1, 1), (3, 3), (1, 7), (4, 9)]:
        m = causal_mask(tq, tk).data
        assert m.shape == (tq, tk) and m.dtype == np.bool_
        for i in range(tq):
            np.testing.assert_array_equal(m[i], np.arange(tk) <= tk - tq + i)
    with pytest.raises(ValueError):
        causal_mask(5, 3)


def test_padding_mask_from_tensor_lengths():
    m = padding_mask(Tensor([0, 3, 5]), 5).data
    assert m.shape == (3, 1, 5)
    np.testing.assert_array_equal(m[:, 0].sum(-1), [0, 3, 5])


def test_masked_softmax_zero_weight_is_exact_and_no_nan_anywhere():
    rng = np.random.default_rng(0)
    s = Tensor(rng.standard_normal((3, 6, 6)) * 50, requires_grad=True)
    mask = rng.random((3, 6, 6)) > 0.5
    mask[1, 2] = False                                    # one row with nothing allowed
    p = masked_softmax(s, mask)
    assert np.all(p.data[~mask] == 0.0)
    assert np.all(p.data[1, 2] == 0.0)
    rows = mask.any(-1)
    np.testing.assert_allclose(p.data.sum(-1)[rows], 1.0, rtol=1e-5)
    p.backward(rng.standard_normal(p.shape).astype(np.float32))
    assert np.all(np.isfinite(s.grad.data)) and np.all(s.grad.data[~mask] == 0.0)


def test_masked_softmax_rejects_non_boolean_masks():
    with pytest.raises(TypeError):
        masked_softmax(Tensor(np.zeros((2, 2))), np.ones((2, 2)))


def test_sdpa_float32_in_float32_out_and_weights_are_not_in_the_graph():
    rng = np.random.default_rng(1)
    q, k, v = (Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    out, w = scaled_dot_product_attention(q, k, v)
    assert out.dtype == np.float32 and w.dtype == np.float32 and out.requires_grad and not w.requires_grad


def test_sdpa_shape_errors():
    q = Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError):
        scaled_dot_product_attention(q, Tensor(np.zeros((2, 3, 5))), Tensor(np.zeros((2, 3, 4))))
    with pytest.raises(ValueError):
        scaled_dot_product_attention(q, Tensor(np.zeros((2, 3, 4))), Tensor(np.zeros((2, 2, 4))))


def test_sdpa_dropout_is_inverted_and_seeded():
    rng = np.random.default_rng(2)
    q, k = (Tensor(rng.standard_normal((1, 64, 8))) for _ in range(2))
    v = Tensor(np.ones((1, 64, 8)))
    out, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=np.random.default_rng(0))
    # each output is a sum of weights (each weight kept with prob 1/2, doubled): mean ~1 over many outputs
    assert abs(out.data.mean() - 1.0) < 0.05 and out.data.std() > 0.05
    again, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out.data, again.data)


def test_sdpa_gradcheck_with_dropout():
    rng = np.random.default_rng(3)
    q, k, v = (Tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True) for _ in range(3))
    # a fixed seed per call makes the dropout mask identical across the central-difference evaluations
    fn = lambda q, k, v: scaled_dot_product_attention(q, k, v, causal_mask(3), dropout_p=0.3,
                                                      rng=np.random.default_rng(7))[0]
    assert gradcheck(fn, q, k, v)


def _per_head_reference(x, mha, mask):
    "Attention computed head by head with the layer's own weights (a Python loop, for comparison only)."
    qkv = x @ mha.qkv.weight.data + mha.qkv.bias.data
    D, H = mha.d_model, mha.n_heads
    hd = D // H
    outs = []
    for h in range(H):
        q, k, v = (qkv[..., j * D + h * hd: j * D + (h + 1) * hd] for j in range(3))
        s = q @ np.swapaxes(k, -1, -2) / np.sqrt(hd)
        w = np.exp(s - s.max(-1, keepdims=True)) * mask  # a masked key weighs exactly 0
        outs.append((w / w.sum(-1, keepdims=True)) @ v)
    return np.concatenate(outs, -1) @ mha.proj.weight.data + mha.proj.bias.data


def test_mha_equals_per_head_loop():
    mha = MultiHeadAttention(24, 4, causal=True, seed=0)
    x = np.random.default_rng(4).standard_normal((3, 7, 24)).astype(np.float32)
    np.testing.assert_allclose(mha(Tensor(x)).data, _per_head_reference(x, mha, np.tri(7, dtype=bool)),
                               rtol=1e-4, atol=1e-5)


def test_mha_is_few_graph_nodes():
    "The fused projection and the fused attention op: x -> Linear -> attention -> Linear, plus the parameters."
    mha = MultiHeadAttention(16, 4, causal=True, seed=0)
    x = Tensor(np.zeros((2, 5, 16)), requires_grad=True)
    nodes = topo_sort(mha(x))
    assert len(nodes) == 1 + 4 + 3, f"expected 8 nodes (x, 4 parameters, 3 ops), got {len(nodes)}"


def test_mha_padding_mask_and_fully_padded_sequence():
    mha = MultiHeadAttention(8, 2, seed=0)
    x = Tensor(np.random.default_rng(5).standard_normal((3, 4, 8)), requires_grad=True)
    out, w = mha(x, mask=padding_mask([4, 2, 0], 4), return_weights=True)
    assert w.shape == (3, 2, 4, 4)
    assert np.all(w.data[1, :, :, 2:] == 0) and np.all(w.data[2] == 0)
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data[2], np.broadcast_to(mha.proj.bias.data, (4, 8)), atol=1e-7,
                               err_msg="a sequence with no keys attends to nothing: only the output bias is left")
    out.sum().backward()
    assert all(np.all(np.isfinite(p.grad.data)) for p in mha.parameters())


@pytest.mark.parametrize("chunks", [[6], [1, 1, 1, 1, 1, 1], [3, 2, 1], [1, 5]])
def test_mha_kv_cache_matches_full_pass(chunks):
    mha = MultiHeadAttention(16, 4, causal=True, seed=1).eval()
    x = np.random.default_rng(6).standard_normal((2, 6, 16)).astype(np.float32)
    full = mha(Tensor(x)).data
    cache, parts, start = {}, [], 0
    with no_grad():
        for n in chunks:
            parts.append(mha(Tensor(x[:, start:start + n]), cache=cache).data)
            start += n
    assert cache["k"].shape == cache["v"].shape == (2, 4, 6, 4)
    np.testing.assert_allclose(np.concatenate(parts, 1), full, rtol=1e-5, atol=1e-6)


def test_mha_dropout_train_eval_and_seed():
    x = Tensor(np.random.default_rng(7).standard_normal((2, 5, 8)))
    a, b = MultiHeadAttention(8, 2, dropout=0.3, seed=3), MultiHeadAttention(8, 2, dropout=0.3, seed=3)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert not np.allclose(a(x).data, a(x).data)
    a.eval()
    np.testing.assert_array_equal(a(x).data, MultiHeadAttention(8, 2, seed=3).eval()(x).data)


def test_mha_rejects_bad_head_count():
    with pytest.raises(ValueError):
        MultiHeadAttention(10, 3)


def test_self_attention_gradcheck_float64():
    attn = SelfAttention(4, causal=True, seed=0)
    for p in attn.parameters():
        p.data = np.random.default_rng(p.size).standard_normal(p.shape)
    x = Tensor(np.random.default_rng(8).standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, *ps: attn(x), x, *attn.parameters())


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: parity with torch is checked where it is")
def test_mha_matches_torch_multihead_attention():
    import torch
    D, H, B, T = 16, 4, 3, 6
    ours = MultiHeadAttention(D, H, causal=True, seed=0)
    for p in ours.parameters():
        p.data = np.random.default_rng(p.size).standard_normal(p.shape) * 0.3
    theirs = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.tensor(ours.qkv.weight.data.T))
        theirs.in_proj_bias.copy_(torch.tensor(ours.qkv.bias.data))
        theirs.out_proj.weight.copy_(torch.tensor(ours.proj.weight.data.T))
        theirs.out_proj.bias.copy_(torch.tensor(ours.proj.bias.data))
    x = np.random.default_rng(9).standard_normal((B, T, D))
    xt = torch.tensor(x, requires_grad=True)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)          # torch: True = NOT allowed
    tout, tw = theirs(xt, xt, xt, attn_mask=future, average_attn_weights=False)
    xo = Tensor(x, dtype=np.float64, requires_grad=True)
    out, w = ours(xo, return_weights=True)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(10).standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.qkv.weight.grad.data, theirs.in_proj_weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.proj.weight.grad.data, theirs.out_proj.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.qkv.bias.grad.data, theirs.in_proj_bias.grad.numpy(), rtol=1e-9, atol=1e-12)
