"""`tito publish REMOTE`: the student edition lands on the student branch as a commit; publishing again adds a
commit only when something changed, never rewrites history, and refuses a branch that is not a student edition."""
import subprocess
from pathlib import Path

import pytest

from tito import publish
from tito.course import CourseError

ROOT = Path(__file__).resolve().parents[2]


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_the_published_branch_is_the_student_edition(remote):
    files = git("ls-tree", "-r", "--name-only", "student", cwd=remote).splitlines()
    assert ".student-edition.json" in files and "modules/01_tensor/tensor_dev.ipynb" in files
    assert "tinytorch/core/tensor.py" in files and "settings.ini" in files
    assert not any(f.endswith("_dev.py") and f.startswith("modules/") for f in files)  # no sources, no solutions
    assert "raise NotImplementedError" in git("show", "student:tinytorch/core/tensor.py", cwd=remote)


def test_publishing_again_adds_a_commit_and_never_rewrites_history(remote, tmp_path):
    copy = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(remote), str(copy), cwd=tmp_path)
    first = git("rev-parse", "student", cwd=copy)
    commit, message = publish.publish(ROOT, copy)
    assert commit is None and "nothing to publish" in message
    assert git("rev-parse", "student", cwd=copy) == first

    # a teaching assistant pushes a change to the branch; the next publish builds on it
    work = tmp_path / "ta"
    git("clone", "-q", "-b", "student", str(copy), str(work), cwd=tmp_path)
    (work / "settings.ini").write_text((work / "settings.ini").read_text() + "# a TA's note\n")
    git("-c", "user.name=ta", "-c", "user.email=ta@example.org", "commit", "-qam", "TA note", cwd=work)
    git("push", "-q", "origin", "student", cwd=work)
    ta_commit = git("rev-parse", "HEAD", cwd=work)
    commit, message = publish.publish(ROOT, copy)
    assert commit and git("rev-parse", "student", cwd=copy) == commit
    assert git("rev-parse", f"{commit}^", cwd=copy) == ta_commit  # on top: the TA's commit stays in history
    assert "# a TA's note" not in git("show", "student:settings.ini", cwd=copy)
    assert "replaced files changed on the branch" in message and "settings.ini" in message


def test_a_branch_that_is_not_a_student_edition_is_refused(tmp_path):
    copy = tmp_path / "other.git"
    git("init", "-q", "--bare", str(copy), cwd=tmp_path)
    work = tmp_path / "other"
    git("init", "-q", "-b", "student", str(work), cwd=tmp_path)
    (work / "notes.txt").write_text("someone else's branch\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qm", "notes", cwd=work)
    git("push", "-q", str(copy), "student", cwd=work)
    before = git("rev-parse", "student", cwd=copy)
    with pytest.raises(CourseError, match="not a student edition"):
        publish.publish(ROOT, copy)
    assert git("rev-parse", "student", cwd=copy) == before
