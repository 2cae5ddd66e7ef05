"`tito submit NN` (students hand a module in) and `tito publish REMOTE` (instructors publish the student edition)."
import datetime
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from . import course
from .cli_support import course_root, make_console

console = make_console()


def _fail(err, code=2):
    console.print("[red]error:[/red]", escape(str(err)))
    raise typer.Exit(code)


def submit(module: str = typer.Argument(..., help="module number or name, e.g. 01"),
           student: Optional[str] = typer.Option(None, "--student", help="your student id (remembered after the first submit)"),
           to_file: bool = typer.Option(False, "--file", help="write the submission file even where an nbgrader exchange is set up")):
    """Hand a module in. On a JupyterHub with nbgrader: to the exchange. Elsewhere: writes
    submissions/STUDENT_NN_name.zip (your notebook + a manifest) to hand in. In Colab: type `!tito submit NN` in a cell."""
    from . import colab, submission
    if colab.in_colab():
        _fail(colab.shell_refusal("submit", module))
    root = course_root(console)
    try:
        m = course.select(root, module)[0]
        if os.environ.get("NBGRADER_EXCHANGE") and not to_file:  # a course hub (book/jupyterhub.md)
            course_id = course.settings(root).get("course", "id", fallback="tinytorch")
            console.print(submission.to_exchange(root, m, course_id, os.environ["NBGRADER_EXCHANGE"]), markup=False)
            console.print(f"submitted {m.slug} to the course exchange: your instructor collects it from there")
            return
        ask = (lambda: typer.prompt("Your student id")) if sys.stdin.isatty() else None
        path = submission.make(root, m, submission.student_id(root, student, ask))
    except course.CourseError as err:
        _fail(err)
    shown = path.relative_to(Path.cwd()) if Path.cwd() in path.parents else path
    saved = datetime.datetime.fromtimestamp(m.notebook.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    console.print(f"wrote {shown}: {m.notebook.relative_to(root)} as last saved ({saved}; save the notebook and "
                  "submit again if you changed it since)", markup=False)
    if os.environ.get("BINDER_REQUEST") or os.environ.get("BINDER_LAUNCH_HOST"):
        console.print("Binder forgets everything when the session ends: download it now (file browser, right-click "
                      "-> Download) and hand it in where your instructor asked.", markup=False)
    else:
        console.print("Hand this file in where your instructor asked (e.g. upload it to the course page).", markup=False)


def publish(remote: str = typer.Argument(..., help="git remote URL or path (e.g. git@github.com:org/tinytorch.git)"),
            branch: Optional[str] = typer.Option(None, "--branch", help="branch to publish (default: settings.ini student_branch)")):
    "Instructors: commit the student edition onto the student branch of REMOTE and push it (never a force-push)."
    from . import publish as publish_lib
    root = course_root(console)
    try:
        commit, message = publish_lib.publish(root, remote, branch)
    except course.CourseError as err:
        _fail(err, 1)
    console.print(message, markup=False)


def register(app):
    "Add these commands to the `tito` app."
    app.command()(submit)
    app.command()(publish)
