"""`tito milestone`: list the milestones and run one (a script under milestones/, in a fresh process).

    tito milestone list
    tito milestone run NAME [--quick | --full] [--seed N]

A milestone trains a real model from scratch with the student's tinytorch package and reports what
it reached on the full held-out test set against its target. `--quick` runs a small version (seconds,
a check that the pipeline learns); `--full` records the run in milestones/results/NAME.json, from which
`python milestones/make_readme.py` regenerates the results table in milestones/README.md.
"""
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import typer
from rich.table import Table

from . import course
from .testing import course_env
from .cli_support import course_root, make_console


@dataclass(frozen=True)
class Milestone:
    name: str
    script: str       # under milestones/
    data: str
    model: str
    target: float     # test accuracy
    module: str       # the module after which a student can run it
    metric: str = "test_accuracy"  # or "val_loss" (lower is better: the target is a ceiling)

    def reached(self, value):
        return value <= self.target if self.metric == "val_loss" else value >= self.target

    def show(self, value):
        return f"{value:.3f}" if self.metric == "val_loss" else f"{value:.2%}"

    def show_target(self):
        return f"≤ {self.target:.2f} val loss" if self.metric == "val_loss" else f"≥ {self.target:.1%}"


MILESTONES = [
    Milestone("mlp-mnist", "mlp_mnist.py", "MNIST", "MLP 784-1024-512-10", 0.982, "08"),
    Milestone("lenet5-mnist", "lenet5_mnist.py", "MNIST", "LeNet-5", 0.992, "09"),
    Milestone("mlp-cifar10", "mlp_cifar10.py", "CIFAR-10", "MLP 3072-1024-512-10", 0.60, "08"),
    Milestone("lenet5-cifar10", "lenet5_cifar10.py", "CIFAR-10", "LeNet-5", 0.66, "09"),
    Milestone("tinygpt", "tinygpt.py", "tiny-shakespeare", "TinyGPT (char level), 15 min", 1.70, "16", metric="val_loss"),
]

milestone_app = typer.Typer(help="Train the milestone models (real data, full test set, stated targets).",
                            no_args_is_help=True, add_completion=False)
console = make_console()


def _root():
    return course_root(console)


def find(name):
    "The milestone called `name` (also accepts the script's stem, e.g. lenet5_cifar10)."
    for m in MILESTONES:
        if name in (m.name, m.script[:-3]):
            return m
    raise KeyError(name)


def last_result(root, m):
    "The recorded full run of milestone `m` (milestones/results/NAME.json) or None."
    path = root / "milestones" / "results" / f"{m.name}.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@milestone_app.command("list")
def list_():
    "The milestones, their targets and the last recorded full run."
    root = _root()
    table = Table(title="milestones")
    for col in ("name", "data", "model", "target", "after module", "recorded run"):
        table.add_column(col)
    for m in MILESTONES:
        r = last_result(root, m)
        rec = "-" if r is None else (f"{m.show(r['value'])} in {r['wall_seconds'] / 60:.1f} min "
                                     f"({'reached' if m.reached(r['value']) else 'not reached'}, {r['date'][:10]})")
        table.add_row(m.name, m.data, m.model, m.show_target(), m.module, rec)
    console.print(table)


@milestone_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(ctx: typer.Context, name: str = typer.Argument(..., help="milestone name, e.g. lenet5-cifar10 (see `tito milestone list`)"),
        quick: bool = typer.Option(False, "--quick", help="a small run of a few seconds (not the milestone)"),
        full: bool = typer.Option(False, "--full", help="the full run, recorded in milestones/results/NAME.json"),
        seed: Optional[int] = typer.Option(None, "--seed", help="random seed (default: the script's, 0)")):
    "Run a milestone script in a fresh process with your tinytorch package; exit 1 if the target is missed."
    root = _root()
    if quick and full:
        console.print("[red]error:[/red] choose --quick or --full, not both")
        raise typer.Exit(2)
    try:
        m = find(name)
    except KeyError:
        console.print(f"[red]error:[/red] no milestone {name!r}; there are: {', '.join(x.name for x in MILESTONES)}")
        raise typer.Exit(2)
    script = root / "milestones" / m.script
    if not script.is_file():
        console.print(f"[red]error:[/red] {script} is missing")
        raise typer.Exit(2)
    cmd = [sys.executable, str(script)] + (["--quick"] if quick else []) + (["--full"] if full else [])
    cmd += ["--seed", str(seed)] if seed is not None else []
    cmd += ctx.args  # anything else goes to the script (e.g. tinygpt's --fallback, --config stretch)
    console.print(f"running {m.name}: {' '.join(cmd[1:])}")
    proc = subprocess.run(cmd, cwd=root, env=course_env(root))
    raise typer.Exit(proc.returncode)
