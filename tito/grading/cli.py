"`tito nbgrader ...`: the instructors' grading commands, a thin layer over tito.grading."
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..cli_support import course_root, make_console
from ..course import CourseError
from . import autograde as autograde_lib
from . import course as course_lib
from . import feedback as feedback_lib
from . import pipeline, report as report_lib
from .exits import EXIT_OK, EXIT_SOME, EXIT_STOPPED, EXIT_ENVIRONMENT, EXIT_USAGE

nbgrader_app = typer.Typer(
    help="Instructors: grade the course with nbgrader. Run in order: init, generate, release, collect, "
         "autograde, feedback, grades. Every step is safe to re-run and never overwrites submitted work.",
    no_args_is_help=True, add_completion=False)
console = make_console()

CourseDir = typer.Option(None, "--course-dir", help="the course folder (default: settings.ini [grading] course_dir)")
Modules = typer.Argument(None, help="module numbers or names (default: all)")
COLORS = {autograde_lib.GRADED: "green", autograde_lib.TAMPERING: "magenta", autograde_lib.NOT_GRADED: "red",
          "pending": "yellow"}


def _root():
    return course_root(console)


def _run(fn, *args, **kwargs):
    "Call a grading step; a CourseError is the user's to fix: print it and exit 2."
    try:
        return fn(*args, **kwargs)
    except CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(EXIT_USAGE)


def _steps(title, results):
    "Print step results; exit 1 when any failed."
    table = Table(title=title)
    for col in ("assignment", "status", "detail"):
        table.add_column(col)
    for r in results:
        color = "green" if r.ok else "red"
        table.add_row(r.assignment, f"[{color}]{r.status}[/{color}]", r.detail + (f"  (log: {r.log})" if not r.ok and r.log else ""))
    console.print(table)
    if any(not r.ok for r in results):
        raise typer.Exit(EXIT_SOME)


def _outcome_cell(outcome, reason):
    color = COLORS.get(outcome, "white")
    return f"[{color}]{outcome}[/{color}]" + (f" ({reason})" if reason else "")


def _banner(warnings):
    for w in warnings:
        console.print(f"[bold white on red] WARNING [/bold white on red] [bold red]{w}[/bold red]")


@nbgrader_app.command()
def init(course_dir: Optional[str] = CourseDir,
         exchange: Optional[Path] = typer.Option(None, "--exchange", help="the exchange folder students fetch from "
                                                 "and submit to (on a hub: the shared one, e.g. /srv/nbgrader/exchange)"),
         force: bool = typer.Option(False, "--force", help="rewrite an edited nbgrader_config.py (backed up first)")):
    "Create the course folder and its nbgrader_config.py from settings.ini."
    root = _root()
    for msg in _run(course_lib.init_course, root, course_dir, force=force, exchange=exchange):
        console.print(msg)


@nbgrader_app.command()
def generate(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
             force: bool = typer.Option(False, "--force", help="regenerate even when the source did not change")):
    "Module sources -> course/source/NN_name/NN_name.ipynb -> release versions (solutions stripped) in course/release/."
    root = _root()
    _steps("tito nbgrader generate", _run(pipeline.generate, root, course_dir, modules, force=force))


@nbgrader_app.command()
def release(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
            force: bool = typer.Option(False, "--force", help="re-release an assignment already in the exchange")):
    "Put the release versions into the exchange, where students fetch them."
    root = _root()
    _steps("tito nbgrader release", _run(pipeline.release, root, course_dir, modules, force=force))


@nbgrader_app.command()
def collect(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
            from_dir: Optional[Path] = typer.Option(None, "--from", help="a folder of files made by `tito submit`, or DIR/STUDENT/NN_name/*.ipynb, instead of the exchange"),
            update: bool = typer.Option(False, "--update", help="replace collected submissions with newer ones (old ones are backed up)")):
    "Gather submissions (from the exchange, or --from a folder) into course/submitted/STUDENT/NN_name/."
    root = _root()
    _steps("tito nbgrader collect", _run(pipeline.collect, root, course_dir, modules, from_dir=from_dir, update=update))


