"Shared by the Colab and hand-in tests: the student edition published once to a local bare remote."
import subprocess
from pathlib import Path

import pytest

from tito import publish

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def remote(tmp_path_factory):
    "A bare git remote whose student branch `tito publish` filled (tests that change it work on a copy)."
    remote = tmp_path_factory.mktemp("remote") / "tinytorch.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    commit, message = publish.publish(ROOT, remote)
    assert commit, message
    return remote
