"""Each student notebook runs top to bottom in a fresh kernel until its first unimplemented cell,
which raises NotImplementedError — never another error (a missing import, a typo in given code)."""
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tito.course import all_modules, find_root
from tito.edition import release_notebook

ROOT = find_root(__file__)
MODULES = [m for m in all_modules(ROOT) if m.source]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_student_notebook_stops_at_first_exercise(module, tmp_path):
    nb = release_notebook(module)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert info.value.ename == "NotImplementedError", (
        f"{module.slug}: the first failing cell raised {info.value.ename}: {info.value.evalue}")


def test_student_notebooks_open_with_the_colab_setup_cell():
    from tito.course import settings
    repo = settings(ROOT)["course"]["repository"]
    for m in MODULES:
        first = release_notebook(m).cells[0]
        assert first.cell_type == "code" and 'if "google.colab" in sys.modules:' in first.source, m.slug
        assert repo in first.source, f"{m.slug}: the Colab cell clones the course repository"


def test_book_chapters_open_with_their_title_not_the_colab_cell():
    from tito.book import chapter_notebook
    for m in MODULES:
        nb = chapter_notebook(ROOT, m)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("# "), \
            f"{m.slug}: the chapter opens with its title"
        setup = [i for i, c in enumerate(nb.cells) if "google.colab" in c.source or c.get("id") == "colab-setup"]
        assert setup == [], f"{m.slug}: the Colab setup code is not part of the chapter (cells {setup})"
