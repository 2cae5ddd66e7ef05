"""Handing in from anywhere: `tito submit NN` makes one checked file per student and module (or submits to a
hub's nbgrader exchange), and `tito nbgrader collect NN --from FOLDER` takes a folder of such files: bad files
are reported one by one, the latest submission of a student counts, and collected work is never overwritten
(a newer one replaces it only with --update, the old one backed up)."""
import datetime
import json
import os
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from tito import course as course_lib
from tito import edition, submission
from tito.grading import course as course_folder, pipeline
from tito.cli import app
from tito.course import CourseError

ROOT = Path(__file__).resolve().parents[2]
SLUGS = ["01_tensor", "02_autograd"]


@pytest.fixture
def student_course(tmp_path):
    "A student's course with modules 01 and 02 (their release notebooks), as the student edition lays it out."
    course = tmp_path / "tinytorch"
    (course / "modules").mkdir(parents=True)
    shutil.copy2(ROOT / "settings.ini", course / "settings.ini")
    for m in course_lib.all_modules(ROOT):
        if m.slug in SLUGS:
            dest = course / "modules" / m.slug
            dest.mkdir()
            shutil.copy2(m.dir / "module.yaml", dest / "module.yaml")
            nbformat.write(edition.release_notebook(m, ROOT), dest / m.notebook.name)
    return course


def module(course, number):
    return course_lib.select(course, number)[0]


