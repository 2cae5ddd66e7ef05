"Catalog entries for module 03's activations (each a single fused op)."
import math

import numpy as np

from op_catalog import Op
from tinytorch.core.activations import gelu, gelu_tanh, log_softmax, relu, sigmoid, softmax, tanh

_erf = np.vectorize(math.erf)


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a, axis=-1):
    z = a - a.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _gelu_tanh(a):
    return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))


def _torch_gelu(approximate):
    def fn(a):
        import torch.nn.functional as F
        return F.gelu(a, approximate=approximate)
    return fn


def _torch(name, **kw):
    def fn(a):
        import torch
        return getattr(torch, name)(a, **kw)
    return fn


OPS = [
    Op("relu", relu, lambda a: np.maximum(a, 0), [(3, 4)], torch=_torch("relu")),
    Op("sigmoid", sigmoid, lambda a: 1 / (1 + np.exp(-a)), [(3, 4)], low=-6, high=6, torch=_torch("sigmoid")),
    Op("tanh", tanh, np.tanh, [(2, 5)], low=-3, high=3, torch=_torch("tanh")),
    Op("gelu", gelu, lambda a: a * 0.5 * (1 + _erf(a / math.sqrt(2))).astype(a.dtype), [(3, 4)], low=-4, high=4,
       torch=_torch_gelu("none")),
    Op("gelu_tanh", lambda a: gelu(a, approximate="tanh"), _gelu_tanh, [(3, 4)], low=-4, high=4,
       torch=_torch_gelu("tanh")),
    Op("gelu_tanh_fused", gelu_tanh, _gelu_tanh, [(3, 7)], low=-4, high=4, torch=_torch_gelu("tanh")),
    Op("softmax", softmax, _softmax, [(3, 5)], low=-4, high=4, torch=_torch("softmax", dim=-1)),
    Op("softmax_axis1", lambda a: softmax(a, axis=1), lambda a: _softmax(a, axis=1), [(2, 3, 4)],
       low=-4, high=4, torch=_torch("softmax", dim=1)),
    Op("log_softmax", log_softmax, _log_softmax, [(3, 5)], low=-4, high=4, torch=_torch("log_softmax", dim=-1)),
    Op("log_softmax_axis0", lambda a: log_softmax(a, axis=0), lambda a: _log_softmax(a, axis=0), [(4, 3, 2)],
       low=-4, high=4, torch=_torch("log_softmax", dim=0)),
]
