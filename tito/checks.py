"""The checks of the graded test cells: `expect_equal`, `expect_raises`, `expect_that`, `expect_agree`.

In your notebook each check runs at once and raises AssertionError with a message that names what is wrong
(`what`) and shows what was expected and what you got. When an instructor grades, the same cells are split
(tito/grading/probes.py): only the *actual* side of each check runs in your kernel, and its value leaves the
kernel as plain data (exact numpy arrays, numbers, strings); the expected side and the comparison run in the
grader, outside your process. So a check cannot be talked into passing by an object that only pretends.

    expect_equal(relu(Tensor([-1.0, 2.0])).data, [0.0, 2.0], "relu")
    with expect_raises(ValueError, "Tensor @ Tensor", mentions=["(2, 3)", "(4, 5)"]):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    expect_that(losses, lambda v: v[-1] < v[0], "Trainer.fit", "the loss goes down")
    expect_agree(x.grad, numerical, "Tensor.__mul__ backward", rtol=1e-4)

Rules for test authors (`tito check` enforces the first): graded cells use these checks, never bare `assert`
or numpy.testing; an `expected` value never depends on the student's objects (use `expect_agree` or
`expect_that` for that); a predicate of `expect_that` reads only its argument (plain data) and numpy (`np`).

This file needs numpy and the standard library only: the grader sends its text into the grading kernel.
"""
import base64
import builtins
import math

import numpy as np

__all__ = ["expect_equal", "expect_raises", "expect_that", "expect_agree", "NotPlain"]

RTOL, ATOL = 1e-6, 1e-8
_ndarray, _generic, _dtype = np.ndarray, np.generic, np.dtype
_type, _str, _len, _isinstance = builtins.type, builtins.str, builtins.len, builtins.isinstance
_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_NP_SCALARS = tuple({np.dtype(c).type for c in "?bBhHiIlLqQefdgFDG"})
_mro = type.__dict__["__mro__"].__get__          # the real MRO, whatever a metaclass claims
_BUILTIN_EXCEPTIONS = {v for v in vars(builtins).values() if _type(v) is type and issubclass(v, BaseException)}


class NotPlain(Exception):
    "A value that is not plain data (numbers, strings, exact numpy arrays, and lists/tuples/dicts of them)."
    def __init__(self, message, rigged=False):
        super().__init__(message)
        self.rigged = rigged


def _kind(v):
    "What a value is, in words, without running any of its code."
    t = _type(v)
    return f"a {t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else f"a {t.__qualname__}"


def plain(value, _depth=0):
    """`value` as plain data, read without calling any of its methods: None, bool, int, float, complex, str,
    bytes, numpy scalars and dtypes, exact numpy arrays of numbers/strings (copied), and tuples, lists and
    dicts of these. Anything else raises NotPlain (with `rigged` set when the object misreports its class)."""
    t = _type(value)
    if _depth > 20:
        raise NotPlain("a value nested more than 20 levels deep")
    if t in _SCALARS:
        return value
    if t in _NP_SCALARS:
        return np.array(value)[()]
    if t is _ndarray:
        if value.dtype.kind not in "biufcUS":
            raise NotPlain(f"a numpy array of dtype {value.dtype} (numbers expected: a Tensor's data must hold numbers)")
        return np.array(value, copy=True)
    if _isinstance(value, _dtype) and t.__module__ == "numpy.dtypes":
        return np.dtype(value.str)
    if t is type and issubclass(value, _generic) and value in _NP_SCALARS:
        return np.dtype(value)
    if t is type and value in _SCALARS:
        return value
    if t in (tuple, list):
        return t(plain(v, _depth + 1) for v in value)
    if t is dict:
        return {plain(k, _depth + 1): plain(v, _depth + 1) for k, v in value.items()}
    try:
        claimed = object.__getattribute__(value, "__class__")
    except Exception:  # noqa: BLE001 — a class that cannot even say what it is
        claimed = None
    if claimed is not t:
        raise NotPlain(f"{_kind(value)} that claims to be {getattr(claimed, '__qualname__', claimed)!s}", rigged=True)
    hint = " (use its .data)" if t.__name__ == "Tensor" else ""
    raise NotPlain(f"{_kind(value)}, not plain data{hint}")


