"""The nbgrader round trip through tito, on every module: (b) the blank release scores 0, (c) the reference
scores full; on 01 and 02: (d) one function done scores exactly its cells, (e) an infinite loop is stopped by
the timeout and the batch goes on, a broken submission is reported and the batch goes on; plus re-running
safely, feedback without hidden tests, and the grades CSV.

One nbgrader course is built in a temporary folder from the module sources and every submission is autograded
once, in one nbgrader run per assignment, through nbgrader's Python API in this process (tito.grading); the
tests read the outcome. Students (sorted as nbgrader processes them):

    blank      the release notebook, unmodified                      every module
    broken     not a notebook at all (invalid JSON)                  01, 02
    loop       the reference with an infinite loop in one solution   01, 02
    partial    the release notebook with exactly one function done   01, 02
    reference  the reference notebook (the generated source)         every module
"""
import csv
import json
from dataclasses import dataclass
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from tito import course as course_lib
from tito import edition
from tito.grading import autograde as safe, course as course_folder, exits, feedback, pipeline
from tito import export as export_lib
from tito.cli import app

ROOT = Path(__file__).resolve().parents[2]
MODULES = [m for m in course_lib.all_modules(ROOT) if m.source]
SLUGS = [m.slug for m in MODULES]

# Seconds per cell while grading 01 and 02: long enough for their slowest cell on a loaded machine,
# short enough that the two infinite loops cost little.
LOOP_TIMEOUT = 5
# The other modules use settings.ini's cell_timeout (their slowest reference cell takes ~10 s on an idle machine,
# several times that on a loaded one).
REST_TIMEOUT = None

# (d) exactly one function done: the implementation cell filled in, and the graded cells that must then pass
# (every other graded cell must fail).
PARTIAL = {
    "01_tensor": ("01-tensor-class", ["01-tensor-dtype-policy", "01-tensor-item-numpy"]),
    "02_autograd": ("02-autograd-unbroadcast", ["02-autograd-unbroadcast-tests"]),
}
# (e) an infinite loop replaces the body of the first function of this implementation cell; the graded cell
# that calls that function must time out.
LOOP = {
    "01_tensor": ("01-tensor-creation", "01-tensor-creation-tests"),
    "02_autograd": ("02-autograd-exp-log", "02-autograd-exp-log-tests"),
}

_B, _E = "BEGIN ", "END "  # spelled apart: see tito/check.py
SOLUTION_RE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def without_markers(src):
    "A student's version of a reference cell: the code between the solution markers, markers gone."
    return "\n".join(l for l in src.splitlines() if not SOLUTION_RE.match(l))


