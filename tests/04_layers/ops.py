"Catalog entries for module 04's graph-building ops: linear(x, W, b) = x @ W + b as one node, and dropout."
import numpy as np

from op_catalog import Op
from tinytorch.core.layers import Dropout, linear
from tinytorch.core.tensor import Tensor


def _dropout(a):
    "Dropout in training mode with a fixed seed, so every call (central differences make many) drops the same elements."
    return Dropout(0.5, seed=0)(a)


def _dropout_ref(a):
    "The input where the same dropout keeps a one, scaled by 1 / (1 - p) = 2, else 0."
    kept = _dropout(Tensor(np.ones(a.shape, dtype=a.dtype), dtype=a.dtype)).data != 0
    return np.where(kept, a * 2, 0).astype(a.dtype)

OPS = [
    Op("linear", lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [(4, 3), (3, 5), (5,)],
       torch=lambda x, w, b: x @ w + b),
    Op("linear_3d", lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [(2, 3, 4), (4, 2), (2,)],
       torch=lambda x, w, b: x @ w + b),
    Op("linear_nobias", lambda x, w: linear(x, w), np.matmul, [(5, 3), (3, 2)], torch=lambda x, w: x @ w),
    Op("linear_vector", lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [(3,), (3, 4), (4,)],
       torch=lambda x, w, b: x @ w + b),
    Op("linear_const_input", lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [(4, 3), (3, 2), (2,)],
       grad_inputs=(1, 2), torch=lambda x, w, b: x @ w + b),
    Op("dropout_train", _dropout, _dropout_ref, [(4, 6)]),
]
