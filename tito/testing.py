"`tito test`: a module's inline tests in a fresh process, then its pytest suite; results kept for `tito status`."
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class ModuleResult:
    "What `tito test` found for one module."
    module: str
    earned: float = 0.0
    possible: float = 0.0
    inline_ok: bool = False
    inline_failures: list = field(default_factory=list)
    pytest_ok: bool = False
    pytest_summary: str = ""
    pytest_failures: list = field(default_factory=list)  # {"test": nodeid, "error": first lines}
    seconds: float = 0.0

    @property
    def ok(self): return self.inline_ok and self.pytest_ok


def course_env(root):
    "Environment for child processes: the course's own package and tito first on the import path."
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def plain_env(root):
    """course_env without colour: ipykernel sets FORCE_COLOR for every `!command` of a notebook, and pytest then
    writes escape codes into its reports (even into the junit xml, whatever --color says)."""
    env = {k: v for k, v in course_env(root).items() if k not in ("FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE")}
    env["NO_COLOR"] = "1"
    return env


def run_inline(root, module, timeout=900):
    "Run the module (source, or the student's notebook) cell by cell in a fresh Python process."
    path = module.source or module.notebook
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        try:
            proc = subprocess.run([sys.executable, "-m", "tito.cellrunner", str(path), "--json", str(out)],
                                  env=course_env(root), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:  # e.g. a loop that never ends: a result, not a crash of tito
            return {"earned": 0, "possible": 0, "failed": [{"grade_id": None, "error":
                    f"the module did not finish within {timeout} s (an endless loop, or a machine far too busy)"}]}
        if not out.is_file():
            return {"earned": 0, "possible": 0, "failed": [{"grade_id": None, "error":
                    f"the module did not run to the end (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"}]}
        return json.loads(out.read_text())


def brief(text, lines=8, width=300):
    "The first `lines` non-empty lines of an error message, each cut to `width` characters."
    kept = [l.rstrip()[:width] for l in str(text).splitlines() if l.strip()][:lines]
    return "\n".join(kept)


def _failure_line(element):
    """The first line worth showing of a junit <failure>/<error>: pytest's own crash message, or, when that is
    only a label (a collection error is reported as "collection failure"), the first `E ` line of its report."""
    message = (element.get("message") or "").strip()
    report = element.text or ""
    error_lines = [l[1:].strip() for l in report.splitlines() if l.startswith("E ") and l[1:].strip()]
    if error_lines and (not message or message in ("collection failure", "failed on setup with")):
        return brief("\n".join(error_lines))
    return brief(message or report)


def _nodeid(case, root):
    """pytest's id of a junit <testcase> (`tests/01_tensor/test_x.py::TestY::test_z[1]`). Its classname is the
    dotted test module plus any class (the `file` attribute names where the function is defined, which for a
    shared test imported by the module's file is another file); a file that could not be imported is reported
    with its dotted name as the test name and no classname."""
    classname, name = case.get("classname") or "", case.get("name") or ""
    dotted, test = (classname, name) if classname else (name, None)
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        file = Path(*parts[:k]).with_suffix(".py")
        if (Path(root) / file).is_file():
            return "::".join([file.as_posix(), *parts[k:], *([test] if test else [])])
    return "::".join(p for p in (case.get("file") or dotted, test) if p)


def read_junit(path, root):
    "(failures, summary) from pytest's junit xml: failures as {'test', 'error'} dicts, summary like pytest's."
    import xml.etree.ElementTree as ET
    tree = ET.parse(path)
    suites = [tree.getroot()] if tree.getroot().tag == "testsuite" else tree.getroot().findall("testsuite")
    failures, counts, seconds = [], {"failed": 0, "passed": 0, "error": 0, "skipped": 0}, 0.0
    for suite in suites:
        seconds += float(suite.get("time") or 0)
        for case in suite.iter("testcase"):
            problem = next((case.find(tag) for tag in ("failure", "error") if case.find(tag) is not None), None)
            skipped = case.find("skipped") is not None
            if problem is not None:
                counts["failed" if problem.tag == "failure" else "error"] += 1
                failures.append({"test": _nodeid(case, root), "error": _failure_line(problem)})
            elif skipped:
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
    parts = [f"{n} {word}" for word, n in counts.items() if n]
    return failures, f"{', '.join(parts) or 'no tests ran'} in {seconds:.2f}s"


def run_pytest(root, module, timeout=1800):
    """Run tests/NN_name with pytest in a fresh process; (ok, summary, failures), the failures read from
    pytest's junit report (each test's name and the first lines of its error)."""
    tests = module.tests_dir(root)
    if not tests.is_dir():
        return False, f"no tests folder {tests.relative_to(root)}", []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        # a file that fails to import must not hide the other files' results
        try:
            proc = subprocess.run([sys.executable, "-m", "pytest", str(tests), "-p", "no:cacheprovider", "-q",
                                   "--color=no", f"--rootdir={root}", f"--junitxml={report}",
                                   "--continue-on-collection-errors"],
                                  cwd=root, env=plain_env(root), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, f"pytest did not finish within {timeout} s", [
                {"test": str(tests.relative_to(root)), "error": f"the suite ran past its time limit of {timeout} s"}]
        if not report.is_file():  # pytest itself could not start (a bad option, a broken conftest, ...)
            return False, "pytest did not run", [{"test": str(tests.relative_to(root)),
                                                    "error": brief((proc.stderr or proc.stdout).strip(), lines=6)}]
        failures, summary = read_junit(report, root)
    return proc.returncode == 0, summary, failures


def test_module(root, module):
    "Inline tests and pytest for one module."
    start = time.perf_counter()
    inline = run_inline(root, module)
    ok, summary, failures = run_pytest(root, module)
    return ModuleResult(module=module.slug, earned=inline["earned"], possible=inline["possible"],
                        inline_ok=not inline["failed"], inline_failures=[describe_cell_failure(f) for f in inline["failed"]],
                        pytest_ok=ok, pytest_summary=summary, pytest_failures=failures,
                        seconds=round(time.perf_counter() - start, 1))


def describe_cell_failure(failure):
    "One failing notebook cell for the student: its grade_id (or number), the line that failed, the error."
    where = failure.get("grade_id") or (f"cell {failure['cell']}" if failure.get("cell") is not None else "notebook")
    if failure.get("lineno"):
        where += f", line {failure['lineno']}: {failure.get('line', '').strip()}"
    error = brief(failure["error"])
    if error.startswith("NotImplementedError"):
        error += " (a function this cell uses is not written yet, or not exported: `tito export NN`)"
    return f"{where}\n{error}"


def results_file(root):
    return Path(root) / ".tito" / "results.json"


def save_results(root, results):
    "Remember the latest result of each module for `tito status`."
    path = results_file(root)
    saved = load_results(root)
    saved.update({r.module: asdict(r) for r in results})
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(saved, indent=1))


def load_results(root):
    path = results_file(root)
    return json.loads(path.read_text()) if path.is_file() else {}
