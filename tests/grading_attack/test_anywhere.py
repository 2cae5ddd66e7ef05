"""The grader works wherever the course and its venv live: under /tmp (where the sandbox mounts its private
scratch folder), /home or anywhere else; `tito doctor` proves it by running a cell in a real sandboxed kernel."""
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import make_fixtures as F
from attack_support import ROOT, copy_course, needs_sandbox
from tito.grading import sandbox


def test_the_private_tmp_is_mounted_before_anything_bound_under_tmp(tmp_path):
    venv_like = Path("/tmp/some-course/.venv")
    argv = sandbox.bwrap_argv(tmp_path / "work", tmp_path / "conn", sandbox.Limits(),
                              ro_binds=[(venv_like, venv_like)])
    tmpfs = argv.index("--tmpfs")
    assert argv[tmpfs + 1] == "/tmp"
    binds = [i for i, a in enumerate(argv) if a in ("--bind", "--ro-bind") and argv[i + 2].startswith("/tmp")]
    assert binds and all(i > tmpfs for i in binds), "a bind under /tmp before --tmpfs /tmp would be hidden"


def _venv_under_tmp(parent):
    "This venv, copied under /tmp as hard links (a real venv there: its sys.prefix is the copy)."
    dest = Path(parent) / "venv"
    src = Path(sandbox.sys.prefix)
    if subprocess.run(["cp", "-al", str(src), str(dest)], capture_output=True).returncode:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest, symlinks=True)   # another file system: a plain copy
    return dest / "bin" / "python"


@needs_sandbox
def test_course_and_venv_under_tmp_are_graded(generated_course):
    with tempfile.TemporaryDirectory(prefix="tito-anywhere-", dir="/tmp") as tmp:
        python = _venv_under_tmp(tmp)
        assert Path(tmp) in python.parents and python.is_file()
        prefix = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                                text=True, check=True).stdout.strip()
        assert prefix.startswith("/tmp/"), prefix
        cdir = copy_course(generated_course, Path(tmp) / "course")
        source, release = F.load(cdir)
        d = cdir / "submitted" / "good" / F.AID
        d.mkdir(parents=True)
        (d / f"{F.AID}.ipynb").write_text(json.dumps(F.solved(source, release, F.marker("good"))))
        cli = "from tito.cli import app; app()"
        r = subprocess.run([str(python), "-c", cli, "nbgrader", "autograde", "01", "--course-dir", str(cdir),
                            "--timeout", "30"], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        state = json.loads((cdir / "autograded" / "good" / F.AID / ".tito-autograde.json").read_text())
        total = sum(F.points(source).values())
        assert (state["outcome"], state["score"], state["isolated"]) == ("graded", total, True), state
        # doctor's proof, run by the venv under /tmp
        check = subprocess.run([str(python), "-c", "import sys; from tito.grading import sandbox; "
                                "print(sandbox.doctor_check(sys.argv[1]))", str(ROOT)],
                               capture_output=True, text=True, timeout=300)
        assert check.stdout.startswith("('ok', 'a sandboxed kernel ran a cell"), check.stdout + check.stderr


def test_doctor_reports_a_sandbox_that_cannot_run_a_kernel_as_an_error(monkeypatch):
    if not shutil.which("bwrap"):
        level, detail, fix = sandbox.doctor_check(ROOT)
        assert level == "warn" and "bubblewrap" in fix
        return
    monkeypatch.setitem(sandbox._STATUS, "bwrap", (True, shutil.which("bwrap")))
    # a kernel that cannot start in the sandbox (its Python is not bound into it)
    monkeypatch.setattr(sandbox, "python_paths", lambda: [])
    level, detail, fix = sandbox.doctor_check(ROOT)
    assert level == "fail" and "could not" in detail and fix, (level, detail, fix)
