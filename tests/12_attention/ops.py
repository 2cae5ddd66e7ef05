"Catalog entries for module 12's ops: masked softmax, fused scaled dot-product attention, fused multi-head attention."
import math

import numpy as np

from op_catalog import Op
from tinytorch.core.attention import masked_softmax, multi_head_attention, scaled_dot_product_attention

CAUSAL4 = np.tri(4, dtype=bool)
KEYMASK = np.array([[True, False, True, True, False]])             # (1, 5): keys 1 and 4 masked
EMPTY_ROW = np.array([[True, True, False], [False, False, False], [False, True, True]])
LENGTHS_MASK = np.array([[[True, True, True, True]], [[True, True, False, False]]])  # (2, 1, 4): lengths 4 and 2


def _softmax(s, mask):
    "Masked softmax row by row, from its definition: kept entries share 1 in proportion to exp; masked get 0."
    s, keep = np.broadcast_arrays(s, mask)
    out = np.zeros(s.shape)
    for row in np.ndindex(s.shape[:-1]):
        kept = s[row][keep[row]].astype(np.float64)
        if kept.size:  # a row with every key masked stays all zeros
            e = np.exp(kept - kept.max())
            out[row][keep[row]] = e / e.sum()
    return out


def _attention(q, k, v, mask):
    return _softmax(q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]), mask) @ v


def _mha_ref(qkv, h, mask):
    "Multi-head attention with the heads cut out one by one: head j is columns j*hd:(j+1)*hd of q, of k, of v."
    D = qkv.shape[-1] // 3
    hd = D // h

    def heads(part):  # (B, T, D) -> (B, h, T, hd)
        return np.stack([part[..., j * hd:(j + 1) * hd] for j in range(h)], axis=1)
    out = _attention(heads(qkv[..., :D]), heads(qkv[..., D:2 * D]), heads(qkv[..., 2 * D:]), mask)
    return np.concatenate([out[:, j] for j in range(h)], axis=-1)


def _torch_softmax(mask):
    def fn(s):
        import torch
        return torch.softmax(s.masked_fill(~torch.tensor(mask), float("-inf")), dim=-1)
    return fn


def _torch_sdpa(mask):
    def fn(q, k, v):
        import torch.nn.functional as F
        import torch
        return F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask))
    return fn


def _torch_mha(h, mask):
    def fn(qkv):
        import torch
        import torch.nn.functional as F
        B, T, D3 = qkv.shape
        q, k, v = qkv.reshape(B, T, 3, h, D3 // 3 // h).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask))
        return out.transpose(1, 2).reshape(B, T, D3 // 3)
    return fn


OPS = [
    Op("masked_softmax", lambda s: masked_softmax(s, CAUSAL4), lambda s: _softmax(s, CAUSAL4), [(2, 4, 4)],
       torch=_torch_softmax(CAUSAL4)),
    Op("masked_softmax_empty_row", lambda s: masked_softmax(s, EMPTY_ROW), lambda s: _softmax(s, EMPTY_ROW),
       [(2, 3, 3)]),
    Op("sdpa_causal", lambda q, k, v: scaled_dot_product_attention(q, k, v, CAUSAL4)[0],
       lambda q, k, v: _attention(q, k, v, CAUSAL4), [(2, 4, 3), (2, 4, 3), (2, 4, 5)], torch=_torch_sdpa(CAUSAL4)),
    Op("sdpa_key_mask_heads", lambda q, k, v: scaled_dot_product_attention(q, k, v, KEYMASK)[0],
       lambda q, k, v: _attention(q, k, v, KEYMASK), [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4)],
       torch=_torch_sdpa(KEYMASK)),
    Op("sdpa_shared_kv", lambda q, k, v: scaled_dot_product_attention(q, k, v)[0],
       lambda q, k, v: _attention(q, k, v, True), [(3, 2, 4), (5, 4), (5, 2)],
       torch=_torch_sdpa(np.ones((2, 5), dtype=bool))),
    Op("multi_head_attention_causal", lambda t: multi_head_attention(t, 2, causal=True)[0],
       lambda t: _mha_ref(t, 2, CAUSAL4), [(2, 4, 12)], torch=_torch_mha(2, CAUSAL4)),
    Op("multi_head_attention_padding", lambda t: multi_head_attention(t, 3, mask=LENGTHS_MASK)[0],
       lambda t: _mha_ref(t, 3, LENGTHS_MASK[:, None]), [(2, 4, 18)], torch=_torch_mha(3, LENGTHS_MASK[:, None])),
]
