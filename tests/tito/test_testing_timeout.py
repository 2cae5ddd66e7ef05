"""`tito test` on a module that never finishes: a failed result that says so, not a traceback from tito."""
from pathlib import Path
from types import SimpleNamespace

from tito import testing

ROOT = Path(__file__).resolve().parents[2]


def test_an_endless_module_is_a_failure_naming_the_time_limit(tmp_path):
    source = tmp_path / "endless_dev.py"
    source.write_text("# %%\nwhile True:\n    pass\n")
    result = testing.run_inline(ROOT, SimpleNamespace(source=source, notebook=None), timeout=3)
    assert result["earned"] == 0
    (failure,) = result["failed"]
    assert "did not finish within 3 s" in failure["error"]
