"What every tito command shares: its console, finding the course, or exiting with the reason."
import sys

import typer
from rich.console import Console

from . import course

EXIT_USAGE = 2


def grading_available():
    "Whether the grader (tito/grading/, instructor-side) ships with this tito: not in the student edition."
    from pathlib import Path
    return (Path(__file__).resolve().parent / "grading" / "__init__.py").is_file()


def course_root(console):
    "The course root; if there is none, print why and exit with the usage code (2)."
    try:
        return course.find_root()
    except course.CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(EXIT_USAGE)


def make_console(**kwargs):
    """A rich Console that colours its output only on a real terminal. `!tito ...` in a notebook runs with its
    output piped and FORCE_COLOR=1 set by ipykernel for every shell command, which rich would obey: the cell
    would fill with escape codes. So colour follows whether stdout is a terminal, and NO_COLOR turns it off."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        terminal = bool(isatty and isatty())
    except ValueError:  # a closed stream
        terminal = False
    return Console(force_terminal=terminal, **kwargs)
