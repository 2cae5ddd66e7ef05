"""`tito check` (maintainers): every module source against the module contract, and the student edition
against give-aways (tito/leaks.py). Each problem names the module and cell (or the edition's file and line)
and the fix."""
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import course as course_lib
from . import export as export_lib

# Spelled in two parts so that this file, which ships in the student edition, holds no marker itself.
_BEGIN, _END = "BEGIN ", "END "
SOLUTION = ("### " + _BEGIN + "SOLUTION", "### " + _END + "SOLUTION")
HIDDEN = ("### " + _BEGIN + "HIDDEN TESTS", "### " + _END + "HIDDEN TESTS")
MARK_SCHEME = ("=== " + _BEGIN + "MARK SCHEME ===", "=== " + _END + "MARK SCHEME ===")
# what nbgrader itself looks for (anywhere in a line)
DELIMS = {"solution": (_BEGIN + "SOLUTION", _END + "SOLUTION"),
          "hidden tests": (_BEGIN + "HIDDEN TESTS", _END + "HIDDEN TESTS"),
          "mark scheme": (_BEGIN + "MARK SCHEME", _END + "MARK SCHEME")}
MARKERS = [m for pair in DELIMS.values() for m in pair]
ANSWER = "YOUR ANSWER HERE"
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+(\S+)\s*$", re.M)


@dataclass
class Problem:
    module: str
    cell: str      # grade_id, "cell N", or "" for the module as a whole
    message: str
    fix: str

    def __str__(self):
        where = f"{self.module} [{self.cell}]" if self.cell else self.module
        return f"{where}: {self.message}. Fix: {self.fix}"


_CACHE = {}


