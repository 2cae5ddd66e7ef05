"(a) The reference source of modules 01 and 02 runs top to bottom in a fresh process with full inline points."
from pathlib import Path

import pytest

from tito import course as course_lib
from tito import testing

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("number", ["01", "02"])
def test_a_reference_source_runs_clean(number):
    (module,) = course_lib.select(ROOT, number)
    result = testing.run_inline(ROOT, module)
    assert not result["failed"], result["failed"]
    assert result["earned"] == result["possible"] > 0
