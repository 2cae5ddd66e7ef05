"""The safe autograder's parts on their own: building the notebook to grade from a submission (tampering,
duplicates, deletions, unknown cells, no false alarms), settings, the sandbox choice and its loud fallback,
and the limits as the kernel sees them."""
import copy
import json

import pytest
from typer.testing import CliRunner

import make_fixtures as F
from attack_support import ROOT, cells, copy_course, needs_sandbox
from tito.grading import autograde as safe, course as course_folder, exits, notebooks, sandbox
from tito.grading import report as grading_report
from tito.cli import app
from tito.course import CourseError


@pytest.fixture(scope="module")
def exp(generated_course):
    return safe.Expected.load(course_folder.open_course(ROOT, str(generated_course)), F.AID)


def _good(exp):
    return F.solved(exp.source, exp.release, "me")


def _gids(nb):
    return [(c["metadata"].get("nbgrader") or {}).get("grade_id") for c in nb["cells"]]


def test_untouched_release_and_good_notebook_raise_no_alarm(exp):
    for nb in (exp.release, _good(exp)):
        p = safe.prepare(copy.deepcopy(nb), exp)
        assert not p.tampering and not p.notes
        assert [g for g in _gids(p.notebook) if g] == exp.order()
    p = safe.prepare(copy.deepcopy(exp.release), exp)
    by = cells(p.notebook)
    # locked test cells are the instructor's probes, hidden checks included, with no expected value and no
    # comparison left in them; the feedback notebook has the release's visible tests; graded indices point at them
    graded = by["01-tensor-broadcasting"]["source"]
    assert "__tito_probe__('01-tensor-broadcasting:" in graded and "__tito_raises__" in graded
    assert "expect_" not in graded and "BEGIN HIDDEN" not in graded and "mentions" not in graded
    assert "expect_equal" in cells(p.feedback)["01-tensor-broadcasting"]["source"]
    assert sorted(_gids(p.notebook)[i] for i in p.graded) == sorted(F.points(exp.source))


def test_edited_deleted_and_regraded_locked_cells_are_tampering(exp):
    nb = _good(exp)
    F.cell(nb, "01-tensor-matmul-2d")["source"] = "pass"
    nb["cells"] = [c for c in nb["cells"] if (c["metadata"].get("nbgrader") or {}).get("grade_id") != "01-tensor-indexing"]
    F.cell(nb, "01-tensor-item-numpy")["metadata"]["nbgrader"]["points"] = 100
    p = safe.prepare(nb, exp)
    assert len(p.tampering) == 3, p.tampering
    assert any("01-tensor-matmul-2d was edited" in t for t in p.tampering)
    assert any("01-tensor-indexing was deleted" in t for t in p.tampering)
    assert any("01-tensor-item-numpy: its grading metadata was changed" in t for t in p.tampering)
    gids = _gids(p.notebook)
    assert gids.index("01-tensor-indexing") == gids.index("01-tensor-reshape-transpose") + 1   # put back in place
    assert F.cell(p.notebook, "01-tensor-item-numpy")["metadata"]["nbgrader"]["points"] == 1
    assert "pass" != F.cell(p.notebook, "01-tensor-matmul-2d")["source"]


def test_duplicates_unknown_cells_type_changes_and_deleted_answers_are_notes(exp):
    nb = _good(exp)
    i = _gids(nb).index("01-tensor-creation")
    nb["cells"].insert(i + 1, copy.deepcopy(nb["cells"][i]))           # a duplicated answer cell
    nb["cells"].append({"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "zz-extra", "grade": True, "points": 9}},
                        "source": "x = 1", "outputs": [], "execution_count": None})
    F.cell(nb, "01-tensor-class")["cell_type"] = "markdown"           # the M key pressed by accident
    nb["cells"] = [c for c in nb["cells"] if (c["metadata"].get("nbgrader") or {}).get("grade_id") != "01-tensor-reflect-memory"]
    p = safe.prepare(nb, exp)
    assert not p.tampering, p.tampering
    assert len(p.notes) == 4, p.notes
    gids = _gids(p.notebook)
    assert gids.count("01-tensor-creation") == 1 and "zz-extra" not in gids and "01-tensor-reflect-memory" in gids
    assert F.cell(p.notebook, "01-tensor-class")["cell_type"] == "code"


