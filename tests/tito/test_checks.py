"""tito.checks (what graded cells are written with) and tito.grading.probes (how the grader splits and judges them)."""
import json

import numpy as np
import pytest

from tito import checks
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that
from tito.grading import probes


def roundtrip(v):
    return checks.decode(json.loads(json.dumps(checks.encode(checks.plain(v)))))


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.array([True, False]), np.int64(3), 2.5,
                                   float("nan"), "text", b"\x00\x01", None, (1, [2.0, "a"]), {"k": (1, 2)},
                                   np.dtype("float32"), np.float32, 1 + 2j, np.array(["a", "bc"])])
def test_plain_values_survive_the_trip_out_of_the_kernel(value):
    assert checks.compare(roundtrip(value), checks.plain(value)) is None


class Liar:
    "Claims to be an ndarray, equal to anything, and reads the caller's frame: the attack of issue 10."
    @property
    def __class__(self):
        return np.ndarray

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        import sys
        frame = sys._getframe(1)
        return np.asarray(frame.f_locals.get("expected", 0))


class Sub(np.ndarray):
    pass


class Tensor:
    data = np.ones(2)


@pytest.mark.parametrize("value, rigged, words", [
    (Liar(), True, "claims to be ndarray"),
    (np.ones(2).view(Sub), False, "Sub"),
    (np.array([1, "a"], dtype=object), False, "dtype object"),
    (Tensor(), False, "use its .data"),
    ([1, Liar()], True, "claims"),
])
def test_anything_but_plain_data_is_refused_without_running_its_code(value, rigged, words):
    with pytest.raises(checks.NotPlain) as err:
        checks.plain(value)
    assert err.value.rigged is rigged and words in str(err.value)


def test_checks_in_the_notebook_name_what_broke():
    with pytest.raises(AssertionError, match=r"^Tensor.__mul__: expected shape \(5, 4, 3\), got \(5, 1, 3\)"):
        expect_equal(np.zeros((5, 1, 3)), np.ones((5, 4, 3)), "Tensor.__mul__")
    with pytest.raises(AssertionError, match=r"relu: 1 of 3 values differ; at index \[2\] expected 4"):
        expect_equal(np.array([1.0, 2.0, 3.0]), [1, 2, 4], "relu")
    with pytest.raises(AssertionError, match="expected a tuple"):
        expect_equal([2, 3], (2, 3), "Tensor.shape")
    with pytest.raises(AssertionError, match="expected dtype"):
        expect_equal(np.dtype("float64"), np.float32, "Tensor dtype")
    with pytest.raises(AssertionError, match="claims to be ndarray"):
        expect_equal(Liar(), [1.0], "zeros")
    with pytest.raises(AssertionError, match="should mention \\(4, 5\\)"):
        with expect_raises(ValueError, "matmul", mentions=["(4, 5)"]):
            raise ValueError("bad (2, 3)")
    with pytest.raises(AssertionError, match="expected ValueError, got TypeError"):
        with expect_raises(ValueError, "matmul"):
            raise TypeError("nope")
    with pytest.raises(AssertionError, match="nothing was raised"):
        with expect_raises(ValueError, "matmul"):
            pass
    with pytest.raises(AssertionError, match="fit: the loss goes down"):
        expect_that([1.0, 2.0], lambda v: v[-1] < v[0], "fit", "the loss goes down")
    with pytest.raises(AssertionError, match="backward"):
        expect_agree(np.ones(2), np.zeros(2), "backward")
    expect_equal(np.float32(0.1), 0.1, "item", rtol=1e-6)
    expect_equal(np.ones(3, np.float32), [1, 1, 1], "ones")
    expect_equal(np.float32, np.dtype("float32"), "dtype")


CELL = '''
x = Tensor(np.ones((2, 3)))
expect_equal((x * 2).data, [[2.0] * 3] * 2, "Tensor.__mul__")
### BEGIN HIDDEN TESTS
ref = np.zeros((10, 10), np.int64)
for p, t in zip(*np.indices((2, 2))):
    ref[t, p] += 1
expect_equal(confusion(x), ref, "confusion_matrix (10 classes)", rtol=1e-3)
with expect_raises(ValueError, "Tensor @ Tensor", mentions=["(2, 3)", "(4, 5)"]):
    x @ Tensor(np.ones((4, 5)))
expect_that(x.data.sum(), lambda v: v == 6, "Tensor.sum", "adds every element")
expect_agree(x.grad, secret_numerical(x), "backward")
### END HIDDEN TESTS
'''


