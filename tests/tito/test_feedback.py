"""`tito test` tells a student what to fix: each failing notebook cell by grade_id with the line that failed and
the error, each failing pytest test by name with its first error lines (from pytest's junit report), and all of
it as plain text when run from a notebook cell (`!tito test 01`: output piped, FORCE_COLOR=1 set by ipykernel).
Checked on a small broken course in a temporary folder."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SOURCE = '''\
# %%
import numpy as np

def double(x):
    return x + 1  # wrong on purpose

# %% nbgrader={"grade": true, "grade_id": "01-demo-double-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert double(1) == 2
assert double(3) == 6, f"double(3) must be 6, got {double(3)}"

# %% nbgrader={"grade": true, "grade_id": "01-demo-array-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
np.testing.assert_allclose(double(np.arange(3)), [0, 2, 4])

# %% nbgrader={"grade": true, "grade_id": "01-demo-passing", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert double(0) == 1
'''

TESTS = {
    "test_demo.py": '''\
        def test_double_of_three():
            assert 3 + 1 == 6, "double(3) must be 6"

        def test_passes():
            pass

        class TestShapes:
            def test_in_a_class(self):
                raise ValueError("bad [shape] (2, 3)")
        ''',
    "test_broken_import.py": "import not_a_module_of_this_course\n",
    # a test defined in a shared helper and imported by the module's file, as the op catalog's are
    "test_uses_shared.py": "from shared_checks import make_tests\n\nglobals().update(make_tests())\n",
}
SHARED = '''\
def make_tests():
    def test_shared_check():
        assert 1 == 2, "the shared check failed"
    return {"test_shared_check": test_shared_check}
'''

# what ipykernel puts in the environment of every `!command` run from a notebook cell
NOTEBOOK_SHELL_ENV = {"FORCE_COLOR": "1", "CLICOLOR_FORCE": "1", "CLICOLOR": "1", "TERM": "xterm-color"}


@pytest.fixture(scope="module")
def broken_course(tmp_path_factory):
    "A one-module course whose inline tests and pytest suite fail in several ways."
    root = tmp_path_factory.mktemp("course")
    (root / "settings.ini").write_bytes((ROOT / "settings.ini").read_bytes())
    src = root / "modules" / "source" / "01_demo"
    src.mkdir(parents=True)
    (src / "demo_dev.py").write_text(SOURCE)
    tests = root / "tests" / "01_demo"
    tests.mkdir(parents=True)
    for name, text in TESTS.items():
        (tests / name).write_text(textwrap.dedent(text))
    (root / "tests" / "shared_checks.py").write_text(SHARED)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["tests"]\n')
    return root


@pytest.fixture(scope="module")
def notebook_run(broken_course):
    "`!tito test 01` as a notebook cell runs it: stdout piped, the notebook's colour variables set."
    env = dict(os.environ, **NOTEBOOK_SHELL_ENV)
    env.pop("NO_COLOR", None)
    env.pop("TITO_ROOT", None)
    return subprocess.run([sys.executable, "-c", "from tito.cli import main; main()", "test", "01"],
                          cwd=broken_course, env=env, capture_output=True, text=True, timeout=600)


def test_exit_code_and_no_escape_codes(notebook_run):
    assert notebook_run.returncode == 1, notebook_run.stdout + notebook_run.stderr
    assert "\x1b[" not in notebook_run.stdout + notebook_run.stderr, notebook_run.stdout


def test_failing_cells_show_grade_id_line_and_message(notebook_run):
    out = notebook_run.stdout
    assert ('inline 01-demo-double-tests, line 2: assert double(3) == 6, f"double(3) must be 6, got {double(3)}"'
            in out), out
    assert "AssertionError: double(3) must be 6, got 4" in out
    assert "inline 01-demo-array-tests, line 1: np.testing.assert_allclose(double(np.arange(3)), [0, 2, 4])" in out
    assert "Mismatched elements: 2 / 3" in out, "numpy's multi-line message keeps its useful lines"
    assert "01-demo-passing" not in out, "a passing cell is not listed"


def test_failing_pytest_tests_show_name_and_first_error_line(notebook_run):
    out = notebook_run.stdout
    assert "pytest: 3 failed, 1 passed, 1 error in" in out, out
    assert "pytest tests/01_demo/test_demo.py::test_double_of_three\n      AssertionError: double(3) must be 6" in out
    assert "pytest tests/01_demo/test_demo.py::TestShapes::test_in_a_class\n      ValueError: bad [shape] (2, 3)" in out, \
        "brackets in a message are shown as they are, not eaten as markup"
    assert ("pytest tests/01_demo/test_broken_import.py\n"
            "      ModuleNotFoundError: No module named 'not_a_module_of_this_course'") in out, \
        "a file that cannot be imported says why, and the other files still run"
    assert ("pytest tests/01_demo/test_uses_shared.py::test_shared_check\n"
            "      AssertionError: the shared check failed") in out, "a shared test is named by the file that runs it"


def test_results_are_kept_for_status(notebook_run, broken_course):
    saved = json.loads((broken_course / ".tito" / "results.json").read_text())["01_demo"]
    assert saved["earned"] == 1 and saved["possible"] == 4
    assert [f["test"] for f in saved["pytest_failures"]] == [
        "tests/01_demo/test_broken_import.py", "tests/01_demo/test_demo.py::test_double_of_three",
        "tests/01_demo/test_demo.py::TestShapes::test_in_a_class", "tests/01_demo/test_uses_shared.py::test_shared_check"]


def test_console_is_plain_unless_stdout_is_a_terminal():
    code = ("from tito.cli_support import make_console; make_console().print('[red]FAIL[/red] x')")
    env = dict(os.environ, **NOTEBOOK_SHELL_ENV)
    piped = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert piped.stdout == "FAIL x\n"
    if sys.platform.startswith("linux"):  # a pseudo-terminal gets colour, unless NO_COLOR
        import pty
        for extra, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
            leader, follower = pty.openpty()
            proc = subprocess.run([sys.executable, "-c", code], env=dict(env, **extra), stdout=follower,
                                  stderr=subprocess.PIPE, timeout=60)
            os.close(follower)
            shown = os.read(leader, 4096).decode()
            os.close(leader)
            assert proc.returncode == 0, proc.stderr
            assert ("\x1b[" in shown) == coloured, (extra, shown)


def test_a_stub_failure_says_what_to_do():
    from tito.testing import describe_cell_failure
    text = describe_cell_failure({"grade_id": "01-tensor-dtype-policy", "cell": 7, "lineno": 1,
                                  "line": "t = Tensor([[1.0, 2.0], [3.0, 4.0]])", "error": "NotImplementedError"})
    head, detail = text.split("\n")
    assert head == "01-tensor-dtype-policy, line 1: t = Tensor([[1.0, 2.0], [3.0, 4.0]])"
    assert detail.startswith("NotImplementedError (a function this cell uses is not written yet")
    assert describe_cell_failure({"grade_id": None, "cell": None, "error": "the module did not run"}) == \
        "notebook\nthe module did not run"
