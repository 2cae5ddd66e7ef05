"""Graded cells split in two: what runs in the student's kernel, and what the grader decides outside it.

A graded cell is written with the checks of `tito.checks` (expect_equal, expect_agree, expect_that,
expect_raises). For grading, `split` rewrites it:

- the kernel gets the cell with every check replaced by a *probe* of its actual side only
  (`__tito_probe__(id, actual)`, `with __tito_raises__(id):`): the value leaves the kernel as plain data;
  expected values, predicates, tolerances and messages are dropped, and so is every statement that only
  computed an expected value. No expected value and no comparison exist in a process that runs student code.
- the grader keeps a `Check` per probe, and decides it (`judge`) by comparing the student's plain value with
  the value the reference solution gave for the same probe (the mark scheme, `reference run`), or by
  evaluating the predicate / the exception's class and message, in the grader's own process.

`python -m tito.grading.probes NN ...` lists the problems of a module's graded cells (a bare `assert`, a
`try`, a check whose literal arguments are not literals, ...): graded cells must contain none.
"""
import ast
import builtins
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from .. import checks

CHECKS = {"expect_equal": ("actual", "expected", "what", "rtol", "atol"),
          "expect_agree": ("a", "b", "what", "rtol", "atol"),
          "expect_that": ("value", "predicate", "what", "message"),
          "expect_raises": ("exception", "what", "mentions")}
LITERAL_ARGS = ("what", "rtol", "atol", "message", "mentions")
PREDICATE_NAMES = {"np", "math"} | set(dir(builtins))
EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
PROBE, RAISES = "__tito_probe__", "__tito_raises__"
MIME = "application/vnd.tito.probe+json"


@dataclass
class Check:
    "One check of a graded cell, as the grader decides it."
    id: str
    kind: str                      # equal | agree | that | raises
    what: str = ""
    rtol: float = checks.RTOL
    atol: float = checks.ATOL
    message: str = ""
    predicate: str = ""            # the lambda's source (kind "that")
    exception: str = ""            # a built-in exception's name (kind "raises")
    mentions: tuple = ()
    line: int = 0
    hidden: bool = False           # written in the cell's hidden-tests block