def test_broken_files_are_rejected_with_the_reason(tmp_path):
    cases = {"empty.ipynb": ("", "empty"), "bad.ipynb": ("{ nope", "not valid JSON"),
             "list.ipynb": ("[1, 2]", "not a notebook"), "latin.ipynb": (b"\xff\xfe{", "UTF-8")}
    for name, (data, why) in cases.items():
        p = tmp_path / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        with pytest.raises(notebooks.Rejected) as err:
            notebooks.load_notebook(p)
        assert err.value.reason == "invalid notebook" and why in str(err.value)
    d = tmp_path / "student"
    d.mkdir()
    with pytest.raises(notebooks.Rejected, match="no notebook"):
        notebooks.find_notebook(d, F.AID)
    (d / "a.ipynb").write_text("{}")
    assert notebooks.find_notebook(d, F.AID)[1] and "a.ipynb" in notebooks.find_notebook(d, F.AID)[1]
    (d / "b.ipynb").write_text("{}")
    with pytest.raises(notebooks.Rejected, match="2 notebooks"):
        notebooks.find_notebook(d, F.AID)
    (d / f"{F.AID}.ipynb").write_text("{}")
    assert notebooks.find_notebook(d, F.AID) == (d / f"{F.AID}.ipynb", None)
    # a link could point at a classmate's notebook or the gradebook: never followed
    link = tmp_path / "linked"
    link.mkdir()
    (link / f"{F.AID}.ipynb").symlink_to(d / f"{F.AID}.ipynb")
    with pytest.raises(notebooks.Rejected, match="symbolic link"):
        notebooks.find_notebook(link, F.AID)


def test_settings_have_sane_defaults_and_reject_nonsense(tmp_path):
    s = course_folder.settings(ROOT)
    L = s["limits"]
    assert s["sandbox"] == "auto" and s["jobs"] >= 1 and s["reference_modules"] == "earlier"
    assert L.cell_timeout > 0 and L.notebook_timeout >= L.cell_timeout and L.memory_mb >= 1024 and L.output_kb > 0
    (tmp_path / "settings.ini").write_text("[grading]\nmemory_mb = lots\n")
    with pytest.raises(CourseError, match="memory_mb"):
        course_folder.settings(tmp_path)


def test_without_bubblewrap_grading_goes_on_with_a_loud_warning(generated_course, tmp_path, monkeypatch):
    monkeypatch.setitem(sandbox._STATUS, "bwrap", (False, "bubblewrap (`bwrap`) is not installed"))
    assert sandbox.resolve_mode("auto")[0] == "none" and "NOT ISOLATED" in sandbox.resolve_mode("auto")[1]
    with pytest.raises(RuntimeError, match="sandbox = bwrap"):
        sandbox.resolve_mode("bwrap")
    cdir = copy_course(generated_course, tmp_path / "course")
    d = cdir / "submitted" / "solo" / F.AID
    d.mkdir(parents=True)
    (d / f"{F.AID}.ipynb").write_text(json.dumps(_good(safe.Expected.load(course_folder.open_course(ROOT, str(cdir)), F.AID))))
    report = safe.autograde(ROOT, str(cdir), F.AID, limits=F.LIMITS)
    (o,) = report.outcomes
    assert o.outcome == safe.GRADED and o.score == sum(F.points(F.load(cdir)[0]).values())
    assert not o.isolated and "NOT ISOLATED" in o.summary()
    assert report.warnings and "NOT ISOLATED" in report.warnings[0] and "bubblewrap" in report.warnings[0]
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    r = CliRunner().invoke(app, ["nbgrader", "report", "01", "--course-dir", str(cdir)])
    assert r.exit_code == 0 and "WARNING" in r.output and "WITHOUT isolation" in " ".join(r.output.split())
    rows = grading_report.report_rows(ROOT, str(cdir), "01")
    assert rows[0]["isolated"] == "NO"


