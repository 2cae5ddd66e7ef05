"`tito test`: a module's inline tests in a fresh process, then its pytest suite; results kept for `tito status`."
import json
import re
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
    seconds: float = 0.0

    @property
    def ok(self): return self.inline_ok and self.pytest_ok


def course_env(root):
    "Environment for child processes: the course's own package and tito first on the import path."
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("MPLBACKEND", "Agg")
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


def run_pytest(root, module, timeout=1800):
    "Run tests/NN_name with pytest in a fresh process; (ok, last summary line)."
    tests = module.tests_dir(root)
    if not tests.is_dir():
        return False, f"no tests folder {tests.relative_to(root)}"
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", str(tests), "-p", "no:cacheprovider"],
                              cwd=root, env=course_env(root), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"pytest did not finish within {timeout} s"
    counts = [l.strip("= ") for l in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed|error|skipped)", l)]
    summary = counts[-1] if counts else (proc.stdout + proc.stderr).strip()[-500:]
    return proc.returncode == 0, summary


def test_module(root, module):
    "Inline tests and pytest for one module."
    start = time.perf_counter()
    inline = run_inline(root, module)
    ok, summary = run_pytest(root, module)
    return ModuleResult(module=module.slug, earned=inline["earned"], possible=inline["possible"],
                        inline_ok=not inline["failed"],
                        inline_failures=[f"{f.get('grade_id') or 'cell ' + str(f.get('cell'))}: {f['error']}"
                                         for f in inline["failed"]],
                        pytest_ok=ok, pytest_summary=summary, seconds=round(time.perf_counter() - start, 1))


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
