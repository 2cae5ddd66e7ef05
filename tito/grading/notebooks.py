"""Notebooks as the grader reads them: nbgrader's cell metadata, finding a student's notebook in a folder,
and loading it safely (size, encoding, JSON, nbformat). One set of helpers for every grading step."""
import json
import warnings
from pathlib import Path

MAX_NOTEBOOK_MB = 100


def source(cell):
    "A cell's source as one string (notebooks store it as a string or a list of lines)."
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def nbgrader_meta(cell):
    "A cell's nbgrader metadata (a dict), or None."
    m = (cell.get("metadata") or {}).get("nbgrader")
    return m if isinstance(m, dict) else None


def grade_id(cell):
    return (nbgrader_meta(cell) or {}).get("grade_id")


def cell_name(cell, index):
    "How a cell is named in messages: its grade id, else its position."
    return grade_id(cell) or f"#{index}"


class Rejected(Exception):
    "A submission that cannot be graded: `reason` says which kind (invalid notebook, missing notebook)."
    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def find_notebook(folder, aid):
    """(path, note) of the notebook of assignment `aid` in a student's folder: NN_name.ipynb, name_dev.ipynb, or
    the only one (then `note` says so); raises Rejected when there is none to grade."""
    folder = Path(folder)
    nbs = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    links = [p.name for p in nbs if p.is_symlink()]
    if links:   # it could point at anything the grader can read: a classmate's notebook, the gradebook
        raise Rejected("invalid notebook", f"{links[0]} is a symbolic link, not a notebook file")
    names = {p.name: p for p in nbs}
    for name in (f"{aid}.ipynb", f"{aid[3:]}_dev.ipynb"):
        if name in names:
            return names[name], None
    if len(nbs) == 1:
        return nbs[0], f"the notebook was submitted as {nbs[0].name} (expected {aid}.ipynb); graded as such"
    if not nbs:
        others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "timestamp.txt") if folder.is_dir() else []
        raise Rejected("missing notebook", f"no notebook in the submission (expected {aid}.ipynb)"
                       + (f"; found {', '.join(others[:5])}" if others else ""))
    raise Rejected("missing notebook", f"{len(nbs)} notebooks and none named {aid}.ipynb: "
                   f"{', '.join(p.name for p in nbs[:5])}")


def load_notebook(path):
    "The notebook at `path` as a plain dict (nbformat 4); raises Rejected('invalid notebook') with the cause."
    size = Path(path).stat().st_size
    if size > MAX_NOTEBOOK_MB * 1024 * 1024:
        raise Rejected("invalid notebook", f"{Path(path).name} is {size / 2**20:.0f} MB, more than the "
                       f"{MAX_NOTEBOOK_MB} MB a notebook may be (outputs left in it?)")
    data = Path(path).read_bytes()
    if not data.strip():
        raise Rejected("invalid notebook", f"{Path(path).name} is empty ({len(data)} bytes)")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise Rejected("invalid notebook", f"{Path(path).name} is not UTF-8 text: {err}")
    except json.JSONDecodeError as err:
        raise Rejected("invalid notebook", f"{Path(path).name} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise Rejected("invalid notebook", f"{Path(path).name} is JSON but not a notebook (no list of cells)")
    import nbformat
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # e.g. cells without ids: harmless, cells are rebuilt anyway
            nb = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as err:  # noqa: BLE001
        raise Rejected("invalid notebook", f"{Path(path).name} is not a readable notebook: {str(err).splitlines()[0][:200]}")
    return json.loads(json.dumps(nb))
