"Catalog entries for module 01's ops (forward checked in 01, gradients in 02 where they become differentiable)."
import numpy as np

from op_catalog import Op

OPS = [
    Op("add", lambda a, b: a + b, np.add, [(3, 4), (3, 4)], torch=lambda a, b: a + b),
    Op("add_broadcast", lambda a, b: a + b, np.add, [(2, 3, 4), (4,)], torch=lambda a, b: a + b),
    Op("sub_broadcast", lambda a, b: a - b, np.subtract, [(3, 1), (1, 4)], torch=lambda a, b: a - b),
    Op("mul_broadcast", lambda a, b: a * b, np.multiply, [(2, 3), (2, 1)], torch=lambda a, b: a * b),
    Op("div", lambda a, b: a / b, np.divide, [(3, 4), (4,)], low=0.5, high=2.0, torch=lambda a, b: a / b),
    Op("rsub_scalar", lambda a: 2.0 - a, lambda a: 2.0 - a, [(5,)], torch=lambda a: 2.0 - a),
    Op("rdiv_scalar", lambda a: 1.0 / a, lambda a: 1.0 / a, [(5,)], low=0.5, torch=lambda a: 1.0 / a),
    Op("neg", lambda a: -a, np.negative, [(3, 2)], torch=lambda a: -a),
    Op("pow3", lambda a: a ** 3, lambda a: a ** 3, [(4,)], torch=lambda a: a ** 3),
    Op("pow_half", lambda a: a ** 0.5, np.sqrt, [(4,)], low=0.5, torch=lambda a: a ** 0.5),
    Op("matmul", lambda a, b: a @ b, np.matmul, [(3, 4), (4, 5)], torch=lambda a, b: a @ b),
    Op("matmul_batched", lambda a, b: a @ b, np.matmul, [(2, 3, 4), (4, 5)], torch=lambda a, b: a @ b),
    Op("matmul_batch_both", lambda a, b: a @ b, np.matmul, [(2, 1, 3, 4), (3, 4, 2)], torch=lambda a, b: a @ b),
    Op("matmul_vec", lambda a, b: a @ b, np.matmul, [(3, 4), (4,)], torch=lambda a, b: a @ b),
    Op("sum_all", lambda a: a.sum(), np.sum, [(3, 4)], torch=lambda a: a.sum()),
    Op("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), [(3, 4, 2)], torch=lambda a: a.sum(dim=1)),
    Op("sum_keepdims", lambda a: a.sum(axis=-1, keepdims=True), lambda a: a.sum(axis=-1, keepdims=True), [(3, 4)],
       torch=lambda a: a.sum(dim=-1, keepdim=True)),
    Op("mean_axis", lambda a: a.mean(axis=0), lambda a: a.mean(axis=0), [(3, 4)], torch=lambda a: a.mean(dim=0)),
    Op("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), [(3, 5)], torch=lambda a: a.amax(dim=1)),
    Op("reshape", lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6), [(2, 3, 4)], torch=lambda a: a.reshape(4, 6)),
    Op("transpose_last2", lambda a: a.transpose(), lambda a: np.swapaxes(a, -1, -2), [(2, 3, 4)],
       torch=lambda a: a.transpose(-1, -2)),
    Op("transpose_perm", lambda a: a.transpose(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)],
       torch=lambda a: a.permute(2, 0, 1)),
    Op("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(4, 5)], torch=lambda a: a[1:, ::2]),
    Op("getitem_gather", lambda a, i: a[i], lambda a, i: a[i], [(5, 3), (7,)], integer_inputs={1: (0, 5)},
       torch=lambda a, i: a[i]),
    Op("exp", lambda a: a.exp(), np.exp, [(3, 4)], torch=lambda a: a.exp()),
    Op("log", lambda a: a.log(), np.log, [(3, 4)], low=0.2, high=3.0, torch=lambda a: a.log()),
]