@dataclass
class Split:
    "A graded cell split for grading: the kernel's code and the grader's checks."
    kernel: str
    checks: list = field(default_factory=list)
    problems: list = field(default_factory=list)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, cell_id):
        self.cell_id, self.checks, self.problems, self.dropped = cell_id, [], [], []

    def problem(self, node, text):
        self.problems.append(f"line {getattr(node, 'lineno', '?')}: {text}")

    def _bind(self, call, name):
        params = CHECKS[name]
        args = dict(zip(params, call.args))
        if len(call.args) > len(params):
            self.problem(call, f"{name} takes at most {len(params)} arguments")
        for kw in call.keywords:
            if kw.arg not in params or kw.arg in args:
                self.problem(call, f"{name}: unexpected or repeated argument {kw.arg!r}")
            else:
                args[kw.arg] = kw.value
        return args

    def _check(self, call, name):
        args = self._bind(call, name)
        kind = name.split("_", 1)[1]
        check = Check(f"{self.cell_id}:{len(self.checks)}", kind, line=call.lineno)
        for key in LITERAL_ARGS:
            if key in args:
                try:
                    value = ast.literal_eval(args[key])
                except ValueError:
                    self.problem(call, f"{name}: `{key}` must be a literal (a string, a number, a list of strings)")
                    continue
                setattr(check, key, tuple(value) if key == "mentions" else value)
        if kind == "raises":
            exc = args.get("exception")
            if not (isinstance(exc, ast.Name) and exc.id in EXCEPTIONS):
                self.problem(call, "expect_raises: the exception must be a built-in exception class, e.g. ValueError")
            else:
                check.exception = exc.id
        if kind == "that":
            pred = args.get("predicate")
            if not isinstance(pred, ast.Lambda) or len(pred.args.args) != 1:
                self.problem(call, "expect_that: the predicate must be a lambda of one argument")
            else:
                free = {n.id for n in ast.walk(pred.body) if isinstance(n, ast.Name)} - {pred.args.args[0].arg}
                free -= {a.arg for n in ast.walk(pred.body) if isinstance(n, ast.Lambda) for a in n.args.args}
                free -= {n.id for n in ast.walk(pred.body) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                if free - PREDICATE_NAMES:
                    self.problem(call, f"expect_that: the predicate may read only its argument, np and math, not "
                                       f"{', '.join(sorted(free - PREDICATE_NAMES))}")
                check.predicate = ast.unparse(pred)
        missing = [p for p in CHECKS[name][:2 if kind != "raises" else 1] if p not in args]
        if missing:
            self.problem(call, f"{name}: missing {', '.join(missing)}")
        self.checks.append(check)
        kept = {"equal": ("actual",), "agree": ("a", "b"), "that": ("value",), "raises": ()}[kind]
        self.dropped += [v for k, v in args.items() if k not in kept]
        if kind == "agree":
            value = ast.Tuple([args.get("a", ast.Constant(None)), args.get("b", ast.Constant(None))], ast.Load())
        else:
            value = args.get(kept[0], ast.Constant(None)) if kept else None
        return check, value

    def visit_Expr(self, node):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in CHECKS:
            if call.func.id == "expect_raises":
                self.problem(node, "expect_raises is a context manager: `with expect_raises(...):`")
                return node
            check, value = self._check(call, call.func.id)
            probe = ast.Call(ast.Name(PROBE, ast.Load()), [ast.Constant(check.id), value], [])
            return ast.copy_location(ast.Expr(probe), node)
        return self.generic_visit(node)

    def visit_With(self, node):
        items = node.items
        if len(items) == 1 and isinstance(items[0].context_expr, ast.Call) and \
                isinstance(items[0].context_expr.func, ast.Name) and items[0].context_expr.func.id == "expect_raises":
            check, _ = self._check(items[0].context_expr, "expect_raises")
            if items[0].optional_vars is not None:
                self.problem(node, "expect_raises: `as` is not supported in graded cells")
            new = ast.With([ast.withitem(ast.Call(ast.Name(RAISES, ast.Load()), [ast.Constant(check.id)], []))],
                           [self.visit(s) for s in node.body])
            return ast.copy_location(new, node)
        return self.generic_visit(node)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in CHECKS:
            self.problem(node, f"{node.func.id} must be a statement of its own (`{node.func.id}(...)` on its line)")
        return self.generic_visit(node)

    def visit_Assert(self, node):
        self.problem(node, "a bare `assert` in a graded cell: use expect_equal / expect_that (tito.checks)")
        return node

    def visit_Try(self, node):
        self.problem(node, "`try` in a graded cell: use `with expect_raises(...)`")
        return node
    visit_TryStar = visit_Try

    def visit_Raise(self, node):
        self.problem(node, "`raise` in a graded cell: a check says what failed (tito.checks)")
        return node

    def visit_Attribute(self, node):
        if node.attr == "testing" and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
            self.problem(node, "numpy.testing in a graded cell: use expect_equal (tito.checks)")
        return self.generic_visit(node)


def _stored(node):
    "Names a statement binds or mutates (assignment targets, loop targets, bases of item/attribute stores)."
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            base = n.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
    return names


def _loaded(nodes):
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _has_probe(node):
    return any(isinstance(n, ast.Name) and n.id in (PROBE, RAISES) for n in ast.walk(node))


def _prune(tree, expected_names, keep_names):
    """Drop the top-level statements that only compute expected values: they bind names read by the dropped
    arguments (`expected_names`), no kept statement reads them, no later cell reads them (`keep_names`),
    and they hold no probe. Repeated until nothing more goes."""
    body = list(tree.body)
    while True:
        removable = None
        for s in body:
            if not isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For)) or _has_probe(s):
                continue
            names = _stored(s)
            others = _loaded([o for o in body if o is not s])
            if names & expected_names and not (names & others) and not (names & keep_names):
                removable = s
                break
        if removable is None:
            break
        body.remove(removable)
    tree.body = body
    return tree


def split(source, cell_id, later_names=()):
    "Split a graded cell's source (hidden tests included) for grading. See the module's docstring."
    text = source
    hidden, inside = set(), False
    for n, line in enumerate(text.splitlines(), 1):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif inside:
            hidden.add(n)
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        return Split(source, [], [f"line {err.lineno}: not valid Python ({err.msg})"])
    rw = _Rewriter(cell_id)
    tree = rw.visit(tree)
    expected_names = _loaded(rw.dropped)
    tree = _prune(tree, expected_names, set(later_names))
    ast.fix_missing_locations(tree)
    for check in rw.checks:
        check.hidden = check.line in hidden
    return Split(ast.unparse(tree) + "\n", rw.checks, rw.problems)


def names_read(source):
    "The names a cell reads (for `later_names`); nothing when it does not parse."
    try:
        return _loaded([ast.parse(source)])
    except SyntaxError:
        return set()


# ---------------------------------------------------------------------------------------------- the grader's side

@dataclass
class Verdict:
    ok: bool
    text: str                       # for the instructor: what was expected and what came back
    rigged: bool = False


