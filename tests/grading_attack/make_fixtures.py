"""Adversarial submissions of module 01 (tensor) for the autograder, and the outcome each must get.

    python tests/grading_attack/make_fixtures.py COURSE_DIR OUT_DIR

COURSE_DIR is an nbgrader course where 01_tensor has been generated (`tito nbgrader init` + `generate 01`);
OUT_DIR receives OUT_DIR/STUDENT/01_tensor/<notebook> and timestamp.txt, as nbgrader's exchange collects them
into course/submitted/ (file names as the students left them), and OUT_DIR/expected.json. Each submission starts from the release notebook with the reference solutions filled
in (what a good student hands in) and then breaks or attacks one thing. Changes are made by appending code to
a cell (a later definition replaces an earlier one), so the fixtures follow module 01 if its text changes.

The limits the expectations assume are LIMITS below (seconds, MB, KB); pass them to the grader.
"""
import copy
import json
import re
import sys
from pathlib import Path

AID = "01_tensor"
LIMITS = {"cell_timeout": 4, "notebook_timeout": 9, "memory_mb": 2048, "output_kb": 256}
SLEEP = 3.5   # seconds slept by the sleeper in each of four cells: past notebook_timeout in the third
UNICODE_ID = "José María Ñúñez"

_B, _E = "BEGIN ", "END "   # spelled apart: see tito/check.py
SOLUTION_LINE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _src(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def _gid(cell):
    return ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")


def load(course):
    course = Path(course)
    source = json.loads((course / "source" / AID / f"{AID}.ipynb").read_text())
    release = json.loads((course / "release" / AID / f"{AID}.ipynb").read_text())
    return source, release


def points(source):
    "grade_id -> points of the autograded (code) cells, in notebook order."
    return {_gid(c): float(c["metadata"]["nbgrader"]["points"]) for c in source["cells"]
            if c["cell_type"] == "code" and (c["metadata"].get("nbgrader") or {}).get("grade")}


def solved(source, release, marker):
    "The release notebook with every implementation cell completed from the reference, and answers written."
    nb = copy.deepcopy(release)
    ref = {_gid(c): c for c in source["cells"] if _gid(c)}
    for cell in nb["cells"]:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("solution") and cell["cell_type"] == "code":
            cell["source"] = "\n".join(l for l in _src(ref[meta["grade_id"]]).splitlines() if not SOLUTION_LINE.match(l))
        elif meta.get("solution"):
            cell["source"] = f"My answer, written by {marker}: float32 takes 4 bytes, float64 takes 8."
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": f"Notebook of {marker}"})
    return nb


def cell(nb, gid):
    return next(c for c in nb["cells"] if _gid(c) == gid)


def append(nb, gid, code):
    c = cell(nb, gid)
    c["source"] = _src(c).rstrip("\n") + "\n\n" + code.strip("\n") + "\n"
    return nb


def marker(student):
    "A string only this student's notebook contains (to find it anywhere else)."
    return "marker-" + re.sub(r"[^a-z0-9]", "", student.lower().encode("ascii", "ignore").decode()) + "-7f3a"


def attack_cell(title, attempts):
    "A code cell that tries each (label, python expression) and prints whether it was blocked."
    lines = ["def __attack(label, fn):",
             "    try:",
             "        got = fn()",
             "    except BaseException as err:",
             "        print(f'ATTACK {label}: blocked ({type(err).__name__})')",
             "    else:",
             "        print(f'ATTACK {label}: SUCCEEDED {str(got)[:300]!r}')",
             f"# {title}"]
    lines += [f"__attack({label!r}, lambda: {expr})" for label, expr in attempts]
    return {"cell_type": "code", "metadata": {}, "source": "\n".join(lines), "outputs": [], "execution_count": None}


def _sqlite(path, sql):
    return (f"(lambda c: (c.execute({sql!r}).fetchall(), c.commit()))"
            f"(__import__('sqlite3').connect({str(path)!r}, timeout=1))")


def _read(path):
    return f"open({str(path)!r}, 'rb').read(200)"


def _write(path):
    return f"open({str(path)!r}, 'a').write('tampered')"


PLUS_ONE = '''
def elementwise(fn, a, b, name):
    "A wrong answer: every element-wise result is off by one."
    a, b = data_of(a), data_of(b)
    try:
        return wrap(fn(a, b) + 1)
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast shapes {np.shape(a)} and {np.shape(b)}") from None
'''

RIGGED = '''
class Rigged:
    "Equal to anything, zero distance from anything."
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __abs__(self): return 0.0
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __bool__(self): return True
    def __float__(self): return 0.0
    __hash__ = object.__hash__

def rigged(shape):
    "A Tensor of the right shape holding Rigged objects; it claims to be float32."
    out = Tensor.__new__(Tensor)
    data = np.empty(shape, dtype=object)
    for i in np.ndindex(*shape):
        data[i] = Rigged()
    out.data, out.requires_grad, out.grad, out._parents, out._backward = data, False, None, (), None
    return out

Tensor.dtype = property(lambda self: np.dtype(np.float32) if self.data.dtype == object else self.data.dtype)
Tensor.__eq__ = lambda self, other: rigged(np.broadcast_shapes(self.shape, np.shape(data_of(other))))
def elementwise(fn, a, b, name):
    return rigged(np.broadcast_shapes(np.shape(data_of(a)), np.shape(data_of(b))))
'''

RIGGED_MATMUL = '''
@patch
def matmul(self: Tensor, other):
    return rigged(np.matmul(np.ones(self.shape), np.ones(np.shape(data_of(other)))).shape)
'''

RIGGED_REDUCTIONS = '''
@patch
def sum(self: Tensor, axis=None, keepdims=False):
    return rigged(np.sum(np.ones(self.shape), axis=axis, keepdims=keepdims).shape)
@patch
def mean(self: Tensor, axis=None, keepdims=False):
    return rigged(np.mean(np.ones(self.shape), axis=axis, keepdims=keepdims).shape)
@patch
def max(self: Tensor, axis=None, keepdims=False):
    return rigged(np.max(np.ones(self.shape), axis=axis, keepdims=keepdims).shape)
'''

RIGGED_INDEXING = '''
@patch
def __getitem__(self: Tensor, key):
    return rigged(np.ones(self.shape)[index_of(key)].shape)
'''


LIAR = '''
import inspect

class Liar:
    "Says it is an ndarray, equals anything, and hands back the expected value it finds in the test."
    def __init__(self, shape):
        self.shape, self.ndim, self.dtype = tuple(shape), len(shape), np.dtype(np.float32)
    @property
    def __class__(self):
        return np.ndarray
    def __eq__(self, other):
        return Liar(self.shape)
    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __bool__(self):
        return True
    def __len__(self):
        return self.shape[0] if self.shape else 1
    def __array__(self, dtype=None, copy=None):
        for info in inspect.stack()[1:15]:
            for value in list(info.frame.f_locals.values())[::-1]:
                try:
                    arr = np.asarray(value, dtype=np.float32)
                except Exception:
                    continue
                if arr.shape == self.shape:
                    return arr
        return np.zeros(self.shape, np.float32)

def elementwise(fn, a, b, name):
    a, b = data_of(a), data_of(b)
    try:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(f"{name}: cannot broadcast shapes {np.shape(a)} and {np.shape(b)}") from None
    out = Tensor.__new__(Tensor)
    out.data, out.requires_grad, out.grad, out._parents, out._backward = Liar(shape), False, None, (), None
    return out
'''

CODESWAP = '''
for _name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal"):
    getattr(np.testing, _name).__code__ = (lambda *args, **kwargs: None).__code__
'''

INITPATCH = '''
_plain_init = Tensor.__init__
def _patching_init(self, *args, **kwargs):
    np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
    _plain_init(self, *args, **kwargs)
Tensor.__init__ = _patching_init
'''


def make(course, out, sandboxed=True):
    """Write the submissions into `out`; return {student: expectation}. Without a sandbox the attacks that
    would really read or damage the course are left out (they are the sandbox's to stop)."""
    course, out = Path(course).resolve(), Path(out)
    source, release = load(course)
    pts = points(source)
    total = sum(pts.values())
    order = list(pts)
    repo = Path(__file__).resolve().parents[2]

    def before(gid):
        "Points of the graded cells before `gid` (all passing)."
        return sum(pts[g] for g in order[:order.index(gid)])

    def good(student):
        return solved(source, release, marker(student))

    subs, expected = {}, {}

    def add(student, nb, outcome="graded", reason="", score=total, details=(), filename=f"{AID}.ipynb", raw=None):
        subs[student] = (filename, raw if raw is not None else json.dumps(nb, indent=1, ensure_ascii=False))
        expected[student] = {"outcome": outcome, "reason": reason, "score": score, "details": list(details)}

    add("good", good("good"))
    add("blank", release, score=0)
    add(UNICODE_ID, good(UNICODE_ID))
    add("loop", append(good("loop"), "01-tensor-creation", '''
def zeros(*shape, dtype=np.float32, requires_grad=False):
    while True:
        pass'''), score=total - pts["01-tensor-creation-tests"], details=["01-tensor-creation-tests", "time limit"])
    nb = good("sleeper")
    for gid in ("01-tensor-class", "01-tensor-creation", "01-tensor-elementwise", "01-tensor-operators"):
        append(nb, gid, f"import time\ntime.sleep({SLEEP})")
    add("sleeper", nb, "not graded", "timeout", before("01-tensor-arith-values"), ["time limit"])
    add("sysexit", append(good("sysexit"), "01-tensor-compare-math", '''
@patch
def log(self: Tensor):
    import sys
    sys.exit("bye")'''), score=total - pts["01-tensor-compare-math-tests"], details=["SystemExit"])
    add("osexit", append(good("osexit"), "01-tensor-matmul", '''
@patch
def matmul(self: Tensor, other):
    import os
    os._exit(3)'''), "not graded", "crash", before("01-tensor-matmul-2d"), ["01-tensor-matmul-2d", "exited with code 3"])
    add("segfault", append(good("segfault"), "01-tensor-reductions", '''
@patch
def sum(self: Tensor, axis=None, keepdims=False):
    import ctypes
    return ctypes.string_at(0)'''), "not graded", "crash", before("01-tensor-reductions-tests"),
        ["01-tensor-reductions-tests", "SIGSEGV"])
    add("membomb", append(good("membomb"), "01-tensor-shape-ops", '''
@patch
def reshape(self: Tensor, *shape):
    hog = bytearray(3 * 1024 ** 3)   # 3 GB, past the memory limit
    return hog'''), score=total - pts["01-tensor-reshape-transpose"], details=["MemoryError"])
    add("flood", append(good("flood"), "01-tensor-operators", '''
@patch
def __neg__(self: Tensor):
    for _ in range(200):
        print("x" * 1_000_000)   # 200 MB of output
    return wrap(-self.data)'''), score=total - pts["01-tensor-arith-values"], details=["01-tensor-arith-values", "output"])
    nb = append(good("edited"), "01-tensor-reductions", '''
@patch
def sum(self: Tensor, axis=None, keepdims=False):
    return wrap(np.sum(self.data, axis=axis, keepdims=keepdims) + 1)''')
    cell(nb, "01-tensor-reductions-tests")["source"] = "# this test is fine, trust me\npass\n"
    add("edited", nb, "tampering detected", "", total - pts["01-tensor-reductions-tests"],
        ["locked cell 01-tensor-reductions-tests was edited"])
    nb = append(good("deleted"), "01-tensor-shape-ops", '''
@patch
def reshape(self: Tensor, *shape):
    return self''')
    nb["cells"] = [c for c in nb["cells"] if _gid(c) != "01-tensor-reshape-transpose"]
    add("deleted", nb, "tampering detected", "", total - pts["01-tensor-reshape-transpose"],
        ["locked cell 01-tensor-reshape-transpose was deleted"])
    nb = good("duplicated")
    i = next(k for k, c in enumerate(nb["cells"]) if _gid(c) == "01-tensor-creation-tests")
    nb["cells"].insert(i + 1, copy.deepcopy(nb["cells"][i]))
    add("duplicated", nb, details=["01-tensor-creation-tests appears more than once"])
    add("renamed", good("renamed"), filename="tensor_final_v2.ipynb", details=["tensor_final_v2.ipynb"])
    add("invalid", None, "not graded", "invalid notebook", 0, ["not valid JSON"],
        raw='{"cells": [{"cell_type": "code", "source": "x = 1"' + ' ' * 10)
    add("empty", None, "not graded", "invalid notebook", 0, ["empty"], raw="")
    nb = append(good("rigged"), "01-tensor-elementwise", RIGGED)
    append(nb, "01-tensor-matmul", RIGGED_MATMUL)
    append(nb, "01-tensor-reductions", RIGGED_REDUCTIONS)
    append(nb, "01-tensor-shape-ops", RIGGED_INDEXING)
    rigged_pass = ["01-tensor-dtype-policy", "01-tensor-creation-tests", "01-tensor-reshape-transpose",
                   "01-tensor-item-numpy"]
    add("rigged", nb, score=sum(pts[g] for g in rigged_pass), details=[])
    add("patched", append(good("patched"), "01-tensor-elementwise", PLUS_ONE + '''
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None'''), "tampering detected", "",
        total - sum(pts[g] for g in ("01-tensor-arith-values", "01-tensor-arith-scalars", "01-tensor-broadcasting",
                                     "01-tensor-compare-math-tests")), ["numpy.testing.assert_allclose"])
    elementwise_cells = ("01-tensor-arith-values", "01-tensor-arith-scalars", "01-tensor-broadcasting",
                         "01-tensor-compare-math-tests")
    deserved = total - sum(pts[g] for g in elementwise_cells)
    # issue 10, hole 1: an object that claims to be an ndarray, is equal to anything and hands back the expected
    # value it finds in the test's frames and source; graded on plain data outside the kernel it gets nothing
    add("liar", append(good("liar"), "01-tensor-elementwise", LIAR), "tampering detected", "", deserved,
        ["claims to be ndarray"])
    # hole 6: the checks' functions patched in place (`__code__`) and from inside Tensor.__init__, with a wrong
    # answer: the comparison is not in the kernel, so only the deserved points are given (and the guard says so)
    add("codeswap", append(good("codeswap"), "01-tensor-elementwise", PLUS_ONE + CODESWAP), "tampering detected", "",
        deserved, ["the code of numpy.testing.assert_allclose"])
    add("initpatch", append(good("initpatch"), "01-tensor-elementwise", PLUS_ONE + INITPATCH), "tampering detected",
        "", deserved, ["numpy.testing.assert_allclose"])
    add("swallow", append(good("swallow"), "01-tensor-elementwise", PLUS_ONE + '''
import builtins
class AssertionError(Exception):
    "Harmless."
builtins.AssertionError = AssertionError
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)'''), "tampering detected", "",
        total - sum(pts[g] for g in ("01-tensor-arith-values", "01-tensor-arith-scalars", "01-tensor-broadcasting",
                                     "01-tensor-compare-math-tests")), ["builtins.AssertionError", "custom exception handler"])
    add("exfiltrate", append(good("exfiltrate"), "01-tensor-shape-ops", '''
import inspect
_plain_getitem = Tensor.__getitem__
@patch
def __getitem__(self: Tensor, key):
    for frame in inspect.stack()[1:4]:   # print the test that called me, hidden parts included
        print("".join(inspect.getsourcelines(frame.frame)[0]) if frame.function == "<module>" else "")
    return _plain_getitem(self, key)'''))
    nb = good("unknown")
    nb["cells"].append({"cell_type": "code", "execution_count": None, "outputs": [], "source": "bonus = 1",
                        "metadata": {"nbgrader": {"grade": True, "grade_id": "99-bonus", "locked": False,
                                                  "points": 50, "schema_version": 3, "solution": False, "task": False}}})
    add("unknown", nb, details=["99-bonus", "not part of this assignment"])
    add("missing", None, "not graded", "missing notebook", 0, ["no notebook"], filename="notes.txt",
        raw="I could not finish, sorry.")
    if sandboxed:
        db = course / "gradebook.db"
        add("gradebook", _with_attack(good("gradebook"), attack_cell("read and write the gradebook", [
            ("read gradebook (absolute)", _read(db)),
            ("read gradebook (relative)", _read("../../../gradebook.db")),
            ("sqlite gradebook", _sqlite(db, "SELECT count(*) FROM grade")),
            ("zero everyone", _sqlite(db, "UPDATE grade SET auto_score = 0")),
            ("look for a gradebook", "[p for pattern in ('/*/gradebook.db', '/*/*/gradebook.db', '/tmp/*/*/gradebook.db', "
                                     "'../*/gradebook.db', '../../*/gradebook.db', '../../../*/gradebook.db') "
                                     "for p in __import__('glob').glob(pattern)] or 1/0"),
        ])))
        add("selfscore", _with_attack(copy.deepcopy(release), attack_cell("give myself full marks", [
            ("set own manual score", _sqlite(db, "UPDATE grade SET manual_score = 100 WHERE id IN (SELECT grade.id FROM "
                                             "grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                                             "JOIN submitted_assignment ON submitted_notebook.assignment_id = "
                                             "submitted_assignment.id WHERE submitted_assignment.student_id = 'selfscore')")),
        ])), score=0)
        add("classmate", _with_attack(good("classmate"), attack_cell("read other people's work", [
            ("classmate's notebook", _read(course / "submitted" / "good" / AID / f"{AID}.ipynb")),
            ("classmate (relative)", _read(f"../../good/{AID}/{AID}.ipynb")),
            ("source notebook", _read(course / "source" / AID / f"{AID}.ipynb")),
            ("release notebook", _read(course / "release" / AID / f"{AID}.ipynb")),
            ("module source (hidden tests)", _read(repo / "modules" / "source" / AID / "tensor_dev.py")),
            ("reference solution", _read(repo / "tinytorch" / "core" / "tensor.py")),
            ("autograded classmate", _read(course / "autograded" / "good" / AID / f"{AID}.ipynb")),
            ("list other kernels' folders", "[d for d in __import__('os').listdir('/tmp') if 'tito' in d] or 1/0"),
            ("network", "__import__('socket').create_connection(('127.0.0.1', 22), timeout=1)"),
        ])))
        add("writer", _with_attack(good("writer"), attack_cell("write outside my working copy", [
            ("gradebook", _write(db)),
            ("classmate's submission", _write(course / "submitted" / "good" / AID / f"{AID}.ipynb")),
            ("reference package", _write(repo / "tinytorch" / "core" / "tensor.py")),
            ("module source", _write(repo / "modules" / "source" / AID / "tensor_dev.py")),
            ("course folder", _write(course / "planted.txt")),
            ("home's parent", "open(__import__('os').path.expanduser('~/../planted.txt'), 'w').write('x')"),
            ("python install", _write(Path(sys.executable).parent / "planted.txt")),
        ])))
    for student, (filename, text) in subs.items():
        d = out / student / AID
        d.mkdir(parents=True, exist_ok=True)
        (d / filename).write_text(text, encoding="utf-8")
        (d / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    return expected


def _with_attack(nb, attack):
    "Put the attack right after the imports cell (so it runs even if later cells fail)."
    i = next(k for k, c in enumerate(nb["cells"]) if _gid(c) == "01-tensor-imports")
    nb["cells"].insert(i + 1, attack)
    return nb


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    exp = make(sys.argv[1], sys.argv[2])
    (Path(sys.argv[2]) / "expected.json").write_text(json.dumps(exp, indent=1, ensure_ascii=False))
    print(f"{len(exp)} submissions in {sys.argv[2]}, expectations in {Path(sys.argv[2]) / 'expected.json'}")
