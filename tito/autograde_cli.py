"`tito nbgrader autograde | report | backup`: the safe autograder's commands (registered on the nbgrader sub-app)."
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from . import autograde_safe as safe
from . import grading
from .nbgrader_cli import CourseDir, _root, _run, console, nbgrader_app

COLORS = {safe.GRADED: "green", safe.TAMPERING: "magenta", safe.NOT_GRADED: "red", "pending": "yellow"}


def _outcome_cell(outcome, reason):
    color = COLORS.get(outcome, "white")
    return f"[{color}]{outcome}[/{color}]" + (f" ({reason})" if reason else "")


def _banner(warnings):
    for w in warnings:
        console.print(f"[bold white on red] WARNING [/bold white on red] [bold red]{w}[/bold red]")


@nbgrader_app.command()
def autograde(modules: Optional[List[str]] = typer.Argument(None, help="assignments: module numbers or names (default: all)"),
              course_dir: Optional[str] = CourseDir,
              student: Optional[List[str]] = typer.Option(None, "--student", help="only these students (repeatable)"),
              force: bool = typer.Option(False, "--force", help="regrade submissions graded before"),
              jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="submissions graded at once (default: jobs in settings.ini, section grading)"),
              timeout: Optional[int] = typer.Option(None, "--timeout", help="seconds per cell (default: cell_timeout in settings.ini)"),
              notebook_timeout: Optional[int] = typer.Option(None, "--notebook-timeout", help="seconds per notebook (default: notebook_timeout in settings.ini)")):
    """Grade every collected submission, each in its own sandboxed kernel and working copy, `--jobs` at a time.

    Every submission ends graded, tampering detected, or not graded (crash, timeout, invalid notebook, missing
    notebook) with the score of what ran; a killed run is completed by running the command again.
    Exit code: 0 every submission has a grade (tampering is flagged, still graded); 1 the batch completed but
    some submissions are not graded (see `tito nbgrader report`); 2 usage or setup error; 3 the grading
    environment is broken (a kernel could not start, tinytorch did not import); 4 the batch itself stopped
    (run the command again: graded submissions are kept)."""
    root = _root()
    problem = grading.reference_package_problem(root)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(safe.EXIT_ENVIRONMENT)
    c = _run(grading.open_course, root, course_dir)
    aids = _run(grading._assignment_ids, c, modules)
    worst = safe.EXIT_OK

    def progress(o):
        console.print(f"  {o.student}: {_outcome_cell(o.outcome, o.reason)} {o.score:g}/{o.max_score:g} ({o.seconds:.1f} s)")

    for aid in aids:
        console.print(f"[bold]{aid}[/bold]: grading ...")
        try:
            report = _run(safe.autograde, root, course_dir, aid, students=student, force=force, jobs=jobs,
                          cell_timeout=timeout, notebook_timeout=notebook_timeout, progress=progress)
        except (typer.Exit, KeyboardInterrupt):
            raise
        except Exception as err:  # noqa: BLE001 — a failure of the grader itself: say so, with its own exit code
            console.print(f"[red]the batch stopped: {type(err).__name__}: {err}[/red]\nthe submissions graded so far "
                          "are kept; run the same command again to grade the rest")
            raise typer.Exit(safe.EXIT_STOPPED)
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
        path, _ = _run(safe.write_report, root, course_dir, aid)
        console.print(f"report: {path}")
        _banner(report.warnings)
        worst = max(worst, report.exit_code, key=lambda e: {0: 0, 1: 1, 3: 2}[e])
    raise typer.Exit(worst)


@nbgrader_app.command()
def report(assignment: str = typer.Argument(..., help="the assignment: module number or name (e.g. 01)"),
           course_dir: Optional[str] = CourseDir,
           out: Optional[Path] = typer.Option(None, "--out", help="CSV path (default: course/reports/NN_name.csv)")):
    """Every student of an assignment: graded, tampering detected, or not graded (and why), score, time taken."""
    root = _root()
    path, rows = _run(safe.write_report, root, course_dir, assignment, out)
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
    path, check = _run(safe.backup_gradebook, root, course_dir, out)
    console.print(f"gradebook copied to {path} (integrity check: {check})")
    if check != "ok":
        raise typer.Exit(grading.EXIT_FAILED)


__all__ = ["autograde", "report", "backup"]
