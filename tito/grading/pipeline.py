"""The instructors' nbgrader steps around autograding, through nbgrader's Python API in this process.

    init -> generate -> release -> (students fetch and submit) -> collect -> autograde -> feedback -> grades

Every function here is safe to re-run and never overwrites or deletes a student's submitted work.
"""
import datetime
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from .. import export as export_lib
from .. import submission
from ..course import CourseError, all_modules
from .course import (StepResult, assignment_ids, in_gradebook, last_error, nbgrader_api, open_course,
                     select_modules, write_log)
from .notebooks import Rejected, find_notebook


# ---------------------------------------------------------------------------------------------- generate / release

def generate(root, override=None, modules=None, force=False):
    "Each module source -> course/source/NN_name/NN_name.ipynb -> nbgrader generate_assignment -> course/release/."
    c = open_course(root, override)
    api = None
    results = []
    for m in select_modules(root, modules):
        if not m.source:
            results.append(StepResult(m.slug, "skipped", f"no source {m.name}_dev.py in {m.dir}", ok=False))
            continue
        nb = export_lib.read_source(m.source)
        changed = export_lib.write_if_changed(c.source_nb(m.slug), nbformat.writes(nb) + "\n")
        if not (changed or force or not c.release_nb(m.slug).is_file() or not in_gradebook(c, m.slug)):
            results.append(StepResult(m.slug, "unchanged", str(c.release_nb(m.slug).relative_to(c.dir))))
            continue
        api = api or nbgrader_api(c)
        r = api.generate_assignment(m.slug, force=True, create=True)
        log = write_log(c, f"generate-{m.slug}", (r.get("log") or "") + (r.get("error") or ""))
        if r["success"]:
            results.append(StepResult(m.slug, "generated", str(c.release_nb(m.slug).relative_to(c.dir)), log=log))
        else:
            results.append(StepResult(m.slug, "failed", last_error(r), ok=False, log=log))
    return results


def release(root, override=None, modules=None, force=False):
    "Copy release/NN_name into the exchange's outbound folder, where students fetch it. Skips released ones."
    c = open_course(root, override)
    api = nbgrader_api(c)
    outbound = Path(api.exchange_root) / c.course_id / "outbound"
    results = []
    for aid in assignment_ids(c, modules):
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
        log = write_log(c, f"release-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        results.append(StepResult(aid, "released", str(outbound / aid), log=log) if r["success"]
                       else StepResult(aid, "failed", last_error(r), ok=False, log=log))
    return results


def _same_tree(a, b):
    fa = {p.relative_to(a): p.read_bytes() for p in Path(a).rglob("*") if p.is_file()}
    fb = {p.relative_to(b): p.read_bytes() for p in Path(b).rglob("*") if p.is_file()}
    return fa == fb


# ---------------------------------------------------------------------------------------------- collect

def _timestamp(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def collect(root, override=None, modules=None, from_dir=None, update=False):
    """Gather submissions into course/submitted/STUDENT/NN_name/.

    From the exchange (nbgrader collect), or with `from_dir` from a folder laid out DIR/STUDENT/NN_name/*.ipynb.
    A submission already collected is kept; with `update` a newer one replaces it after the old one is backed
    up under course/backups/ (nothing is ever deleted)."""
    c = open_course(root, override)
    results = []
    aids = assignment_ids(c, modules)
    if from_dir:
        src = Path(from_dir).resolve()
        if not src.is_dir():
            raise CourseError(f"--from {from_dir}: no such folder (expected files made by `tito submit`, or DIR/STUDENT/NN_name/*.ipynb)")
        for aid in aids:
            for student_dir in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
                sub = student_dir / aid
                if sub.is_dir():
                    results.append(_collect_one(c, aid, student_dir.name, sub, update))
        results += collect_files(c, aids, src, update)  # files made by `tito submit` (STUDENT_NN_name.zip)
        if not results:
            raise CourseError(f"nothing to collect in {src}: expected files made by `tito submit` (*.zip) or "
                              f"{src}/STUDENT/NN_name/*.ipynb for one of {', '.join(aids)}")
        return results
    api = nbgrader_api(c)
    for aid in aids:
        if update:
            _backup_submissions(c, aid)
        r = api.collect(aid, update=update)
        log = write_log(c, f"collect-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        students = re.findall(r"(?:Collecting|Updating) submission: (\S+) " + re.escape(aid), r.get("log") or "")
        if r["success"]:
            results.append(StepResult(aid, "collected", f"{len(students)} new: {', '.join(students)}" if students
                                      else "no new submissions", log=log))
        else:
            results.append(StepResult(aid, "failed", last_error(r), ok=False, log=log))
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
        nb_path, _ = find_notebook(sub, aid)
    except Rejected as err:
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


def collect_files(c, aids, src, update=False):
    """Collect every submission file (*.zip) under `src` for the assignments `aids` into the course `c`.

    Bad files are reported one by one and skipped. Of several files of one student and module the latest (by
    the time in its manifest) counts, as in nbgrader's exchange; one already collected is replaced only by a
    newer one and with `update` (the old one is backed up, see _collect_one)."""
    known = [m.slug for m in all_modules(c.root)]
    results, latest = [], {}
    for f in sorted(Path(src).rglob("*.zip")):
        try:
            s = submission.read(f, c.course_id, known)
        except submission.SubmissionError as err:
            results.append(StepResult("-", "rejected", f"{f.relative_to(src)}: {err}", ok=False))
            continue
        if s.module not in aids:
            continue
        key = (s.student, s.module)
        if key in latest:
            older, s = sorted([latest[key], s], key=lambda x: x.submitted_at)
            results.append(StepResult(s.module, "superseded", f"{s.student}: {older.path.relative_to(src)} is older "
                                      f"than {s.path.relative_to(src)}; the later one counts"))
        latest[key] = s
    for (student, aid), s in sorted(latest.items()):
        stamp = _timestamp(s.submitted_at)
        collected = c.submitted(student, aid) / "timestamp.txt"
        if collected.is_file() and collected.read_text().strip() > stamp:
            results.append(StepResult(aid, "kept", f"{student}: the submission collected before is newer than "
                                      f"{s.path.relative_to(src)}"))
            continue
        with tempfile.TemporaryDirectory(prefix="tito-submission-") as tmp:
            sub = Path(tmp) / aid
            sub.mkdir()
            (sub / f"{aid}.ipynb").write_bytes(s.notebook)
            (sub / "timestamp.txt").write_text(stamp)
            r = _collect_one(c, aid, student, sub, update)
        if r.status == "collected":
            r.detail = f"{student} <- {s.path.relative_to(src)}"  # the file, not the temporary copy
        results.append(r)
    return results
