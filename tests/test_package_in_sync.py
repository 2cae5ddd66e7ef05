"The committed tinytorch package is exactly what exporting the module sources produces."
import filecmp
import shutil

from tito.course import all_modules, find_root
from tito.export import export_module

ROOT = find_root(__file__)


def test_reexport_changes_nothing(tmp_path):
    for name in ("modules", "tinytorch", "pyproject.toml", "settings.ini"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    mods = [m for m in all_modules(tmp_path) if m.source]
    assert mods, "the course has module sources"
    for m in mods:
        export_module(tmp_path, m)
    changed = []
    for path in (tmp_path / "tinytorch").rglob("*.py"):
        committed = ROOT / path.relative_to(tmp_path)
        if not committed.is_file() or not filecmp.cmp(path, committed, shallow=False):
            changed.append(str(committed.relative_to(ROOT)))
    assert not changed, f"out of sync with the sources (run `tito export --all` and commit): {changed}"
