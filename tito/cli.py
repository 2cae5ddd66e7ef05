"The `tito` command line: thin commands over the tito library."
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import course, export as export_lib, testing
from .cli_support import course_root, grading_available

app = typer.Typer(help="TinyTorch course tool: students export and test, instructors grade, maintainers check.",
                  no_args_is_help=True, add_completion=False)
from .data import data_app  # noqa: E402  (`tito data fetch|status`)
app.add_typer(data_app, name="data")
if grading_available():   # the instructors' commands; the student edition ships without the grader
    from .grading.cli import nbgrader_app  # noqa: E402  (`tito nbgrader init|generate|...|autograde|feedback|grades`)
    app.add_typer(nbgrader_app, name="nbgrader")
else:
    @app.command("nbgrader", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def nbgrader_missing():
        "Instructors only: grading needs the full course repository (this is the student edition)."
        Console().print("[red]error:[/red] `tito nbgrader` is for instructors and is not part of the student "
                        "edition: run it in the full course repository (the maintainers' checkout)")
        raise typer.Exit(2)
from . import tools_cli  # noqa: E402  (`tito student-edition|check|status|doctor`)
tools_cli.register(app)
from .book_cli import book_app  # noqa: E402  (`tito book build`)
app.add_typer(book_app, name="book")
from .milestones import milestone_app  # noqa: E402  (`tito milestone list|run`)
app.add_typer(milestone_app, name="milestone")
from .generate import generate_command  # noqa: E402  (`tito generate --checkpoint PATH --prompt TEXT`)
app.command("generate")(generate_command)
console = Console()


def _root():
    return course_root(console)


def _modules(root, module, every):
    try:
        return course.select(root, module, every)
    except course.CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2)


@app.command()
def export(module: Optional[str] = typer.Argument(None, help="module number or name, e.g. 01"),
           all_: bool = typer.Option(False, "--all", help="export every module")):
    "Put a module's code (the source, or your notebook in the student edition) into the tinytorch package."
    root = _root()
    for m in _modules(root, module, all_):
        try:
            written = export_lib.export_module(root, m)
        except course.CourseError as err:
            console.print(f"[red]error:[/red] {err}")
            raise typer.Exit(1)
        target = m.package_file(root)
        shown = target.relative_to(root) if target else ", ".join(str(p.relative_to(root)) for p in written)
        console.print(f"[green]exported[/green] {m.slug} -> {shown}")


@app.command()
def test(module: Optional[str] = typer.Argument(None, help="module number or name, e.g. 01"),
         all_: bool = typer.Option(False, "--all", help="test every module")):
    "Run a module's inline tests in a fresh process, then its pytest suite; exit 1 on any failure."
    root = _root()
    results = []
    for m in _modules(root, module, all_):
        console.print(f"testing {m.slug} ...")
        r = testing.test_module(root, m)
        results.append(r)
        for failure in r.inline_failures:
            console.print(f"  [red]inline[/red] {failure}")
        if not r.pytest_ok:
            console.print(f"  [red]pytest[/red] {r.pytest_summary}")
    testing.save_results(root, results)
    table = Table(title="tito test")
    for col in ("module", "inline points", "inline tests", "pytest", "seconds"):
        table.add_column(col)
    for r in results:
        mark = lambda ok: "[green]pass[/green]" if ok else "[red]FAIL[/red]"
        table.add_row(r.module, f"{r.earned:g}/{r.possible:g}", mark(r.inline_ok),
                      f"{mark(r.pytest_ok)} {r.pytest_summary}", f"{r.seconds:g}")
    console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def main():
    app()
