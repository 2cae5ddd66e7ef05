"""The instructors' nbgrader pipeline over a course folder, through nbgrader's Python API in this process.

    init -> generate -> release -> (students fetch and submit) -> collect -> autograde -> feedback -> grades

The course folder (settings.ini [grading] course_dir, `course/` by default, never committed) holds nbgrader's
own layout: source/ release/ submitted/ autograded/ feedback/ gradebook.db, and exchange/ unless configured.
One assignment per module: assignment `NN_name` with one notebook `NN_name.ipynb`.
Every function here is safe to re-run and never overwrites or deletes a student's submitted work.
"""
import contextlib
import datetime
import io
import json
import logging
import os
import re
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import course as course_lib
from . import export as export_lib
from .course import CourseError

CONFIG_NAME = "nbgrader_config.py"
CONFIG_MARK = "# Written by `tito nbgrader init`"


# ---------------------------------------------------------------------------------------------- setup

def ensure_tools_on_path():
    "nbgrader shells out to `alembic`: put this interpreter's bin folder (the venv's) first on PATH."
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p])
    return shutil.which("alembic")


def grading_settings(root):
    "The [grading] section of settings.ini with defaults filled in."
    cfg = course_lib.settings(root)
    sec = cfg["grading"] if cfg.has_section("grading") else {}
    return {
        "course_id": cfg.get("course", "id", fallback="tinytorch"),
        "course_dir": sec.get("course_dir", "course"),
        "exchange_dir": sec.get("exchange_dir", "") or "",
        "cell_timeout": int(sec.get("cell_timeout", 60)),
        "kernel_name": sec.get("kernel_name", "python3"),
    }


def course_dir(root, override=None):
    "The course folder: `override` (relative to the current folder) or settings.ini's, relative to the repo."
    if override:
        return Path(override).resolve()
    return (Path(root) / grading_settings(root)["course_dir"]).resolve()


def config_text(root, cdir):
    "The nbgrader_config.py `init` writes (usable by the plain `nbgrader` command inside the folder too)."
    s = grading_settings(root)
    exchange = (f"r{str((Path(root) / s['exchange_dir']).resolve())!r}" if s["exchange_dir"]
                else 'os.path.join(here, "exchange")')
    return f'''{CONFIG_MARK} from settings.ini [course] and [grading].
# Edit freely: `tito nbgrader init` never overwrites an edited file without --force (and then backs it up).
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
# nbgrader runs `alembic` for its gradebook: use the one next to this Python (the venv's bin).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

c = get_config()  # noqa: F821 (provided by traitlets)
c.CourseDirectory.root = here
c.CourseDirectory.course_id = {s["course_id"]!r}
c.Exchange.root = {exchange}
# Every submission runs in a fresh kernel; a cell running longer than this is stopped and graded 0.
c.ExecutePreprocessor.timeout = {s["cell_timeout"]}
c.ExecutePreprocessor.kernel_name = {s["kernel_name"]!r}
c.Execute.timeout = {s["cell_timeout"]}
c.Execute.kernel_name = {s["kernel_name"]!r}
# quiet kernels: ipykernel's start-up warnings would repeat once per graded notebook
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# Hidden tests are restored for grading; keep them out of the HTML feedback students receive (nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
'''


@dataclass
class Course:
    "A course folder and the repository it grades."
    root: Path
    dir: Path
    course_id: str

    @property
    def config_path(self): return self.dir / CONFIG_NAME
    def source_nb(self, slug): return self.dir / "source" / slug / f"{slug}.ipynb"
    def release_nb(self, slug): return self.dir / "release" / slug / f"{slug}.ipynb"
    def submitted(self, student, slug): return self.dir / "submitted" / student / slug
    def autograded(self, student, slug): return self.dir / "autograded" / student / slug
    def feedback_dir(self, student, slug): return self.dir / "feedback" / student / slug
    @property
    def db_url(self): return f"sqlite:///{self.dir / 'gradebook.db'}"
    @property
    def logs(self): return self.dir / "logs"


def open_course(root, override=None, must_exist=True):
    "The course folder as a Course; with must_exist, it must have been set up by `init`."
    cdir = course_dir(root, override)
    c = Course(Path(root), cdir, grading_settings(root)["course_id"])
    if must_exist and not c.config_path.is_file():
        raise CourseError(f"no nbgrader course at {cdir} (missing {CONFIG_NAME}): run `tito nbgrader init` first"
                          + (f" with --course-dir {override}" if override else ""))
    return c