def edit(course, number, text):
    "The student writes `text` into the first implementation cell of module `number`'s notebook."
    m = module(course, number)
    nb = nbformat.read(m.notebook, as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")).source = text
    nbformat.write(nb, m.notebook)


def submit(course, number, student, minutes=0):
    "A submission file made at a given time (minutes after a fixed start), moved out of the course folder."
    when = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return submission.make(course, module(course, number), student, now=when)


def test_submission_file_holds_the_notebook_and_a_checked_manifest(student_course):
    edit(student_course, "01", "# alice's work")
    path = submit(student_course, "01", "alice")
    assert path == student_course / "submissions" / "alice_01_tensor.zip"
    s = submission.read(path, "tinytorch", SLUGS)
    assert (s.student, s.module) == ("alice", "01_tensor")
    assert s.notebook == module(student_course, "01").notebook.read_bytes()
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert set(manifest) >= {"format", "course", "student", "module", "sha256", "submitted_at", "tito_version"}


def test_student_id_given_once_is_remembered(student_course):
    with pytest.raises(CourseError, match="--student YOUR_ID"):
        submission.student_id(student_course)
    with pytest.raises(CourseError, match="not usable"):
        submission.student_id(student_course, "../bob")
    assert submission.student_id(student_course, "alice") == "alice"
    assert submission.student_id(student_course) == "alice"
    assert submission.student_id(student_course, "alice.b") == "alice.b"  # a new id given replaces it


def test_tito_submit_on_a_laptop_writes_the_file_and_says_what_to_do(student_course, monkeypatch):
    for var in ("COLAB_RELEASE_TAG", "NBGRADER_EXCHANGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TITO_ROOT", str(student_course))
    runner = CliRunner()
    r = runner.invoke(app, ["submit", "01"])
    assert r.exit_code == 2 and "--student YOUR_ID" in r.output
    r = runner.invoke(app, ["submit", "01", "--student", "alice"])
    assert r.exit_code == 0, r.output
    assert "alice_01_tensor.zip" in r.output and "Hand this file in" in r.output
    r = runner.invoke(app, ["submit", "02"])  # the id is remembered
    assert r.exit_code == 0 and (student_course / "submissions" / "alice_02_autograd.zip").is_file(), r.output


@pytest.mark.parametrize("command", ["export", "submit"])
def test_a_plain_process_in_colab_refuses_and_says_what_to_type(student_course, monkeypatch, command):
    "In Colab the edited notebook is in the browser: a `tito` process would act on the copy on disk."
    monkeypatch.setenv("TITO_ROOT", str(student_course))
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    before = {p: p.read_bytes() for p in student_course.rglob("*") if p.is_file()}
    r = CliRunner().invoke(app, [command, "01"])
    assert r.exit_code == 2
    assert f"!tito {command} 01" in r.output and f"%tito {command} 01" in r.output, r.output
    assert {p: p.read_bytes() for p in student_course.rglob("*") if p.is_file()} == before


def test_submit_on_a_hub_goes_to_the_nbgrader_exchange(student_course, tmp_path, monkeypatch):
    exchange = tmp_path / "exchange"
    (exchange / "tinytorch" / "outbound" / "01_tensor").mkdir(parents=True)
    (exchange / "tinytorch" / "inbound").mkdir()
    monkeypatch.setenv("TITO_ROOT", str(student_course))
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    edit(student_course, "01", "# submitted through the exchange")
    r = CliRunner().invoke(app, ["submit", "01"])
    assert r.exit_code == 0, r.output
    [sub] = (exchange / "tinytorch" / "inbound").iterdir()
    assert "+01_tensor+" in sub.name
    assert (sub / "01_tensor.ipynb").read_bytes() == module(student_course, "01").notebook.read_bytes()
    assert not (student_course / "submissions").exists()


def _collect(cdir, folder, update=False):
    "(status, detail, ok) of each row `tito nbgrader collect 01 --from folder` reports."
    return [(r.status, r.detail, r.ok) for r in pipeline.collect(ROOT, cdir, ["01"], from_dir=folder, update=update)]


def test_collect_takes_a_folder_of_submission_files(student_course, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    cdir = tmp_path / "course"
    course_folder.init_course(ROOT, cdir)
    inbox = tmp_path / "inbox"
    (inbox / "lms" / "bob").mkdir(parents=True)   # however the course page hands them over: nested, renamed
    edit(student_course, "01", "# alice, first try")
    shutil.move(submit(student_course, "01", "alice", minutes=0), inbox / "alice_01_tensor.zip")
    edit(student_course, "01", "# alice, second try")
    shutil.move(submit(student_course, "01", "alice", minutes=5), inbox / "alice_01_tensor (1).zip")
    second = (inbox / "alice_01_tensor (1).zip")
    edit(student_course, "01", "# bob's work")
    shutil.move(submit(student_course, "01", "bob", minutes=1), inbox / "lms" / "bob" / "download.zip")
    shutil.move(submit(student_course, "02", "bob", minutes=1), inbox / "bob_02_autograd.zip")  # not collected now
    (inbox / "notes.zip").write_text("not a zip at all")
    tampered = inbox / "carol_01_tensor.zip"
    edit(student_course, "01", "# carol's work")
    with zipfile.ZipFile(submit(student_course, "01", "carol")) as z, zipfile.ZipFile(tampered, "w") as out:
        out.writestr("manifest.json", z.read("manifest.json"))
        out.writestr("01_tensor.ipynb", z.read("01_tensor.ipynb").replace(b"carol's work", b"someone else's"))

    rows = _collect(cdir, inbox)
    rejected = {d.split(":")[0]: d for status, d, ok in rows if status == "rejected" and not ok}
    assert set(rejected) == {"notes.zip", "carol_01_tensor.zip"}, rows
    assert "not a readable zip file" in rejected["notes.zip"]
    assert "does not match the checksum" in rejected["carol_01_tensor.zip"]
    assert ("superseded", "alice: alice_01_tensor.zip is older than alice_01_tensor (1).zip; the later one counts",
            True) in rows
    assert sorted(d for st, d, ok in rows if st == "collected") == [
        "alice <- alice_01_tensor (1).zip", "bob <- lms/bob/download.zip"], rows
    alice = cdir / "submitted" / "alice" / "01_tensor" / "01_tensor.ipynb"
    assert b"alice, second try" in alice.read_bytes()
    assert b"bob's work" in (cdir / "submitted" / "bob" / "01_tensor" / "01_tensor.ipynb").read_bytes()
    assert not (cdir / "submitted" / "carol").exists() and not (cdir / "submitted" / "bob" / "02_autograd").exists()
    stamp = (cdir / "submitted" / "alice" / "01_tensor" / "timestamp.txt").read_text()
    assert stamp.startswith("2026-03-01 12:05:00")

    # an older file, even with --update, never replaces the newer collected one
    os.remove(second)
    for f in [inbox / "notes.zip", tampered]:
        f.unlink()
    rows = _collect(cdir, inbox, update=True)
    assert ("kept", "alice: the submission collected before is newer than alice_01_tensor.zip", True) in rows, rows
    assert b"alice, second try" in alice.read_bytes()

    # a newer one: kept until --update, then it replaces the collected one, which is backed up
    edit(student_course, "01", "# alice, third try")
    shutil.move(submit(student_course, "01", "alice", minutes=60), inbox / "late.zip")
    rows = _collect(cdir, inbox)
    assert any(st == "kept" and "--update" in d for st, d, ok in rows) and b"second try" in alice.read_bytes(), rows
    rows = _collect(cdir, inbox, update=True)
    assert any(st == "updated" for st, d, ok in rows) and b"alice, third try" in alice.read_bytes(), rows
    [backup] = (cdir / "backups").glob("*/submitted/alice/01_tensor/01_tensor.ipynb")
    assert b"alice, second try" in backup.read_bytes()
