"""Solutions given away in the student edition: what counts as a give-away, and finding one in any file.

A student working on module M has been shown the release notebooks of modules 01..M. A line of M's solutions,
hidden tests or mark schemes that none of those notebooks shows is *secret to M*, and the edition may show it
nowhere: not in another module's notebook or package file, nor in tests, tito, milestones or guides. So 02
re-showing 01's matmul checks is a leak (01's notebook hides them), while 16 repeating an idiom that an
earlier module's notebook already shows is not.

Two rules, small on purpose, so that what they flag is worth a look:
- one line (whitespace runs count as one space) secret to a module, of at least MIN_LINE characters and not
  one of the COMMON idioms below;
- RUN consecutive code lines of a module's solution (blank and comment lines skipped), together at least
  MIN_RUN characters long, unless a release notebook of that module or an earlier one shows them in a row.
"""
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course as course_lib

MIN_LINE = 20   # shorter lines (`return out`, `for r in results:`, `except KeyError:`) identify no solution
RUN = 3
MIN_RUN = 40    # three lines like `else:` / `return x` / `)` are everywhere
# Idioms long enough to pass MIN_LINE that a solution and other code share without giving anything away.
COMMON = {
    "rng = np.random.default_rng(seed)": "numpy's one way to make a seeded generator; given code of later modules "
                                         "(initialisers, dropout, sampling) needs it as much as 01's randn",
    "os.replace(tmp, path)": "the last step of every atomic file write; tito writes its own files that way",
    "return fn(*args, **kwargs)": "the body of every pass-through wrapper",
    "return Tensor.from_op(out, (x,), backward)": "the last line of every one-input op since 02 (its prose teaches "
                                                   "it); given code of later ops ends the same way",
}
_GRADE_ID = re.compile(r"^[\w-]+$")


def normalise(line):
    return " ".join(line.split())


@dataclass(frozen=True)
class Origin:
    "Where a secret line comes from."
    module: str   # slug, e.g. 01_tensor
    kind: str     # "solution", "hidden tests" or "mark scheme"
    cell: str     # grade_id

    def __str__(self):
        return f"{self.module}'s {self.kind} [{self.cell}]"


@dataclass
class Reference:
    "What the edition must not show: lines secret to a module, and runs of a module's solution lines."
    secret: dict   # normalised line -> Origin
    runs: dict     # tuple of RUN normalised lines -> Origin


def _regions(source):
    "(kind, line) for each line of a cell, kind being the block the line is in (None outside); markers skipped."
    from .check import DELIMS
    kind = None
    for line in source.splitlines():
        if any(begin in line for begin, _ in DELIMS.values()):
            kind = next(k for k, (begin, _) in DELIMS.items() if begin in line)
        elif any(end in line for _, end in DELIMS.values()):
            kind = None
        else:
            yield kind, line


def _code(lines):
    "The lines a run is made of: normalised, without blank and comment lines."
    return [n for n in map(normalise, lines) if n and not n.startswith("#")]


def _windows(code):
    return [tuple(code[i:i + RUN]) for i in range(len(code) - RUN + 1)]


_CACHE = {}


def reference(root):
    "The Reference of the course at `root` (recomputed when a module source changes)."
    from .check import _cell_name, read_source
    from .edition import strip_notebook
    modules = [m for m in course_lib.all_modules(root) if m.source]
    key = tuple((m.source.resolve(), m.source.stat().st_mtime_ns) for m in modules)
    if key in _CACHE:
        return _CACHE[key]
    secret, runs, shown_lines, shown_runs = {}, {}, set(), set()
    for m in modules:  # in course order: what modules 01..M show is known when M is read
        try:
            nb = read_source(m.source)
            release = strip_notebook(nb, m.slug)
        except Exception:  # noqa: BLE001 — `tito check` reports a source nbgrader cannot read
            continue
        for cell in release.cells:
            lines = cell.source.splitlines()
            shown_lines.update(map(normalise, lines))
            shown_runs.update(_windows(_code(lines)))
        for i, cell in enumerate(nb.cells):
            solution = []  # the current solution block's lines
            for kind, line in [*_regions(cell.source), (None, "")]:
                origin = Origin(m.slug, kind or "solution", _cell_name(cell, i))
                n = normalise(line)
                if kind and len(n) >= MIN_LINE and n not in COMMON and n not in shown_lines:
                    secret.setdefault(n, origin)
                if kind == "solution":
                    solution.append(line)
                elif solution:
                    for run in _windows(_code(solution)):
                        if len("".join(run)) >= MIN_RUN and run not in shown_runs:
                            runs.setdefault(run, origin)
                    solution = []
    _CACHE.clear()
    _CACHE[key] = Reference(secret, runs)
    return _CACHE[key]


def located_lines(path, text):
    "(where, line) for each line of a file; a notebook's cells are read as text, named by grade_id."
    if Path(path).suffix == ".ipynb":
        try:
            cells = nbformat.reads(text, as_version=4).cells
        except Exception:  # noqa: BLE001 — not a notebook after all: read it as text
            cells = None
        if cells is not None:
            for i, cell in enumerate(cells):
                name = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") or cell.get("id") or ""
                name = name if _GRADE_ID.match(name) else f"cell {i}"
                for k, line in enumerate(cell.source.splitlines(), 1):
                    yield f"{name}, line {k}", line
            return
    for k, line in enumerate(text.splitlines(), 1):
        yield f"line {k}", line


def fix(rel, origin):
    "How to remove a leak of `origin` from the edition's file `rel`."
    rel = Path(rel)
    top = rel.parts[0]
    if top == "tests":
        return ("write the test's reference another way (explicit loops instead of vectorised code, a different "
                "but equivalent formula, a closed form, or hand-computed values) so it checks the exercise "
                "without spelling it")
    if top == "modules" and len(rel.parts) > 1 and rel.parts[1] == origin.module:
        return "move the line inside a solution block, or out of the hidden tests / mark scheme"
    if origin.kind != "solution":
        return f"write it another way here: students must not see {origin.module}'s {origin.kind}"
    if top in ("modules", "tinytorch"):
        return (f"import {origin.module}'s code from tinytorch in that module's source (and re-export it) "
                "instead of re-showing it")
    return "import it from the student's tinytorch at run time, or compute it another way"


def find(ref, rel, text):
    "Problems (tito.check.Problem) for every give-away in the file `rel` of the edition holding `text`."
    from .check import Problem
    lines = [(where, normalise(line)) for where, line in located_lines(rel, text)]
    found, reported = [], set()
    for where, n in lines:
        origin = ref.secret.get(n)
        if origin and n not in reported:
            reported.add(n)
            found.append(Problem(str(rel), where, f"shows a line found only in {origin}: `{n[:80]}`", fix(rel, origin)))
    code = [(where, n) for where, n in lines if n and not n.startswith("#")]
    i = 0
    while i <= len(code) - RUN:
        run = tuple(n for _, n in code[i:i + RUN])
        origin = ref.runs.get(run)
        if origin:
            found.append(Problem(str(rel), code[i][0], f"shows {RUN} consecutive lines of {origin}: "
                                 f"`{' / '.join(run)[:100]}`", fix(rel, origin)))
            i += RUN  # a longer copy is one problem per RUN lines, not one per line
        else:
            i += 1
    return found


def secret_lines(root):
    "Every line secret to some module, mapped to a description of where it comes from."
    return {line: str(origin) for line, origin in reference(root).secret.items()}