def init_course(root, override=None, force=False):
    "Create the course folder and its nbgrader_config.py; returns messages. Keeps an edited config unless force."
    c = open_course(root, override, must_exist=False)
    msgs = []
    c.dir.mkdir(parents=True, exist_ok=True)
    for sub in ("source", "release", "submitted", "autograded", "feedback"):
        (c.dir / sub).mkdir(exist_ok=True)
    text = config_text(root, c.dir)
    if not c.config_path.is_file():
        c.config_path.write_text(text)
        msgs.append(f"wrote {c.config_path}")
    elif c.config_path.read_text() == text:
        msgs.append(f"{c.config_path} is up to date")
    elif force:
        backup = _backup_path(c.config_path)
        shutil.copy2(c.config_path, backup)
        c.config_path.write_text(text)
        msgs.append(f"rewrote {c.config_path} (your previous version is in {backup})")
    else:
        msgs.append(f"kept {c.config_path}: it differs from what settings.ini gives (edited by hand?); "
                    "pass --force to rewrite it (the old one is backed up)")
    exchange = Path(_load_config(c).Exchange.root)
    exchange.mkdir(parents=True, exist_ok=True)
    msgs.append(f"exchange folder: {exchange}")
    gi = c.dir / ".gitignore"
    if not gi.exists():
        gi.write_text("# a course folder holds students' work and grades: never commit it\n*\n")
    if not ensure_tools_on_path():
        msgs.append("warning: `alembic` not found next to this Python: install the instructor extra "
                    "(pip install -e '.[instructor]')")
    return msgs


def _backup_path(path):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    p = Path(f"{path}.bak-{stamp}")
    n = 1
    while p.exists():
        p, n = Path(f"{path}.bak-{stamp}-{n}"), n + 1
    return p


def _load_config(c, **overrides):
    "The traitlets Config from the course's nbgrader_config.py, plus dotted overrides (e.g. `Execute.timeout`)."
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    cfg = PyFileConfigLoader(CONFIG_NAME, path=str(c.dir)).load_config()
    cfg.CourseDirectory.root = str(c.dir)  # wherever the folder was moved to
    extra = Config()
    for key, value in overrides.items():
        section, name = key.split(".")
        extra[section][name] = value
    cfg.merge(extra)
    return cfg


def _api(c, **overrides):
    "An NbGraderAPI for the course (in this process: no 5 s start-up per command)."
    ensure_tools_on_path()
    warnings.filterwarnings("ignore", module="sqlalchemy")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = _load_config(c, **overrides)
    with contextlib.redirect_stderr(io.StringIO()):
        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    api.log.setLevel(logging.INFO)
    return api


def _write_log(c, name, text):
    "Keep nbgrader's full log of a step in course/logs/; returns the path."
    c.logs.mkdir(parents=True, exist_ok=True)
    path = c.logs / f"{name}.log"
    path.write_text(text or "")
    return path


def _modules(root, modules=None):
    "The modules to act on (all by default)."
    mods = course_lib.all_modules(root)
    if not modules:
        return mods
    out = []
    for key in modules:
        out.extend(course_lib.select(root, key))
    return out


def assignments(c):
    "Assignment ids present in the course's source folder."
    src = c.dir / "source"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and course_lib.MODULE_DIR_RE.match(p.name)) if src.is_dir() else []


def _assignment_ids(c, modules):
    "Assignment ids for the named modules (numbers or names), or every generated one."
    have = assignments(c)
    if not modules:
        if not have:
            raise CourseError(f"no assignments in {c.dir / 'source'}: run `tito nbgrader generate` first")
        return have
    return [m.slug for m in _modules(c.root, modules)]


@dataclass
class StepResult:
    "What one step did for one assignment."
    assignment: str
    status: str           # e.g. generated, unchanged, released, collected, failed ...
    detail: str = ""
    ok: bool = True
    log: Path = None


# ---------------------------------------------------------------------------------------------- generate / release

