"Catalog entries for module 05's losses (each a single fused op)."
import numpy as np

from op_catalog import Op
from tinytorch.core.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss


def _ce_ref(logits, targets, ignore_index=None, label_smoothing=0.0):
    """Cross-entropy from its definition, one row at a time (written unlike the exercise on purpose): the mean
    over the rows that count of -sum_k q_k log p_k, p the row's softmax, q the smoothed one-hot target."""
    c = logits.shape[-1]
    total, counted = 0.0, 0
    for row, target in zip(logits.reshape(-1, c).astype(np.float64), targets.reshape(-1)):
        if target == ignore_index:
            continue
        log_p = row - np.logaddexp.reduce(row)
        q = np.full(c, label_smoothing / c)
        q[target] += 1 - label_smoothing
        total -= q @ log_p
        counted += 1
    return np.float64(total / max(counted, 1))


def _torch_ce(**kw):
    def fn(logits, targets):
        import torch.nn.functional as F
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), **kw)
    return fn


def _torch_bce(logits, targets):
    import torch.nn.functional as F
    return F.binary_cross_entropy_with_logits(logits, targets * 0.25 + 0.5)


def _torch_mse(pred, target):
    import torch.nn.functional as F
    return F.mse_loss(pred, target)


def _bce_ref(x, t):
    t = t * 0.25 + 0.5
    return np.mean(np.maximum(x, 0) - t * x + np.log1p(np.exp(-np.abs(x))))


OPS = [
    Op("mse_loss", mse_loss, lambda p, t: np.mean((p - t) ** 2), [(3, 4), (3, 4)], torch=_torch_mse),
    Op("cross_entropy", cross_entropy, _ce_ref, [(6, 5), (6,)], low=-4, high=4, integer_inputs={1: (0, 5)},
       torch=_torch_ce()),
    Op("cross_entropy_3d", cross_entropy, _ce_ref, [(2, 3, 4), (2, 3)], low=-4, high=4,
       integer_inputs={1: (0, 4)}, torch=_torch_ce()),
    Op("cross_entropy_ignore", lambda x, t: cross_entropy(x, t, ignore_index=1),
       lambda x, t: _ce_ref(x, t, ignore_index=1), [(8, 4), (8,)], low=-4, high=4,
       integer_inputs={1: (0, 4)}, torch=_torch_ce(ignore_index=1)),  # every seed used draws some 1s
    Op("cross_entropy_smoothing", lambda x, t: cross_entropy(x, t, label_smoothing=0.1),
       lambda x, t: _ce_ref(x, t, label_smoothing=0.1), [(5, 6), (5,)], low=-4, high=4,
       integer_inputs={1: (0, 6)}, torch=_torch_ce(label_smoothing=0.1)),
    Op("cross_entropy_ignore_smoothing", lambda x, t: cross_entropy(x, t, ignore_index=2, label_smoothing=0.25),
       lambda x, t: _ce_ref(x, t, ignore_index=2, label_smoothing=0.25), [(3, 4, 5), (3, 4)], low=-4, high=4,
       integer_inputs={1: (0, 5)}, torch=_torch_ce(ignore_index=2, label_smoothing=0.25)),
    # targets are drawn in [-2, 2] and mapped to [0, 1] inside the op (through autograd's * and +)
    Op("bce_with_logits", lambda x, t: binary_cross_entropy_with_logits(x, t * 0.25 + 0.5), _bce_ref,
       [(3, 4), (3, 4)], torch=_torch_bce),
]
