"""Nothing lost: a grading run killed at any point, then run again, gives exactly the grades CSV of a run that
was never interrupted (interrupted submissions are graded again, not skipped), and leaves no kernel behind.

The grading process is killed (SIGKILL, as by the OOM killer or a closed laptop) at each point where it holds
state: while kernels run, between reading a result and the gradebook, inside the gradebook write, between the
gradebook and the state file, after the state file; and once from outside at an arbitrary moment of a forced
regrade. Each run is a separate process (`TITO_AUTOGRADE_CRASH_AT=phase:n` makes it kill itself there)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import make_fixtures as F
from attack_support import ROOT, copy_course
from tito.grading import autograde as safe, course as course_folder, exits
from tito.grading import report as grading_report

STUDENTS = ["good", "blank", "osexit", "patched", "invalid", "renamed", "edited", F.UNICODE_ID]
CRASHES = ["launched:3", "result:2", "mid-gradebook:1", "gradebook:3", "state:2"]
RUN = ("import json, sys\nfrom tito.grading import autograde as A\n"
       "A.autograde(sys.argv[1], sys.argv[2], '01', jobs=2, force=sys.argv[4] == 'force', limits=json.loads(sys.argv[3]))\n")


def _course(generated_course, dest, subs):
    cdir = copy_course(generated_course, dest)
    for s in STUDENTS:
        shutil.copytree(subs / s, cdir / "submitted" / s)
    return cdir


def _grades_csv(cdir, out):
    path, _ = grading_report.write_grades(ROOT, str(cdir), out)
    return Path(path).read_text()


def _run(cdir, crash=None, force=False):
    env = dict(os.environ)
    env.pop("TITO_AUTOGRADE_CRASH_AT", None)
    if crash:
        env["TITO_AUTOGRADE_CRASH_AT"] = crash
    return subprocess.Popen([sys.executable, "-c", RUN, str(ROOT), str(cdir), json.dumps(F.LIMITS),
                             "force" if force else "-"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _work_dirs_of(pid):
    "The working folders of the grading process `pid` (other graders may share /var/tmp: theirs do not count)."
    found = set()
    for d in Path("/var/tmp").glob("tito-autograde-*"):
        try:
            if (d / "pid").read_text() == str(pid):
                found.add(d)
        except OSError:
            continue
    return found


def _processes_using(paths):
    "PIDs of processes whose command line mentions one of `paths`."
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(str(d) in cmd for d in paths):
            found.append((p.name, cmd[:200]))
    return found


def test_killed_runs_then_rerun_give_the_uninterrupted_grades(generated_course, tmp_path):
    subs = tmp_path / "all"
    F.make(generated_course, subs, sandboxed=False)
    # the reference: one uninterrupted run
    ref = _course(generated_course, tmp_path / "ref" / "course", subs)
    report = safe.autograde(ROOT, str(ref), "01", jobs=2, limits=F.LIMITS)
    assert len(report.outcomes) == len(STUDENTS)
    want = _grades_csv(ref, tmp_path / "ref.csv")
    want_outcomes = {r["student"]: (r["outcome"], r["reason"], r["score"]) for r in grading_report.report_rows(ROOT, str(ref), "01")}

    cdir = _course(generated_course, tmp_path / "killed" / "course", subs)
    killed = []
    for crash in CRASHES:
        proc = _run(cdir, crash)
        log = proc.communicate(timeout=300)[0]
        assert proc.returncode == -signal.SIGKILL, f"{crash}: the run was not killed there ({proc.returncode}):\n{log[-2000:]}"
        killed.append(proc.pid)
        time.sleep(0.5)
        assert not _processes_using(_work_dirs_of(proc.pid)), f"{crash}: kernels or runners outlived the grading process"
    # a forced regrade killed from outside at an arbitrary moment
    proc = _run(cdir, force=True)
    deadline = time.monotonic() + 120   # once it is regrading (a loaded machine may take a while to get there)
    while proc.poll() is None and time.monotonic() < deadline and not any(
            r["outcome"] == "pending" for r in grading_report.report_rows(ROOT, str(cdir), "01")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    killed.append(proc.pid)
    rows = grading_report.report_rows(ROOT, str(cdir), "01")
    assert any(r["outcome"] == "pending" for r in rows) or proc.returncode == 0, rows
    # the last run completes the work
    proc = _run(cdir)
    log = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, log[-2000:]
    assert _grades_csv(cdir, tmp_path / "killed.csv") == want
    got = {r["student"]: (r["outcome"], r["reason"], r["score"]) for r in grading_report.report_rows(ROOT, str(cdir), "01")}
    assert got == want_outcomes
    # the working copies of the killed runs were cleaned up by the next run
    left = [d for pid in killed for d in _work_dirs_of(pid)]
    assert not left, left


def test_backup_is_a_consistent_copy(generated_course, tmp_path, monkeypatch):
    import sqlite3
    from typer.testing import CliRunner
    from tito.cli import app
    cdir = copy_course(generated_course, tmp_path / "course")
    c = course_folder.open_course(ROOT, str(cdir))
    for student in ("ann", "bob"):   # some grade rows to copy
        safe.record(c, F.AID, student, {}, None)
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    r = CliRunner().invoke(app, ["nbgrader", "backup", "--course-dir", str(cdir), "--out", str(tmp_path / "b.db")])
    assert r.exit_code == 0 and "integrity check: ok" in " ".join(r.output.split()), r.output
    with sqlite3.connect(cdir / "gradebook.db") as a, sqlite3.connect(tmp_path / "b.db") as b:
        q = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        tables = [t for (t,) in a.execute(q)]
        assert tables == [t for (t,) in b.execute(q)] and "grade" in tables
        assert b.execute("SELECT count(*) FROM grade").fetchone()[0] == 2 * 14
        for t in tables:
            assert a.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() == b.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
    r = CliRunner().invoke(app, ["nbgrader", "backup", "--course-dir", str(cdir), "--out", str(tmp_path / "b.db")])
    assert r.exit_code == exits.EXIT_USAGE and "exists" in r.output   # never overwrites a backup
    r = CliRunner().invoke(app, ["nbgrader", "backup", "--course-dir", str(cdir)])
    assert r.exit_code == 0 and list((cdir / "backups").glob("gradebook-*.db")), r.output