def describe(v, limit=120):
    "A short text for a plain value."
    if _type(v) is _ndarray:
        body = np.array2string(v, threshold=12, edgeitems=2, precision=6, separator=", ")
        text = f"array(shape={v.shape}, dtype={v.dtype}) {body}"
    else:
        text = repr(v)
    return text if _len(text) <= limit else text[:limit - 3] + "..."


def _number(v):
    return _type(v) in (bool, int, float, complex) or _type(v) in _NP_SCALARS


def compare(got, want, rtol=RTOL, atol=ATOL, where=""):
    """None when plain `got` matches plain `want` (floats within rtol/atol, everything else exactly, arrays by
    shape and values); otherwise a sentence saying the first difference."""
    at = f" at {where}" if where else ""
    if _type(want) is _ndarray or _type(got) is _ndarray:
        try:
            g, w = np.asarray(got), np.asarray(want)
        except (ValueError, TypeError):
            return f"expected {describe(want)}{at}, got {describe(got)}"
        if g.dtype.kind not in "biufc" or w.dtype.kind not in "biufc":
            if g.shape != w.shape or not np.array_equal(g, w):
                return f"expected {describe(want)}{at}, got {describe(got)}"
            return None
        if g.shape != w.shape:
            return f"expected shape {w.shape}{at}, got {g.shape}"
        if g.dtype.kind in "biu" and w.dtype.kind in "biu":
            bad = g != w
        else:
            bad = ~np.isclose(g.astype(np.complex128 if "c" in g.dtype.kind + w.dtype.kind else np.float64),
                              w, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
            return (f"{int(bad.sum())} of {bad.size} values differ{at}; at index {list(idx)} expected "
                    f"{w[idx].tolist()!r}, got {g[idx].tolist()!r} (expected {describe(w)}, got {describe(g)})")
        return None
    if _number(want) and _number(got) and _type(want) is not bool and _type(got) is not bool:
        if _isinstance(want, (int, np.integer)) and _isinstance(got, (int, np.integer)):
            return None if int(got) == int(want) else f"expected {want!r}{at}, got {got!r}"
        g, w = complex(got), complex(want)
        if (math.isnan(g.real) and math.isnan(w.real)) or abs(g - w) <= atol + rtol * abs(w):
            return None
        return f"expected {want!r}{at}, got {got!r}"
    if _type(want) in (tuple, list):
        if _type(got) is not _type(want):
            return f"expected a {_type(want).__name__} {describe(want)}{at}, got {describe(got)}"
        if _len(got) != _len(want):
            return f"expected {_len(want)} items{at}, got {_len(got)}: {describe(got)}"
        for i, (g, w) in enumerate(zip(got, want)):
            msg = compare(g, w, rtol, atol, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if _type(want) is dict:
        if _type(got) is not dict:
            return f"expected a dict{at}, got {describe(got)}"
        if set(got) != set(want):
            return f"expected the keys {sorted(map(repr, want))}{at}, got {sorted(map(repr, got))}"
        for k in want:
            msg = compare(got[k], want[k], rtol, atol, f"{where}[{k!r}]")
            if msg:
                return msg
        return None
    if _isinstance(want, _dtype) or _isinstance(got, _dtype):
        try:
            same = np.dtype(got) == np.dtype(want)
        except TypeError:
            same = False
        return None if same else f"expected dtype {describe(want)}{at}, got {describe(got)}"
    if _type(want) is bool or _type(got) is bool:
        ok = _type(got) in (bool, np.bool_) and bool(got) == bool(want)
        return None if ok else f"expected {want!r}{at}, got {describe(got)}"
    if _type(got) is not _type(want) or got != want:
        return f"expected {describe(want)}{at}, got {describe(got)}"
    return None


# ------------------------------------------------------------------------------------------- the checks

def _fail(what, message):
    raise AssertionError(f"{what}: {message}" if what else message)


def _plain_or_fail(value, what, role="the result"):
    try:
        return plain(value)
    except NotPlain as err:
        _fail(what, f"{role} is {err}")


def expect_equal(actual, expected, what="", rtol=RTOL, atol=ATOL):
    "Assert `actual` equals `expected` (floats within rtol/atol, arrays by shape and values); `what` names the code under test."
    msg = compare(_plain_or_fail(actual, what), _plain_or_fail(expected, what, "the expected value"), rtol, atol)
    if msg:
        _fail(what, msg)


def expect_agree(a, b, what="", rtol=RTOL, atol=ATOL):
    "Assert two results of the code under test agree (both are compared as plain data)."
    msg = compare(_plain_or_fail(a, what), _plain_or_fail(b, what, "the second value"), rtol, atol)
    if msg:
        _fail(what, msg.replace("expected", "the second is").replace("got", "the first"))


def expect_that(value, predicate, what="", message="the check failed"):
    "Assert `predicate(plain value)` is true; `message` says what it means."
    v = _plain_or_fail(value, what)
    if not predicate(v):
        _fail(what, f"{message} (got {describe(v)})")


class expect_raises:
    "`with expect_raises(ValueError, what, mentions=[...]):` the block must raise that error, its message naming each of `mentions`."

    def __init__(self, exception, what="", mentions=()):
        self.exception, self.what, self.mentions = exception, what, tuple(mentions)

    def __enter__(self):
        return self

    def __exit__(self, etype, err, tb):
        name = self.exception.__name__
        if etype is None:
            _fail(self.what, f"expected {name} to be raised, nothing was raised")
        if not issubclass(etype, self.exception):
            raise AssertionError(f"{self.what}: expected {name}, got {etype.__name__}: {err}") from err
        text = _str(err)
        missing = [m for m in self.mentions if m not in text]
        if missing:
            _fail(self.what, f"the {name} message should mention {', '.join(missing)}; it says: {text!r}")
        return True


# ------------------------------------------------------------------------------------------- plain data as JSON

def exception_record(etype, err):
    "A raised exception as plain data: the built-in classes it derives from, and its message (None if unreadable)."
    try:
        text = _str(err)
        text = text if _type(text) is str else None
    except Exception:  # noqa: BLE001 — a message that cannot be read counts as none
        text = None
    return {"raised": [c.__name__ for c in _mro(etype) if c in _BUILTIN_EXCEPTIONS], "message": text}


def encode(v):
    "Plain data as JSON-able values (arrays and bytes as base64; tuples, dicts and numpy scalars tagged)."
    t = _type(v)
    if t is _ndarray:
        return {"nd": v.dtype.str, "shape": list(v.shape), "b64": base64.b64encode(np.ascontiguousarray(v).tobytes()).decode()}
    if t in _NP_SCALARS:
        return {"np": v.dtype.str, "b64": base64.b64encode(np.array(v).tobytes()).decode()}
    if _isinstance(v, _dtype):
        return {"dtype": v.str}
    if t is type:
        return {"type": v.__name__}
    if t is float and not math.isfinite(v):
        return {"float": repr(v)}
    if t is complex:
        return {"complex": [encode(v.real), encode(v.imag)]}
    if t is bytes:
        return {"bytes": base64.b64encode(v).decode()}
    if t is tuple:
        return {"tuple": [encode(x) for x in v]}
    if t is list:
        return [encode(x) for x in v]
    if t is dict:
        return {"dict": [[encode(k), encode(x)] for k, x in v.items()]}
    return v


_TYPES = {t.__name__: t for t in _SCALARS}


def decode(j):
    "The inverse of `encode` (never builds anything but plain data)."
    if _type(j) is list:
        return [decode(x) for x in j]
    if _type(j) is not dict:
        return j
    if "nd" in j:
        dt = np.dtype(j["nd"])
        if dt.kind not in "biufcUS":
            raise ValueError(f"not a plain dtype: {dt}")
        return np.frombuffer(base64.b64decode(j["b64"]), dtype=dt).reshape(j["shape"]).copy()
    if "np" in j:
        return np.frombuffer(base64.b64decode(j["b64"]), dtype=np.dtype(j["np"]))[0]
    if "dtype" in j:
        return np.dtype(j["dtype"])
    if "type" in j:
        return _TYPES[j["type"]]
    if "float" in j:
        return float(j["float"])
    if "complex" in j:
        return complex(decode(j["complex"][0]), decode(j["complex"][1]))
    if "bytes" in j:
        return base64.b64decode(j["bytes"])
    if "tuple" in j:
        return tuple(decode(x) for x in j["tuple"])
    if "dict" in j:
        return {decode(k): decode(x) for k, x in j["dict"]}
    raise ValueError(f"not encoded plain data: {sorted(j)}")
