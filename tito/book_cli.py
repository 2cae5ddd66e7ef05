"`tito book build`: the course book, offline."
from typing import Optional

import typer

from . import book as book_lib
from .course import CourseError, find_root
from .cli_support import make_console

book_app = typer.Typer(help="The Jupyter Book made from the student edition.", no_args_is_help=True)
console = make_console()


@book_app.command("build")
def build(out: Optional[str] = typer.Option(None, help="build folder (default book/_build)")):
    "Build the book offline into book/_build/html and check it leaks no solution."
    try:
        html = book_lib.build(find_root(), out)
    except CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1)
    console.print(f"[green]built[/green] {html / 'index.html'}")