def read_source(path):
    "The source as a notebook (read once per version of the file: check reads each several times)."
    path = Path(path)
    key = (path.resolve(), path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = export_lib.read_source(path)
    return _CACHE[key]


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader") or {}


def _cell_name(cell, i):
    return _meta(cell).get("grade_id") or f"cell {i}"


def blocks(text, kind):
    """The regions of `kind` ("solution", "hidden tests", "mark scheme") in a cell's text as lists of lines,
    and an error message when the markers are unbalanced or nested (None when fine)."""
    begin, end = DELIMS[kind]
    found, current, error = [], None, None
    for n, line in enumerate(text.splitlines(), 1):
        if begin in line:
            if current is not None:
                error = f"nested `{begin}` at line {n}"
            current = []
        elif end in line:
            if current is None:
                error = error or f"`{end}` at line {n} without a `{begin}` before it"
            else:
                found.append(current)
                current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        error = error or f"`{begin}` without a matching `{end}`"
    return found, error


def _points(meta):
    try:
        return float(meta.get("points", 0) or 0)
    except (TypeError, ValueError):
        return float("nan")


def _question_problem(cell):
    "Why `cell` is not a reflection question cell (locked markdown, not graded, with text), or None."
    if cell is None or cell.cell_type != "markdown":
        return "the cell above is not a markdown cell"
    meta = _meta(cell)
    if not meta.get("locked") or meta.get("solution") or meta.get("grade"):
        return "the cell above is not locked (locked: true, solution: false, grade: false)"
    if not cell.source.strip() or ANSWER in cell.source or any(m in cell.source for m in MARKERS):
        return "the cell above holds no question text (or holds the answer prompt or a marker)"
    return None


def check_module(root, module, seen_ids):
    "Problems of one module source; `seen_ids` maps grade_id -> module slug across the course (updated)."
    slug, probs = module.slug, []
    add = lambda cell, msg, fix: probs.append(Problem(slug, cell, msg, fix))
    for name, fix in [("module.yaml", "add module.yaml (title, number, summary, prerequisites, exports, points, time_estimate)"),
                      ("README.md", "add README.md: the chapter overview (what you build, why, prerequisites, how to work)")]:
        if not (module.dir / name).is_file():
            add("", f"{name} is missing", fix)
    readme = module.dir / "README.md"
    for marker in MARKERS if readme.is_file() else ():
        if marker in readme.read_text():
            add("README.md", f"names the marker `{marker}`, which students never see (their cells say "
                "`raise NotImplementedError()`)", "describe the student's task without nbgrader's markers")
    if not module.source:
        add("", f"no source {module.name}_dev.py", f"write modules/source/{slug}/{module.name}_dev.py (jupytext percent format)")
        return probs
    try:
        nb = read_source(module.source)
    except Exception as err:  # noqa: BLE001
        add("", f"the source cannot be read as a notebook: {err}", "fix the jupytext percent format")
        return probs

    default_exps = [m for c in nb.cells if c.cell_type == "code" for m in DEFAULT_EXP.findall(c.source)]
    if not default_exps:
        add("", "no `#| default_exp` cell", f"add a first code cell `#| default_exp {module.export_to or 'core.' + module.name}`")
    elif len(default_exps) > 1:
        add("", f"{len(default_exps)} `#| default_exp` lines ({', '.join(default_exps)})", "keep exactly one")

    total, reflections, hidden_blocks = 0.0, 0, 0
    for i, cell in enumerate(nb.cells):
        meta, name, src = _meta(cell), _cell_name(cell, i), cell.source
        is_sol, is_grade, code = bool(meta.get("solution")), bool(meta.get("grade")), cell.cell_type == "code"
        sol, sol_err = blocks(src, "solution")
        hid, hid_err = blocks(src, "hidden tests")
        mark, mark_err = blocks(src, "mark scheme")
        if meta:
            gid = meta.get("grade_id")
            if not gid:
                add(name, "nbgrader cell without a grade_id", f'add "grade_id": "{module.number}-{module.name}-<thing>"')
            elif gid in seen_ids:
                add(gid, f"grade_id also used in {seen_ids[gid]}", f'rename it (grade_ids are unique across the course: "{module.number}-{module.name}-<thing>")')
            else:
                seen_ids[gid] = slug
                if not gid.startswith(f"{module.number}-"):
                    add(gid, "grade_id does not start with the module number", f'rename it "{module.number}-{module.name}-<thing>"')
            if meta.get("schema_version") != 3:
                add(name, f"schema_version is {meta.get('schema_version')!r}", "copy the metadata line of a cell in 01_tensor (schema_version 3)")
        if is_grade:
            p = _points(meta)
            if not p > 0:
                add(name, f"graded cell with points {meta.get('points')!r}", 'give it "points": N (1-3 for a test cell, 2 for a reflection)')
            else:
                total += p
        # solution markers
        if sol_err:
            add(name, f"unbalanced solution markers: {sol_err}", f"pair every `{SOLUTION[0]}` with a `{SOLUTION[1]}` in the same cell")
        if code and is_sol and not is_grade and not sol and not sol_err:
            add(name, "implementation cell (solution: true) without a solution block",
                f"put the body between `{SOLUTION[0]}` and `{SOLUTION[1]}` (or make it given code: solution false)")
        if code and is_sol and is_grade:
            add(name, "code cell with both solution and grade true (an autograded answer cell)",
                "split it: an implementation cell (solution true, grade false) and a locked test cell (grade true)")
        if (sol or sol_err) and not (is_sol and code):
            add(name, "solution markers in a cell that is not an implementation cell (nbgrader would not strip them)",
                'mark the cell "solution": true, "grade": false, or remove the markers')
        # hidden tests
        if hid_err:
            add(name, f"unbalanced hidden-test markers: {hid_err}", f"pair `{HIDDEN[0]}` with `{HIDDEN[1]}` in the same cell")
        if (hid or hid_err) and not (is_grade and code and not is_sol):
            add(name, "hidden tests outside a graded test cell", 'move them into a cell with "grade": true, "locked": true')
        hidden_blocks += len(hid) if is_grade else 0
        if is_grade and code and not is_sol and not meta.get("locked"):
            add(name, "graded test cell is not locked", 'set "locked": true so students cannot edit the test')
        if is_grade and code and not is_sol:
            from .grading.probes import names_read, split   # the grader's split: what it cannot grade safely
            later = set().union(*[names_read(c.source) for c in nb.cells[i + 1:] if c.cell_type == "code"])
            cut = split(src, meta.get("grade_id", name), later)
            for text in cut.problems:
                add(name, f"graded test cell: {text}", "write graded checks with tito.checks (expect_equal, "
                    "expect_raises, expect_that, expect_agree); see tito/checks.py")
            if not cut.checks:
                add(name, "graded test cell without a check", "write its tests with tito.checks (see tito/checks.py)")
        if code and "#| export" in src and re.search(r"^\s*(from|import)\s+tito\b", src, re.M):
            add(name, "an exported cell imports tito", "import tito.checks in a locked cell that is not exported: "
                "the tinytorch package must not depend on the course tools")
        # reflections (markdown answers graded by hand)
        if cell.cell_type == "markdown" and is_sol:
            if not is_grade:
                add(name, "markdown answer cell is not graded", 'set "grade": true, "points": 2')
            reflections += 1
            if mark_err:
                add(name, f"unbalanced mark-scheme markers: {mark_err}", f"pair `{MARK_SCHEME[0]}` with `{MARK_SCHEME[1]}`")
            elif not mark:
                add(name, "reflection without a mark scheme", f"add a `{MARK_SCHEME[0]}` ... `{MARK_SCHEME[1]}` block for the grader")
            if ANSWER not in src:
                add(name, f"reflection without the `{ANSWER}` line", f"end the cell with a line `{ANSWER}`")
            question_problem = _question_problem(nb.cells[i - 1] if i else None)
            if question_problem:
                add(name, f"reflection answer cell without its question right above it: {question_problem}",
                    "put the question in its own markdown cell just above the answer cell, with nbgrader metadata "
                    f'{{"grade": false, "grade_id": "{meta.get("grade_id") or "<answer id>"}-question", "locked": true, '
                    '"solution": false, "schema_version": 3, "task": false}: nbgrader replaces the whole answer cell '
                    "with the answer prompt, so a question inside it is never seen")
        elif mark or mark_err:
            add(name, "mark-scheme markers outside a reflection cell", 'put them in a markdown cell with "solution": true, "grade": true')
    if hidden_blocks == 0:
        add("", "no hidden tests", f"add a `{HIDDEN[0]}` ... `{HIDDEN[1]}` block inside at least one graded test cell")
    if not 2 <= reflections <= 3:
        add("", f"{reflections} reflection cells", "have 2-3 markdown reflection questions (solution true, grade true, points 2)")

    meta = module.meta
    if meta:
        if str(meta.get("number", "")).zfill(2) != module.number:
            add("", f"module.yaml number is {meta.get('number')!r}", f'set number: "{module.number}"')
        if not meta.get("title"):
            add("", "module.yaml has no title", "add title: ...")
        if default_exps and meta.get("exports") != default_exps[0]:
            add("", f"module.yaml exports {meta.get('exports')!r} but the source has `#| default_exp {default_exps[0]}`",
                f"set exports: {default_exps[0]} in module.yaml (or fix the default_exp)")
        try:
            declared = float(meta.get("points"))
        except (TypeError, ValueError):
            declared = None
        if declared != total:
            add("", f"module.yaml points is {meta.get('points')!r} but the graded cells add up to {total:g}",
                f"set points: {total:g} in module.yaml")
        for pre in meta.get("prerequisites") or []:
            if str(pre).zfill(2) >= module.number:
                add("", f"prerequisite {pre!r} is not an earlier module", "list only earlier module numbers")
    return probs


def secret_lines(root):
    "Lines secret to some module (see tito/leaks.py), mapped to where they come from."
    from . import leaks
    return leaks.secret_lines(root)


def check_student_notebooks(root):
    "Problems generating the student notebooks: nbgrader must be able to strip every module."
    from .edition import strip_notebook
    probs = []
    for m in course_lib.all_modules(root):
        if not m.source:
            continue
        try:
            strip_notebook(read_source(m.source), m.slug)
        except Exception as err:  # noqa: BLE001
            probs.append(Problem(m.slug, "", f"nbgrader cannot generate the student notebook: {err}",
                                 "fix the markers and cell metadata named above"))
    return probs


def check_edition(root):
    """Problems in the student edition as `tito student-edition` would write it (built in a temporary folder):
    any marker left in a notebook or the package, any line secret to a module or run of a module's solution
    lines in any file (see tito/leaks.py)."""
    import tempfile

    from . import edition
    with tempfile.TemporaryDirectory(prefix="tito-check-") as tmp:
        edition.write_fresh(root, tmp)
        problems, _ = edition.verify_tree(root, tmp)
    return problems


def check_course(root):
    "Every problem in the course, in module order, then the give-aways in the student edition."
    seen, probs = {}, []
    for m in course_lib.all_modules(root):
        probs.extend(check_module(root, m, seen))
    unreadable = check_student_notebooks(root)
    probs.extend(unreadable)
    if not unreadable:  # the edition cannot be built until nbgrader reads every module
        probs.extend(check_edition(root))
    return probs
