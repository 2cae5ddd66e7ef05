"`tito nbgrader ...`: the instructors' grading pipeline (thin commands over tito.grading)."
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import course, grading
from .cli_support import course_root

nbgrader_app = typer.Typer(
    help="Instructors: grade the course with nbgrader. Run in order: init, generate, release, collect, "
         "autograde, feedback, grades. Every step is safe to re-run and never overwrites submitted work.",
    no_args_is_help=True, add_completion=False)
console = Console()

CourseDir = typer.Option(None, "--course-dir", help="the course folder (default: settings.ini [grading] course_dir)")
Modules = typer.Argument(None, help="module numbers or names (default: all)")


def _root():
    return course_root(console)


def _run(fn, *args, **kwargs):
    "Call a grading step; a CourseError is the user's to fix: print it and exit 2."
    try:
        return fn(*args, **kwargs)
    except course.CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(grading.EXIT_USAGE)


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
        raise typer.Exit(grading.EXIT_FAILED)


@nbgrader_app.command()
def init(course_dir: Optional[str] = CourseDir,
         force: bool = typer.Option(False, "--force", help="rewrite an edited nbgrader_config.py (backed up first)")):
    "Create the course folder and its nbgrader_config.py from settings.ini."
    root = _root()
    for msg in _run(grading.init_course, root, course_dir, force=force):
        console.print(msg)


@nbgrader_app.command()
def generate(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
             force: bool = typer.Option(False, "--force", help="regenerate even when the source did not change")):
    "Module sources -> course/source/NN_name/NN_name.ipynb -> release versions (solutions stripped) in course/release/."
    root = _root()
    _steps("tito nbgrader generate", _run(grading.generate, root, course_dir, modules, force=force))


@nbgrader_app.command()
def release(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
            force: bool = typer.Option(False, "--force", help="re-release an assignment already in the exchange")):
    "Put the release versions into the exchange, where students fetch them."
    root = _root()
    _steps("tito nbgrader release", _run(grading.release, root, course_dir, modules, force=force))


@nbgrader_app.command()
def collect(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
            from_dir: Optional[Path] = typer.Option(None, "--from", help="a folder of files made by `tito submit`, or DIR/STUDENT/NN_name/*.ipynb, instead of the exchange"),
            update: bool = typer.Option(False, "--update", help="replace collected submissions with newer ones (old ones are backed up)")):
    "Gather submissions (from the exchange, or --from a folder) into course/submitted/STUDENT/NN_name/."
    root = _root()
    _steps("tito nbgrader collect", _run(grading.collect, root, course_dir, modules, from_dir=from_dir, update=update))


# autograde (sandboxed, parallel, resumable), report and backup live in autograde_cli.py; importing it here
# registers them in this order in the command list.
from . import autograde_cli  # noqa: E402,F401


@nbgrader_app.command()
def feedback(modules: Optional[List[str]] = Modules, course_dir: Optional[str] = CourseDir,
             force: bool = typer.Option(False, "--force", help="regenerate existing feedback")):
    "HTML feedback for every autograded submission (course/feedback/STUDENT/NN_name/NN_name.html)."
    root = _root()
    _steps("tito nbgrader feedback", _run(grading.feedback, root, course_dir, modules, force=force))


@nbgrader_app.command()
def grades(course_dir: Optional[str] = CourseDir,
           out: Optional[Path] = typer.Option(None, "--out", help="CSV path (default: course/grades.csv)")):
    "Write the gradebook's scores as CSV: student, assignment, score, max_score."
    root = _root()
    path, rows = _run(grading.write_grades, root, course_dir, out)
    table = Table(title=f"grades ({path})")
    for col in ("student", "assignment", "score", "max_score"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["student"], r["assignment"], f"{r['score']:g}", f"{r['max_score']:g}")
    console.print(table)
