"""Handing work in from anywhere: one file per student and module, made by `tito submit`, read by
`tito nbgrader collect NN --from FOLDER`.

A submission file is a zip holding the student's notebook, named as the nbgrader assignment (`NN_name.ipynb`),
and `manifest.json`: format, course id, student id, module, the notebook's sha256, the time (UTC) and the tito
version. The checksum catches a file damaged or changed after it was made; the manifest, not the file's name
(browsers and course pages rename downloads), says whose work it is.
"""
import datetime
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course as course_lib
from .course import CourseError

FORMAT = "tinytorch-submission/1"
FOLDER = Path("submissions")                      # in the course folder, next to modules/
STUDENT_FILE = Path(".tito") / "student.json"     # the id given to an earlier `tito submit`
STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")  # a folder name nbgrader can use, nothing more


class SubmissionError(CourseError):
    "A submission file that cannot be collected; the message says why."


def check_student(student):
    "A student id fit for a folder name (letters, digits, `_ . @ -`), or a clear error."
    if not STUDENT_RE.match(student or ""):
        raise CourseError(f"student id {student!r} is not usable: use letters, digits and `_ . @ -` only "
                          "(your university login, for example)")
    return student


def student_id(root, given=None, ask=None):
    "The student id: `given` (then remembered), else the one remembered from an earlier submit, else `ask()`."
    path = Path(root) / STUDENT_FILE
    if not given and path.is_file():
        return json.loads(path.read_text())["student"]
    if not given and ask:
        given = ask()
    if not given:
        raise CourseError("who is submitting? Pass your student id once with `--student YOUR_ID`; "
                          "later submissions remember it")
    check_student(given)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"student": given}))
    return given


def tito_version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("tinytorch")
    except PackageNotFoundError:
        return "unknown"


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def make(root, module, student, notebook=None, now=None):
    "Write submissions/STUDENT_NN_name.zip from the module's notebook (or `notebook`); returns its path."
    root = Path(root)
    nb_path = Path(notebook or module.notebook)
    if not nb_path.is_file():
        raise CourseError(f"no notebook {nb_path}: open module {module.slug}, save it, and submit again")
    data = nb_path.read_bytes()
    try:
        nbformat.reads(data.decode(), as_version=4)
    except Exception as err:  # noqa: BLE001 — any parse failure means the same thing to the student
        raise CourseError(f"{nb_path} is not a readable notebook ({err}); nothing was submitted") from None
    when = now or datetime.datetime.now(datetime.timezone.utc)
    manifest = {"format": FORMAT, "course": course_lib.settings(root).get("course", "id", fallback="tinytorch"),
                "student": check_student(student), "module": module.slug, "notebook": f"{module.slug}.ipynb",
                "sha256": _sha(data), "submitted_at": when.isoformat(), "tito_version": tito_version()}
    out = root / FOLDER / f"{student}_{module.slug}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=1))
        z.writestr(manifest["notebook"], data)
    partial.replace(out)  # a file either complete or absent
    return out


@dataclass
class Submission:
    path: Path
    student: str
    module: str
    notebook: bytes
    submitted_at: datetime.datetime


def read(path, course_id=None, modules=()):
    "The checked contents of a submission file; SubmissionError says what is wrong with it."
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "manifest.json" not in names:
                raise SubmissionError("no manifest.json inside: not a file made by `tito submit`")
            manifest = json.loads(z.read("manifest.json"))
            if manifest.get("format") != FORMAT:
                raise SubmissionError(f"unknown format {manifest.get('format')!r} (expected {FORMAT})")
            if manifest.get("notebook") not in names:
                raise SubmissionError(f"the notebook {manifest.get('notebook')!r} named in the manifest is missing")
            data = z.read(manifest["notebook"])
    except (zipfile.BadZipFile, OSError) as err:
        raise SubmissionError(f"not a readable zip file ({err})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SubmissionError("manifest.json is not valid JSON") from None
    if _sha(data) != manifest.get("sha256"):
        raise SubmissionError("the notebook does not match the checksum in its manifest (changed or damaged after "
                              "`tito submit`): ask the student to submit again")
    if course_id and manifest.get("course") != course_id:
        raise SubmissionError(f"made for course {manifest.get('course')!r}, not {course_id!r}")
    if modules and manifest.get("module") not in modules:
        raise SubmissionError(f"module {manifest.get('module')!r} is not a module of this course")
    try:
        check_student(manifest.get("student"))
        when = datetime.datetime.fromisoformat(manifest["submitted_at"])
    except (CourseError, KeyError, TypeError, ValueError) as err:
        raise SubmissionError(f"bad manifest: {err}") from None
    return Submission(path, manifest["student"], manifest["module"], data, when)


def to_exchange(root, module, course_id, exchange):
    """Submit the module's notebook to the nbgrader exchange folder `exchange` with nbgrader's own `submit` (the
    student is who nbgrader says: on the course hub, the hub user); returns nbgrader's output, or raises CourseError."""
    if not module.notebook.is_file():
        raise CourseError(f"no notebook {module.notebook}: open module {module.slug}, save it, and submit again")
    with tempfile.TemporaryDirectory(prefix="tito-submit-") as tmp:
        folder = Path(tmp) / module.slug
        folder.mkdir()
        shutil.copy2(module.notebook, folder / f"{module.slug}.ipynb")  # named as the released notebook
        proc = subprocess.run([sys.executable, "-m", "nbgrader", "submit", module.slug, "--course", course_id,
                               f"--Exchange.root={exchange}"],
                              cwd=tmp, capture_output=True, text=True)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode:
        raise CourseError(f"nbgrader could not submit {module.slug} to the exchange:\n{out[-1500:]}")
    return out
