"""The catalog as a whole: every module's ops are listed once (each module's tests/NN_*/test_ops.py runs them),
and every function of the package that builds graph nodes is exercised by some catalog entry."""
import importlib
import pkgutil
import sys
import types

import numpy as np

import tinytorch
from op_catalog import TESTS, all_ops, central_differences


def test_catalog_names_are_unique_and_cover_the_core():
    names = [op.name for op in all_ops()]
    assert len(names) == len(set(names)), "op names are unique across modules"
    assert {"add", "matmul", "sum_axis", "getitem_gather", "exp", "log"} <= set(names)


def test_every_ops_file_has_a_driver():
    for ops in TESTS.glob("*/ops.py"):
        assert (ops.parent / "test_ops.py").is_file(), f"{ops} needs a test_ops.py that runs the catalog's tests"


def test_central_differences_is_an_independent_oracle():
    "The oracle itself: d/dx sum(w * x**2) = 2wx, d/dy sum(w * x*y) = w*x."
    x, y = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    w = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(central_differences(lambda a: a * a, [x], 0, w), 2 * w * x, atol=1e-7)
    np.testing.assert_allclose(central_differences(lambda a, b: a * b, [x, y], 1, w), w * x, atol=1e-7)


def _contains(code, target):
    "Whether `target` is `code` or a function defined (at any depth) inside it."
    return code is target or any(isinstance(c, types.CodeType) and _contains(c, target) for c in code.co_consts)


def test_every_op_that_builds_graph_nodes_is_in_the_catalog(monkeypatch):
    for info in pkgutil.walk_packages(tinytorch.__path__, "tinytorch."):
        importlib.import_module(info.name)  # find_ops looks at the loaded modules: load them all
    from tinytorch.core.autograd import Tensor
    from tinytorch.core.profiling import find_ops

    callers = set()  # the code objects that called Tensor.from_op while the catalog ran
    from_op = Tensor.from_op.__func__

    def recording_from_op(cls, data, parents, backward):
        callers.add(sys._getframe(1).f_code)
        return from_op(cls, data, parents, backward)
    monkeypatch.setattr(Tensor, "from_op", classmethod(recording_from_op))
    for op in all_ops():
        arrays = op.inputs(seed=5)
        grad_idx = set(op.differentiable())
        op.fn(*[Tensor(a, dtype=a.dtype, requires_grad=i in grad_idx) for i, a in enumerate(arrays)])

    missing = sorted(f"{getattr(owner, '__name__', owner)}.{attr}" for owner, attr, fn, _ in find_ops()
                     if not any(_contains(fn.__code__, code) for code in callers))
    assert not missing, ("these functions build graph nodes but no catalog entry runs them; add an Op to the "
                         f"tests/NN_*/ops.py of the module that defines each: {missing}")
