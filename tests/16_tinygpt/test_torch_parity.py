"""The whole TinyGPT against an independent PyTorch implementation of the same model (this file only):
same weights, same batch -> the same loss and the same gradient for every parameter.

Run in float64 so that a mismatch means a bug, not rounding; skipped only where torch is not installed.
"""
import numpy as np
import pytest

from op_catalog import HAS_TORCH
from tinytorch.models.tinygpt import LanguageModelLoss, TinyGPT

pytestmark = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: the parity check runs where it is")


def torch_tinygpt_loss(params, ids, cfg):
    """Loss of TinyGPT written directly in PyTorch from a dict of parameters (tinytorch layout: Linear
    weights (in, out)): token + learned positions, pre-LN blocks with causal multi-head attention
    (fused qkv split as (B, T, 3, H, d_head)) and a tanh-GELU MLP, final LayerNorm, output tied to the
    token embedding, mean cross-entropy of position t against token t+1."""
    import torch
    import torch.nn.functional as F
    B, T = ids.shape
    D, H = cfg["d_model"], cfg["n_heads"]
    hd = D // H

    def ln(x, name):
        return F.layer_norm(x, (D,), params[name + ".gamma"], params[name + ".beta"], eps=1e-5)

    def lin(x, name):
        return x @ params[name + ".weight"] + params[name + ".bias"]

    x = params["tok_emb.weight"][ids] + params["pos_emb.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(cfg["n_layers"]):
        p = f"blocks.{i}."
        qkv = lin(ln(x, p + "ln1"), p + "attn.qkv").reshape(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-1, -2)) / hd ** 0.5
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (weights @ v).transpose(1, 2).reshape(B, T, D)
        x = x + lin(y, p + "attn.proj")
        h = F.gelu(lin(ln(x, p + "ln2"), p + "ffn.fc1"), approximate="tanh")
        x = x + lin(h, p + "ffn.fc2")
    logits = ln(x, "ln_f") @ params["tok_emb.weight"].T
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


@pytest.mark.parametrize("cfg", [dict(vocab_size=23, d_model=32, n_layers=2, n_heads=4, d_ff=64, max_len=16),
                                 dict(vocab_size=65, d_model=48, n_layers=3, n_heads=3, d_ff=96, max_len=24)])
def test_loss_and_every_gradient_match_pytorch(cfg):
    import torch
    model = TinyGPT(**cfg, dropout=0.0, seed=3)
    for p in model.parameters():                    # float64: differences are bugs, not rounding
        p.data = p.data.astype(np.float64)
    rng = np.random.default_rng(0)
    for p in model.parameters():                    # non-trivial LayerNorm gains/biases and Linear biases
        if p.ndim == 1:
            p.data = p.data + rng.normal(0, 0.1, p.shape)
    ids = rng.integers(0, cfg["vocab_size"], (4, cfg["max_len"]))

    model.zero_grad()
    loss = LanguageModelLoss()(model(ids), ids)
    assert loss.dtype == np.float64
    loss.backward()

    params = {n: torch.tensor(p.data, requires_grad=True) for n, p in model.named_parameters()}
    tloss = torch_tinygpt_loss(params, torch.tensor(ids), cfg)
    tloss.backward()

    np.testing.assert_allclose(float(loss.data), tloss.item(), rtol=1e-10)
    assert set(params) == {n for n, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        want = params[name].grad.numpy()
        got = p.grad.data
        assert got.shape == want.shape, name
        scale = np.abs(want).max()
        assert scale > 0, f"{name}: torch gives a zero gradient, the check would be empty"
        # within 1e-4 relative, element-wise, relative to the gradient's scale for elements near zero
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-8 * scale, err_msg=name)


def test_float32_model_matches_pytorch_float32():
    import torch
    cfg = dict(vocab_size=30, d_model=32, n_layers=2, n_heads=4, d_ff=64, max_len=20)
    model = TinyGPT(**cfg, dropout=0.0, seed=5)
    ids = np.random.default_rng(1).integers(0, 30, (3, 20))
    model.zero_grad()
    loss = LanguageModelLoss()(model(ids), ids)
    loss.backward()
    params = {n: torch.tensor(p.data, requires_grad=True) for n, p in model.named_parameters()}
    tloss = torch_tinygpt_loss(params, torch.tensor(ids), cfg)
    tloss.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(float(loss.data), tloss.item(), rtol=1e-5)
    for name, p in model.named_parameters():
        want = params[name].grad.numpy()
        np.testing.assert_allclose(p.grad.data, want, rtol=2e-3, atol=2e-4 * np.abs(want).max(), err_msg=name)