@nbgrader_app.command()
def autograde(modules: Optional[List[str]] = typer.Argument(None, help="assignments: module numbers or names (default: all)"),
              course_dir: Optional[str] = CourseDir,
              student: Optional[List[str]] = typer.Option(None, "--student", help="only these students (repeatable)"),
              force: bool = typer.Option(False, "--force", help="regrade submissions graded before"),
              jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="submissions graded at once (default: jobs in settings.ini, section grading)"),
              timeout: Optional[int] = typer.Option(None, "--timeout", help="seconds per cell (default: cell_timeout in settings.ini)"),
              notebook_timeout: Optional[int] = typer.Option(None, "--notebook-timeout", help="seconds per notebook (default: notebook_timeout in settings.ini)")):
    """Grade every collected submission, each in its own sandboxed kernels and working copies, `--jobs` at a time.

    Every submission ends graded, tampering detected, or not graded (crash, timeout, invalid notebook, missing
    notebook) with the score of what ran; a killed run is completed by running the command again.
    Exit code: 0 every submission has a grade (tampering is flagged, still graded); 1 the batch completed but
    some submissions are not graded (see `tito nbgrader report`); 2 usage or setup error; 3 the grading
    environment is broken (a kernel could not start, tinytorch did not import); 4 the batch itself stopped
    (run the command again: graded submissions are kept)."""
    root = _root()
    problem = autograde_lib.reference_package_problem(root)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(EXIT_ENVIRONMENT)
    c = _run(course_lib.open_course, root, course_dir)
    aids = _run(course_lib.assignment_ids, c, modules)
    worst = EXIT_OK

    def progress(o):
        console.print(f"  {o.student}: {_outcome_cell(o.outcome, o.reason)} {o.score:g}/{o.max_score:g} ({o.seconds:.1f} s)")

    for aid in aids:
        console.print(f"[bold]{aid}[/bold]: grading ...")
        try:
            report = _run(autograde_lib.autograde, root, course_dir, aid, students=student, force=force, jobs=jobs,
                          cell_timeout=timeout, notebook_timeout=notebook_timeout, progress=progress)
        except (typer.Exit, KeyboardInterrupt):
            raise
        except Exception as err:  # noqa: BLE001 — a failure of the grader itself: say so, with its own exit code
            console.print(f"[red]the batch stopped: {type(err).__name__}: {err}[/red]\nthe submissions graded so far "
                          "are kept; run the same command again to grade the rest")
            raise typer.Exit(EXIT_STOPPED)
        _banner(report.warnings)
        table = Table(title=f"tito nbgrader autograde {aid} ({len(report.outcomes)} submissions, {report.jobs} at a time, "
                            f"{report.seconds:.0f} s)")
        for col in ("student", "outcome", "auto score", "seconds", "notes"):
            table.add_column(col)
        for o in report.outcomes:
            table.add_row(o.student, _outcome_cell(o.outcome, o.reason) + (" [dim](skipped: graded in an earlier run)[/dim]" if o.skipped else ""),
                          f"{o.score:g}/{o.max_score:g}", f"{o.seconds:.1f}", o.summary())
        console.print(table)
        if not report.outcomes:
            console.print(f"nothing to grade for {aid}: collect submissions first (`tito nbgrader collect`)")
        path, _ = _run(report_lib.write_report, root, course_dir, aid)
        console.print(f"report: {path}")
        _banner(report.warnings)
        worst = max(worst, report.exit_code, key=lambda e: {EXIT_OK: 0, EXIT_SOME: 1, EXIT_ENVIRONMENT: 2}[e])
    raise typer.Exit(worst)