@needs_sandbox
def test_the_kernel_sees_its_limits_and_nothing_of_the_host(tmp_path):
    work, conn = tmp_path / "work", tmp_path / "conn"
    work.mkdir()
    conn.mkdir()
    limits = sandbox.Limits(cell_timeout=20, notebook_timeout=60, memory_mb=1024, file_mb=8)
    probe = ("import os, resource, socket\n"
             "print(os.getuid(), resource.getrlimit(resource.RLIMIT_AS)[0] >> 20, resource.getrlimit(resource.RLIMIT_FSIZE)[0] >> 20)\n"
             "print(sorted(os.listdir('/')))\n"
             "print(os.path.exists(os.path.expanduser('~/../..')), os.getcwd())\n")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": probe, "outputs": [], "execution_count": None},
                    {"cell_type": "code", "metadata": {}, "source": "open('/etc/hostname').read()", "outputs": [],
                     "execution_count": None}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    res = sandbox.execute_notebook(nb, work, conn, limits, mode="bwrap")
    assert res.outcome == "completed" and res.isolated, res.detail
    out = "".join(o.get("text", "") for o in nb["cells"][0]["outputs"])
    uid, mem, fsize = out.splitlines()[0].split()
    assert (int(uid), int(mem), int(fsize)) == (sandbox.SANDBOX_UID, 1024, 8)
    top = eval(out.splitlines()[1])  # noqa: S307 — a list printed by the kernel above
    # only what the grader bound: system folders, the Python install, scratch /tmp (the working copy is in it)
    allowed = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "proc", "dev", "tmp", "etc"}
    allowed |= {p.parts[1] for p in sandbox.python_paths()} | {tmp_path.parts[1]}
    assert set(top) <= allowed, set(top) - allowed
    assert "home" not in top and "var" not in top
    assert str(work) in out.splitlines()[2]
    assert res.cells[1]["status"] == "error" and res.cells[1]["ename"] == "FileNotFoundError"


def test_cli_autograde_exit_codes(generated_course, tmp_path, monkeypatch):
    cdir = copy_course(generated_course, tmp_path / "course")
    exp = safe.Expected.load(course_folder.open_course(ROOT, str(cdir)), F.AID)
    for student, text in (("ok", json.dumps(_good(exp))), ("bad", "{ not json")):
        d = cdir / "submitted" / student / F.AID
        d.mkdir(parents=True)
        (d / f"{F.AID}.ipynb").write_text(text)
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    args = ["nbgrader", "autograde", "01", "--course-dir", str(cdir), "--jobs", "2", "--timeout", "20"]
    r = CliRunner().invoke(app, args)
    out = " ".join(r.output.split())
    assert r.exit_code == exits.EXIT_SOME, r.output   # the batch completed; one submission has no grade
    assert "not graded (invalid notebook)" in out and "2 at a time" in out and "report:" in out
    assert (cdir / "reports" / f"{F.AID}.csv").is_file()
    r = CliRunner().invoke(app, args + ["--student", "ok"])
    assert r.exit_code == exits.EXIT_OK and "skipped" in r.output, r.output

    def broken(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(safe, "autograde", broken)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == exits.EXIT_STOPPED and "the batch stopped" in r.output, r.output


def test_formgrader_started_where_it_would_be_empty_says_why(generated_course, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    cdir = copy_course(generated_course, tmp_path / "course")
    r = CliRunner().invoke(app, ["nbgrader", "formgrader", "--course-dir", str(cdir)])
    assert r.exit_code == exits.EXIT_USAGE and "nothing autograded" in " ".join(r.output.split()), r.output
    (cdir / "gradebook.db").rename(tmp_path / "elsewhere.db")
    r = CliRunner().invoke(app, ["nbgrader", "formgrader", "--course-dir", str(cdir)])
    assert r.exit_code == exits.EXIT_USAGE and "no gradebook" in r.output, r.output
    r = CliRunner().invoke(app, ["nbgrader", "formgrader", "--course-dir", str(tmp_path / "nowhere")])
    assert r.exit_code == exits.EXIT_USAGE and "tito nbgrader init" in r.output, r.output


def test_init_announces_the_exchange_the_course_will_use(tmp_path):
    shared = tmp_path / "srv" / "exchange"
    shared.mkdir(parents=True)
    msgs = course_folder.init_course(ROOT, str(tmp_path / "course"), exchange=shared)
    assert f"exchange folder: {shared}" in msgs
    c = course_folder.open_course(ROOT, str(tmp_path / "course"))
    assert course_folder.load_config(c).Exchange.root == str(shared)
    assert not (tmp_path / "course" / "exchange").exists()   # no folder the course will not use
    msgs = course_folder.init_course(ROOT, str(tmp_path / "plain"))
    assert f"exchange folder: {tmp_path / 'plain' / 'exchange'} (created)" in msgs
