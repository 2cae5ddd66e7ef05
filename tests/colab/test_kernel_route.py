"""The kernel route of tito.colab without a kernel: which lines are routed, which module a notebook is, and
saving the open notebook into the course folder without ever losing an earlier copy."""
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tito import colab
from tito import course as course_lib
from tito import edition
from tito.course import CourseError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("line, routed", [
    ("!tito export 01\n", "get_ipython().run_line_magic('tito', 'export 01')\n"),
    ("  ! tito submit 02 --student alice", "  get_ipython().run_line_magic('tito', 'submit 02 --student alice')\n"),
    ("!tito test 01\n", None),            # runs as a shell command, as typed
    ("!tito exporter\n", None),
    ("x = '!tito export 01'\n", None),
])
def test_only_export_and_submit_are_routed_through_the_kernel(line, routed):
    assert colab.route_tito_lines([line]) == [routed or line]


@pytest.fixture
def student_course(tmp_path):
    "A course folder with module 01's and 02's release notebooks and the edition's manifest of them."
    course = tmp_path / "tinytorch"
    (course / "modules").mkdir(parents=True)
    shutil.copy2(ROOT / "settings.ini", course / "settings.ini")
    files = {}
    for m in course_lib.all_modules(ROOT)[:2]:
        (course / "modules" / m.slug).mkdir()
        shutil.copy2(m.dir / "module.yaml", course / "modules" / m.slug / "module.yaml")
        rel = f"modules/{m.slug}/{m.notebook.name}"
        (course / rel).write_text(nbformat.writes(edition.release_notebook(m, ROOT)) + "\n")
        files[rel] = edition._sha((course / rel).read_bytes())
    (course / edition.MANIFEST).write_text(json.dumps({"files": files}))
    return course


def opened(course, number, change):
    "Module `number`'s notebook as open in the browser, with `change` appended to its last cell."
    nb = nbformat.read(course_lib.select(course, number)[0].notebook, as_version=4)
    nb.cells[-1].source += change
    return nb


def test_the_open_notebook_must_be_the_module_named(student_course):
    m01 = course_lib.select(student_course, "01")[0]
    assert colab.module_of(opened(student_course, "02", ""), student_course) == "02"
    bare = opened(student_course, "02", "")  # a frontend that dropped the nbgrader metadata: the export line says it
    for cell in bare.cells:
        cell.metadata.pop("nbgrader", None)
    assert colab.module_of(bare, student_course) == "02"
    with pytest.raises(CourseError, match="module 02_autograd, not 01_tensor"):
        colab.save_open_notebook(student_course, m01, opened(student_course, "02", "\n# mine"))
    with pytest.raises(CourseError, match="not a TinyTorch module notebook"):
        colab.save_open_notebook(student_course, m01, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    assert edition._sha(m01.notebook.read_bytes()) == json.loads((student_course / edition.MANIFEST).read_text())[
        "files"][f"modules/01_tensor/{m01.notebook.name}"]  # untouched


def test_saving_keeps_every_earlier_copy_of_the_students_work(student_course):
    m01 = course_lib.select(student_course, "01")[0]
    path, backup = colab.save_open_notebook(student_course, m01, opened(student_course, "01", "\n# day 1"))
    assert path == m01.notebook and backup is None  # the untouched edition's notebook needs no backup
    assert "# day 1" in m01.notebook.read_text()
    assert colab.earlier_work(student_course) == ["01_tensor"]
    assert colab.save_open_notebook(student_course, m01, nbformat.read(m01.notebook, as_version=4))[1] is None  # same
    path, backup = colab.save_open_notebook(student_course, m01, opened(student_course, "01", "\n# day 2"))
    assert backup.is_relative_to(student_course / ".tito" / "backups")
    assert "# day 1" in backup.read_text() and "# day 2" not in backup.read_text()
    assert "# day 2" in m01.notebook.read_text()
    colab.save_open_notebook(student_course, m01, opened(student_course, "01", "\n# day 2, later"))
    kept = sorted(p.read_text() for p in (student_course / ".tito" / "backups").rglob("*.ipynb"))
    assert len(kept) == 2 and all("# day 1" in k for k in kept)  # within one second too: nothing overwritten
