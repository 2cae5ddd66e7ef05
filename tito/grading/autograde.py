"""Autograding that survives a real class: `tito nbgrader autograde`.

For each collected submission (course/submitted/STUDENT/NN_name/), in this order:

1. read and check it here, in the grading process: not a notebook (invalid JSON, empty, wrong format), no
   notebook, several notebooks, or a renamed one; graded cells duplicated, deleted, edited, of unknown id. Build
   the notebook to grade from the student's cells and the instructor's locked cells (tests with their hidden
   parts, given code), so tampering never changes what is run; a broken notebook is reported for that student.
2. run it twice, side by side, each time in a fresh kernel in its own temporary working copy, sandboxed and
   resource-limited (sandbox.py), in a separate runner process; up to `jobs` submissions at a time. The graded
   run has the probes of the instructor's checks, hidden ones included (probes.py: only the actual side of
   each check runs there, its value comes back as plain data); the feedback run has the release's visible
   tests only and is what the student sees (feedback.py).
3. once the kernels are gone, judge every check of every graded cell here, on plain data, against the mark
   scheme (the same probes run once on the reference solution, `mark_scheme`); a cell that did not run gets
   an explicit error; write the gradebook (only this process writes it,
   one submission at a time), then the autograded notebook (the feedback run), the instructor's copy of the
   graded run, then a state file: a submission counts as graded only when its state file matches the submitted notebook,
   so a run killed at any point is completed by the next run (interrupted submissions are graded again).

Every outcome is recorded: graded, tampering detected, or not graded (crash, timeout, invalid notebook,
missing notebook, grading error) with the score of what did run; `report` prints them (table and CSV).
"""
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .. import course as course_lib
from ..course import CourseError
from . import feedback, probes, sandbox
from .course import assignment_id, ensure_tools_on_path, gradebook, open_course
from .exits import EXIT_ENVIRONMENT, EXIT_OK, EXIT_SOME
from .course import settings as course_settings
from .notebooks import Rejected, find_notebook, load_notebook, nbgrader_meta
from .notebooks import source as cell_text
from .sandbox import Limits

STATE_NAME = ".tito-autograde.json"
GRADED_RUN_NAME = ".tito-graded-run.ipynb"   # the instructor's copy of the graded run (feedback skips .tito-*)
STATE_VERSION = 1
GRADED, NOT_GRADED, TAMPERING = "graded", "not graded", "tampering detected"
REASONS = ("crash", "timeout", "invalid notebook", "missing notebook", "grading error")



# ---------------------------------------------------------------------------------------------- reading a submission

def _norm(text):
    "Cell text compared for tampering: trailing spaces and blank lines at either end do not count."
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()


def _flags(meta):
    try:
        points = float(meta.get("points", 0) or 0)
    except (TypeError, ValueError):
        points = None
    return (bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("locked")), points)


@dataclass
class Expected:
    "What an assignment's notebook must contain: the instructor's source and the release students received."
    source: dict
    release: dict
    hidden_lines: set
    aliases: dict
    hidden_modules: tuple = ()     # dotted tinytorch modules the kernel does not see (this and later modules)
    splits: dict = field(default_factory=dict)   # grade_id -> probes.Split of each graded test cell
    reference: dict = field(default_factory=dict)  # check id -> the reference run's probe records (the mark scheme)

    @classmethod
    def load(cls, c, aid):
        src_path, rel_path = c.source_nb(aid), c.release_nb(aid)
        if not src_path.is_file() or not rel_path.is_file():
            raise CourseError(f"{aid} has not been generated: run `tito nbgrader generate {aid[:2]}` first")
        source = json.loads(src_path.read_text())
        release = json.loads(rel_path.read_text())
        return cls(source, release, hidden_lines(source, release), module_aliases(source), splits=split_cells(source))

    def cells(self, which):
        nb = self.source if which == "source" else self.release
        return {m["grade_id"]: c for c in nb["cells"] if (m := nbgrader_meta(c)) and m.get("grade_id")}

    def order(self):
        return [m["grade_id"] for c in self.source["cells"] if (m := nbgrader_meta(c)) and m.get("grade_id")]


def hidden_lines(source, release):
    "Stripped lines of the hidden tests that appear nowhere in what students received (long enough to tell)."
    from ..check import blocks
    public = {line.strip() for c in release["cells"] for line in cell_text(c).splitlines()}
    found = set()
    for c in source["cells"]:
        for block in blocks(cell_text(c), "hidden tests")[0]:
            found.update(line.strip() for line in block if len(line.strip()) >= 8 and line.strip() not in public)
    return found


