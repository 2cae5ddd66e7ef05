"The `tito` command line: thin commands over the tito library."
from typing import Optional

import typer
from rich.table import Table

from . import course, export as export_lib, testing
from .cli_support import course_root, grading_available, make_console

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
        make_console().print("[red]error:[/red] `tito nbgrader` is for instructors and is not part of the student "
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
from . import submit_cli  # noqa: E402  (`tito submit NN`, `tito publish REMOTE`)
submit_cli.register(app)
console = make_console()
SHOWN_FAILURES = 12  # per module and kind; the rest are counted


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
    from . import colab
    root = _root()
    if colab.in_colab() and course.modules_dir(root).name != "source":  # a student's notebook is in the browser
        console.print(f"[red]error:[/red] {colab.shell_refusal('export', module)}")
        raise typer.Exit(2)
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
        _show_failures(m.slug, r)
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


def _show_failures(slug, r):
    "What failed, as plain lines a student can act on: each cell's grade_id and line, each test's name and error."
    def show(kind, items, more_hint):
        for item in items[:SHOWN_FAILURES]:
            head, _, detail = item.partition("\n")
            console.print(f"  {kind} {head}", markup=False, highlight=False, soft_wrap=True)
            for line in detail.splitlines():
                console.print(f"      {line}", markup=False, highlight=False, soft_wrap=True)
        if len(items) > SHOWN_FAILURES:
            console.print(f"  ... and {len(items) - SHOWN_FAILURES} more {kind} failures; {more_hint}",
                          markup=False, highlight=False, soft_wrap=True)
    show("inline", r.inline_failures, f"run the notebook of {slug} top to bottom to see them all")
    if not r.pytest_ok:
        console.print(f"  pytest: {r.pytest_summary}", markup=False, highlight=False, soft_wrap=True)
    show("pytest", [f"{f['test']}\n{f['error']}" for f in r.pytest_failures],
         f"run `python -m pytest tests/{slug}` for every traceback")


def main():
    app()
