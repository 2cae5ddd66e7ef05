"Catalog entries for module 13's fused ops: layer_norm and gelu_tanh."
import math

import numpy as np

from op_catalog import Op
from tinytorch.core.transformers import gelu_tanh, layer_norm


def _layer_norm(x, g, b, eps=1e-5):
    xc = x - x.mean(-1, keepdims=True)
    return xc / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps) * g + b


def _gelu_tanh(a):
    return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))


def _torch_layer_norm(x, g, b):
    import torch.nn.functional as F
    return F.layer_norm(x, (x.shape[-1],), g, b, eps=1e-5)


def _torch_gelu_tanh(a):
    import torch.nn.functional as F
    return F.gelu(a, approximate="tanh")


OPS = [
    Op("layer_norm", layer_norm, _layer_norm, [(2, 3, 6), (6,), (6,)], torch=_torch_layer_norm),
    Op("layer_norm_2d", layer_norm, _layer_norm, [(5, 4), (4,), (4,)], low=-5.0, high=5.0, torch=_torch_layer_norm),
    Op("transformers_gelu_tanh", gelu_tanh, _gelu_tanh, [(3, 7)], low=-4.0, high=4.0, torch=_torch_gelu_tanh),
]