def _value(record):
    if "notplain" in record:
        raise checks.NotPlain(record["notplain"], bool(record.get("rigged")))
    if "raised" in record:
        return record
    return checks.decode(record["value"])


def judge(check, got, ref):
    "Decide one occurrence of a check: the student's record `got` against the reference's `ref` (plain data)."
    name = check.what or check.id
    try:
        value = _value(got)
    except checks.NotPlain as err:
        return Verdict(False, f"{name}: the result is {err}", err.rigged)
    except (ValueError, KeyError, TypeError) as err:
        return Verdict(False, f"{name}: the result could not be read ({err})", True)
    if check.kind == "raises":
        raised = value.get("raised") if isinstance(value, dict) else None
        if not raised:
            return Verdict(False, f"{name}: expected {check.exception} to be raised, nothing was raised")
        if check.exception not in raised:
            return Verdict(False, f"{name}: expected {check.exception}, got {raised[0]}: {value.get('message')!r}")
        text = value.get("message") or ""
        missing = [m for m in check.mentions if m not in text]
        if missing:
            return Verdict(False, f"{name}: the {check.exception} message should mention {', '.join(missing)}; "
                                  f"it says {text!r}")
        return Verdict(True, f"{name}: raised {check.exception}")
    if check.kind == "that":
        try:
            ok = bool(eval(compile(check.predicate, "<check>", "eval"), {"np": np, "math": math})(value))  # noqa: S307 — the instructor's lambda, on plain data
        except Exception as err:  # noqa: BLE001 — a predicate that cannot be evaluated on this value fails it
            return Verdict(False, f"{name}: {check.message} ({type(err).__name__} on {checks.describe(value)})")
        return Verdict(ok, f"{name}: {check.message}" + ("" if ok else f" (got {checks.describe(value)})"))
    if check.kind == "agree":
        if type(value) is not tuple or len(value) != 2:
            return Verdict(False, f"{name}: the result could not be read", True)
        msg = checks.compare(value[0], value[1], check.rtol, check.atol)
        return Verdict(msg is None, f"{name}: " + (msg or "the two results agree"))
    try:
        want = _value(ref)
    except (checks.NotPlain, ValueError, KeyError, TypeError) as err:
        return Verdict(False, f"{name}: the reference value is unusable ({err}): a bug of the course, not the student")
    msg = checks.compare(value, want, check.rtol, check.atol)
    return Verdict(msg is None, f"{name}: " + (msg or f"equal to {checks.describe(want, 60)}"))


# ---------------------------------------------------------------------------------------------- kernel side

KERNEL_PRELUDE = '''
def __tito_probes(src, mime, graded):
    import builtins, sys, types
    from IPython.display import publish_display_data
    mod = types.ModuleType("tito.checks")
    exec(compile(src, "<tito.checks>", "exec"), vars(mod))
    pkg = sys.modules.get("tito") or types.ModuleType("tito")
    pkg.checks = mod
    sys.modules.setdefault("tito", pkg)
    sys.modules["tito.checks"] = mod
    if not graded:
        return
    plain, encode, NotPlain, record_exc = mod.plain, mod.encode, mod.NotPlain, mod.exception_record
    publish, Exception_, type_, str_ = publish_display_data, Exception, type, str

    def send(rec):
        publish({mime: rec}, {})

    def probe(k, value):
        try:
            rec = {"k": k, "value": encode(plain(value))}
        except NotPlain as err:
            rec = {"k": k, "notplain": str_(err), "rigged": bool(err.rigged)}
        except Exception_ as err:
            rec = {"k": k, "notplain": "a value that could not be read (" + type_(err).__name__ + ")", "rigged": True}
        send(rec)

    class raises:
        def __init__(self, k):
            self.k = k
        def __enter__(self):
            return None
        def __exit__(self, etype, err, tb):
            if etype is None:
                send({"k": self.k, "value": {"raised": None}})
                return False
            if not issubclass(etype, Exception_):
                return False
            rec = record_exc(etype, err)
            send({"k": self.k, "raised": rec["raised"], "message": rec["message"]})
            return True

    builtins.__tito_probe__ = probe
    builtins.__tito_raises__ = raises
'''


def kernel_prelude(graded):
    "Code run in a grading kernel before anything else: `tito.checks` from its text, and (graded run) the probes."
    src = (sys.modules[checks.__name__].__file__)
    with open(src) as fh:
        text = fh.read()
    return KERNEL_PRELUDE + f"__tito_probes({text!r}, {MIME!r}, {bool(graded)})\ndel __tito_probes\n"