def split_cells(source):
    """The graded test cells (locked, with checks) split for grading: grade_id -> probes.Split. A graded test cell
    that is not written with tito.checks, or that the split finds problems in, stops grading with a clear error."""
    cells = source["cells"]
    splits, problems = {}, []
    for i, c in enumerate(cells):
        m = nbgrader_meta(c)
        if c.get("cell_type") != "code" or not m or not m.get("grade") or m.get("solution"):
            continue
        later = set().union(*[probes.names_read(cell_text(x)) for x in cells[i + 1:] if x.get("cell_type") == "code"])
        sp = probes.split(cell_text(c), m["grade_id"], later)
        if not sp.checks:
            sp.problems.append("no check (tito.checks) in this graded cell")
        problems += [f"{m['grade_id']}: {p}" for p in sp.problems]
        splits[m["grade_id"]] = sp
    if problems:
        raise CourseError("graded cells that cannot be graded safely (fix the module source, then "
                          "`tito nbgrader generate`):\n  " + "\n  ".join(problems))
    return splits


def module_aliases(source):
    "Names bound to modules by `import x as y` / `import x` in the locked cells (restored before graded cells)."
    import ast
    aliases = {}
    for c in source["cells"]:
        m = nbgrader_meta(c)
        if c.get("cell_type") != "code" or not m or not m.get("locked") or m.get("grade") or m.get("solution"):
            continue
        try:
            tree = ast.parse(cell_text(c))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        aliases[a.asname] = a.name
                    elif "." not in a.name:
                        aliases[a.name] = a.name
    return aliases


@dataclass
class Prepared:
    """The notebooks to run for one submission, and what was found while building them. Both have the same
    cells; they differ only in the locked cells: `notebook` (the graded run, scores only) has the instructor's
    tests with their hidden parts, `feedback` (the run the student sees) the release's visible tests only."""
    notebook: dict
    graded: list                                  # indices of graded code cells
    notes: list = field(default_factory=list)     # reported, not held against the student
    tampering: list = field(default_factory=list)
    feedback: dict = None


# nbgrader's region markers (its default delimiters, matched anywhere in a line): in a student's cell they would
# make nbgrader's feedback step raise (or cut the cell), so they are spelled apart there before anything runs.
NBGRADER_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION")


def neutralise_markers(text):
    "`text` with nbgrader's region markers spelled apart (BEGIN HIDDEN TESTS -> BEGIN-HIDDEN-TESTS)."
    for marker in NBGRADER_MARKERS:
        text = text.replace(marker, marker.replace(" ", "-"))
    return text


