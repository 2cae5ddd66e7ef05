"Catalog entries for module 04's fused op: linear(x, W, b) = x @ W + b as one graph node."
import numpy as np

from op_catalog import Op
from tinytorch.core.layers import linear

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
]
