"`tito student-edition`, `tito check`, `tito status`, `tito doctor`: thin commands over their libraries."
from pathlib import Path

import typer
from rich.markup import escape  # problems quote code: `x[i]` is not markup
from rich.table import Table

from . import course
from .cli_support import course_root, make_console

console = make_console()


def _root():
    return course_root(console)


def student_edition(out: Path = typer.Argument(..., help="folder to write the student edition to"),
                    replace_edited: bool = typer.Option(False, "--replace-edited",
                                                        help="replace notebooks the student edited (backed up first)")):
    "Write the student edition (solutions stripped, package of stubs) to OUT, or update a previous one."
    from . import edition
    root = _root()
    try:
        report = edition.student_edition(root, out, replace_edited=replace_edited)
    except course.CourseError as err:
        console.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(1)
    console.print(f"student edition in {report.out}: {len(report.modules)} modules, {len(report.written)} files written, "
                  f"{report.unchanged} unchanged")
    for rel in report.kept:
        console.print(f"[yellow]kept[/yellow] {rel}: edited by the student; not replaced (the package was exported "
                      "from it); pass --replace-edited to replace it (it is backed up first)")
    for rel, backup in report.backed_up:
        console.print(f"[yellow]backed up[/yellow] {rel} -> {backup} (it had been edited)")
    problems, warnings = edition.verify_edition(root, out)
    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(str(w))}")
    for p in problems:
        console.print(f"[red]leak:[/red] {escape(str(p))}")
    if problems:
        raise typer.Exit(1)
    console.print("checked: no solution, hidden test or mark scheme in the edition")


def check():
    "Maintainers: check every module source against the contract, and the whole student edition for give-aways."
    from . import check as check_lib
    root = _root()
    mods = course.all_modules(root)
    problems = check_lib.check_course(root)
    for p in problems:
        console.print(f"[red]✗[/red] {escape(str(p))}")
    if problems:
        console.print(f"[red]{len(problems)} problem(s)[/red] (in the {len(mods)} module sources and their student edition)")
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {len(mods)} modules follow the contract; the student edition gives no solution, hidden test or mark scheme away")


def status():
    "Per module: exported and in sync with its source, inline points and tests from the last `tito test`."
    from . import status as status_lib
    root = _root()
    rows = status_lib.course_status(root)
    table = Table(title=f"tito status ({root})")
    for col in ("module", "export", "inline points", "inline tests", "pytest", "complete"):
        table.add_column(col)
    mark = lambda ok: "-" if ok is None else ("[green]pass[/green]" if ok else "[red]FAIL[/red]")
    earned = possible = 0.0
    for r in rows:
        exp = f"[green]{r.export}[/green]" if r.export == "in sync" else f"[red]{r.export}[/red]"
        pts = "not tested" if r.earned is None else f"{r.earned:g}/{r.possible:g}"
        earned += r.earned or 0
        possible += r.possible or 0
        table.add_row(r.module, exp, pts, mark(r.inline_ok), mark(r.pytest_ok), "[green]yes[/green]" if r.complete else "no")
    table.add_row("total", "", f"{earned:g}/{possible:g}", "", "", f"{sum(r.complete for r in rows)}/{len(rows)}")
    console.print(table)
    if any(r.export != "in sync" for r in rows):
        console.print("export out of sync: run `tito export --all`; untested: run `tito test --all`")


def doctor():
    "Is this machine ready? Python, packages, Jupyter kernel, alembic, data, tinytorch; each problem with its fix."
    from . import status as status_lib
    root = _root()
    findings = status_lib.doctor(root)
    table = Table(title="tito doctor")
    for col in ("check", "", "detail", "fix"):
        table.add_column(col)
    icon = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for f in findings:
        table.add_row(escape(f.what), icon[f.level], escape(f.detail), escape(f.fix))  # `.[test]` is not markup
    console.print(table)
    if any(f.level == "fail" for f in findings):
        raise typer.Exit(1)


def register(app):
    "Add these commands to the `tito` app."
    app.command("student-edition")(student_edition)
    app.command()(check)
    app.command()(status)
    app.command()(doctor)