def prepare(student_nb, exp):
    """The notebook to grade: the student's cells in their order, every locked cell replaced by the instructor's
    (hidden tests included), deleted graded/locked cells put back, duplicates and unknown ids neutralised."""
    src_cells, rel_cells = exp.cells("source"), exp.cells("release")
    out, pos, notes, tampering = [], {}, [], []
    for cell in student_nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            notes.append("a cell that is not a notebook cell was ignored")
            continue
        cell = {"cell_type": cell["cell_type"], "metadata": dict(cell.get("metadata") or {}), "source": cell_text(cell)}
        if cell["cell_type"] == "code":
            cell.update(outputs=[], execution_count=None)
        meta = nbgrader_meta(cell)
        gid = meta.get("grade_id") if meta else None
        if "nbgrader" in cell["metadata"] and not gid:
            cell["metadata"].pop("nbgrader")
        if gid and gid not in src_cells:
            notes.append(f"cell {gid!r} is not part of this assignment: graded as an ordinary cell")
            cell["metadata"].pop("nbgrader")
            gid = None
        elif gid and gid in pos:
            notes.append(f"cell {gid} appears more than once: the first copy is graded, the others run as ordinary cells")
            cell["metadata"].pop("nbgrader")
            gid = None
        if gid:
            ref, rel = src_cells[gid], rel_cells.get(gid, src_cells[gid])
            rmeta = nbgrader_meta(rel) or nbgrader_meta(ref)
            locked = bool(rmeta.get("locked")) and not rmeta.get("solution")
            if _flags(meta) != _flags(rmeta):
                tampering.append(f"cell {gid}: its grading metadata was changed (put back)")
            if cell["cell_type"] != ref["cell_type"]:
                (tampering if locked else notes).append(
                    f"cell {gid} was changed from {ref['cell_type']} to {cell['cell_type']} (put back)")
            if locked and _norm(cell["source"]) != _norm(cell_text(rel)):
                tampering.append(f"locked cell {gid} was edited (the original was graded)")
            cell = _cell_like(ref, cell["source"] if not locked else cell_text(ref), rmeta)
            if locked:
                cell["visible_source"] = cell_text(rel)
            pos[gid] = len(out)
        if "visible_source" not in cell and neutralise_markers(cell["source"]) != cell["source"]:
            cell["source"] = neutralise_markers(cell["source"])
            notes.append(f"cell {gid or f'#{len(out)}'} contained nbgrader's marker text: spelled apart before grading")
        out.append(cell)
    prev = None
    for gid in exp.order():
        if gid in pos:
            prev = gid
            continue
        ref, rel = src_cells[gid], rel_cells.get(gid, src_cells[gid])
        rmeta = nbgrader_meta(rel) or nbgrader_meta(ref)
        locked = bool(rmeta.get("locked")) and not rmeta.get("solution")
        if locked:
            tampering.append(f"locked cell {gid} was deleted (put back and graded)")
        else:
            notes.append(f"cell {gid} was missing: the unanswered version was graded")
        at = pos[prev] + 1 if prev else (min(pos.values()) if pos else len(out))
        restored = _cell_like(ref, cell_text(ref) if locked else cell_text(rel), rmeta)
        restored["visible_source"] = cell_text(rel)
        out.insert(at, restored)
        pos = {g: (p + 1 if p >= at else p) for g, p in pos.items()}
        pos[gid] = at
        prev = gid
    for i, cell in enumerate(out):
        cell["id"] = f"cell-{i}"
        gid = (nbgrader_meta(cell) or {}).get("grade_id")
        if gid in exp.splits and "visible_source" in cell:   # a locked graded cell: only its probes run
            cell["source"] = exp.splits[gid].kernel
    visible = [dict(c, source=c.pop("visible_source")) if "visible_source" in c else dict(c) for c in out]
    meta = dict(exp.source.get("metadata") or {})
    nb = {"cells": out, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    feedback = json.loads(json.dumps({"cells": visible, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}))
    graded = [i for i, c in enumerate(out) if c["cell_type"] == "code" and (nbgrader_meta(c) or {}).get("grade")]
    return Prepared(nb, graded, notes, tampering, feedback)


def _cell_like(ref, text, meta):
    "A cell of the instructor's type with source `text` and the release's nbgrader metadata."
    cell = {"cell_type": ref["cell_type"], "metadata": {"nbgrader": dict(meta)}, "source": text}
    for key in ("editable", "deletable"):
        if key in (ref.get("metadata") or {}):
            cell["metadata"][key] = ref["metadata"][key]
    if ref["cell_type"] == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


# ---------------------------------------------------------------------------------------------- deciding the grades

def decide(prepared, run, exp, limits):
    """Turn a NotebookRun of the graded run into the instructor's graded notebook and the scores. A graded test
    cell scores its points when every check passes (judged here, on plain data, against the mark scheme) and the
    cell ran to its end; its probe outputs are replaced by the verdict of each check. Returns
    (notebook dict, {grade_id: (score or None, max)}, {grade_id: probes.CellVerdict})."""
    from nbgrader.utils import determine_grade
    nb = run["notebook"]
    by_index = {c["index"]: c for c in run["cells"]}
    why = run.get("detail") or "the run stopped early"
    scores, verdicts = {}, {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        rec = by_index.get(i, {"status": "not-run"})
        meta = nbgrader_meta(cell) or {}
        gid = meta.get("grade_id")
        if i in prepared.graded and gid in exp.splits:
            v = probes.judge_cell(exp.splits[gid].checks, probes.records(cell.get("outputs")),
                                  exp.reference, rec["status"], gid)
            verdicts[gid] = v
            points = float(meta.get("points", 0) or 0)
            scores[gid] = (points if v.passed else 0.0, points)
            cell["outputs"] = [o for o in cell.get("outputs", []) if not probes.records([o])]
            cell["outputs"].append({"output_type": "stream", "name": "stdout",
                                    "text": "[tito: checks judged by the grader]\n" + "\n".join(v.lines) + "\n"})
        elif i in prepared.graded and rec["status"] != "ok" and not any(
                o.get("output_type") == "error" for o in cell.get("outputs", [])):
            ename, text = feedback.SYNTHETIC.get(rec["status"], feedback.SYNTHETIC["error"])
            text = text.format(why=why, **asdict(limits))
            cell["outputs"].append({"output_type": "error", "ename": ename, "evalue": text,
                                    "traceback": [f"{ename}: {text}"]})
        cell["outputs"] = [feedback.scrub_output(o, exp.hidden_lines) for o in cell.get("outputs", [])]
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta and meta.get("grade") and meta["grade_id"] not in scores:
            scores[meta["grade_id"]] = determine_grade(nbformat.from_dict(cell))
    return nb, scores, verdicts


# ---------------------------------------------------------------------------------------------- the outcome of one submission

@dataclass
class Outcome:
    "How one submission was graded (also its state file and its row of the report)."
    student: str
    assignment: str
    outcome: str = GRADED              # graded | not graded | tampering detected | pending
    reason: str = ""                   # for not graded: crash, timeout, invalid notebook, missing notebook, grading error
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    detail: str = ""
    notes: list = field(default_factory=list)
    tampering: list = field(default_factory=list)
    isolated: bool = True
    sandbox: str = "bwrap"
    digest: str = ""
    timeouts: list = field(default_factory=list)       # grade_ids of graded cells stopped by the per-cell limit
    import_errors: list = field(default_factory=list)  # tinytorch failed to import: the grading environment, not the student
    skipped: bool = False              # already graded in an earlier run (not regraded)
    graded_at: str = ""
    version: int = STATE_VERSION

    @property
    def status(self):
        "One word for tables: graded, tampering, or the reason it was not graded."
        if self.outcome == NOT_GRADED:
            return self.reason
        return "tampering" if self.outcome == TAMPERING else self.outcome

    def summary_lines(self):
        return self.tampering + self.notes

    def summary(self):
        parts = [self.detail] if self.detail else []
        parts += self.tampering + self.notes
        if not self.isolated:
            parts.append("NOT ISOLATED (no sandbox)")
        return "; ".join(p for p in parts if p)


def submission_digest(folder):
    "A digest of everything a student submitted for an assignment (names and bytes)."
    h = hashlib.sha256()
    folder = Path(folder)
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith(".tito"):
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def read_state(c, student, aid):
    p = c.autograded(student, aid) / STATE_NAME
    try:
        d = json.loads(p.read_text())
        return Outcome(**{k: v for k, v in d.items() if k in Outcome.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def _write_atomic(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _crash_point(phase):
    "Testing hook: TITO_AUTOGRADE_CRASH_AT=phase:n makes this process die (like kill -9) the n-th time it reaches phase."
    spec = os.environ.get("TITO_AUTOGRADE_CRASH_AT", "")
    if not spec or not spec.startswith(phase + ":"):
        return
    _CRASH_COUNTS[phase] = _CRASH_COUNTS.get(phase, 0) + 1
    if _CRASH_COUNTS[phase] == int(spec.split(":")[1]):
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH_COUNTS = {}


# ---------------------------------------------------------------------------------------------- the gradebook

def record(c, aid, student, scores, timestamp, unchanged_solutions=()):
    """Write one submission's automatic grades (every field set, so writing twice gives the same rows).
    `scores`: grade_id -> (auto score or None, max); grade cells absent from it get 0 (nothing to grade)."""
    from nbgrader.api import MissingEntry
    from nbgrader.utils import parse_utc
    with gradebook(c) as gb:
        gb.update_or_create_student(student)
        try:
            gb.find_assignment(aid)
        except MissingEntry:
            raise CourseError(f"{aid} is not in the gradebook: run `tito nbgrader generate {aid[:2]}` first")
        kwargs = {}
        if timestamp:
            try:
                kwargs["timestamp"] = parse_utc(timestamp)
            except ValueError:
                pass
        gb.update_or_create_submission(aid, student, **kwargs)
        _crash_point("mid-gradebook")
        nb = gb.find_submission_notebook(aid, aid, student)
        for grade in nb.grades:
            auto, _ = scores.get(grade.name, (0, None))
            grade.auto_score = auto
            grade.needs_manual_grade = bool(grade.manual_score is not None or auto is None) if grade.name in scores else False
        for comment in nb.comments:
            comment.auto_comment = "No response." if comment.name in unchanged_solutions else None
        gb.db.commit()
        sub = gb.find_submission(aid, student)
        return float(sub.code_score or 0), float(sub.max_code_score or 0)


# ---------------------------------------------------------------------------------------------- the batch

@dataclass
class Job:
    student: str
    folder: Path
    base: Path
    prepared: Prepared = None
    outcome: Outcome = None
    proc: subprocess.Popen = None
    started: float = 0.0
    t0: float = 0.0


@dataclass
class BatchReport:
    assignment: str
    outcomes: list
    warnings: list = field(default_factory=list)
    jobs: int = 1
    seconds: float = 0.0

    @property
    def exit_code(self):
        """0 every submission has a grade (tampering is flagged in the report, but graded); 1 the batch completed
        and some submission is not graded (crash, timeout, invalid or missing notebook), in this run or before;
        3 the grading environment failed in this run (a kernel could not start, tinytorch did not import)."""
        fresh = [o for o in self.outcomes if not o.skipped]
        if any(o.reason == "grading error" or o.import_errors for o in fresh):
            return EXIT_ENVIRONMENT
        if any(o.outcome == NOT_GRADED or (o.outcome == TAMPERING and o.reason) for o in self.outcomes):
            return EXIT_SOME
        return EXIT_OK


def hidden_exports(root, aid, which="earlier"):
    "The tinytorch modules (dotted, e.g. tinytorch.core.tensor) of this and later modules: the kernel must not see them."
    m = course_lib.MODULE_DIR_RE.match(aid)
    if which != "earlier" or not m:
        return ()
    return tuple(f"tinytorch.{mod.export_to}" for mod in course_lib.all_modules(root)
                 if mod.number >= m.group(1) and mod.export_to)


def _reference_view(root, dest, hidden):
    "A copy of the reference tinytorch without the `hidden` modules (their reference solutions)."
    pkg = Path(root) / "tinytorch"
    hide = {(pkg / Path(*name.split(".")[1:])).with_suffix(".py").resolve() for name in hidden}
    shutil.copytree(pkg, dest, ignore=lambda d, names: [n for n in names if n == "__pycache__" or
                                                       (Path(d) / n).resolve() in hide])
    return dest


def _work_root(c):
    """Where the working copies go: /var/tmp (or the course folder), not /tmp. Inside the sandbox /tmp is a
    private scratch space, and the folders above a working copy are then part of the read-only root."""
    for d in (Path("/var/tmp"), c.dir / ".grading"):
        try:
            d.mkdir(parents=True, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def _cleanup_stale(tmp_root):
    "Remove the temporary folders of grading runs whose process is gone (a killed run leaves them)."
    for d in Path(tmp_root).glob("tito-autograde-*"):
        try:
            pid = int((d / "pid").read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (OSError, ValueError):
            continue


def autograde(root, override=None, assignment=None, students=None, force=False, jobs=None, cell_timeout=None,
              notebook_timeout=None, sandbox_mode=None, progress=None, limits=None):
    """Grade every collected submission of `assignment` (NN or NN_name); returns a BatchReport.
    Submissions graded before (state file matching the submitted files) are skipped unless `force`.
    `limits`: a dict overriding settings.ini's (cell_timeout, notebook_timeout, memory_mb, output_kb, ...)."""
    c = open_course(root, override)
    aid = assignment_id(c, assignment)
    cfg = course_settings(root)
    limits_given = limits or {}
    limits = cfg["limits"]
    for key, value in limits_given.items():
        if key not in Limits.__dataclass_fields__:
            raise CourseError(f"unknown limit {key!r}: one of {', '.join(Limits.__dataclass_fields__)}")
        setattr(limits, key, int(value))
    if cell_timeout:
        limits.cell_timeout = int(cell_timeout)
    if notebook_timeout:
        limits.notebook_timeout = int(notebook_timeout)
    jobs = max(1, int(jobs or cfg["jobs"]))
    mode, warning = sandbox.resolve_mode(sandbox_mode or cfg["sandbox"])
    exp = Expected.load(c, aid)
    ensure_tools_on_path()
    report = BatchReport(aid, [], jobs=jobs)
    if warning:
        report.warnings.append(warning)
    t_start = time.monotonic()
    folders = sorted(d for d in (c.dir / "submitted").glob(f"*/{aid}") if d.is_dir())
    if students:
        wanted = set(students)
        folders = [d for d in folders if d.parent.name in wanted]
    lock = _lock(c)
    tmp_root = _work_root(c)
    _cleanup_stale(tmp_root)
    base = Path(tempfile.mkdtemp(prefix="tito-autograde-", dir=tmp_root))
    (base / "pid").write_text(str(os.getpid()))
    try:
        exp.hidden_modules = hidden_exports(root, aid, cfg["reference_modules"])
        ref = _reference_view(root, base / "reference" / "tinytorch", exp.hidden_modules)
        ro_binds = [(ref, (Path(root) / "tinytorch").resolve())]
        env = {}
        data = os.environ.get("TINYTORCH_DATA")
        if data and Path(data).is_dir():
            ro_binds.append((Path(data).resolve(), Path(data).resolve()))
            env["TINYTORCH_DATA"] = str(Path(data).resolve())
        exp.reference = mark_scheme(c, aid, exp, limits, mode, warning, ro_binds, env, ref, base / "reference-run")
        queue = []
        for n, folder in enumerate(folders):
            student = folder.parent.name
            digest = submission_digest(folder)
            state = read_state(c, student, aid)
            if (state and not force and state.digest == digest and state.version == STATE_VERSION
                    and state.reason != "grading error"):
                state.skipped = True
                report.outcomes.append(state)
                continue
            queue.append(Job(student, folder, base / f"s{n}"))
        running = []
        while queue or running:
            while queue and len(running) < jobs:
                job = queue.pop(0)
                job.t0 = time.monotonic()
                _start(job, c, aid, exp, limits, mode, warning, ro_binds, env)
                if job.outcome is not None:            # rejected before running: record it now
                    _finish(job, c, aid, exp, limits, report, progress)
                else:
                    running.append(job)
                    _crash_point("launched")
            if not running:
                continue
            time.sleep(0.05)
            for job in list(running):
                # two runs side by side (graded and feedback): the backstop allows for both
                backstop = 2 * (limits.notebook_timeout + limits.startup_timeout) + 60 if limits.notebook_timeout else None
                if job.proc.poll() is None:
                    if backstop and time.monotonic() - job.started > backstop:
                        _kill(job.proc)
                    else:
                        continue
                running.remove(job)
                _finish(job, c, aid, exp, limits, report, progress)
    finally:
        for job in locals().get("running", []):
            _kill(job.proc)
        shutil.rmtree(base, ignore_errors=True)
        lock.close()
    report.seconds = time.monotonic() - t_start
    report.outcomes.sort(key=lambda o: o.student)
    return report


def mark_scheme(c, aid, exp, limits, mode, warning, ro_binds, env, ref_pkg, base):
    """The reference solution's probe records (check id -> list of records): the instructor's notebook, solutions
    included, run the way a submission's graded run is. Cached in course/.tito/markscheme/ (never part of what
    a kernel sees) and rebuilt when the notebook, the checks or the reference package change. Every check must
    pass on the reference itself, or grading stops with the check named (a bug of the course's tests)."""
    from .. import checks as checks_lib
    h = hashlib.sha256(json.dumps(exp.source, sort_keys=True).encode())
    for f in [Path(checks_lib.__file__), Path(probes.__file__)] + sorted(Path(ref_pkg).rglob("*.py")):
        h.update(str(f.name).encode() + f.read_bytes())
    digest = h.hexdigest()
    cache = c.dir / ".tito" / "markscheme" / f"{aid}.json"
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(cache.read_text())
        if saved.get("digest") == digest:
            return saved["records"]
    prepared = prepare(exp.source, exp)
    work, conn = base / "work", base / "conn"
    work.mkdir(parents=True)
    conn.mkdir()
    _copy_supporting_files(c, aid, work)
    job_file = _write_job(base, prepared.notebook, work, conn, "graded", prepared.graded, exp, limits, mode,
                          warning, ro_binds, env)
    proc = subprocess.run([sys.executable, "-m", "tito.grading.sandbox", job_file], cwd=base,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    try:
        run = json.loads((base / "result.json").read_text())
    except (OSError, ValueError):
        raise CourseError(f"the reference run of {aid} failed: {(proc.stderr or proc.stdout)[-600:]}") from None
    if run["outcome"] != "completed":
        raise CourseError(f"the reference run of {aid} did not complete ({run['outcome']}): {run.get('detail')}")
    records, problems = {}, []
    status = {r["index"]: r for r in run["cells"]}
    for i in prepared.graded:
        cell = run["notebook"]["cells"][i]
        gid = (nbgrader_meta(cell) or {}).get("grade_id")
        if gid not in exp.splits:
            continue
        st = status.get(i, {})
        if st.get("status") != "ok":
            problems.append(f"{gid}: the cell fails on the reference solution ({st.get('ename')}: {st.get('evalue')})")
        for rec in probes.records(cell.get("outputs")):
            records.setdefault(rec.get("k"), []).append(rec)
        for check in exp.splits[gid].checks:
            mine = records.get(check.id, [])
            if not mine:
                problems.append(f"{gid}: check {check.what or check.id} (line {check.line}) never ran on the reference")
            for rec in mine:
                v = probes.judge(check, rec, rec)
                if not v.ok:
                    problems.append(f"{gid}: line {check.line}: fails on the reference solution: {v.text}")
    if problems:
        raise CourseError(f"the mark scheme of {aid} cannot be built (the module's graded cells need fixing):\n  "
                          + "\n  ".join(problems))
    _write_atomic(cache, json.dumps({"digest": digest, "records": records}))
    return records


def _copy_supporting_files(c, aid, work):
    "The assignment's supporting files (data, helpers) into a working copy, as nbgrader does: never notebooks."
    src_dir = c.dir / "source" / aid
    for p in src_dir.rglob("*"):
        if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts:
            (work / p.relative_to(src_dir)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, work / p.relative_to(src_dir))


def _write_job(folder, notebook, work, conn, checks, graded, exp, limits, mode, warning, ro_binds, env):
    "The job file of one kernel run (what `python -m tito.grading.sandbox` executes); returns its path."
    (folder / "notebook.json").write_text(json.dumps(notebook))
    job_file = folder / "job.json"
    job_file.write_text(json.dumps({
        "notebook": str(folder / "notebook.json"), "work": str(work), "conn": str(conn), "limits": asdict(limits),
        "graded": graded, "mode": mode, "aliases": exp.aliases, "warning": warning,
        "ro_binds": [[str(a), str(b)] for a, b in ro_binds], "env": env, "log": str(folder / "kernel.log"),
        "result": str(folder / "result.json"), "checks": checks}))
    return str(job_file)


def _lock(c):
    fh = open(c.dir / ".tito-autograde.lock", "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise CourseError(f"another `tito nbgrader autograde` is running on {c.dir}; wait for it to finish")
    return fh


def _kill(proc):
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def _start(job, c, aid, exp, limits, mode, warning, ro_binds, env):
    "Check and prepare one submission, then launch its runner (or record why it cannot be graded)."
    # from here on the submission counts as not graded until its new state file is written (a killed run
    # leaves it to be graded again)
    (c.autograded(job.student, aid) / STATE_NAME).unlink(missing_ok=True)
    out = Outcome(job.student, aid, isolated=mode == "bwrap", sandbox=mode)
    out.digest = submission_digest(job.folder)
    job.outcome = None
    try:
        path, note = find_notebook(job.folder, aid)
        if note:
            out.notes.append(note)
        nb = load_notebook(path)
        job.prepared = prepare(nb, exp)
    except Rejected as err:
        out.outcome, out.reason, out.detail = NOT_GRADED, err.reason, str(err)
        job.outcome = out
        return
    job.prepared.notes = out.notes + job.prepared.notes
    work = job.base / "work"
    work.mkdir(parents=True)
    # the working copy: the student's own files (never the instructor's notebooks)
    for p in job.folder.iterdir():
        if p.is_symlink():            # never follow a student's link out of their folder
            job.prepared.notes.append(f"{p.name} is a symbolic link: not copied into the working copy")
        elif p.is_file() and p.suffix != ".ipynb" and p.name != "timestamp.txt":
            shutil.copy2(p, work / p.name)
        elif p.is_dir():
            shutil.copytree(p, work / p.name, symlinks=True)
    _copy_supporting_files(c, aid, work)
    # two runs, each in a fresh kernel and its own copy of the working folder: the graded run (the probes of every
    # check, hidden ones included) gives the scores and is never shown to the student; the feedback run (visible
    # tests only) is what the student sees, so nothing in it can come from a hidden check
    job_files = []
    for run, nb in (("graded", job.prepared.notebook), ("feedback", job.prepared.feedback)):
        run_work, conn = job.base / run / "work", job.base / run / "conn"
        shutil.copytree(work, run_work, symlinks=True)
        conn.mkdir()
        job_files.append(_write_job(job.base / run, nb, run_work, conn, run, job.prepared.graded, exp, limits, mode,
                                    warning, ro_binds, env))
    shutil.rmtree(work)
    log = open(job.base / "runner.log", "wb")
    job.proc = subprocess.Popen([sys.executable, "-m", "tito.grading.sandbox", *job_files], cwd=job.base,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=sandbox.die_with_parent)
    log.close()
    job.started = time.monotonic()
    job.outcome = None


def _finish(job, c, aid, exp, limits, report, progress):
    "Decide the grades of a finished (or rejected) submission and record them: gradebook, notebook, state."
    out = job.outcome
    graded_nb = feedback_nb = None
    verdicts = {}
    if out is None:
        out = Outcome(job.student, aid, digest=submission_digest(job.folder))
        out.notes = list(job.prepared.notes)
        out.tampering = list(job.prepared.tampering)
        run = _read_run(job, "graded", job.prepared.notebook)
        shown = _read_run(job, "feedback", job.prepared.feedback)
        _crash_point("result")
        out.isolated, out.sandbox = run.get("isolated", True), run.get("sandbox", "bwrap")
        out.tampering += run.get("tampering", [])
        out.notes += feedback.cell_notes(job.prepared.notebook, run, limits)
        nbc = job.prepared.notebook["cells"]
        out.timeouts = [(nbgrader_meta(nbc[r["index"]]) or {}).get("grade_id") for r in run.get("cells", [])
                        if r["status"] == "timeout" and r["index"] in job.prepared.graded]
        out.import_errors = [f"{r.get('ename')}: {r.get('evalue')}" for r in run.get("cells", [])
                             if r.get("ename") in ("ModuleNotFoundError", "ImportError")
                             and "tinytorch" in str(r.get("evalue")) and not _student_import(r, exp)]
        if out.import_errors:
            out.notes.append("tinytorch failed to import while grading (the grading environment is broken): "
                             + out.import_errors[0])
        graded_nb, scores, verdicts = decide(job.prepared, run, exp, limits)
        for v in verdicts.values():
            out.tampering += v.tampering
        feedback_nb = feedback.feedback_notebook(job.prepared, shown, run, scores, exp, limits, verdicts)
        kind = run["outcome"]
        if kind == "completed":
            out.outcome = TAMPERING if out.tampering else GRADED
        else:
            out.outcome = TAMPERING if out.tampering else NOT_GRADED
            out.reason = {"crash": "crash", "timeout": "timeout"}.get(kind, "grading error")
            out.detail = run.get("detail", "")
        unchanged = _unchanged_solutions(graded_nb)
    else:
        scores, unchanged = {}, ()
    timestamp = None
    stamp = job.folder / "timestamp.txt"
    if stamp.is_file():
        timestamp = stamp.read_text().strip() or None
    try:
        if out.reason == "grading error":   # the grader's failure, not the student's: keep the gradebook as it was
            out.detail += " (the gradebook was not changed; run again once fixed)"
        else:
            out.score, out.max_score = record(c, aid, job.student, scores, timestamp, unchanged)
    except CourseError:
        raise
    except Exception as err:  # noqa: BLE001 — report it for this student; the batch goes on
        out.outcome, out.reason = NOT_GRADED, "grading error"
        out.detail = f"the gradebook could not be written: {type(err).__name__}: {err}"
    _crash_point("gradebook")
    dest = c.autograded(job.student, aid)
    dest.mkdir(parents=True, exist_ok=True)
    if graded_nb is not None:
        # the instructor's copy of the graded run (outputs of the hidden tests): never part of the feedback
        graded_nb["cells"].insert(0, feedback.summary_cell(out, out.summary_lines()))
        _write_atomic(dest / GRADED_RUN_NAME, nbformat.writes(nbformat.from_dict(graded_nb)) + "\n")
        lines = feedback.student_lines(out, job.prepared, run, shown, limits, verdicts)
        if out.outcome != GRADED or lines:
            feedback_nb["cells"].insert(0, feedback.summary_cell(out, lines))
        _write_atomic(dest / f"{aid}.ipynb", nbformat.writes(nbformat.from_dict(feedback_nb)) + "\n")
    else:
        for name in (f"{aid}.ipynb", GRADED_RUN_NAME):   # an earlier grade of an older submission no longer applies
            (dest / name).unlink(missing_ok=True)
    if (job.folder / "timestamp.txt").is_file():
        shutil.copy2(job.folder / "timestamp.txt", dest / "timestamp.txt")
    out.seconds = round(time.monotonic() - job.t0, 2)
    out.graded_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    _write_atomic(dest / STATE_NAME, json.dumps(asdict(out), indent=1, ensure_ascii=False))
    _crash_point("state")
    report.outcomes.append(out)
    if progress:
        progress(out)


def _read_run(job, which, notebook):
    "The result of the `which` run (graded or feedback), or what a missing result means."
    try:
        return json.loads((job.base / which / "result.json").read_text())
    except (OSError, ValueError):
        pass
    base = {"cells": [], "notebook": notebook, "isolated": True, "sandbox": "bwrap", "warnings": [], "tampering": []}
    if job.proc is not None and job.proc.returncode is not None and job.proc.returncode < 0:
        return base | {"outcome": "timeout", "detail": "the grading run of this notebook was stopped after its time limit"}
    tail = ""
    with contextlib.suppress(OSError):
        tail = (job.base / "runner.log").read_text(errors="replace")[-400:].strip()
    return base | {"outcome": "error", "detail": f"the grading runner failed: {tail or 'no result'}"}


def reference_package_problem(root):
    "Why the reference tinytorch cannot be graded against (None when it imports from this checkout)."
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


def _student_import(rec, exp):
    "Whether an ImportError names a tinytorch module the grading kernel deliberately hides (this or a later module)."
    return any(name in str(rec.get("evalue")) for name in exp.hidden_modules)


def _unchanged_solutions(nb):
    from nbgrader.utils import compute_checksum
    names = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta and meta.get("solution") and meta.get("checksum"):
            node = nbformat.from_dict({k: v for k, v in cell.items() if k != "outputs"} | (
                {"outputs": []} if cell["cell_type"] == "code" else {}))
            if compute_checksum(node) == meta["checksum"]:
                names.append(meta["grade_id"])
    return names


