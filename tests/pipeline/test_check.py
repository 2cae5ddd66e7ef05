"""`tito check`: the repository passes; a copy with a duplicated grade_id or unbalanced markers fails, naming the
cell; a copy whose student edition would give a solution or hidden test away fails, naming the file and line."""
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tito import check, edition
from tito.course import CourseError
from tito.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _copy_course(tmp_path, numbers=("01_tensor", "02_autograd")):
    "A two-module copy of the course (sources, module files, settings) to break on purpose."
    for name in ("settings.ini", "pyproject.toml", "book/student_readme.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for slug in numbers:
        shutil.copytree(ROOT / "modules" / "source" / slug, tmp_path / "modules" / "source" / slug,
                        ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    return tmp_path


def test_check_passes_on_the_repository():
    problems = check.check_course(ROOT)
    assert not problems, "\n".join(map(str, problems))


def test_check_passes_on_a_clean_copy(tmp_path):
    assert check.check_course(_copy_course(tmp_path)) == []


def test_duplicated_grade_id_fails_with_the_cell_named(tmp_path, monkeypatch):
    root = _copy_course(tmp_path)
    src = root / "modules" / "source" / "02_autograd" / "autograd_dev.py"
    text = src.read_text()
    assert '"grade_id": "02-autograd-topo-sort"' in text
    src.write_text(text.replace('"grade_id": "02-autograd-topo-sort"', '"grade_id": "01-tensor-indexing"'))
    problems = check.check_course(root)
    dup = [p for p in problems if p.cell == "01-tensor-indexing"]
    assert len(dup) >= 1 and dup[0].module == "02_autograd"
    assert "also used in 01_tensor" in dup[0].message and "unique" in dup[0].fix
    monkeypatch.setenv("TITO_ROOT", str(root))
    r = CliRunner().invoke(app, ["check"])
    assert r.exit_code == 1
    assert "02_autograd [01-tensor-indexing]: grade_id also used in 01_tensor" in " ".join(r.output.split())


def test_unbalanced_solution_markers_and_points_mismatch_fail(tmp_path):
    root = _copy_course(tmp_path, ["01_tensor"])
    src = root / "modules" / "source" / "01_tensor" / "tensor_dev.py"
    end = "### " + "END SOLUTION"
    text = src.read_text()
    # drop the END marker of the first solution block (in the Tensor class cell)
    src.write_text(text.replace("        " + end + "\n", "", 1))
    yaml_path = src.parent / "module.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("points:", "points: 1 #", 1))
    messages = [str(p) for p in check.check_course(root)]
    assert any("01_tensor [01-tensor-class]: unbalanced solution markers" in m for m in messages), messages
    assert any("module.yaml points is 1" in m for m in messages), messages


def test_a_readme_naming_solution_markers_fails(tmp_path):
    root = _copy_course(tmp_path, ["01_tensor"])
    readme = root / "modules" / "source" / "01_tensor" / "README.md"
    readme.write_text(readme.read_text() + "\nFill in the cells between `### BEGIN " + "SOLUTION` and the end marker.\n")
    messages = [str(p) for p in check.check_course(root)]
    assert any("01_tensor [README.md]: names the marker" in m for m in messages), messages


# ---- give-aways in the student edition (tito/leaks.py) ------------------------------------------------------

def _messages(root):
    return [" ".join(str(p).split()) for p in check.check_course(root)]


def test_a_hidden_test_line_in_a_tests_file_fails_naming_file_line_and_module(tmp_path, monkeypatch):
    root = _copy_course(tmp_path)
    hidden = 'Tensor(np.ones((5, 1, 3))) * Tensor(np.ones((4, 2)))'  # 01's hidden broadcasting test
    assert hidden in (root / "modules" / "source" / "01_tensor" / "tensor_dev.py").read_text()
    planted = root / "tests" / "02_autograd" / "test_planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("def test_shapes_named(err):\n    # the error names both shapes\n    " + hidden + "\n")
    messages = _messages(root)
    want = ("tests/02_autograd/test_planted.py [line 3]: shows a line found only in 01_tensor's hidden tests "
            "[01-tensor-broadcasting]")
    assert any(m.startswith(want) and "Fix: write the test's reference another way" in m for m in messages), messages
    monkeypatch.setenv("TITO_ROOT", str(root))
    r = CliRunner().invoke(app, ["check"])
    assert r.exit_code == 1 and want in " ".join(r.output.split()), r.output
    out = tmp_path / "edition"
    with pytest.raises(CourseError, match="would leak solutions"):  # nor is such an edition written
        edition.student_edition(root, out)
    assert not out.exists()


def test_three_lines_of_01s_solution_in_02s_notebook_fail_there_and_in_the_package(tmp_path):
    root = _copy_course(tmp_path)
    run = ["    if not axes:",
           "        axes = tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2) if self.ndim >= 2 else ()",
           "    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):"]
    assert "\n".join(run) in (root / "modules" / "source" / "01_tensor" / "tensor_dev.py").read_text()
    src = root / "modules" / "source" / "02_autograd" / "autograd_dev.py"
    text = src.read_text()
    anchor = "# %% [markdown]\n# ## 1."
    assert anchor in text
    given = "# %%\n#| export\ndef axes_of(self, *axes):\n    \"Given code that copies 01's solution.\"\n" + \
            "\n".join(run) + "\n        axes = tuple(axes[0])\n    return axes\n\n"
    src.write_text(text.replace(anchor, given + anchor, 1))
    messages = _messages(root)
    runs = [m for m in messages if "shows 3 consecutive lines of 01_tensor's solution [01-tensor-shape-ops]" in m]
    notebook = [m for m in runs if m.startswith("modules/02_autograd/autograd_dev.ipynb [cell-")]
    package = [m for m in runs if m.startswith("tinytorch/core/autograd.py [line ")]
    assert len(notebook) == 1 and len(package) == 1, messages
    assert ", line 4]" in notebook[0]  # `#| export`, `def`, the docstring, then the run
    assert "Fix: import 01_tensor's code from tinytorch" in notebook[0]


def test_an_idiom_shown_in_an_earlier_module_is_not_a_give_away(tmp_path):
    "What 01's notebook shows is public to 02: 02's solution may share a line with it, and tests may repeat it."
    from tito import leaks
    root = _copy_course(tmp_path)
    shown = 'expect_equal(Tensor(np.zeros(3, dtype=np.float64)).dtype, np.float32, "Tensor.__init__ (float64 arrays become float32)")'  # 01's test
    assert shown in (root / "modules" / "source" / "01_tensor" / "tensor_dev.py").read_text()
    src = root / "modules" / "source" / "02_autograd" / "autograd_dev.py"
    end = "### " + "END SOLUTION"
    text = src.read_text()
    src.write_text(text.replace("    " + end, f"    {shown}\n    {end}", 1))
    assert shown not in leaks.reference(root).secret
    planted = root / "tests" / "02_autograd" / "test_planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(shown + "\n")
    assert _messages(root) == []
