"""`tito doctor` checks the dependencies pyproject.toml lists (the one list every install path installs): a missing
one is an error with the install command as its fix, printed as written (rich markup must not eat `[instructor]`)."""
import ast
import importlib.metadata
import re
import shutil
import sys
from pathlib import Path

from packaging.utils import canonicalize_name
from rich.console import Console
from typer.testing import CliRunner

from tito import dependencies, status, tools_cli
from tito.cli import app

ROOT = Path(__file__).resolve().parents[2]
ABSENT = "tinytorch-no-such-dependency>=1"


def course_lacking(tmp_path, absent=ABSENT):
    "A course folder whose pyproject.toml also requires `absent`, in the course's install and its instructor extra."
    root = tmp_path / "course"
    (root / "modules").mkdir(parents=True)
    shutil.copy2(ROOT / "settings.ini", root / "settings.ini")
    text = (ROOT / "pyproject.toml").read_text()
    text = text.replace("dependencies = [\n", f'dependencies = [\n    "{absent}",\n', 1)
    text = re.sub(r'^instructor = \[', f'instructor = ["{absent}", ', text, count=1, flags=re.M)
    (root / "pyproject.toml").write_text(text)
    return root


def imported_top_names(path):
    "The top-level names a Python file imports (absolute imports only)."
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_course_install_covers_every_module_test_import():
    "What `tito test NN` imports from outside the course and the standard library is in the course's own install."
    own = {"tinytorch", "tito", "op_catalog"} | {p.stem for p in (ROOT / "tests").glob("[0-9][0-9]_*/*.py")}
    optional = {"torch"}  # an oracle: the tests that use it skip, saying why, where it is not installed
    files = list((ROOT / "tests").glob("[0-9][0-9]_*/*.py")) + [ROOT / "tests" / "op_catalog.py"]
    third_party = set().union(*map(imported_top_names, files)) - own - optional - set(sys.stdlib_module_names)
    listed = {canonicalize_name(r.name) for r in dependencies.requirements(ROOT)}
    dists = importlib.metadata.packages_distributions()
    unlisted = {name: dists.get(name) for name in third_party
                if not {canonicalize_name(d) for d in dists.get(name, [])} & listed}
    assert not unlisted, f"imported by the modules' tests but not in pyproject.toml's dependencies: {unlisted}"
    assert "hypothesis" in listed


def test_a_missing_dependency_is_an_error_with_its_fix(tmp_path):
    root = course_lacking(tmp_path)
    findings = {f.what: f for f in status.doctor(root)}
    course = findings["course dependencies (pyproject.toml)"]
    assert course.level == "fail" and f"{ABSENT}: not installed" in course.detail
    assert course.fix == f"pip install -e {root}"
    assert findings["instructor extra"].level == "warn"


def test_doctor_prints_the_fix_verbatim_and_exits_non_zero(tmp_path, monkeypatch):
    root = course_lacking(tmp_path)
    monkeypatch.setenv("TITO_ROOT", str(root))
    monkeypatch.setattr(tools_cli, "console", Console(width=400))  # one table row per line, nothing wrapped
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert f"pip install -e '{root}[instructor]'" in result.output
    assert f"{ABSENT}: not installed" in result.output


def test_a_version_outside_the_range_is_reported():
    (req,) = [r for r in dependencies.requirements(ROOT) if r.name == "numpy"]
    too_new = dependencies.Requirement("numpy>=1000")
    assert dependencies.missing([req]) == []
    (problem,) = dependencies.missing([too_new])
    assert problem.requirement == "numpy>=1000" and problem.problem.endswith("installed")
