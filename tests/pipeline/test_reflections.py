"""Reflection questions stay visible: nbgrader replaces a whole manually graded answer cell with the answer
prompt, so in every module the question sits in its own locked cell right above the answer cell. Checked in
the student notebook tito writes (tito.edition) and in the release that nbgrader's own `generate_assignment`
writes, for all 16 modules; and `tito check` refuses an answer cell without its question."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tito import check, edition
from tito import course as course_lib
from tito import export as export_lib

ROOT = Path(__file__).resolve().parents[2]
MODULES = [m for m in course_lib.all_modules(ROOT) if m.source]


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader") or {}


def manually_graded(nb):
    "Indexes of the cells a person grades (markdown answers: solution and grade)."
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and _nbgrader(c).get("solution") and _nbgrader(c).get("grade")]


def questions(source_nb):
    "grade_id of each answer cell -> the question text in the source (the cell right above it)."
    return {_nbgrader(source_nb.cells[i])["grade_id"]: source_nb.cells[i - 1].source.strip()
            for i in manually_graded(source_nb)}


def unanswerable(nb, expected):
    "Answer cells of a student notebook not preceded by a cell showing their question (empty when all are fine)."
    problems = []
    found = {_nbgrader(nb.cells[i])["grade_id"]: i for i in manually_graded(nb)}
    if sorted(found) != sorted(expected):
        problems.append(f"answer cells {sorted(found)}, expected {sorted(expected)}")
    for gid, i in found.items():
        above = nb.cells[i - 1].source.strip() if i else ""
        if not above or check.ANSWER in above:
            problems.append(f"{gid}: the cell above shows {above[:40]!r}, not a question")
        elif gid in expected and above != expected[gid]:
            problems.append(f"{gid}: the cell above is not the question of the source: {above[:60]!r}")
        if nb.cells[i].source.strip() != check.ANSWER:
            problems.append(f"{gid}: the answer cell is not cleared to the answer prompt")
    return problems


def test_sources_have_two_or_three_questions_each():
    for m in MODULES:
        qs = questions(export_lib.read_source(m.source))
        assert 2 <= len(qs) <= 3, f"{m.slug}: {len(qs)} reflections"
        for gid, text in qs.items():
            assert text and check.ANSWER not in text, f"{m.slug} {gid}: {text[:60]!r}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_tito_student_notebook_shows_every_question(module):
    nb = edition.release_notebook(module)
    assert unanswerable(nb, questions(export_lib.read_source(module.source))) == []


def test_nbgrader_release_shows_every_question(tmp_path):
    "nbgrader's own generate_assignment (one assignment holding all 16 notebooks, one run)."
    src = tmp_path / "source" / "all"
    src.mkdir(parents=True)
    for m in MODULES:
        nbformat.write(export_lib.read_source(m.source), src / f"{m.slug}.ipynb")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "all", "--force",
                           f"--CourseDirectory.root={tmp_path}", "--CourseDirectory.course_id=reflections"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for m in MODULES:
        nb = nbformat.read(tmp_path / "release" / "all" / f"{m.slug}.ipynb", as_version=4)
        assert unanswerable(nb, questions(export_lib.read_source(m.source))) == [], m.slug


def _copy_module(tmp_path, slug="01_tensor"):
    for name in ("settings.ini", "pyproject.toml", "book/student_readme.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    dest = tmp_path / "modules" / "source" / slug
    dest.mkdir(parents=True)
    for p in (ROOT / "modules" / "source" / slug).iterdir():
        if p.is_file() and p.suffix != ".ipynb":
            (dest / p.name).write_bytes(p.read_bytes())
    return tmp_path, dest / f"{slug[3:]}_dev.py"


@pytest.mark.parametrize("breakage", ["merged back into the answer cell", "question cell not locked"])
def test_check_refuses_an_answer_cell_without_its_question(tmp_path, breakage):
    root, src = _copy_module(tmp_path)
    text = src.read_text()
    header = ('# %% [markdown] nbgrader={"grade": false, "grade_id": "01-tensor-reflect-memory-question", '
              '"locked": true, "schema_version": 3, "solution": false, "task": false}')
    assert header in text
    if breakage == "merged back into the answer cell":  # the question moves into the answer cell (as before)
        start = text.index(header)
        answer = text.index("# %% [markdown]", start + 1)
        answer_header_end = text.index("\n", answer)
        question = text[start + len(header):answer].strip("\n")
        text = text[:start] + text[answer:answer_header_end + 1] + question + "\n#\n" + text[answer_header_end + 1:]
    else:
        text = text.replace(header, header.replace('"locked": true', '"locked": false'))
    src.write_text(text)
    found = [p for p in check.check_course(root) if p.cell == "01-tensor-reflect-memory"]
    assert found and "without its question right above it" in found[0].message, [str(p) for p in check.check_course(root)]
    assert "locked" in found[0].fix
