"`tito check`: the repository passes; a copy with a duplicated grade_id or unbalanced markers fails, naming the cell."
import shutil
from pathlib import Path

from typer.testing import CliRunner

from tito import check
from tito.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _copy_course(tmp_path, numbers=("01_tensor", "02_autograd")):
    "A two-module copy of the course (sources, module files, settings) to break on purpose."
    for name in ("settings.ini", "pyproject.toml"):
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
