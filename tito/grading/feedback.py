"""What the student sees of grading: the feedback notebook and its summary, and nbgrader's HTML made from it.

The feedback notebook is the output of the feedback run (the release's visible tests only: no hidden test ever
existed in that kernel), with the grader's own words where a cell lost points in the graded run; hidden-test
lines are scrubbed from every output all the same. Nothing here takes text from the kernel of the graded run.
"""
import re
from dataclasses import asdict

from .course import StepResult, assignment_ids, last_error, load_config, nbgrader_api, open_course, write_log
from .notebooks import nbgrader_meta, source

HIDDEN_MARK = "[tito: line of a hidden test removed]"
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


SYNTHETIC = {
    "timeout": ("CellTimeout", "this cell ran longer than the {cell_timeout} s limit and was stopped"),
    "output-limit": ("OutputLimitExceeded", "this cell printed more than {output_kb} KB and was stopped"),
    "output-lost": ("OutputLost", "this cell's output was too large to receive"),
    "dead": ("KernelDied", "the kernel died while running this cell"),
    "not-run": ("NotRun", "this cell was not run: {why}"),
    "error": ("ErrorNotShown", "the kernel reported an error for this cell but did not show it "
                               "(error reporting was altered)"),
}


def _scrub_text(text, hidden):
    if not hidden or not isinstance(text, str):
        return text
    lines = text.split("\n")
    for k, line in enumerate(lines):
        plain = ANSI.sub("", line)
        if any(h in plain for h in hidden):
            lines[k] = HIDDEN_MARK
    return "\n".join(lines)


def scrub_output(out, hidden):
    "An output with every line that shows a hidden test replaced (tracebacks, streams, results, evalue)."
    out = dict(out)
    if "text" in out:
        out["text"] = _scrub_text(source({"source": out["text"]}), hidden)
    if "evalue" in out:
        out["evalue"] = _scrub_text(out["evalue"], hidden)
    if "traceback" in out:
        out["traceback"] = [_scrub_text(t, hidden) for t in out["traceback"]]
    if isinstance(out.get("data"), dict):
        out["data"] = {k: _scrub_text(source({"source": v}), hidden) if isinstance(v, (str, list)) else v
                       for k, v in out["data"].items()}
    return out


def cell_notes(nb, run, limits):
    "What went wrong in individual cells, in words (limits hit, sys.exit, memory)."
    notes = []
    for rec in run.get("cells", []):
        i = rec["index"]
        cell = nb["cells"][i] if i < len(nb["cells"]) else {}
        name = f"cell {(nbgrader_meta(cell) or {}).get('grade_id') or f'#{i}'}"
        if rec["status"] == "timeout":
            notes.append(f"{name}: stopped by the {limits.cell_timeout} s time limit per cell")
        elif rec["status"] == "output-limit" or rec.get("ename") == "OutputLimitExceeded":
            notes.append(f"{name}: printed more than the {limits.output_kb} KB output limit and was stopped")
        elif rec["status"] == "output-lost":
            notes.append(f"{name}: its output was too large to receive")
        elif rec.get("ename") == "SystemExit":
            notes.append(f"{name}: the code called sys.exit() (SystemExit); the cells after it still ran")
        elif rec.get("ename") == "MemoryError":
            notes.append(f"{name}: MemoryError (the memory limit is {limits.memory_mb} MB)")
    return notes


def student_lines(out, prepared, run, shown, limits, verdicts=None):
    """The lines of the summary the student sees. Only what the grader wrote itself, or what came from the feedback
    run: nothing here carries text from the kernel in which the hidden tests ran."""
    lines = list(prepared.tampering)
    if any(v.tampering for v in (verdicts or {}).values()):
        lines.append("a graded check received a result that misreports what it is, or a forged check result: "
                     "those checks scored 0 and your instructor sees the details")
    if run.get("tampering"):
        lines += shown.get("tampering") or ["the notebook changed what the tests rely on (put back for the tests)"]
    lines += prepared.notes + cell_notes(prepared.notebook, run, limits)
    if out.import_errors:
        lines.append("tinytorch failed to import while grading: a problem of the grading environment, not of this "
                     "notebook (your instructor will regrade it)")
    return lines


def feedback_notebook(prepared, shown, run, scores, exp, limits, verdicts=None):
    """The notebook the student sees: the feedback run's outputs (visible tests only), and for a graded cell that
    lost points in the graded run without showing why here, an explicit error in the grader's words."""
    nb = shown["notebook"]
    by_index = {c["index"]: c for c in run.get("cells", [])}
    for i in prepared.graded:
        cell = nb["cells"][i]
        score, most = scores.get((nbgrader_meta(cell) or {}).get("grade_id"), (None, None))
        if score is None or not most or score >= most:
            continue
        verdict = (verdicts or {}).get((nbgrader_meta(cell) or {}).get("grade_id"))
        if verdict is not None and verdict.student:
            # the grader's fixed words (which check, which kind of failure): no value from the graded kernel
            text = "when graded: " + "; ".join(dict.fromkeys(verdict.student))
            cell["outputs"].append({"output_type": "error", "ename": "CheckFailed", "evalue": text,
                                    "traceback": [f"CheckFailed: {text}"]})
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            continue
        status = by_index.get(i, {}).get("status", "not-run")
        if status in ("ok", "error"):
            ename, text = "HiddenTestFailed", "this cell's hidden tests did not pass (they are not shown)"
        else:
            ename, text = SYNTHETIC.get(status, SYNTHETIC["error"])
            text = text.format(why="the graded run stopped before it", **asdict(limits))
        cell["outputs"].append({"output_type": "error", "ename": ename, "evalue": text, "traceback": [f"{ename}: {text}"]})
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [scrub_output(o, exp.hidden_lines) for o in cell.get("outputs", [])]
    return nb


def summary_cell(out, details):
    "A note at the top of a graded notebook saying how grading went: the outcome, then `details`."
    head = {"graded": "Graded.", "tampering detected": "Graded, but tampering was detected (see below).",
            "not graded": f"Not fully graded: {out.reason}."}[out.outcome]
    lines = [f"**Autograder:** {head}"]
    lines += [f"- {x}" for x in ([out.detail] if out.detail else []) + list(details)]
    return {"cell_type": "markdown", "metadata": {}, "source": "\n".join(lines), "id": "tito-autograde-summary"}


def html(root, override=None, modules=None, force=False):
    "HTML feedback for every autograded submission: course/feedback/STUDENT/NN_name/NN_name.html."
    c = open_course(root, override)
    # the autograder's own files next to the graded notebook (its state, the graded run with the hidden tests'
    # outputs) are the instructor's: nbgrader would copy them into the feedback folder students receive
    from nbgrader.coursedir import CourseDirectory
    ignore = list(CourseDirectory(config=load_config(c)).ignore) + [".tito-*"]
    api = nbgrader_api(c, **{"CourseDirectory.ignore": ignore})
    results = []
    for aid in assignment_ids(c, modules):
        if not list((c.dir / "autograded").glob(f"*/{aid}")):
            continue
        r = api.generate_feedback(aid, force=force)
        log = write_log(c, f"feedback-{aid}", (r.get("log") or "") + (r.get("error") or ""))
        files = sorted((c.dir / "feedback").glob(f"*/{aid}/*.html"))
        results.append(StepResult(aid, "feedback", f"{len(files)} file(s) in feedback/*/{aid}/", log=log) if r["success"]
                       else StepResult(aid, "failed", last_error(r), ok=False, log=log))
    return results
