"""What the gradebook says, for the instructor: the autograding report (one row per student and why), the
grades CSV, and a consistent backup of the gradebook."""
import contextlib
import csv
import datetime
import os
from pathlib import Path

from ..course import CourseError
from .autograde import NOT_GRADED, read_state, submission_digest
from .course import assignment_id, gradebook, open_course

REPORT_FIELDS = ["student", "assignment", "outcome", "reason", "score", "max_score", "seconds", "isolated", "details"]


def report_rows(root, override=None, assignment=None):
    "One row per student of the assignment: from each submission's state file and the gradebook."
    from nbgrader.api import MissingEntry
    c = open_course(root, override)
    aid = assignment_id(c, assignment)
    students = {d.parent.name for d in (c.dir / "submitted").glob(f"*/{aid}") if d.is_dir()}
    scores, max_score = {}, 0.0
    if (c.dir / "gradebook.db").is_file():
        with gradebook(c) as gb:
            students |= {s.id for s in gb.students}
            try:
                max_score = float(gb.find_assignment(aid).max_code_score or 0)
            except MissingEntry:
                pass
            for s in list(students):
                with contextlib.suppress(MissingEntry):
                    sub = gb.find_submission(aid, s)
                    scores[s] = (float(sub.code_score or 0), float(sub.max_code_score or 0))
    rows = []
    for s in sorted(students):
        state = read_state(c, s, aid)
        folder = c.submitted(s, aid)
        if state is None:
            if folder.is_dir():
                row = {"outcome": "pending", "reason": "", "details": "not autograded yet (or its run was interrupted)"}
            else:
                row = {"outcome": NOT_GRADED, "reason": "missing notebook", "details": "nothing submitted"}
            row.update(seconds="", isolated="")
        else:
            stale = folder.is_dir() and submission_digest(folder) != state.digest
            row = {"outcome": state.outcome, "reason": state.reason, "seconds": state.seconds,
                   "isolated": "yes" if state.isolated else "NO",
                   "details": ("a newer submission awaits grading; " if stale else "") + state.summary()}
        score, mx = scores.get(s, (0.0, max_score))
        row.update(student=s, assignment=aid, score=round(score, 4), max_score=round(mx or max_score, 4))
        rows.append({k: row.get(k, "") for k in REPORT_FIELDS})
    return rows


def write_report(root, override=None, assignment=None, out=None):
    "Write the report CSV (default course/reports/NN_name.csv); returns (path, rows)."
    rows = report_rows(root, override, assignment)
    c = open_course(root, override)
    path = Path(out) if out else c.dir / "reports" / f"{assignment_id(c, assignment)}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=REPORT_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return path, rows


def backup_gradebook(root, override=None, out=None):
    """Copy the gradebook with SQLite's online backup API (consistent even while grading writes to it);
    returns (path, integrity check result)."""
    import sqlite3
    c = open_course(root, override)
    src = c.dir / "gradebook.db"
    if not src.is_file():
        raise CourseError(f"no gradebook at {src}")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(out) if out else c.dir / "backups" / f"gradebook-{stamp}.db"
    if path.exists():
        raise CourseError(f"{path} exists: choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as s, \
            contextlib.closing(sqlite3.connect(tmp)) as d:
        s.backup(d)
        check = d.execute("PRAGMA integrity_check").fetchone()[0]
    os.replace(tmp, path)
    return path, check


def grade_rows(root, override=None):
    "One row per (student, assignment) from the gradebook: student, assignment, score, max_score."
    c = open_course(root, override)
    if not (c.dir / "gradebook.db").is_file():
        raise CourseError(f"no gradebook in {c.dir}: run `tito nbgrader generate` and `autograde` first")
    from nbgrader.api import MissingEntry
    rows = []
    with gradebook(c) as gb:
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
    rows = grade_rows(root, override)
    path = Path(out) if out else open_course(root, override).dir / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["student", "assignment", "score", "max_score"])
        w.writeheader()
        w.writerows(rows)
    return path, rows
