"""The catalog of differentiable ops: one entry per op drives forward, gradient and torch-parity tests.

Each module adds its ops in `tests/NN_name/ops.py` as a list `OPS` of `Op`; `all_ops()` gathers them.
Each module's tests need only that module and the ones before it: 01's ops get forward checks in 01
(`make_forward_tests`) and their gradient checks in 02 (`make_gradient_tests`), which makes them differentiable.
Gradients are checked against central differences written here, not against the package's own `gradcheck`.
"""
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

TESTS = Path(__file__).parent


@dataclass
class Op:
    "One differentiable op: how tinytorch computes it, a numpy reference, and input shapes to try."
    name: str
    fn: Callable                      # tinytorch: Tensors in, Tensor out
    ref: Callable                     # numpy: arrays in, array out
    shapes: list                      # one shape per input
    torch: Optional[Callable] = None  # torch: tensors in, tensor out (parity check when torch is installed)
    low: float = -2.0                 # inputs are drawn uniformly from [low, high]
    high: float = 2.0
    grad_inputs: Optional[tuple] = None  # indices of inputs to differentiate (default: all)
    integer_inputs: dict = field(default_factory=dict)  # index -> (low, high) for integer (index) inputs

    def inputs(self, seed=0, dtype=np.float64):
        "Random numpy inputs for this op (integer inputs as int64)."
        rng = np.random.default_rng(seed)
        out = []
        for i, shape in enumerate(self.shapes):
            if i in self.integer_inputs:
                lo, hi = self.integer_inputs[i]
                out.append(rng.integers(lo, hi, size=shape))
            else:
                out.append(rng.uniform(self.low, self.high, size=shape).astype(dtype))
        return out

    def differentiable(self):
        idx = self.grad_inputs if self.grad_inputs is not None else range(len(self.shapes))
        return [i for i in idx if i not in self.integer_inputs]


def _load(path):
    spec = importlib.util.spec_from_file_location(f"ops_{path.parent.name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.OPS


def all_ops():
    "Every op of every module, in module order."
    return [op for path in sorted(TESTS.glob("*/ops.py")) for op in _load(path)]


def module_ops(slug):
    "The ops one module adds (tests/<slug>/ops.py)."
    return _load(TESTS / slug / "ops.py")


HAS_TORCH = importlib.util.find_spec("torch") is not None


def central_differences(fn, arrays, index, weights, eps=1e-6):
    """The gradient of `sum(weights * fn(*arrays))` with respect to `arrays[index]`, by central differences.

    Written here, independent of the package (its own `gradcheck` is an exercise and could hide its own bug):
    each element is nudged by ±eps in float64 and the op is evaluated on fresh Tensors that record no graph.
    """
    from tinytorch.core.tensor import Tensor

    def weighted_sum(xs):
        out = fn(*[Tensor(a, dtype=a.dtype) for a in xs])
        return float(np.sum(weights * np.asarray(out.data, dtype=np.float64)))

    arrays = [np.array(a) for a in arrays]  # private copies to nudge
    x = arrays[index]
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = weighted_sum(arrays)
        x[idx] = old - eps
        down = weighted_sum(arrays)
        x[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def _tensors(Tensor, op, arrays, requires_grad):
    grad_idx = set(op.differentiable())
    return [Tensor(a, dtype=a.dtype, requires_grad=requires_grad and i in grad_idx) for i, a in enumerate(arrays)]


def make_forward_tests(slug):
    """Forward values against numpy for one module's ops, needing nothing past that module:

        globals().update(make_forward_tests("01_tensor"))
    """
    import pytest
    from tinytorch.core.tensor import Tensor
    OPS = module_ops(slug)

    @pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
    def test_forward_matches_numpy(op):
        arrays = op.inputs(dtype=np.float32)
        out = op.fn(*_tensors(Tensor, op, arrays, requires_grad=False))
        want = op.ref(*arrays)
        assert isinstance(out, Tensor) and out.shape == np.shape(want)
        if np.asarray(want).dtype.kind == "f":
            assert out.dtype == np.float32, f"{op.name}: float32 in must give float32 out, got {out.dtype}"
        np.testing.assert_allclose(out.data, want, rtol=1e-4, atol=1e-5, err_msg=f"{op.name}: forward value")

    return {"test_forward_matches_numpy": test_forward_matches_numpy}


def make_gradient_tests(slug):
    """Gradients (against central differences) and torch parity for one module's ops; they need autograd
    (module 02), so they run in the tests of 02 for 01's ops, and in a module's own tests from 02 on:

        globals().update(make_gradient_tests("01_tensor"))
    """
    import pytest
    from tinytorch.core.autograd import Tensor
    OPS = module_ops(slug)

    @pytest.mark.parametrize("op", [op for op in OPS if op.differentiable()], ids=lambda op: op.name)
    def test_gradient_matches_central_differences(op):
        arrays = op.inputs(seed=1)  # float64: central differences are accurate to ~1e-9 there
        inputs = _tensors(Tensor, op, arrays, requires_grad=True)
        out = op.fn(*inputs)
        weights = np.random.default_rng(4).standard_normal(out.shape)
        out.backward(weights.astype(out.dtype))  # the gradient of sum(weights * out)
        for i in op.differentiable():
            assert inputs[i].grad is not None, f"{op.name}: backward() left input {i} without a gradient"
            want = central_differences(op.fn, arrays, i, weights)
            np.testing.assert_allclose(inputs[i].grad.data, want, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{op.name}: gradient of input {i} against central differences")

    @pytest.mark.skipif(not HAS_TORCH, reason="torch not installed: parity with torch is checked where it is")
    @pytest.mark.parametrize("op", [op for op in OPS if op.torch], ids=lambda op: op.name)
    def test_matches_torch(op):
        import torch
        arrays = op.inputs(seed=2)
        ours = _tensors(Tensor, op, arrays, requires_grad=True)
        theirs = [torch.tensor(a, requires_grad=i in op.differentiable()) for i, a in enumerate(arrays)]
        out, tout = op.fn(*ours), op.torch(*theirs)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6, atol=1e-8)
        w = np.random.default_rng(3).standard_normal(out.shape)
        out.backward(w)
        tout.backward(torch.tensor(w))
        for i in op.differentiable():
            np.testing.assert_allclose(ours[i].grad.data, theirs[i].grad.numpy(), rtol=1e-6, atol=1e-8,
                                       err_msg=f"{op.name}: gradient of input {i}")

    return {"test_gradient_matches_central_differences": test_gradient_matches_central_differences,
            "test_matches_torch": test_matches_torch}


def make_tests(slug):
    "Forward, gradient and torch tests for the ops of a module that is 02 or later."
    return {**make_forward_tests(slug), **make_gradient_tests(slug)}