def records(outputs):
    "The probe records in a cell's outputs, in order."
    found = []
    for out in outputs or []:
        data = out.get("data") if isinstance(out, dict) else None
        if isinstance(data, dict) and MIME in data and isinstance(data[MIME], dict):
            found.append(data[MIME])
    return found


# ---------------------------------------------------------------------------------------------- lint CLI

def lint_module(path):
    "Problems of every graded cell of a module source (percent format), as lines."
    import jupytext
    nb = jupytext.read(path)
    problems = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader") or {}
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        later = set().union(*[names_read(c.source) for c in cells[i + 1:] if c.cell_type == "code"])
        s = split(cell.source, meta.get("grade_id", f"#{i}"), later)
        problems += [f"{path}: {meta.get('grade_id')}: {p}" for p in s.problems]
        if not s.checks:
            problems.append(f"{path}: {meta.get('grade_id')}: no check (tito.checks) in this graded cell")
    return problems


def main(argv=None):
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    wanted = (argv if argv is not None else sys.argv[1:]) or [p.name[:2] for p in sorted((root / "modules/source").iterdir())]
    problems = []
    for number in wanted:
        for path in sorted((root / "modules" / "source").glob(f"{number}_*/*_dev.py")):
            problems += lint_module(path)
    print("\n".join(problems) if problems else "graded cells: no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())


# ---------------------------------------------------------------------------------------------- a whole cell

@dataclass
class CellVerdict:
    "How a graded cell's checks went: passed, the instructor's lines, the student's (fixed wording), flags."
    passed: bool
    lines: list = field(default_factory=list)      # for the instructor: every check, with values
    student: list = field(default_factory=list)    # for the student: no text that came from the graded kernel
    tampering: list = field(default_factory=list)


def judge_cell(cell_checks, got_records, ref_records, status="ok", cell_name=""):
    """Decide a graded cell from the probe records of the student's graded run (`got_records`, in order) and
    the reference's (`ref_records`: check id -> list of records). The cell passes when every check passes as
    often as it did for the reference, and the cell itself ran to its end."""
    by_id = {c.id: c for c in cell_checks}
    got = {}
    v = CellVerdict(True)
    for rec in got_records:
        k = rec.get("k") if isinstance(rec, dict) else None
        if k not in by_id:
            v.passed = False
            v.tampering.append(f"cell {cell_name}: a check result that no check of this cell produced (forged)")
            continue
        got.setdefault(k, []).append(rec)
    for check in cell_checks:
        mine, ref = got.get(check.id, []), ref_records.get(check.id, [])
        label = f"check {check.what or check.id}"
        if len(mine) > len(ref):
            v.passed = False
            v.tampering.append(f"cell {cell_name}: {label} reported {len(mine)} results where it ran {len(ref)} times (forged)")
            v.student.append(f"{label}: reported more results than it ran (flagged)" if not check.hidden else
                             "a hidden check reported more results than it ran (flagged)")
            continue
        for n, ref_rec in enumerate(ref):
            if n >= len(mine):
                v.passed = False
                v.lines.append(f"{label}: did not run (the cell stopped before it)")
                v.student.append(f"{label}: did not run when graded (the cell stopped before it)"
                                 if not check.hidden else "a hidden check did not run (the cell stopped before it)")
                break
            verdict = judge(check, mine[n], ref_rec)
            v.lines.append(("ok   " if verdict.ok else "FAIL ") + verdict.text)
            if verdict.rigged:
                v.tampering.append(f"cell {cell_name}: {verdict.text} (rigged: scored 0)")
            if not verdict.ok:
                v.passed = False
                v.student.append(_student_words(check, mine[n], verdict))
                break
    if status != "ok" and v.passed:
        v.passed = False
        v.lines.append(f"the cell did not run to its end ({status})")
        v.student.append("when graded, the cell did not run to its end")
    return v


def _student_words(check, rec, verdict):
    "Why a check failed, in the grader's fixed words: nothing the graded kernel produced is quoted."
    if check.hidden:
        return "a hidden check of this cell did not pass (hidden checks are not shown)"
    label = f"check {check.what}" if check.what else "a check"
    if verdict.rigged:
        return f"{label}: the result is an object that misreports what it is: scored 0 and flagged"
    if isinstance(rec, dict) and "notplain" in rec:
        return f"{label}: the result is not plain data (numbers, strings, exact numpy arrays; a Tensor's .data)"
    if check.kind == "raises":
        return f"{label}: did not raise {check.exception} with the message the test asks for"
    if check.kind == "that":
        return f"{label}: {check.message or 'the property does not hold'}"
    return f"{label}: the result differs from the expected value"
