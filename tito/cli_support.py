"What every tito command shares: finding the course, or exiting with the reason."
import typer

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