def cells_by_id(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def graded_points(nb):
    "grade_id -> points of every autograded (code) cell."
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def partial_notebook(release_nb, source_nb, grade_id):
    "The release notebook with the one implementation cell `grade_id` completed from the reference."
    nb = nbformat.from_dict(release_nb)
    src = cells_by_id(source_nb)[grade_id].source
    assert src.count(_B + "SOLUTION") == 1, f"{grade_id} must hold exactly one function to complete"
    cells_by_id(nb)[grade_id].source = without_markers(src)
    return nb


def replace_first_block(src, new_lines):
    "`src` with the body of its first solution block replaced by `new_lines` (indented like the block)."
    lines = src.splitlines()
    begin = next(i for i, l in enumerate(lines) if SOLUTION_RE.match(l))
    end = next(i for i in range(begin + 1, len(lines)) if SOLUTION_RE.match(lines[i]))
    indent = re.match(r"\s*", lines[begin]).group(0)
    return "\n".join(lines[:begin + 1] + [indent + l for l in new_lines] + lines[end:])


def loop_notebook(source_nb, grade_id):
    "The reference with the first function of implementation cell `grade_id` stuck in an infinite loop."
    nb = nbformat.from_dict(source_nb)
    cell = cells_by_id(nb)[grade_id]
    cell.source = replace_first_block(cell.source, ["while True:  # a student's infinite loop", "    pass"])
    return nb


# Each group of assignments is graded in its own course folder (its own gradebook) by its own process, so the
# two cores of a CI machine both work; in each, one nbgrader run per assignment grades all its students.
WORKER = """
import json, sys
from dataclasses import asdict
from tito.grading import autograde, course, pipeline
root, cdir, subs, short, rest, timeout, rest_timeout, out = json.loads(sys.argv[1])
course.init_course(root, cdir)
gen = pipeline.generate(root, cdir, modules=short + rest)
ok = [r.assignment for r in gen if r.ok]
reports = []
if ok:
    pipeline.collect(root, cdir, modules=ok, from_dir=subs)
    for mods, t in (([m for m in short if m in ok], timeout), ([m for m in rest if m in ok], rest_timeout)):
        batches = [autograde.autograde(root, cdir, aid, cell_timeout=t) for aid in mods]
        if batches:
            reports.append({"exit_code": max(b.exit_code for b in batches),
                            "outcomes": [asdict(o) for b in batches for o in b.outcomes]})
json.dump({"generated": [asdict(r) for r in gen], "reports": reports}, open(out, "w"), default=str)
"""


@dataclass
class Graded:
    "What the tests read of one submission's outcome."
    student: str
    assignment: str
    status: str         # graded (tampering flagged or not) | failed (not graded)
    score: float
    max_score: float
    timeouts: list
    import_errors: list
    detail: str

    @classmethod
    def of(cls, o):
        return cls(o["student"], o["assignment"], "failed" if o["outcome"] == safe.NOT_GRADED else "graded",
                   o["score"], o["max_score"], o["timeouts"], o["import_errors"], o["detail"] or "; ".join(o["notes"]))


@dataclass
class Report:
    submissions: list
    exit_code: int


def _groups(slugs, n=2):
    "Split the assignments into `n` groups of about equal grading time (01 and 02 carry five submissions)."
    cost = lambda s: 5 if s in PARTIAL else 2
    groups = [[s for s in slugs if s in PARTIAL]] + [[] for _ in range(n - 1)]  # 01 and 02 share one course
    for s in sorted((s for s in slugs if s not in PARTIAL), key=cost, reverse=True):
        min(groups, key=lambda g: sum(map(cost, g))).append(s)
    return [g for g in groups if g]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    "Every submission autograded: courses per assignment, results per (student, assignment), the reports."
    base = tmp_path_factory.mktemp("pipeline")
    subs = base / "submissions"
    for m in MODULES:
        release, source = edition.release_notebook(m), export_lib.read_source(m.source)
        notebooks = {"blank": release, "reference": source}
        if m.slug in PARTIAL:
            notebooks["partial"] = partial_notebook(release, source, PARTIAL[m.slug][0])
            notebooks["loop"] = loop_notebook(source, LOOP[m.slug][0])
        for student, nb in notebooks.items():
            path = subs / student / m.slug / m.notebook.name  # named as in the student edition
            path.parent.mkdir(parents=True)
            nbformat.write(nb, path)
        if m.slug in PARTIAL:
            (subs / "broken" / m.slug).mkdir(parents=True)
            (subs / "broken" / m.slug / f"{m.slug}.ipynb").write_text("{ this is not a notebook")
    jobs = []
    for i, group in enumerate(_groups(SLUGS)):
        args = [str(ROOT), str(base / f"course{i}"), str(subs), [s for s in group if s in PARTIAL],
                [s for s in group if s not in PARTIAL], LOOP_TIMEOUT, REST_TIMEOUT, str(base / f"result{i}.json")]
        jobs.append((group, args, subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(args)],
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    out = {"courses": {}, "generated": {}, "results": {}, "reports": [], "submissions": subs}
    for group, args, proc in jobs:
        log = proc.communicate(timeout=900)[0]
        assert proc.returncode == 0, log[-3000:]
        data = json.loads(Path(args[-1]).read_text())
        course = course_folder.open_course(ROOT, args[1])
        for r in data["generated"]:
            out["generated"][r["assignment"]] = course_folder.StepResult(**r)
            out["courses"][r["assignment"]] = course
        for r in data["reports"]:
            report = Report([Graded.of(o) for o in r["outcomes"]], r["exit_code"])
            out["reports"].append(report)
            out["results"].update({(g.student, g.assignment): g for g in report.submissions})
    return out


def _result(graded, student, slug):
    assert graded["generated"][slug].ok, f"generate failed for {slug}: {graded['generated'][slug].detail}"
    g = graded["results"].get((student, slug))
    assert g is not None, f"{student}'s {slug} was not autograded"
    return g


def _cell_scores(course, student, slug):
    "grade_id -> auto score of each autograded cell of a submission, from the gradebook."
    with course_folder.gradebook(course) as gb:
        nb = gb.find_submission_notebook(slug, slug, student)
        return {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}


def _source_points(graded, slug):
    return graded_points(nbformat.read(graded["courses"][slug].source_nb(slug), as_version=4))


@pytest.mark.parametrize("slug", SLUGS)
def test_b_blank_release_scores_zero(graded, slug):
    g = _result(graded, "blank", slug)
    assert g.status == "graded", g.detail
    assert g.max_score == sum(_source_points(graded, slug).values()) > 0
    assert g.score == 0, f"the unmodified release of {slug} must score 0, scored {g.score}: " \
                         f"{ {k: v for k, v in _cell_scores(graded['courses'][slug], 'blank', slug).items() if v} }"
    assert not g.import_errors


@pytest.mark.parametrize("slug", SLUGS)
def test_c_reference_scores_full(graded, slug):
    g = _result(graded, "reference", slug)
    assert g.status == "graded", g.detail
    failing = {k: v for k, v in _cell_scores(graded["courses"][slug], "reference", slug).items()
               if v != _source_points(graded, slug)[k]}
    assert not failing, f"graded cells of the reference {slug} that lost points: {failing}"
    assert g.score == g.max_score == sum(_source_points(graded, slug).values()) > 0
    assert not g.timeouts and not g.import_errors


@pytest.mark.parametrize("slug", sorted(PARTIAL))
def test_d_one_function_done_scores_exactly_its_cells(graded, slug):
    _, passing = PARTIAL[slug]
    points = _source_points(graded, slug)
    expected = sum(points[gid] for gid in passing)
    assert {"01_tensor": 3.0, "02_autograd": 1.0}[slug] == expected  # the exact scores, written out
    g = _result(graded, "partial", slug)
    assert g.status == "graded", g.detail
    assert 0 < g.score == expected < g.max_score
    scores = _cell_scores(graded["courses"][slug], "partial", slug)
    assert {gid for gid, s in scores.items() if s} == set(passing)


@pytest.mark.parametrize("slug", sorted(LOOP))
def test_e_infinite_loop_is_stopped_and_the_batch_goes_on(graded, slug):
    _, stuck_cell = LOOP[slug]
    points = _source_points(graded, slug)
    g = _result(graded, "loop", slug)
    assert g.status == "graded", g.detail
    assert g.timeouts == [stuck_cell]
    assert g.score == sum(points.values()) - points[stuck_cell]
    # the loop did not stop the batch: the students graded after it (sorted) in the same run were graded
    for later in ("partial", "reference"):
        assert _result(graded, later, slug).status == "graded"


def test_a_broken_submission_is_reported_and_the_batch_goes_on(graded):
    (report,) = [r for r in graded["reports"] if any(g.student == "broken" for g in r.submissions)]
    broken = [g for g in report.submissions if g.student == "broken"]
    assert sorted(g.assignment for g in broken) == sorted(PARTIAL)
    assert all(g.status == "failed" and g.detail for g in broken)
    assert all(g.status == "graded" for g in report.submissions if g.student != "broken")
    assert report.exit_code == exits.EXIT_SOME


def test_exit_codes_are_distinct():
    assert len({exits.EXIT_OK, exits.EXIT_SOME, exits.EXIT_USAGE, exits.EXIT_ENVIRONMENT, exits.EXIT_STOPPED}) == 5
    ok = safe.Outcome("s", "01_tensor", score=3, max_score=3)
    assert safe.BatchReport("01_tensor", [ok]).exit_code == exits.EXIT_OK == 0
    bad = safe.Outcome("t", "01_tensor", outcome=safe.NOT_GRADED, reason="invalid notebook")
    assert safe.BatchReport("01_tensor", [ok, bad]).exit_code == exits.EXIT_SOME == 1
    env = safe.Outcome("u", "01_tensor", import_errors=["ModuleNotFoundError: No module named 'tinytorch'"])
    assert safe.BatchReport("01_tensor", [ok, bad, env]).exit_code == exits.EXIT_ENVIRONMENT == 3


def test_cli_autograde_rerun_skips_graded_work_and_keeps_exit_code(graded, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    cdir = str(graded["courses"]["01_tensor"].dir)
    before = (graded["courses"]["01_tensor"].autograded("reference", "02_autograd") / "02_autograd.ipynb").stat().st_mtime_ns
    r = CliRunner().invoke(app, ["nbgrader", "autograde", "02", "--course-dir", cdir, "--student", "reference"])
    assert r.exit_code == 0, r.output
    assert "skipped" in r.output
    assert (graded["courses"]["01_tensor"].autograded("reference", "02_autograd") / "02_autograd.ipynb").stat().st_mtime_ns == before
    r = CliRunner().invoke(app, ["nbgrader", "autograde", "01", "--course-dir", cdir, "--student", "broken"])
    assert r.exit_code == exits.EXIT_SOME, r.output
    r = CliRunner().invoke(app, ["nbgrader", "autograde", "--course-dir", str(graded["courses"]["01_tensor"].dir / "nowhere")])
    assert r.exit_code == exits.EXIT_USAGE and "tito nbgrader init" in r.output


def test_collect_never_overwrites_a_submission(graded, tmp_path):
    c = graded["courses"]["01_tensor"]
    target = c.submitted("blank", "01_tensor") / "01_tensor.ipynb"
    original = target.read_bytes()
    again = pipeline.collect(ROOT, str(c.dir), modules=["01"], from_dir=graded["submissions"])
    assert {r.status for r in again if "blank" in r.detail} == {"unchanged"}
    newer = tmp_path / "blank" / "01_tensor"
    newer.mkdir(parents=True)
    nb = nbformat.reads(original.decode(), as_version=4)
    nb.cells[0].source += "\n\nA second try."
    nbformat.write(nb, newer / "tensor_dev.ipynb")
    (kept,) = pipeline.collect(ROOT, str(c.dir), modules=["01"], from_dir=tmp_path)
    assert kept.status == "kept" and target.read_bytes() == original
    (updated,) = pipeline.collect(ROOT, str(c.dir), modules=["01"], from_dir=tmp_path, update=True)
    assert updated.status == "updated" and "A second try." in target.read_text()
    backups = list((c.dir / "backups").glob("*/submitted/blank/01_tensor/01_tensor.ipynb"))
    assert backups and backups[0].read_bytes() == original, "the replaced submission is backed up"
    target.write_bytes(original)  # leave the shared course as it was


def test_feedback_is_html_without_hidden_tests(graded):
    c = graded["courses"]["01_tensor"]
    (res,) = feedback.html(ROOT, str(c.dir), modules=["01"])
    assert res.ok, res.detail
    html = (c.feedback_dir("reference", "01_tensor") / "01_tensor.html").read_text()
    assert "<html" in html and "01-tensor-broadcasting" in html
    source = nbformat.read(c.source_nb("01_tensor"), as_version=4)
    hidden = cells_by_id(source)["01-tensor-broadcasting"].source.split("### BEGIN HIDDEN TESTS")[1]
    line = next(l for l in hidden.splitlines() if "(5, 1, 3)" in l)
    assert line.strip() not in html.replace("&quot;", '"'), "hidden tests must not show in feedback"


def test_grades_csv(graded, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    out = tmp_path / "grades.csv"
    r = CliRunner().invoke(app, ["nbgrader", "grades", "--course-dir", str(graded["courses"]["01_tensor"].dir), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["student", "assignment", "score", "max_score"]
    by = {(row["student"], row["assignment"]): (float(row["score"]), float(row["max_score"])) for row in rows}
    for slug in PARTIAL:
        code = sum(_source_points(graded, slug).values())
        assert by[("reference", slug)][0] == code     # reflections still await a human grader
        assert by[("reference", slug)][1] > code       # ... but count in the maximum
        assert by[("blank", slug)][0] == 0
        assert by[("partial", slug)][0] == graded["results"][("partial", slug)].score


def test_init_keeps_an_edited_config(graded):
    c = graded["courses"]["01_tensor"]
    text = c.config_path.read_text()
    assert f"c.ExecutePreprocessor.timeout = {course_folder.settings(ROOT)['limits'].cell_timeout}" in text
    assert "c.CourseDirectory.course_id = 'tinytorch'" in text
    try:
        c.config_path.write_text(text + "\nc.Execute.timeout = 5\n")
        msgs = course_folder.init_course(ROOT, str(c.dir))
        assert any("kept" in m for m in msgs) and c.config_path.read_text().endswith("= 5\n")
    finally:
        c.config_path.write_text(text)


def test_exchange_round_trip(graded, tmp_path, monkeypatch):
    "release -> a student fetches and submits with nbgrader's exchange -> collect; re-running changes nothing."
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
    from traitlets.config import Config
    c = graded["courses"]["01_tensor"]
    (r,) = pipeline.release(ROOT, str(c.dir), modules=["01"])
    assert r.ok and r.status == "released", r.detail
    (r,) = pipeline.release(ROOT, str(c.dir), modules=["01"])
    assert r.status == "already released"
    cfg = Config()
    cfg.CourseDirectory.course_id = c.course_id
    cfg.CourseDirectory.root = str(tmp_path)
    cfg.CourseDirectory.assignment_id = "01_tensor"
    cfg.CourseDirectory.student_id = "viaexchange"
    cfg.Exchange.root = str(course_folder.load_config(c).Exchange.root)
    monkeypatch.chdir(tmp_path)  # the student's home: fetch writes ./01_tensor/
    for step in (ExchangeFetchAssignment, ExchangeSubmit):
        step(coursedir=CourseDirectory(config=cfg), authenticator=Authenticator(config=cfg), config=cfg).start()
    fetched = tmp_path / "01_tensor" / "01_tensor.ipynb"
    assert fetched.read_text() == c.release_nb("01_tensor").read_text()
    (r,) = pipeline.collect(ROOT, str(c.dir), modules=["01"])
    assert r.ok and "viaexchange" in r.detail
    assert (c.submitted("viaexchange", "01_tensor") / "01_tensor.ipynb").read_text() == fetched.read_text()
    (r,) = pipeline.collect(ROOT, str(c.dir), modules=["01"])
    assert r.detail == "no new submissions"
