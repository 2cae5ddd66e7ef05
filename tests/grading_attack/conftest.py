"Shared by the autograding attack tests: one nbgrader course with module 01 generated, copied by each test file."
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # make_fixtures and attack_support, imported by name

from attack_support import ROOT  # noqa: E402
from tito.grading import course as course_folder, pipeline  # noqa: E402


@pytest.fixture(scope="session")
def generated_course(tmp_path_factory):
    "A course folder with 01_tensor generated (built once per session: copy it before changing it)."
    cdir = tmp_path_factory.mktemp("attack-base") / "course"
    course_folder.init_course(ROOT, str(cdir))
    (res,) = pipeline.generate(ROOT, str(cdir), modules=["01"])
    assert res.ok, res.detail
    return cdir
