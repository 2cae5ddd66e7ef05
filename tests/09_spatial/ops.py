"Catalog entries for module 09: conv2d, max/avg pooling and flatten, against loop references and torch."
import numpy as np

from op_catalog import Op
from tinytorch.core.spatial import Flatten, avg_pool2d, conv2d, max_pool2d


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def conv_ref(x, w, b=None, stride=1, padding=0):
    "Convolution from its definition, one output position at a time."
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, _, kh, kw = w.shape
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow), dtype=np.result_type(x, w))
    for r in range(oh):
        for c in range(ow):
            patch = xp[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw]
            out[:, :, r, c] = np.einsum("nchw,ochw->no", patch, w)
    return out if b is None else out + b[None, :, None, None]


def pool_ref(x, kernel, stride=None, reduce=np.max):
    "Pooling from its definition, one window at a time."
    (kh, kw) = _pair(kernel)
    (sh, sw) = _pair(kernel if stride is None else stride)
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for r in range(oh):
        for c in range(ow):
            out[:, :, r, c] = reduce(x[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw], axis=(2, 3))
    return out


def _torch_conv(stride=1, padding=0):
    def f(x, w, b=None):
        import torch.nn.functional as F
        return F.conv2d(x, w, b, stride=stride, padding=padding)
    return f


def _torch_pool(kind, kernel, stride=None):
    def f(x):
        import torch.nn.functional as F
        return (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, kernel, stride)
    return f


OPS = [
    Op("conv2d", lambda x, w, b: conv2d(x, w, b), conv_ref, [(2, 3, 6, 5), (4, 3, 3, 3), (4,)],
       torch=_torch_conv()),
    Op("conv2d_nobias", lambda x, w: conv2d(x, w), conv_ref, [(2, 2, 5, 5), (3, 2, 2, 2)], torch=_torch_conv()),
    Op("conv2d_stride2_pad1", lambda x, w, b: conv2d(x, w, b, stride=2, padding=1),
       lambda x, w, b: conv_ref(x, w, b, 2, 1), [(2, 2, 7, 6), (3, 2, 3, 3), (3,)], torch=_torch_conv(2, 1)),
    Op("conv2d_same_pad", lambda x, w: conv2d(x, w, padding=2), lambda x, w: conv_ref(x, w, None, 1, 2),
       [(1, 3, 5, 5), (2, 3, 5, 5)], torch=_torch_conv(1, 2)),
    Op("conv2d_rect", lambda x, w: conv2d(x, w, stride=(2, 1), padding=(1, 2)),
       lambda x, w: conv_ref(x, w, None, (2, 1), (1, 2)), [(1, 2, 6, 4), (2, 2, 2, 3)],
       torch=_torch_conv((2, 1), (1, 2))),
    Op("conv2d_1x1", lambda x, w, b: conv2d(x, w, b), conv_ref, [(2, 4, 3, 3), (5, 4, 1, 1), (5,)],
       torch=_torch_conv()),
    Op("conv2d_const_input", lambda x, w, b: conv2d(x, w, b), conv_ref, [(2, 3, 5, 5), (2, 3, 3, 3), (2,)],
       grad_inputs=(1, 2), torch=_torch_conv()),
    Op("max_pool2d", lambda x: max_pool2d(x, 2), lambda x: pool_ref(x, 2), [(2, 3, 6, 6)],
       torch=_torch_pool("max", 2)),
    Op("max_pool2d_odd", lambda x: max_pool2d(x, 2), lambda x: pool_ref(x, 2), [(1, 2, 5, 7)],
       torch=_torch_pool("max", 2)),
    Op("max_pool2d_overlap", lambda x: max_pool2d(x, 3, stride=2), lambda x: pool_ref(x, 3, 2), [(2, 2, 7, 7)],
       torch=_torch_pool("max", 3, 2)),
    Op("max_pool2d_rect", lambda x: max_pool2d(x, (2, 3), stride=(1, 2)), lambda x: pool_ref(x, (2, 3), (1, 2)),
       [(1, 2, 5, 7)], torch=_torch_pool("max", (2, 3), (1, 2))),
    Op("avg_pool2d", lambda x: avg_pool2d(x, 2), lambda x: pool_ref(x, 2, reduce=np.mean), [(2, 3, 6, 6)],
       torch=_torch_pool("avg", 2)),
    Op("avg_pool2d_overlap", lambda x: avg_pool2d(x, 3, stride=1), lambda x: pool_ref(x, 3, 1, reduce=np.mean),
       [(2, 2, 5, 6)], torch=_torch_pool("avg", 3, 1)),
    Op("flatten", lambda x: Flatten()(x), lambda x: x.reshape(x.shape[0], -1), [(3, 2, 4, 5)],
       torch=lambda x: x.flatten(1)),
]