def test_the_kernel_gets_probes_and_no_expected_value():
    cut = probes.split(CELL, "01-x", later_names={"x"})
    assert cut.problems == []
    kernel = cut.kernel
    assert "expect_" not in kernel and "2.0" not in kernel and "ref" not in kernel and "mentions" not in kernel
    assert "(4, 5)" not in kernel.split("with")[0] and "v == 6" not in kernel and "adds every" not in kernel
    assert "__tito_probe__('01-x:0', (x * 2).data)" in kernel
    assert "with __tito_raises__('01-x:2'):" in kernel
    assert "__tito_probe__('01-x:4', (x.grad, secret_numerical(x)))" in kernel
    kinds = [(c.kind, c.hidden) for c in cut.checks]
    assert kinds == [("equal", False), ("equal", True), ("raises", True), ("that", True), ("agree", True)]
    assert cut.checks[1].rtol == 1e-3 and cut.checks[2].mentions == ("(2, 3)", "(4, 5)")


@pytest.mark.parametrize("src, words", [
    ("assert f(1) == 2", "bare `assert`"),
    ("try:\n    f()\nexcept ValueError:\n    pass", "`try`"),
    ("np.testing.assert_allclose(f(), 1)", "numpy.testing"),
    ("raise AssertionError('no')", "`raise`"),
    ("expect_equal(f(), 1, what)", "must be a literal"),
    ("x = expect_equal(f(), 1)", "statement of its own"),
    ("expect_that(f(), lambda v: v == expected, 'f')", "not expected"),
    ("with expect_raises(MyError, 'f'):\n    f()", "built-in exception"),
    ("expect_raises(ValueError, 'f')", "context manager"),
])
def test_what_cannot_be_graded_safely_is_named(src, words):
    problems = probes.split(src, "01-x").problems
    assert problems and words in problems[0], problems


def rec(k, value):
    return {"k": k, "value": checks.encode(checks.plain(value))}


def test_the_grader_judges_plain_data_against_the_reference():
    cut = probes.split(CELL, "01-x")
    c = cut.checks
    ref = {c[0].id: [rec(c[0].id, np.full((2, 3), 2.0))], c[1].id: [rec(c[1].id, np.eye(2))],
           c[2].id: [{"k": c[2].id, "raised": ["ValueError", "Exception"], "message": "(2, 3) @ (4, 5)"}],
           c[3].id: [rec(c[3].id, 6.0)], c[4].id: [rec(c[4].id, (np.ones(2), np.ones(2)))]}
    good = [r for k in ref for r in ref[k]]
    assert probes.judge_cell(c, good, ref, "ok", "01-x").passed
    # a rigged object: 0, flagged, and the student's words quote nothing from the kernel
    rigged = [{"k": c[0].id, "notplain": "a __main__.Liar that claims to be ndarray", "rigged": True}] + good[1:]
    v = probes.judge_cell(c, rigged, ref, "ok", "01-x")
    assert not v.passed and v.tampering and "Liar" not in " ".join(v.student)
    # a wrong value in a hidden check: the student is told only that a hidden check failed
    wrong = good[:1] + [rec(c[1].id, np.eye(2) * 2)] + good[2:]
    v = probes.judge_cell(c, wrong, ref, "ok", "01-x")
    assert not v.passed and v.student == ["a hidden check of this cell did not pass (hidden checks are not shown)"]
    # a message that does not name the shapes; an exception of the wrong class; nothing raised
    for bad in ({"raised": ["ValueError"], "message": "shapes differ"}, {"raised": ["TypeError"], "message": "(2, 3) (4, 5)"},
                {"value": {"raised": None}}):
        v = probes.judge_cell(c, good[:2] + [{"k": c[2].id, **bad}] + good[3:], ref, "ok", "01-x")
        assert not v.passed
    # forged results: an id of no check, or more results than ran
    assert probes.judge_cell(c, good + [rec("01-x:99", 1)], ref, "ok", "01-x").tampering
    assert probes.judge_cell(c, good + [good[0]], ref, "ok", "01-x").tampering
    # a check that did not run, and a cell that did not end
    assert not probes.judge_cell(c, good[1:], ref, "ok", "01-x").passed
    assert not probes.judge_cell(c, good, ref, "error", "01-x").passed
