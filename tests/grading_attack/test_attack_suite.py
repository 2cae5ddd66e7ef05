"""The adversarial suite: every kind of broken and hostile submission of module 01, graded in ONE batch (two at
a time), each with its expected outcome, reason and score (make_fixtures.py), the good ones at full marks; then
the gradebook rows, what the attacks could reach, the generated feedback, the report and a re-run are checked.

A student graded before the batch ("alumnus", with reflection marks entered by the instructor) must come out
of it unchanged: no submission can touch another student's record.
"""
import csv
import hashlib
import json
import sqlite3

import pytest
from typer.testing import CliRunner

import make_fixtures as F
from attack_support import ROOT, SANDBOXED, copy_course, needs_sandbox, text_of
from tito.grading import autograde as safe, course as course_folder, exits, feedback
from tito.grading import report as grading_report
from tito.cli import app

AID = F.AID


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _rows(db):
    "Every grade row of every submission: (student, grade_id) -> (auto_score, manual_score, needs_manual_grade)."
    with sqlite3.connect(db) as con:
        q = ("SELECT sa.student_id, gc.name, g.auto_score, g.manual_score, g.needs_manual_grade FROM grade g "
             "JOIN submitted_notebook sn ON g.notebook_id = sn.id JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
             "JOIN base_cell gc ON g.cell_id = gc.id")
        return {(s, n): (a, m, bool(nm)) for s, n, a, m, nm in con.execute(q)}


@pytest.fixture(scope="module")
def batch(generated_course, tmp_path_factory):
    cdir = copy_course(generated_course, tmp_path_factory.mktemp("attack") / "course")
    c = course_folder.open_course(ROOT, str(cdir))
    source, release = F.load(cdir)
    # an earlier student, graded and hand-marked before the batch
    seed = cdir / "submitted" / "alumnus" / AID
    seed.mkdir(parents=True)
    (seed / f"{AID}.ipynb").write_text(json.dumps(F.solved(source, release, F.marker("alumnus"))))
    first = safe.autograde(ROOT, str(cdir), AID, limits=F.LIMITS)
    assert [o.outcome for o in first.outcomes] == [safe.GRADED]
    with course_folder.gradebook(c) as gb:
        for grade in gb.find_submission_notebook(AID, AID, "alumnus").grades:
            if grade.auto_score is None:
                grade.manual_score = 1.5
        gb.db.commit()
    alumnus_before = {k: v for k, v in _rows(cdir / "gradebook.db").items() if k[0] == "alumnus"}
    protected = [ROOT / "tinytorch" / "core" / "tensor.py", ROOT / "modules" / "source" / AID / "tensor_dev.py",
                 c.source_nb(AID), c.release_nb(AID), seed / f"{AID}.ipynb"]
    expected = F.make(cdir, cdir / "submitted", sandboxed=SANDBOXED)
    protected.append(cdir / "submitted" / "good" / AID / f"{AID}.ipynb")
    hashes = {p: _sha(p) for p in protected}
    report = safe.autograde(ROOT, str(cdir), AID, jobs=2, limits=F.LIMITS)
    return {"course": c, "dir": cdir, "expected": expected, "report": report, "hashes": hashes,
            "alumnus": alumnus_before, "source": source, "release": release,
            "by": {o.student: o for o in report.outcomes}}


def test_at_least_twenty_kinds_in_one_batch(batch):
    exp, report = batch["expected"], batch["report"]
    assert len(exp) >= (26 if SANDBOXED else 22)
    assert sorted(o.student for o in report.outcomes) == sorted([*exp, "alumnus"])
    assert [o.student for o in report.outcomes if o.skipped] == ["alumnus"]   # graded before: not touched
    assert report.jobs == 2
    assert report.exit_code == exits.EXIT_SOME   # crashes, timeouts, invalid and missing notebooks are not graded
    if SANDBOXED:
        assert not report.warnings and all(o.isolated for o in report.outcomes)
    else:   # graded all the same, but never silently
        assert "NOT ISOLATED" in report.warnings[0] and not any(o.isolated for o in report.outcomes if not o.skipped)


def test_every_submission_gets_its_expected_outcome_reason_and_score(batch):
    wrong = []
    for student, e in batch["expected"].items():
        o = batch["by"][student]
        got = (o.outcome, o.reason, o.score)
        want = (e["outcome"], e["reason"], e["score"])
        missing = [d for d in e["details"] if d not in o.summary()]
        if got != want or missing:
            wrong.append(f"{student}: got {got}, want {want}; details {o.summary()!r} lack {missing}")
    assert not wrong, "\n".join(wrong)


def test_good_ones_get_full_marks_and_no_false_tampering(batch):
    total = sum(F.points(batch["source"]).values())
    for student in ("good", F.UNICODE_ID, "renamed", "duplicated", "unknown") + (("classmate", "writer", "gradebook")
                                                                                 if SANDBOXED else ()):
        o = batch["by"][student]
        assert (o.outcome, o.score, o.max_score) == (safe.GRADED, total, total), (student, o.summary())
    # hidden tests are restored into locked cells for every student: that alone is never reported as tampering
    assert not batch["by"]["good"].tampering and not batch["by"]["blank"].tampering
    assert not any("hidden" in t or "checksum" in t for o in batch["report"].outcomes for t in o.tampering)