def generate(root, override=None, modules=None, force=False):
    "Each module source -> course/source/NN_name/NN_name.ipynb -> nbgrader generate_assignment -> course/release/."
    c = open_course(root, override)
    api = None
    results = []
    for m in _modules(root, modules):
        if not m.source:
            results.append(StepResult(m.slug, "skipped", f"no source {m.name}_dev.py in {m.dir}", ok=False))
            continue
        nb = export_lib.read_source(m.source)
        changed = export_lib.write_if_changed(c.source_nb(m.slug), nbformat.writes(nb) + "\n")
        if not (changed or force or not c.release_nb(m.slug).is_file() or not _in_gradebook(c, m.slug)):
            results.append(StepResult(m.slug, "unchanged", str(c.release_nb(m.slug).relative_to(c.dir))))
            continue
        api = api or _api(c)
        r = api.generate_assignment(m.slug, force=True, create=True)
        log = _write_log(c, f"generate-{m.slug}", (r.get("log") or "") + (r.get("error") or ""))
        if r["success"]:
            results.append(StepResult(m.slug, "generated", str(c.release_nb(m.slug).relative_to(c.dir)), log=log))
        else:
            results.append(StepResult(m.slug, "failed", _last_error(r), ok=False, log=log))
    return results


def _in_gradebook(c, aid):
    "Whether the gradebook knows the assignment (it may have been deleted since the release was generated)."
    if not (c.dir / "gradebook.db").is_file():
        return False
    from nbgrader.api import MissingEntry
    with _gradebook(c) as gb:
        try:
            gb.find_assignment(aid)
            return True
        except MissingEntry:
            return False


def _last_error(r):
    "The most telling line of a failed nbgrader step."
    text = (r.get("log") or "") + "\n" + (r.get("error") or "")
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errs = [l for l in lines if l.startswith("[ERROR]") or "Error" in l]
    return (errs or lines or ["unknown error"])[-1][:400]


def release(root, override=None, modules=None, force=False):
    "Copy release/NN_name into the exchange's outbound folder, where students fetch it. Skips released ones."
    c = open_course(root, override)
    api = _api(c)
    outbound = Path(api.exchange_root) / c.course_id / "outbound"
    results = []
    for aid in _assignment_ids(c, modules):
        if not c.release_nb(aid).is_file():
            results.append(StepResult(aid, "failed", f"not generated yet: run `tito nbgrader generate {aid[:2]}`", ok=False))
            continue
        if (outbound / aid).is_dir() and not force:
            same = _same_tree(c.dir / "release" / aid, outbound / aid)
            results.append(StepResult(aid, "already released",
                                      "" if same else "the release changed since: pass --force to re-release"))
            continue
        if (outbound / aid).is_dir():
            api.unrelease(aid)
        r = api.release_assignment(aid)
        log = _write_log(c, f"release-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        results.append(StepResult(aid, "released", str(outbound / aid), log=log) if r["success"]
                       else StepResult(aid, "failed", _last_error(r), ok=False, log=log))
    return results


def _same_tree(a, b):
    fa = {p.relative_to(a): p.read_bytes() for p in Path(a).rglob("*") if p.is_file()}
    fb = {p.relative_to(b): p.read_bytes() for p in Path(b).rglob("*") if p.is_file()}
    return fa == fb


# ---------------------------------------------------------------------------------------------- collect

