"""`tito publish REMOTE`: the student edition as a commit on the student branch of a git remote.

The Binder and Colab links in settings.ini open that branch, and the Colab setup cell clones it. The branch is
fetched, the edition is written over it (tito.edition.student_edition: it updates a previous edition in place),
and the change is committed and pushed as a new commit: history is never rewritten and nothing is force-pushed.
"""
import json
import subprocess
import tempfile
from pathlib import Path

from . import course as course_lib
from . import edition
from .course import CourseError

IDENTITY = ["-c", "user.name=tito publish", "-c", "user.email=tito@localhost"]  # only when git has none


def _git(*args, cwd=None, check=True):
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode:
        raise CourseError(f"git {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc


def _source_commit(root):
    "The maintainers' commit the edition is made from (with `+changes` when the checkout has uncommitted changes)."
    head = _git("rev-parse", "--short", "HEAD", cwd=root, check=False)
    if head.returncode:
        return "an uncommitted checkout"
    dirty = _git("status", "--porcelain", cwd=root, check=False).stdout.strip()
    return head.stdout.strip() + ("+changes" if dirty else "")


def _only_stamp_changed(work):
    "True when the edition's manifest changed only in its time stamp (then there is nothing new to publish)."
    changed = _git("status", "--porcelain", cwd=work).stdout.splitlines()
    if [l[3:] for l in changed] != [str(edition.MANIFEST)] or changed[0][:2].strip() != "M":
        return False
    before = json.loads(_git("show", f"HEAD:{edition.MANIFEST}", cwd=work).stdout)
    return before.get("files") == json.loads((work / edition.MANIFEST).read_text()).get("files")


def publish(root, remote, branch=None):
    "Publish the student edition of the course at `root` to `branch` of `remote`; returns (commit or None, message)."
    root = Path(root)
    branch = branch or course_lib.settings(root).get("course", "student_branch", fallback="student")
    exists = _git("ls-remote", "--exit-code", "--heads", str(remote), branch, check=False)
    if exists.returncode not in (0, 2):  # 2: reachable, no such branch
        raise CourseError(f"cannot reach the git remote {remote}: {exists.stderr.strip()[-500:]}")
    with tempfile.TemporaryDirectory(prefix="tito-publish-") as tmp:
        work = Path(tmp) / "edition"
        if exists.returncode == 0:
            _git("clone", "-q", "--single-branch", "-b", branch, str(remote), str(work))
        else:
            _git("init", "-q", "-b", branch, str(work))
            _git("remote", "add", "origin", str(remote), cwd=work)
        report = edition.student_edition(root, work)
        problems, _ = edition.verify_edition(root, work)
        if problems:
            raise CourseError("the student edition would leak solutions; nothing was published:\n  " + "\n  ".join(problems[:20]))
        if _only_stamp_changed(work):
            _git("checkout", "--", str(edition.MANIFEST), cwd=work)
        _git("add", "-A", cwd=work)
        if not _git("status", "--porcelain", cwd=work).stdout.strip():
            return None, f"{remote} {branch} already holds this student edition: nothing to publish"
        who = [] if _git("config", "user.email", cwd=work, check=False).stdout.strip() else IDENTITY
        _git(*who, "commit", "-q", "-m", f"Student edition from {_source_commit(root)} "
             f"({len(report.modules)} modules, {len(report.written)} files updated)", cwd=work)
        commit = _git("rev-parse", "HEAD", cwd=work).stdout.strip()
        push = _git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work, check=False)
        if push.returncode:
            raise CourseError(f"git push to {remote} {branch} was refused (someone pushed meanwhile?); nothing was "
                              f"overwritten. Run `tito publish` again. git said: {push.stderr.strip()[-500:]}")
        replaced = [rel for rel, _ in report.backed_up]
        return commit, (f"published the student edition to {remote} {branch}: commit {commit[:10]}" +
                        (f"; replaced files changed on the branch since the last publish (their versions stay in "
                         f"its history): {', '.join(replaced)}" if replaced else ""))