def test_a_crash_is_never_a_plain_zero(batch):
    for student in ("osexit", "segfault", "sleeper"):
        o = batch["by"][student]
        assert o.outcome == safe.NOT_GRADED and o.reason in ("crash", "timeout") and o.detail
        assert o.score > 0, "the cells before the crash keep their points"


def test_gradebook_rows_afterwards(batch):
    rows = _rows(batch["dir"] / "gradebook.db")
    pts = F.points(batch["source"])
    students = {s for s, _ in rows}
    assert students == set(batch["expected"]) | {"alumnus"}
    for student in students:
        mine = {n: v for (s, n), v in rows.items() if s == student}
        assert len(mine) == len(pts) + 2, f"{student}: one row per graded cell (12 tests, 2 reflections)"
        code = sum(mine[g][0] for g in pts)
        if student != "alumnus":
            assert code == batch["expected"][student]["score"], student
            assert all(v[1] is None for v in mine.values()), f"{student} has a manual score nobody entered"
    # the student graded before the batch is exactly as the instructor left it
    assert {k: v for k, v in rows.items() if k[0] == "alumnus"} == batch["alumnus"]
    with sqlite3.connect(batch["dir"] / "gradebook.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0] == len(students)


@needs_sandbox
def test_hostile_notebooks_reach_nothing_outside_their_copy(batch):
    c = batch["course"]
    for student, attempts in (("gradebook", 5), ("selfscore", 1), ("classmate", 9), ("writer", 7)):
        nb = json.loads((c.autograded(student, AID) / f"{AID}.ipynb").read_text())
        out = text_of(nb)
        assert "SUCCEEDED" not in out, f"{student}: {[l for l in out.splitlines() if 'SUCCEEDED' in l]}"
        assert out.count(": blocked (") == attempts, out[:2000]
    for path, digest in batch["hashes"].items():
        assert _sha(path) == digest, f"{path} was changed while grading"
    assert not (batch["dir"] / "planted.txt").exists()
    assert not (batch["dir"] / "submitted" / "planted.txt").exists()
    assert not (ROOT / "planted.txt").exists()


def test_feedback_shows_failures_but_no_hidden_tests_and_no_one_elses_data(batch):
    c = batch["course"]
    (res,) = feedback.html(ROOT, str(c.dir), modules=["01"])
    assert res.ok, res.detail
    hidden = safe.hidden_lines(batch["source"], batch["release"])
    assert len(hidden) >= 4
    files = {p.parts[-3]: p.read_text() for p in c.dir.glob(f"feedback/*/{AID}/{AID}.html")}
    graded = {s for s, o in batch["by"].items() if c.autograded(s, AID).joinpath(f"{AID}.ipynb").exists()}
    assert set(files) == graded and len(files) >= 20
    markers = {s: F.marker(s) for s in files}
    for student, html in files.items():
        text = html.replace("&quot;", '"').replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">")
        leaked = [h for h in hidden if h in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:3]}"
        others = [s for s, m in markers.items() if s != student and m in text]
        assert not others, f"{student}'s feedback shows the work of {others}"
    # which tests failed, and why, is there
    patched = files["patched"]
    assert "01-tensor-arith-values" in patched and "AssertionError" in patched and "values differ" in patched
    assert "Autograder" in files["osexit"] and "exited with code 3" in files["osexit"]
    # the notebook that prints the tests calling it: in the feedback run no hidden test exists to print; in the
    # graded run (the instructor's copy, never shown) it could print only probes, which hold no expected value
    assert "01-tensor-indexing" in files["exfiltrate"] and "expect_equal(" in files["exfiltrate"]
    assert not any("__tito_probe__" in html for html in files.values())
    graded_run = (c.autograded("exfiltrate", AID) / safe.GRADED_RUN_NAME).read_text()
    assert "__tito_probe__('01-tensor-indexing" in graded_run and "expect_equal(" not in graded_run


def test_report_table_and_csv(batch, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    out = tmp_path / "report.csv"
    r = CliRunner().invoke(app, ["nbgrader", "report", "01", "--course-dir", str(batch["dir"]), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = {row["student"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert list(next(iter(rows.values()))) == grading_report.REPORT_FIELDS
    for student, e in batch["expected"].items():
        row = rows[student]
        assert (row["outcome"], row["reason"], float(row["score"])) == (e["outcome"], e["reason"], e["score"]), row
        if e["reason"] in ("crash", "timeout"):
            assert row["details"] and float(row["seconds"]) > 0
    assert rows[F.UNICODE_ID]["outcome"] == safe.GRADED
    assert "tampering detected" in r.output and "not graded" in r.output


def test_rerun_grades_nothing_again_and_changes_nothing(batch):
    db = batch["dir"] / "gradebook.db"
    before = _rows(db)
    again = safe.autograde(ROOT, str(batch["dir"]), AID, jobs=2, limits=F.LIMITS)
    assert all(o.skipped for o in again.outcomes)
    assert _rows(db) == before
    assert again.exit_code == exits.EXIT_SOME   # still true: some submissions have no grade