def _timestamp(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _pick_notebook(folder, aid):
    "The submitted notebook of assignment `aid` in a student's folder: NN_name.ipynb, name_dev.ipynb, or the only one."
    nbs = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    by_name = {p.name: p for p in nbs}
    for name in (f"{aid}.ipynb", f"{aid[3:]}_dev.ipynb"):
        if name in by_name:
            return by_name[name]
    if len(nbs) == 1:
        return nbs[0]
    raise CourseError(f"{folder}: expected {aid}.ipynb (or one notebook), found "
                      f"{', '.join(p.name for p in nbs) or 'no notebook'}")


def collect(root, override=None, modules=None, from_dir=None, update=False):
    """Gather submissions into course/submitted/STUDENT/NN_name/.

    From the exchange (nbgrader collect), or with `from_dir` from a folder laid out DIR/STUDENT/NN_name/*.ipynb.
    A submission already collected is kept; with `update` a newer one replaces it after the old one is backed
    up under course/backups/ (nothing is ever deleted)."""
    c = open_course(root, override)
    results = []
    aids = _assignment_ids(c, modules)
    if from_dir:
        src = Path(from_dir).resolve()
        if not src.is_dir():
            raise CourseError(f"--from {from_dir}: no such folder (expected files made by `tito submit`, or DIR/STUDENT/NN_name/*.ipynb)")
        for aid in aids:
            for student_dir in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
                sub = student_dir / aid
                if sub.is_dir():
                    results.append(_collect_one(c, aid, student_dir.name, sub, update))
        from .submission import collect_files  # files made by `tito submit` (STUDENT_NN_name.zip), anywhere under src
        results += collect_files(c, aids, src, update)
        if not results:
            raise CourseError(f"nothing to collect in {src}: expected files made by `tito submit` (*.zip) or "
                              f"{src}/STUDENT/NN_name/*.ipynb for one of {', '.join(aids)}")
        return results
    api = _api(c)
    for aid in aids:
        if update:
            _backup_submissions(c, aid)
        r = api.collect(aid, update=update)
        log = _write_log(c, f"collect-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        students = re.findall(r"(?:Collecting|Updating) submission: (\S+) " + re.escape(aid), r.get("log") or "")
        if r["success"]:
            results.append(StepResult(aid, "collected", f"{len(students)} new: {', '.join(students)}" if students
                                      else "no new submissions", log=log))
        else:
            results.append(StepResult(aid, "failed", _last_error(r), ok=False, log=log))
    return results


def _backup_submissions(c, aid):
    "Before nbgrader may replace collected submissions of `aid`, copy them to course/backups/."
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for d in sorted((c.dir / "submitted").glob(f"*/{aid}")):
        dest = c.dir / "backups" / stamp / "submitted" / d.parent.name / aid
        if not dest.exists():
            shutil.copytree(d, dest)


def _collect_one(c, aid, student, sub, update):
    try:
        nb_path = _pick_notebook(sub, aid)
    except CourseError as err:
        return StepResult(aid, "failed", f"{student}: {err}", ok=False)
    dest = c.submitted(student, aid)
    target = dest / f"{aid}.ipynb"
    stamp_file = sub / "timestamp.txt"
    stamp = (stamp_file.read_text().strip() if stamp_file.is_file() else
             _timestamp(datetime.datetime.fromtimestamp(nb_path.stat().st_mtime, datetime.timezone.utc)))
    if target.is_file():
        if target.read_bytes() == nb_path.read_bytes():
            return StepResult(aid, "unchanged", f"{student}: already collected")
        if not update:
            return StepResult(aid, "kept", f"{student}: a different submission was collected before; kept it "
                              "(pass --update to replace it, the old one is backed up)")
        backup = c.dir / "backups" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S") / "submitted" / student / aid
        shutil.copytree(dest, backup, dirs_exist_ok=True)
        shutil.copy2(nb_path, target)
        (dest / "timestamp.txt").write_text(stamp)
        return StepResult(aid, "updated", f"{student}: previous submission backed up in {backup}")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(nb_path, target)
    (dest / "timestamp.txt").write_text(stamp)
    return StepResult(aid, "collected", f"{student} <- {nb_path}")


# ---------------------------------------------------------------------------------------------- autograde

# Exit codes of `tito nbgrader autograde` (documented in its help).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


@dataclass
class Graded:
    "The autograding outcome of one submission."
    student: str
    assignment: str
    status: str                 # graded | failed | skipped
    score: float = 0.0
    max_score: float = 0.0      # autograded points (reflections are graded by hand afterwards)
    timeouts: list = field(default_factory=list)       # grade_ids of cells stopped by the timeout
    import_errors: list = field(default_factory=list)  # errors importing tinytorch: the grading environment is broken
    detail: str = ""


@dataclass
class AutogradeReport:
    submissions: list
    logs: list

    @property
    def failed(self): return [g for g in self.submissions if g.status == "failed"]
    @property
    def broken_environment(self): return [g for g in self.submissions if g.import_errors]

    @property
    def exit_code(self):
        "0 all graded; 1 some submissions could not be graded; 3 graded, but tinytorch failed to import somewhere."
        if self.failed:
            return EXIT_FAILED
        if self.broken_environment:
            return EXIT_ENVIRONMENT
        return EXIT_OK


def reference_package_problem(root):
    "Why the reference tinytorch cannot be graded against (None when it imports from this checkout)."
    import subprocess
    code = "import tinytorch, os; print(os.path.dirname(os.path.abspath(tinytorch.__file__)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.expanduser("~"))
    if proc.returncode:
        return ("the reference tinytorch is not importable by the grading kernel: "
                f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'unknown error'}; "
                f"install it with `pip install -e {root}`")
    where = Path(proc.stdout.strip())
    if where != (Path(root) / "tinytorch").resolve():
        return (f"the grading kernel imports tinytorch from {where}, not from this checkout ({root}): "
                f"install the reference with `pip install -e {root}`")
    return None


def autograde(root, override=None, modules=None, students=None, force=False, timeout=None, jobs=None):
    """Autograde every collected submission of the assignments with tito.autograde_safe: each in its own sandboxed
    kernel and temporary working copy, a broken one reported and the batch going on. Submissions graded before
    are skipped unless `force` or a newer submission arrived. (`tito nbgrader autograde` shows the full outcomes.)"""
    from . import autograde_safe
    c = open_course(root, override)
    report = AutogradeReport([], [])
    for aid in _assignment_ids(c, modules):
        if not any(d.is_dir() for d in (c.dir / "submitted").glob(f"*/{aid}")):
            continue
        batch = autograde_safe.autograde(root, override, aid, students=students, force=force, jobs=jobs,
                                         cell_timeout=timeout)
        for o in batch.outcomes:
            status = "skipped" if o.skipped else ("failed" if o.outcome == autograde_safe.NOT_GRADED else "graded")
            detail = "already graded (pass --force to regrade)" if o.skipped else o.summary()
            report.submissions.append(Graded(o.student, aid, status, o.score, o.max_score, list(o.timeouts),
                                             list(o.import_errors), detail))
    return report


@contextlib.contextmanager
def _gradebook(c):
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from nbgrader.api import Gradebook
    with Gradebook(c.db_url, c.course_id) as gb:
        yield gb


# ---------------------------------------------------------------------------------------------- feedback / grades

def feedback(root, override=None, modules=None, force=False):
    "HTML feedback for every autograded submission: course/feedback/STUDENT/NN_name/NN_name.html."
    c = open_course(root, override)
    # the autograder's own files next to the graded notebook (its state, the graded run with the hidden tests'
    # outputs) are the instructor's: nbgrader would copy them into the feedback folder students receive
    from nbgrader.coursedir import CourseDirectory
    ignore = list(CourseDirectory(config=_load_config(c)).ignore) + [".tito-*"]
    api = _api(c, **{"CourseDirectory.ignore": ignore})
    results = []
    for aid in _assignment_ids(c, modules):
        if not list((c.dir / "autograded").glob(f"*/{aid}")):
            continue
        r = api.generate_feedback(aid, force=force)
        log = _write_log(c, f"feedback-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        files = sorted((c.dir / "feedback").glob(f"*/{aid}/*.html"))
        results.append(StepResult(aid, "feedback", f"{len(files)} file(s) in feedback/*/{aid}/", log=log) if r["success"]
                       else StepResult(aid, "failed", _last_error(r), ok=False, log=log))
    return results


def grade_rows(root, override=None):
    "One row per (student, assignment) from the gradebook: student, assignment, score, max_score."
    c = open_course(root, override)
    if not (c.dir / "gradebook.db").is_file():
        raise CourseError(f"no gradebook in {c.dir}: run `tito nbgrader generate` and `autograde` first")
    from nbgrader.api import MissingEntry
    rows = []
    with _gradebook(c) as gb:
        for a in sorted(gb.assignments, key=lambda a: a.name):
            for s in sorted(gb.students, key=lambda s: s.id):
                try:
                    sub = gb.find_submission(a.name, s.id)
                    score, max_score = sub.score, sub.max_score
                except MissingEntry:
                    score, max_score = 0.0, a.max_score
                rows.append({"student": s.id, "assignment": a.name,
                             "score": round(float(score or 0), 4), "max_score": round(float(max_score or 0), 4)})
    return rows


def write_grades(root, override=None, out=None):
    "Write the grades CSV (default course/grades.csv); returns (path, rows)."
    import csv
    rows = grade_rows(root, override)
    path = Path(out) if out else open_course(root, override).dir / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["student", "assignment", "score", "max_score"])
        w.writeheader()
        w.writerows(rows)
    return path, rows
