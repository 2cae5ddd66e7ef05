"""Run a module notebook or source cell by cell in this (fresh) process and report each graded cell.

    python -m tito.cellrunner PATH [--json OUT]

Every code cell runs in one namespace, in order, like a notebook. A failing cell is recorded and
the run goes on, so one unfinished function does not hide the results of the others.
"""
import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path


def load_cells(path):
    "The code cells of a notebook (.ipynb) or percent source (.py) with their nbgrader metadata."
    import jupytext
    nb = jupytext.read(path)
    return [c for c in nb.cells if c.cell_type == "code"]


def run_cells(cells, filename, namespace=None, first_index=0):
    """Execute the cells in order; one result dict per code cell. `namespace` continues an earlier run
    (a fresh one by default); `first_index` numbers the cells when they are the tail of a notebook."""
    if namespace is None:
        namespace = {"__name__": "__main__", "__file__": str(filename)}
    results = []
    for i, cell in enumerate(cells, start=first_index):
        meta = cell.metadata.get("nbgrader", {})
        start = time.perf_counter()
        cell_file, lineno = f"{filename}:cell-{i}", None
        try:
            code = compile(cell.source, cell_file, "exec")
            exec(code, namespace)
            error = None
        except BaseException as exc:  # noqa: BLE001 — a student cell may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            lineno = failing_line(exc, cell_file)
        results.append({
            "cell": i,
            "grade_id": meta.get("grade_id"),
            "graded": bool(meta.get("grade")),
            "points": float(meta.get("points", 0) or 0) if meta.get("grade") else 0.0,
            "passed": error is None,
            "error": error,
            "lineno": lineno,  # the line of this cell that raised (None: it did not, or the cell does not compile)
            "line": cell.source.splitlines()[lineno - 1] if lineno else None,
            "seconds": round(time.perf_counter() - start, 3),
        })
    return results


def failing_line(exc, cell_file):
    "The number of the cell's own line where `exc` passed last (the test's assert, or its call into the package)."
    if isinstance(exc, SyntaxError) and exc.filename == cell_file:
        return exc.lineno
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == cell_file]
    return lines[-1] if lines else None


def summarize(results):
    "Points earned and possible over the graded cells, and the failures."
    graded = [r for r in results if r["graded"]]
    return {
        "earned": sum(r["points"] for r in graded if r["passed"]),
        "possible": sum(r["points"] for r in graded),
        "failed": [r for r in results if not r["passed"]],
        "cells": results,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    path = Path(args.path).resolve()
    os.chdir(path.parent)  # notebooks expect to run from their own folder
    sys.path.insert(0, str(path.parent))  # as a notebook kernel started there would have it
    summary = summarize(run_cells(load_cells(path), path))
    text = json.dumps(summary, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    else:
        print(text)
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
