"""What a student sees cannot carry the grader's secrets: no hidden test (its text or its failure messages, in any
encoding), no value of the grader's environment; and one student's marker text cannot break anyone's feedback.

One small batch, graded and given feedback once:

    good     the reference solutions
    leaky    fails a hidden assertion on purpose, then prints everything IPython keeps of executed cells
             (linecache, input history, the last exception) base64-encoded and reversed, and dumps every
             /proc/*/environ, /proc/*/cmdline and os.environ, plain, base64-encoded and reversed
    marker   the reference solutions with nbgrader's hidden-test and solution marker text in its own cells
"""
import base64
import binascii
import json
import re

import pytest
from typer.testing import CliRunner

import make_fixtures as F
from attack_support import ROOT, copy_course, needs_sandbox, text_of
from tito.grading import autograde as safe, course as course_folder
from tito.cli import app

AID = F.AID
SECRET = "grader-secret-5c1e-do-not-show"
HIDDEN_CHECK = "Tensor.__mul__ (shapes (5, 1, 3) and (4, 2) cannot broadcast)"   # a hidden check of 01-tensor-broadcasting

# the student's multiplication no longer rejects 3-d shapes that do not broadcast: the visible broadcasting tests
# (2-d) still pass, a hidden one fails with HIDDEN_MESSAGE
LAX_MUL = '''
_strict_mul = Tensor.__mul__
def _lax_mul(self, other):
    try:
        return _strict_mul(self, other)
    except ValueError:
        if self.data.ndim == 3:
            return self
        raise
Tensor.__mul__ = _lax_mul
'''
EXFILTRATE = '''
import base64, linecache, os, sys
seen = "\\n".join("".join(lines) for _, _, lines, _ in [v for v in linecache.cache.values() if len(v) == 4])
seen += "\\n".join(globals().get("_ih", [])) + repr(getattr(sys, "last_value", ""))
print("LINECACHE-B64", base64.b64encode(seen.encode()).decode())
print("LINECACHE-REVERSED", seen[::-1])
'''
DUMP_ENV = '''
import base64, glob, os
dump = repr(dict(os.environ))
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        dump += path + open(path, "rb").read().decode("utf-8", "replace").replace("\\0", "\\n")
    except OSError as err:
        dump += f"{path}: {err}"
print("ENV-PLAIN", dump)
print("ENV-B64", base64.b64encode(dump.encode()).decode())
print("ENV-REVERSED", dump[::-1])
'''
_B, _E = "BEGIN ", "END "   # spelled apart: see tito/check.py
MARKERS = f"# ### {_B}HIDDEN TESTS (a student's comment, no end)\n"


def _code(source):
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


@pytest.fixture(scope="module")
def batch(generated_course, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TITO_TEST_GRADER_SECRET", SECRET)   # in the grader's environment, as an instructor's token would be
    try:
        cdir = copy_course(generated_course, tmp_path_factory.mktemp("leaks") / "course")
        source, release = F.load(cdir)
        leaky = F.append(F.solved(source, release, F.marker("leaky")), "01-tensor-operators", LAX_MUL)
        leaky["cells"] += [_code(EXFILTRATE), _code(DUMP_ENV)]
        marker = F.solved(source, release, F.marker("marker"))
        F.append(marker, "01-tensor-class", MARKERS)
        marker["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": f"### {_B}SOLUTION in my notes"})
        marker["cells"].append(_code(f"print('### {_E}HIDDEN TESTS')"))
        for student, nb in (("good", F.solved(source, release, F.marker("good"))), ("leaky", leaky), ("marker", marker)):
            d = cdir / "submitted" / student / AID
            d.mkdir(parents=True)
            (d / f"{AID}.ipynb").write_text(json.dumps(nb))
        report = safe.autograde(ROOT, str(cdir), AID, jobs=2, limits=F.LIMITS | {"notebook_timeout": 60})
        mp.chdir(ROOT)
        mp.delenv("TITO_ROOT", raising=False)
        fb = CliRunner().invoke(app, ["nbgrader", "feedback", "01", "--course-dir", str(cdir)])
    finally:
        mp.undo()
    c = course_folder.open_course(ROOT, str(cdir))
    return {"course": c, "report": report, "by": {o.student: o for o in report.outcomes}, "feedback_cli": fb,
            "source": source, "release": release, "points": F.points(source)}


def _seen_by(c, student):
    "Everything the student receives: the feedback folder's files and the autograded notebook's outputs."
    parts = [text_of(json.loads((c.autograded(student, AID) / f"{AID}.ipynb").read_text()))]
    parts += [p.read_text(errors="replace") for p in c.feedback_dir(student, AID).rglob("*") if p.is_file()]
    return "\n".join(parts)


def _decoded(text):
    "The text as the student could read it: plain, reversed, and every base64-looking token decoded."
    text = text.replace("&quot;", '"').replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    views = [text, text[::-1]]
    for token in re.findall(r"[A-Za-z0-9+/=]{24,}", text):
        try:
            views.append(base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
    return views


def test_marker_text_in_a_students_cells_breaks_nothing(batch):
    fb = batch["feedback_cli"]
    assert fb.exit_code == 0, fb.output
    c, total = batch["course"], sum(batch["points"].values())
    o = batch["by"]["marker"]
    assert (o.outcome, o.score) == (safe.GRADED, total), o.summary()
    assert "marker text" in o.summary()
    # the autograder's own files (its state, the graded run) stay with the instructor
    assert not list(c.dir.glob("feedback/*/*/.tito-*")) and (c.autograded("marker", AID) / safe.GRADED_RUN_NAME).is_file()
    html = (c.feedback_dir("marker", AID) / f"{AID}.html").read_text()
    assert F.marker("marker") in html and "BEGIN-HIDDEN-TESTS" in html


@needs_sandbox
def test_no_value_of_the_graders_environment_reaches_the_student(batch):
    seen = _seen_by(batch["course"], "leaky")
    assert "ENV-PLAIN" in seen and "/proc/1/environ" in seen and "HOME" in seen, "the dump did not run"
    views = _decoded(seen)
    assert any("/proc/1/environ" in v for v in views[2:]), "the base64 dump was not decoded"
    everything = "\n".join(views)
    assert SECRET not in everything and "TITO_TEST_GRADER_SECRET" not in everything


def test_feedback_holds_no_hidden_test_line_or_message_in_any_encoding(batch):
    c, pts = batch["course"], batch["points"]
    o = batch["by"]["leaky"]
    total = sum(pts.values())
    assert (o.outcome, o.score) == (safe.GRADED, total - pts["01-tensor-broadcasting"]), o.summary()
    graded_run = text_of(json.loads((c.autograded("leaky", AID) / safe.GRADED_RUN_NAME).read_text()))
    assert f"FAIL {HIDDEN_CHECK}: expected ValueError to be raised" in graded_run, "the hidden check did not fail"
    seen = _seen_by(c, "leaky")
    views = "\n".join(_decoded(seen))
    assert "Tensor.__add__ (shapes (2, 3) and (4,) cannot broadcast)" in views, "the linecache dump did not run"
    hidden = safe.hidden_lines(batch["source"], batch["release"])
    assert len(hidden) >= 4
    leaked = [h for h in hidden if h in views] + ([HIDDEN_CHECK] if HIDDEN_CHECK in views else [])
    assert not leaked, f"the student sees hidden tests: {leaked[:3]}"
    # the lost points are explained, in the grader's fixed words
    assert "a hidden check of this cell did not pass (hidden checks are not shown)" in seen
    assert "BEGIN HIDDEN" not in views and "### " + "END HIDDEN" not in views
