"""A student's journey in a simulated Colab (tests/colab/simulation.py), from the instructor's `tito publish`
to a grade.

- The instructor publishes the student edition to the student branch of a local bare remote (`tito publish`);
  the setup cell clones it from the URL in settings.ini.
- Day 1: the setup cell of 01's notebook mounts Drive, clones the course into MyDrive/tinytorch, installs it.
  The student solves 01 in the browser. `%tito export 01` while 02 is open is refused; `!tito export 01` saves
  the open notebook into the Drive course and exports it; `!tito test 01` passes; a plain `tito export` process
  refuses instead of exporting the untouched copy on disk.
- Day 2: a recycled machine (content/ emptied, a fresh Python; the Drive stays). The setup cell of 02 finds the
  course on Drive (no new clone) and the day-1 work. The student solves 02: export, `tito test 02` passes,
  importing day 1's 01. `!tito submit 02 --student alice` makes the browser download the submission file.
- The instructor: `tito nbgrader collect 02 --from DOWNLOADS`, autograde, feedback: alice has full points.
"""
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from colab.simulation import ColabMachine
from tito import course as course_lib
from tito import export as export_lib
from tito.grading import autograde, course as course_folder, feedback, pipeline

ROOT = Path(__file__).resolve().parents[2]
MODULES = {m.number: m for m in course_lib.all_modules(ROOT)}
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")

pytestmark = pytest.mark.slow


def edition_notebook(remote, module):
    "A module's notebook as the published student branch holds it (what the Colab link opens)."
    rel = f"modules/{module.slug}/{module.notebook.name}"
    text = subprocess.run(["git", "show", f"student:{rel}"], cwd=remote, capture_output=True, text=True, check=True).stdout
    return nbformat.reads(text, as_version=4)


def solved(nb, module):
    "The student's work: every implementation cell of the edition's notebook completed with the reference code."
    reference = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                 for c in export_lib.read_source(module.source).cells}
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    filled = 0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id") in reference:
            cell.source = "\n".join(l for l in reference[meta["grade_id"]].splitlines() if not MARKER.match(l))
            filled += 1
    assert filled, f"no implementation cell found in {module.slug}"
    return nb


def results(course):
    return json.loads((course / ".tito" / "results.json").read_text())


def test_colab_journey(remote, tmp_path):
    repository = course_lib.settings(ROOT)["course"]["repository"]
    machine = ColabMachine(tmp_path, repository, remote)
    course = machine.course
    nb01, nb02 = edition_notebook(remote, MODULES["01"]), edition_notebook(remote, MODULES["02"])
    setup_cell = nb01.cells[0].source
    assert "drive.mount" in setup_cell and setup_cell == nb02.cells[0].source

    # ------------------------------------------------------------------ day 1
    with machine.new_session() as s:
        out = s.run(setup_cell)
        assert "Your course is on your Google Drive" in out, out
        assert (course / "settings.ini").is_file() and (course / ".git").is_dir()
        tensor_py = course / "tinytorch" / "core" / "tensor.py"
        assert "NotImplementedError" in tensor_py.read_text()  # the edition's stubs

        machine.open(solved(nb02, MODULES["02"]))
        out = s.run("%tito export 01", fails=True)
        assert "module 02_autograd, not 01_tensor" in out, out
        assert "NotImplementedError" in tensor_py.read_text()

        machine.open(solved(nb01, MODULES["01"]))
        out = s.run("!tito export 01")
        assert "exported 01_tensor" in out, out
        saved = nbformat.read(course / "modules" / "01_tensor" / "tensor_dev.ipynb", as_version=4)
        assert [c.source for c in saved.cells] == [c.source for c in solved(nb01, MODULES["01"]).cells]
        assert "NotImplementedError" not in tensor_py.read_text()

        s.run("!tito test 01")  # 01's tests import only what 01 exports (not autograd): a student who solved 01 passes
        assert results(course)["01_tensor"]["inline_ok"] and results(course)["01_tensor"]["pytest_ok"], results(course)

        out = s.run("import subprocess\n"
                    "print(subprocess.run(['tito', 'export', '01'], capture_output=True, text=True).stdout)")
        assert "must run inside the notebook's kernel" in out, out
    day1_tensor = tensor_py.read_text()
    head = (course / ".git" / "HEAD").read_text()

    # ------------------------------------------------------------------ day 2
    with machine.new_session() as s:
        assert sorted(p.name for p in machine.content.iterdir()) == ["python"]  # a fresh machine
        out = s.run(nb02.cells[0].source)
        assert "Your earlier work: 01_tensor" in out, out
        assert (course / ".git" / "HEAD").read_text() == head and tensor_py.read_text() == day1_tensor

        machine.open(solved(nb02, MODULES["02"]))
        assert "exported 02_autograd" in s.run("!tito export 02")
        s.run("!tito test 02")
        assert results(course)["02_autograd"]["inline_ok"] and results(course)["02_autograd"]["pytest_ok"], results(course)
        assert tensor_py.read_text() == day1_tensor  # 02 ran on day 1's 01

        out = s.run("!tito submit 02 --student alice")
        assert "downloaded alice_02_autograd.zip" in out, out
    downloaded = machine.downloads / "alice_02_autograd.zip"
    assert downloaded.is_file()

    # ------------------------------------------------------------------ the instructor
    cdir = tmp_path / "course"
    course_folder.init_course(ROOT, cdir)
    assert all(r.ok for r in pipeline.generate(ROOT, cdir, modules=["02"]))
    collected = pipeline.collect(ROOT, cdir, modules=["02"], from_dir=machine.downloads)
    assert [(r.status, r.ok) for r in collected] == [("collected", True)], collected
    batch = autograde.autograde(ROOT, cdir, "02")
    [alice] = batch.outcomes
    assert (alice.student, alice.outcome) == ("alice", autograde.GRADED), alice
    assert alice.max_score > 0 and alice.score == alice.max_score, alice
    assert all(r.ok for r in feedback.html(ROOT, cdir, modules=["02"]))
    assert (cdir / "feedback" / "alice" / "02_autograd" / "02_autograd.html").is_file()


def test_declining_drive_says_work_is_lost(remote, tmp_path):
    "Without Drive the course lives on the Colab machine only, and the setup cell says so plainly."
    machine = ColabMachine(tmp_path, course_lib.settings(ROOT)["course"]["repository"], remote)
    with machine.new_session(decline_drive=True) as s:
        out = s.run(edition_notebook(remote, MODULES["01"]).cells[0].source)
        assert "Google Drive is not mounted" in out and "ALL YOUR WORK IS LOST WHEN THIS SESSION ENDS" in out, out
        assert (machine.content / "tinytorch" / "settings.ini").is_file()
        assert not any((machine.drive / "MyDrive").iterdir())
        assert s.run("import os; print(os.getcwd())").strip() == str(machine.content / "tinytorch")