@nbgrader_app.command()
def report(assignment: str = typer.Argument(..., help="the assignment: module number or name (e.g. 01)"),
           course_dir: Optional[str] = CourseDir,
           out: Optional[Path] = typer.Option(None, "--out", help="CSV path (default: course/reports/NN_name.csv)")):
    """Every student of an assignment: graded, tampering detected, or not graded (and why), score, time taken."""
    root = _root()
    path, rows = _run(report_lib.write_report, root, course_dir, assignment, out)
    table = Table(title=f"tito nbgrader report {rows[0]['assignment'] if rows else assignment} ({path})")
    for col in ("student", "outcome", "score", "seconds", "details"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["student"], _outcome_cell(r["outcome"], r["reason"]), f"{r['score']:g}/{r['max_score']:g}",
                      f"{r['seconds']}", r["details"])
    console.print(table)
    counts = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no students")
    if any(r["isolated"] == "NO" for r in rows):
        _banner(["some submissions were graded WITHOUT isolation (no sandbox): they could have read or changed other "
                 "students' work and the gradebook. Install bubblewrap and regrade them with --force."])


@nbgrader_app.command()
def backup(course_dir: Optional[str] = CourseDir,
           out: Optional[Path] = typer.Option(None, "--out", help="backup path (default: course/backups/gradebook-DATE.db)")):
    "Copy the gradebook with SQLite's online backup API (safe while grading runs), then check the copy."
    root = _root()
    path, check = _run(report_lib.backup_gradebook, root, course_dir, out)
    console.print(f"gradebook copied to {path} (integrity check: {check})")
    if check != "ok":
        raise typer.Exit(EXIT_SOME)


@nbgrader_app.command()
def feedback(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
             force: bool = typer.Option(False, "--force", help="regenerate existing feedback")):
    "HTML feedback for every autograded submission (course/feedback/STUDENT/NN_name/NN_name.html)."
    root = _root()
    _steps("tito nbgrader feedback", _run(feedback_lib.html, root, course_dir, modules, force=force))


@nbgrader_app.command()
def grades(course_dir: Optional[str] = CourseDir,
           out: Optional[Path] = typer.Option(None, "--out", help="CSV path (default: course/grades.csv)")):
    "Write the gradebook's scores as CSV: student, assignment, score, max_score."
    root = _root()
    path, rows = _run(report_lib.write_grades, root, course_dir, out)
    table = Table(title=f"grades ({path})")
    for col in ("student", "assignment", "score", "max_score"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["student"], r["assignment"], f"{r['score']:g}", f"{r['max_score']:g}")
    console.print(table)


@nbgrader_app.command()
def formgrader(course_dir: Optional[str] = CourseDir,
               port: int = typer.Option(8888, "--port", help="JupyterLab's port (on 127.0.0.1)")):
    """Hand-grading: JupyterLab started in the course folder; open Nbgrader -> Formgrader.

    nbgrader reads nbgrader_config.py from the folder Jupyter starts in: started anywhere else the formgrader
    is empty. Refuses (and says why) when there is nothing to grade by hand yet."""
    root = _root()
    c = _run(course_lib.open_course, root, course_dir)
    problem = course_lib.formgrader_problem(c)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(EXIT_USAGE)
    argv = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port)]
    console.print(f"starting JupyterLab in {c.dir} (Ctrl-C stops it); open the URL it prints, then "
                  "Nbgrader -> Formgrader")
    raise typer.Exit(subprocess.call(argv, cwd=c.dir))


@nbgrader_app.command("hub-tryout")
def hub_tryout(folder: Path = typer.Option(Path(".cache/hub/tryout"), "--folder",
                                           help="where the hub keeps its state, the homes and the exchange")):
    """Try the course on a JupyterHub on this machine (127.0.0.1 only): the guide's configuration with a test login
    (users instructor, alice, bob; password tinytorch). Needs the `hub` extra and npm."""
    from . import hub
    root = _root()
    raise typer.Exit(_run(hub.tryout, root, folder if folder.is_absolute() else root / folder, root / ".cache" / "hub"))
