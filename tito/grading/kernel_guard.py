"""Code that runs INSIDE a grading kernel: `sandbox.py` sends this file's text to the kernel before the
first cell of a submission (it is never imported by the grader itself).

`install(key, aliases)` takes a snapshot, before any student code runs, of what the graded tests rely on:
the builtins, every loaded numpy module (numpy.testing included), the module aliases of the locked cells
(`np` for numpy), sys hooks and IPython's error reporting. Before each graded cell the grader calls
`restore()`, which puts all of it back, so a solution that patched `np.testing.assert_allclose`, replaced
`AssertionError`, rebound `np`, or installed an exception handler that swallows errors, runs the graded
test against the real thing. numpy.testing's assertions are also hardened for graded cells: they compare
plain numeric numpy arrays only (an array of Python objects with a rigged `__eq__`/`__sub__`, or an
ndarray subclass overriding numpy's dispatch, is turned away with a clear message).

What this cannot do: code running in the same process can, with enough effort, rewrite the kernel itself.
That is why the grader also checks each cell's reply status (not just its output), runs a canary after the
last cell, and isolates the kernel (bubblewrap) so that whatever it does only touches its own copy.
"""


def install(key, aliases, output_limit=0):
    """Snapshot the pristine state; register `restore` as module `key` in sys.modules. With `output_limit`
    (bytes), a cell printing more than that through sys.stdout/sys.stderr gets OutputLimitExceeded."""
    import builtins
    import sys
    import types

    import numpy
    import numpy.testing  # noqa: F401 (loaded so that it is part of the snapshot)

    shell = get_ipython()  # noqa: F821 (IPython puts it in builtins while a cell runs)
    MISSING = object()
    ModuleType = types.ModuleType
    pristine_asarray, ndarray = numpy.asarray, numpy.ndarray

    def _callable_entries(mod):
        return {k: v for k, v in vars(mod).items() if callable(v) or isinstance(v, ModuleType)}

    # ipykernel rebinds builtins.input (stdin forwarding) for every request: not the student's doing
    snap_builtins = {k: v for k, v in vars(builtins).items() if k not in ("input", "raw_input", "getpass")}
    watched = [n for n in sys.modules if n == "numpy" or n.startswith("numpy.")] + ["math", "operator", "functools"]
    modules = {n: (sys.modules[n], _callable_entries(sys.modules[n])) for n in watched if n in sys.modules}
    # the code objects of numpy.testing's functions: swapping `f.__code__` changes a function in place
    codes = [(f, f.__code__) for f in vars(numpy.testing).values() if type(f) is types.FunctionType]
    sys_hooks = {n: getattr(sys, n) for n in ("displayhook", "stdout", "stderr") if hasattr(sys, n)}
    shell_names = ("run_cell", "run_cell_async", "_run_cell", "run_code", "run_ast_nodes", "showtraceback",
                   "_showtraceback", "showsyntaxerror", "showindentationerror", "CustomTB", "set_custom_exc",
                   "transform_cell", "should_run_async", "excepthook", "get_exception_only")
    kernel = getattr(shell, "kernel", None)
    kernel_names = ("do_execute", "execute_request", "run_cell", "_publish_execution_input", "send_response")
    class_attrs = []
    for obj, names in ((shell, shell_names), (kernel, kernel_names)):
        if obj is None:
            continue
        for cls in type(obj).__mro__:
            class_attrs.extend((cls, n, cls.__dict__[n]) for n in names if n in cls.__dict__)
    inst_attrs = [(obj, {n: vars(obj).get(n, MISSING) for n in names})
                  for obj, names in ((shell, shell_names), (kernel, kernel_names)) if obj is not None]
    custom_exceptions = shell.custom_exceptions
    tb_classes = [(tb, type(tb), dict(vars(tb))) for tb in (shell.InteractiveTB, shell.SyntaxTB)]

    # numpy.testing's assertions for graded cells: plain numeric arrays only, then numpy's own comparison
    originals = {n: getattr(numpy.testing, n) for n in
                 ("assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_array_less")
                 if hasattr(numpy.testing, n)}
    real_type, real_isinstance = type, isinstance

    def plain(x, role):
        if real_type(x) in (bool, int, float, complex, str, bytes):
            return x
        a = pristine_asarray(x)
        if real_type(a) is not ndarray:
            a = ndarray.view(a, ndarray)
        if a.dtype.kind == "O":
            raise AssertionError(f"the {role} value is an array of Python objects (dtype=object), not numbers: "
                                 "graded tests compare numeric numpy arrays (a Tensor's .data must hold numbers)")
        return a

    def harden(name, fn):
        def checked(actual, desired, *args, **kwargs):
            return fn(plain(actual, "actual"), plain(desired, "expected"), *args, **kwargs)
        checked.__name__ = checked.__qualname__ = name
        checked.__doc__ = fn.__doc__
        return checked

    hardened = {n: harden(n, f) for n, f in originals.items()}

    def restore():
        "Put back everything the snapshot holds; return the names that had been changed."
        changed = []
        bdict = vars(builtins)
        for k, v in snap_builtins.items():
            if bdict.get(k, MISSING) is not v:
                bdict[k] = v
                changed.append(f"builtins.{k}")
        for name, (mod, entries) in modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                changed.append(f"sys.modules[{name!r}]")
            mdict = vars(mod)
            for k, v in entries.items():
                if mdict.get(k, MISSING) is not v:
                    if not (mod is numpy.testing and k in hardened and mdict.get(k) is hardened[k]):
                        changed.append(f"{name}.{k}")
                    mdict[k] = v
        for k, v in hardened.items():
            setattr(numpy.testing, k, v)
        for f, code in codes:
            if f.__code__ is not code:
                f.__code__ = code
                changed.append(f"the code of numpy.testing.{f.__name__}")
        for k, v in sys_hooks.items():
            if getattr(sys, k) is not v:
                setattr(sys, k, v)
                changed.append(f"sys.{k}")
        for cls, n, v in class_attrs:
            if cls.__dict__.get(n, MISSING) is not v:
                setattr(cls, n, v)
                changed.append(f"{cls.__name__}.{n}")
        for obj, saved in inst_attrs:
            d = vars(obj)
            for n, v in saved.items():
                if d.get(n, MISSING) is not v:
                    changed.append(f"{type(obj).__name__}().{n}")
                    if v is MISSING:
                        d.pop(n, None)
                    else:
                        d[n] = v
        if shell.custom_exceptions != custom_exceptions:
            shell.custom_exceptions = custom_exceptions
            changed.append("custom exception handler")
        for tb, cls, state in tb_classes:
            if real_type(tb) is not cls or not real_isinstance(tb, cls):
                continue
            d = vars(tb)
            for n, v in state.items():
                if d.get(n, MISSING) is not v and callable(v):
                    changed.append(f"{cls.__name__}().{n}")
                    d[n] = v
        ns = shell.user_ns
        for alias, modname in aliases.items():
            mod = sys.modules.get(modname)
            if alias not in ns or mod is None:   # not imported yet by the notebook: nothing to put back
                continue
            if ns[alias] is not mod:
                ns[alias] = mod
                changed.append(f"the name {alias!r} ({modname})")
        return changed

    if output_limit:
        import threading
        main = threading.main_thread()
        state = {"written": 0, "tripped": False}

        class OutputLimitExceeded(Exception):
            "This cell printed more than the grader's output limit."

        def limited(write):
            def checked_write(text, *args, **kwargs):
                state["written"] += len(text) if isinstance(text, str) else 0
                if state["written"] <= output_limit:
                    return write(text, *args, **kwargs)
                if threading.current_thread() is main and not state["tripped"]:
                    state["tripped"] = True
                    raise OutputLimitExceeded(f"this cell printed more than {output_limit // 1024} KB: stopped")
                return len(text)
            checked_write.tito_limited = True
            return checked_write

        def reset(*args, **kwargs):
            # IPython wraps each stream's `write` anew for every cell (and unwraps it after): wrap it again
            state["written"], state["tripped"] = 0, False
            for stream in (sys.stdout, sys.stderr):
                if not getattr(stream.write, "tito_limited", False):
                    stream.write = limited(stream.write)

        shell.events.register("pre_execute", reset)

    guard = ModuleType(key)
    guard.restore = restore
    guard.changes = []
    sys.modules[key] = guard
