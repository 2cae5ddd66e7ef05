"Catalog entries for module 13's fused op layer_norm (gelu_tanh, from module 03, is in 03's catalog)."
import numpy as np

from op_catalog import Op
from tinytorch.core.transformers import layer_norm


def _layer_norm(x, g, b, eps=1e-5):
    xc = x - x.mean(-1, keepdims=True)
    return xc / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps) * g + b


def _torch_layer_norm(x, g, b):
    import torch.nn.functional as F
    return F.layer_norm(x, (x.shape[-1],), g, b, eps=1e-5)


OPS = [
    Op("layer_norm", layer_norm, _layer_norm, [(2, 3, 6), (6,), (6,)], torch=_torch_layer_norm),
    Op("layer_norm_2d", layer_norm, _layer_norm, [(5, 4), (4,), (4,)], low=-5.0, high=5.0, torch=_torch_layer_norm),
]
