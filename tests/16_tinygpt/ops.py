"Catalog entries for module 16: the next-token loss (shifted targets) and the tied output projection."
import numpy as np

from op_catalog import Op
from tinytorch.core.layers import linear
from tinytorch.models.tinygpt import LanguageModelLoss


def _lm_loss(z, tokens):
    logp = z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)
    B, T = tokens.shape
    return np.asarray(-np.mean([logp[b, t, tokens[b, t + 1]] for b in range(B) for t in range(T - 1)]),
                      dtype=z.dtype)


def _torch_lm_loss(z, tokens):
    import torch.nn.functional as F
    return F.cross_entropy(z[:, :-1].reshape(-1, z.shape[-1]), tokens[:, 1:].reshape(-1))


def _lm_loss_next(z, window):
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return np.asarray(-np.mean(np.take_along_axis(logp, window[:, 1:, None], -1)), dtype=z.dtype)


def _torch_lm_loss_next(z, window):
    import torch.nn.functional as F
    return F.cross_entropy(z.reshape(-1, z.shape[-1]), window[:, 1:].reshape(-1))


OPS = [
    Op("lm_loss_shifted", lambda z, t: LanguageModelLoss()(z, t), _lm_loss, [(2, 5, 7), (2, 5)],
       integer_inputs={1: (0, 7)}, torch=_torch_lm_loss),
    Op("lm_loss_with_next_token", lambda z, t: LanguageModelLoss()(z, t), _lm_loss_next, [(2, 4, 5), (2, 5)],
       integer_inputs={1: (0, 5)}, torch=_torch_lm_loss_next),
    Op("tied_output_projection", lambda h, w: linear(h, w.transpose()), lambda h, w: h @ w.T, [(2, 3, 4), (6, 4)],
       torch=lambda h, w: h @ w.T),
]
