"Helpers shared by the autograding attack tests (imported by name: this folder is put on sys.path by conftest.py)."
import shutil
from pathlib import Path

import pytest

from tito.grading import sandbox

ROOT = Path(__file__).resolve().parents[2]
SANDBOXED, WHY_NOT = sandbox.bwrap_status()
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason=f"no sandbox on this machine: {WHY_NOT}")


def copy_course(generated_course, dest):
    "A fresh copy of the generated course at `dest` (its own gradebook)."
    shutil.copytree(generated_course, dest)
    return Path(dest)


def cells(nb):
    "grade_id -> cell of a notebook dict."
    return {(c.get("metadata", {}).get("nbgrader") or {}).get("grade_id"): c for c in nb["cells"]}


def text_of(nb):
    "Everything visible in a notebook's outputs, as one string."
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts.append(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", [])))
            parts += [o.get("evalue", "") or ""] + list(o.get("traceback", []))
            parts += [v if isinstance(v, str) else "".join(v) for v in (o.get("data") or {}).values()
                      if isinstance(v, (str, list))]
    return "\n".join(parts)
