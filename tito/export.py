"Module source or student notebook -> notebook with stable cell ids -> the tinytorch package (nbdev)."
import contextlib
import io
import re
from pathlib import Path

import jupytext
import nbformat

from .course import CourseError, Module


def stable_ids(nb):
    "Give every cell an id derived from its grade_id or position, so regenerating changes nothing."
    seen = set()
    for i, cell in enumerate(nb.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        cid = re.sub(r"[^A-Za-z0-9_-]", "-", grade_id) if grade_id else f"cell-{i:03d}"
        while cid in seen:
            cid += "x"
        seen.add(cid)
        cell["id"] = cid
    return nb


def read_source(path):
    "A percent-format module source as a notebook with stable cell ids."
    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.setdefault("language_info", {"name": "python"})
    return stable_ids(nb)


def write_if_changed(path, text):
    "Write `text` to `path` unless it already holds exactly that; True when written."
    path = Path(path)
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def notebook_from_source(module):
    "Regenerate the module's notebook from its .py source (maintainers' repo); returns its path."
    nb = read_source(module.source)
    write_if_changed(module.notebook, nbformat.writes(nb) + "\n")
    return module.notebook


def export_notebook(nb_path, lib_path, shown_as=None):
    "Export the `#| export` cells of `nb_path` into `lib_path` with nbdev; returns the files written."
    from nbdev.export import nb_export
    lib_path = Path(lib_path)
    before = {p: p.stat().st_mtime_ns for p in lib_path.rglob("*.py")}
    with contextlib.redirect_stderr(io.StringIO()) as err:
        nb_export(str(nb_path), str(lib_path))
    if "without `#| default_exp`" in err.getvalue():
        raise CourseError(f"{nb_path} has `#| export` cells but no `#| default_exp` cell")
    written = [p for p in lib_path.rglob("*.py") if before.get(p) != p.stat().st_mtime_ns]
    for p in written:
        text = strip_solution_markers(p.read_text())
        if shown_as:  # name the real source in the generated header, not the intermediate notebook
            text = text.replace(Path(nb_path).name, Path(shown_as).name)
        p.write_text(text)
    _ensure_packages(lib_path, written)
    return written


SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


def strip_solution_markers(text):
    "`text` without nbgrader's `### BEGIN/END SOLUTION` lines: the package reads as a library, not an assignment."
    return SOLUTION_MARKER.sub("", text)


def _ensure_packages(lib_path, files):
    "Every folder between the package root and an exported file gets an __init__.py."
    for f in files:
        d = f.parent
        while d != lib_path and lib_path in d.parents:
            (d / "__init__.py").touch(exist_ok=True)
            d = d.parent


def export_module(root, module):
    "Export one module into `root/tinytorch`: from its source if it has one, else from the student's notebook."
    lib = Path(root) / "tinytorch"
    if module.source:
        return export_notebook(notebook_from_source(module), lib, shown_as=module.source)
    if not module.notebook.is_file():
        raise CourseError(f"{module.slug}: neither {module.source or module.name + '_dev.py'} nor "
                          f"{module.notebook.name} exists in {module.dir}")
    return export_notebook(module.notebook, lib)
