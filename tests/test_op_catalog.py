"The catalog as a whole: every module's ops are listed once (each module's tests/NN_*/test_ops.py runs them)."
from pathlib import Path

from op_catalog import TESTS, all_ops


def test_catalog_names_are_unique_and_cover_the_core():
    names = [op.name for op in all_ops()]
    assert len(names) == len(set(names)), "op names are unique across modules"
    assert {"add", "matmul", "sum_axis", "getitem_gather", "exp", "log"} <= set(names)


def test_every_ops_file_has_a_driver():
    for ops in TESTS.glob("*/ops.py"):
        assert (ops.parent / "test_ops.py").is_file(), f"{ops} needs a test_ops.py that runs make_tests()"
