"Behaviour of the exported transformer pieces (tinytorch.core.transformers), against torch where it is installed."
import math

import numpy as np
import pytest

from op_catalog import HAS_TORCH
from tinytorch.core.attention import padding_mask
from tinytorch.core.autograd import Tensor, no_grad, topo_sort
from tinytorch.core.embeddings import Embedding, PositionalEncoding
from tinytorch.core.layers import Linear, Module
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import AdamW
import tinytorch.core.activations as activations
import tinytorch.core.transformers as transformers
from tinytorch.core.activations import gelu_tanh
from tinytorch.core.transformers import FeedForward, LayerNorm, TransformerBlock, layer_norm


def test_layer_norm_float32_stays_float32_and_is_one_node():
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5, 8)) * 100, requires_grad=True)
    ln = LayerNorm(8)
    y = ln(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.data.std(-1), 1, rtol=1e-3)
    assert len(topo_sort(y)) == 4, "x, gamma, beta and one layer_norm node"


def test_layer_norm_shape_errors():
    with pytest.raises(ValueError):
        layer_norm(Tensor(np.zeros((2, 5))), Tensor(np.ones(4)), Tensor(np.zeros(4)))


def test_gelu_tanh_exists_once_in_the_package():
    assert transformers.gelu_tanh is activations.gelu_tanh


def test_gelu_tanh_matches_exact_gelu_closely_and_is_float32():
    x = np.linspace(-6, 6, 1001).astype(np.float32)
    y = gelu_tanh(Tensor(x)).data
    exact = x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    assert y.dtype == np.float32 and np.max(np.abs(y - exact)) < 1e-3


def test_feedforward_dropout_seeded():
    x = Tensor(np.random.default_rng(1).standard_normal((2, 3, 8)))
    a, b = FeedForward(8, 16, dropout=0.3, seed=4), FeedForward(8, 16, dropout=0.3, seed=4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_block_padding_mask_keeps_valid_positions_independent_of_padding():
    block = TransformerBlock(16, 4, 32, causal=False, seed=0).eval()
    x = np.random.default_rng(2).standard_normal((1, 6, 16)).astype(np.float32)
    y = x.copy()
    y[:, 4:] = 99.0                                       # garbage in the padding positions
    mask = padding_mask([4], 6)
    np.testing.assert_allclose(block(Tensor(x), mask=mask).data[:, :4], block(Tensor(y), mask=mask).data[:, :4],
                               rtol=1e-4, atol=1e-5)


def test_block_state_dict_round_trip(tmp_path):
    a, b = TransformerBlock(8, 2, 16, seed=0), TransformerBlock(8, 2, 16, seed=1)
    x = Tensor(np.random.default_rng(3).standard_normal((2, 4, 8)))
    assert not np.allclose(a(x).data, b(x).data)
    b.load(a.save(tmp_path / "block"))
    np.testing.assert_array_equal(a(x).data, b(x).data)


class TinyLM(Module):
    "Embedding + positions + 2 blocks + LayerNorm + output layer: a miniature GPT for the learning test."

    def __init__(self, vocab, d=32, seed=0):
        self.emb, self.pos = Embedding(vocab, d, seed=seed), PositionalEncoding(64, d)
        self.blocks = [TransformerBlock(d, 4, 4 * d, seed=seed + 1 + i) for i in range(2)]
        self.ln, self.head = LayerNorm(d), Linear(d, vocab, seed=seed + 9)

    def forward(self, ids):
        x = self.pos(self.emb(ids))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def test_a_small_stack_learns_to_copy_with_a_delay():
    "Target at t is the token at t-2: only attention to earlier positions can solve it."
    rng = np.random.default_rng(0)
    model = TinyLM(8)
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for step in range(180):                 # the loss plateaus near log 8 for ~100 steps, then drops
        ids = rng.integers(0, 8, (16, 12))
        logits = model(ids)
        loss = cross_entropy(logits[:, 2:].reshape(-1, 8), ids[:, :-2].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        ids = rng.integers(0, 8, (64, 12))
        acc = (model(ids).data[:, 2:].argmax(-1) == ids[:, :-2]).mean()
    assert loss.item() < 0.5 and acc > 0.9, f"loss {loss.item():.3f}, accuracy {acc:.2f} (chance: 0.125)"


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: parity with torch is checked where it is")
def test_block_matches_a_torch_block_forward_and_backward():
    import torch
    import torch.nn.functional as F
    D, H, F_, B, T = 16, 4, 48, 2, 5
    ours = TransformerBlock(D, H, F_, seed=0)
    rng = np.random.default_rng(0)
    for p in ours.parameters():
        p.data = rng.standard_normal(p.shape) * 0.4
    P = {name: torch.tensor(p.data, requires_grad=True) for name, p in ours.named_parameters()}

    def torch_block(x):
        h = F.layer_norm(x, (D,), P["ln1.gamma"], P["ln1.beta"], eps=1e-5)
        qkv = h @ P["attn.qkv.weight"] + P["attn.qkv.bias"]
        q, k, v = qkv.reshape(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, D)
        x = x + a @ P["attn.proj.weight"] + P["attn.proj.bias"]
        h = F.layer_norm(x, (D,), P["ln2.gamma"], P["ln2.beta"], eps=1e-5)
        h = F.gelu(h @ P["ffn.fc1.weight"] + P["ffn.fc1.bias"], approximate="tanh")
        return x + h @ P["ffn.fc2.weight"] + P["ffn.fc2.bias"]

    x = rng.standard_normal((B, T, D))
    xt = torch.tensor(x, requires_grad=True)
    xo = Tensor(x, dtype=np.float64, requires_grad=True)
    out, tout = ours(xo), torch_block(xt)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, P[name].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: parity with torch is checked where it is")
def test_layer_norm_module_matches_torch_float32():
    import torch
    x = np.random.default_rng(5).standard_normal((8, 10, 32)).astype(np.float32) * 3 + 1
    ln, tln = LayerNorm(32), torch.nn.LayerNorm(32)
    with torch.no_grad():
        tln.weight.copy_(torch.linspace(0.5, 1.5, 32)); tln.bias.copy_(torch.linspace(-1, 1, 32))
    ln.gamma.data[...] = tln.weight.detach().numpy(); ln.beta.data[...] = tln.bias.detach().numpy()
    xt = torch.tensor(x, requires_grad=True)
    xo = Tensor(x, requires_grad=True)
    out, tout = ln(xo), tln(xt)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ln.gamma.grad.data, tln.weight.grad.numpy(), rtol=1e-3, atol=1e-3)
