# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · Profiling: where does the time go?
#
# Your framework now trains transformers. Is it fast? "It feels slow" is not an answer you
# can act on; a **profile** is. In this module you build an op-level profiler for
# `tinytorch`: while it is active, every operation reports its time, the floating-point work
# it did, and the bytes it wrote, separately for the forward and the backward pass.
#
# ```python
# with Profiler() as prof:
#     loss = model(x).sum()
#     loss.backward()
# print(prof.table())
# ```
#
# prints one row per kind of op, slowest first (your times will differ):
#
# ```
# op              calls   fwd ms  bwd calls   bwd ms  % ops    GFLOP  GFLOP/s   MB out  FLOP/B
# linear              6    1.912          6    3.544   61.2    0.202    105.6     2.36    36.6
# softmax             1    0.402          1    0.311    8.0    0.001      1.6     0.52     0.6
# ...
# ```
#
# What you build, and what it teaches:
#
# | piece | the systems idea |
# |---|---|
# | `op_flops` | counting work: a matmul does `2·m·k·n` FLOPs, an element-wise op one per element |
# | `find_ops` | every graph node is made by `Tensor.from_op`, so the ops are the functions that call it |
# | `Profiler` (a context manager) | instrumenting code without changing it, and putting everything back |
# | self time vs inclusive time | an op that calls other ops must not be counted twice |
# | `table()` | GFLOP/s and FLOPs per byte: which ops are compute-bound, which memory-bound |
# | experiments | a transformer block's time budget; attention's quadratic cost in sequence length |
#
# Prerequisites: 01–02 (Tensor, autograd) for the profiler itself; the experiments use
# `Linear` (04) and `softmax`/`gelu` (03), and module 13's `TransformerBlock` when it is
# installed.

# %%
#| default_exp core.profiling

# %% nbgrader={"grade": false, "grade_id": "14-profiling-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import functools
import sys
import time
import types
from dataclasses import dataclass

import numpy as np
from fastcore.basics import patch

from tinytorch.core.tensor import Tensor
import tinytorch.core.autograd  # noqa: F401  (gives Tensor its differentiable ops and from_op)

# %% [markdown]
# ## 1. Counting the work: FLOPs per op
#
# A **FLOP** is one floating-point addition or multiplication. Counting them tells you how
# much arithmetic an op *had* to do, independent of how fast it ran; dividing by the time
# gives its **throughput** in GFLOP/s, which you can compare with what the machine can do
# (on this course's 2-core machine numpy's float32 matmul reaches about 100–200 GFLOP/s).
#
# The rules, for an output with `n` elements:
#
# | op | FLOPs | why |
# |---|---|---|
# | `matmul`, `linear` (`(…, m, k) @ (k, n)`) | `2·k` per output element (`2·m·k·n` for one matrix) | each output is a `k`-long dot product: `k` multiplies and `k` adds (`linear`'s bias adds `n` more) |
# | `conv2d` (weight `(C_out, C_in, kh, kw)`) | `2·C_in·kh·kw` per output element | a dot product over the receptive field |
# | `scaled_dot_product_attention` (q `(…, T_q, d)`, k `(…, T_k, d)`, v `(…, T_k, d_v)`) | `T_k·(2d + 2d_v + 5)` per query row | `q·kᵀ`, softmax over `T_k` scores, weights `·v` |
# | `multi_head_attention` (fused, qkv `(B, T, 3D)` → `(B, T, D)`) | `4·T` per output element (`4·B·T²·D`) | the two attention matmuls over `T` keys; its softmax and a KV cache's extra keys are not visible in the shapes, so not counted |
# | element-wise (`add`, `mul`, `relu`, …) | `n` | one operation per output |
# | reductions (`sum`, `mean`, `max`, pooling) | elements of the **input** | every input is combined once |
# | data movement (`reshape`, `transpose`, `getitem`, `embedding`) | 0 | no arithmetic, only copying |
# | others (`exp`, `softmax`, `layer_norm`, …) | a small factor × `n`, from `PER_ELEMENT` | e.g. softmax: max, subtract, exp, sum, divide |
#
# Anything not in the tables counts as element-wise (one FLOP per output element): an
# estimate, stated as such. Counts are for the **forward** pass; a matmul's backward does two
# matmuls of the same size (`dA = dC·Bᵀ`, `dB = Aᵀ·dC`), so about twice the forward FLOPs.
#
# Ops are named the way the profiler will see them: a method `Tensor.__add__` is `add`,
# `__truediv__` is `div`, a method of another class is `Class.method` (e.g. `Dropout.forward`),
# and the tables are looked up by the part before the dot, lower-cased, without underscores
# (`LayerNorm.forward` → `layernorm`, `log_softmax` → `logsoftmax`).

# %% nbgrader={"grade": false, "grade_id": "14-profiling-names", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (op-name tables and the helpers op_flops uses): importable, not part of the module's `__all__`
ELEMENTWISE = {"add", "sub", "mul", "div", "neg", "pow", "relu", "dropout", "maximum", "minimum", "where"}
REDUCTIONS = {"sum", "mean", "max", "min", "maxpool2d", "avgpool2d"}
MOVEMENT = {"reshape", "transpose", "getitem", "embedding", "concat", "stack", "pad"}
PER_ELEMENT = {"exp": 1, "log": 1, "sqrt": 1, "tanh": 5, "sigmoid": 4, "gelu": 10, "gelutanh": 10, "softmax": 5,
               "logsoftmax": 5, "maskedsoftmax": 5, "layernorm": 8, "crossentropy": 6, "mseloss": 3,
               "binarycrossentropywithlogits": 6}
RENAMES = {"truediv": "div", "rtruediv": "rdiv"}

def clean_name(name, owner=None):
    "The profiler's name for a function: `__add__` -> `add`; a method of a class other than Tensor -> `Class.method`."
    if name.startswith("__") and name.endswith("__"):
        name = RENAMES.get(name[2:-2], name[2:-2])
    return name if owner is None or owner is Tensor else f"{owner.__name__}.{name}"

def flop_key(name):
    "The FLOP tables' key for an op name: `LayerNorm.forward` -> `layernorm`, `log_softmax` -> `logsoftmax`."
    return name.split(".")[0].lower().replace("_", "")

# %% nbgrader={"grade": false, "grade_id": "14-profiling-op-flops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def op_flops(name, in_shapes, out_shape):
    "Forward FLOPs of one call of op `name`, from its inputs' shapes and its output's shape."
    key, n = flop_key(name), int(np.prod(out_shape, dtype=np.int64))
    ### BEGIN SOLUTION
    bias = n if len(in_shapes) > 2 else 0
    if key in ("matmul", "linear"):
        return 2 * n * int(in_shapes[0][-1]) + bias
    if key == "conv2d":
        return 2 * n * int(np.prod(in_shapes[1][1:], dtype=np.int64)) + bias
    if key == "scaleddotproductattention":
        rows, keys = int(np.prod(in_shapes[0][:-1], dtype=np.int64)), int(in_shapes[1][-2])
        return rows * keys * (2 * int(in_shapes[0][-1]) + 2 * int(in_shapes[2][-1]) + 5)
    if key == "multiheadattention":
        return 4 * n * int(out_shape[-2])
    if key in REDUCTIONS:
        return int(np.prod(in_shapes[0], dtype=np.int64))
    if key in MOVEMENT:
        return 0
    return PER_ELEMENT.get(key, 1) * n
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "14-profiling-flops-matmul", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
flops = op_flops("matmul", [(8, 16), (16, 4)], (8, 4))
assert isinstance(flops, int), f"op_flops returns a Python int, got {type(flops).__name__}"
assert flops == 2 * 8 * 16 * 4, f"(8,16) @ (16,4) is 2*m*k*n = 1024 FLOPs, got {flops}"
assert op_flops("matmul", [(5, 3, 8, 16), (16, 4)], (5, 3, 8, 4)) == 2 * 5 * 3 * 8 * 16 * 4, "batched matmul"
assert op_flops("matmul", [(16,), (16, 4)], (4,)) == 2 * 16 * 4, "vector @ matrix"
assert op_flops("linear", [(32, 10), (10, 7), (7,)], (32, 7)) == 2 * 32 * 10 * 7 + 32 * 7, "linear with bias"
assert op_flops("linear", [(32, 10), (10, 7)], (32, 7)) == 2 * 32 * 10 * 7, "linear without bias"
### BEGIN HIDDEN TESTS
assert op_flops("matmul", [(2, 4, 64, 32), (2, 4, 32, 64)], (2, 4, 64, 64)) == 2 * 2 * 4 * 64 * 32 * 64
assert op_flops("conv2d", [(2, 3, 8, 8), (6, 3, 3, 3)], (2, 6, 6, 6)) == 2 * 2 * 6 * 6 * 6 * 27
assert op_flops("conv2d", [(2, 3, 8, 8), (6, 3, 3, 3), (6,)], (2, 6, 6, 6)) == 2 * 2 * 6 * 6 * 6 * 27 + 2 * 6 * 6 * 6
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "14-profiling-flops-attention", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# q, k, v of 2 sequences x 4 heads, 10 queries and 12 keys of width 8: 2*8 + 2*8 + 5 FLOPs per (query, key) pair
got = op_flops("scaled_dot_product_attention", [(2, 4, 10, 8), (2, 4, 12, 8), (2, 4, 12, 8)], (2, 4, 10, 8))
assert isinstance(got, int) and got == 2 * 4 * 10 * 12 * (2 * 8 + 2 * 8 + 5), got
assert op_flops("multi_head_attention", [(3, 16, 3 * 32)], (3, 16, 32)) == 4 * 3 * 16 * 16 * 32, "4*B*T^2*D"

# %% nbgrader={"grade": true, "grade_id": "14-profiling-flops-other", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert op_flops("add", [(4, 5), (5,)], (4, 5)) == 20, "element-wise: one FLOP per output element"
assert op_flops("relu", [(4, 5)], (4, 5)) == 20
assert op_flops("sum", [(4, 5)], ()) == 20, "a reduction combines every input element"
assert op_flops("max", [(4, 5)], (4,)) == 20
assert op_flops("transpose", [(4, 5)], (5, 4)) == 0 and op_flops("getitem", [(4, 5)], (2, 5)) == 0, "movement is free"
assert op_flops("softmax", [(4, 5)], (4, 5)) == 5 * 20 and op_flops("log_softmax", [(4, 5)], (4, 5)) == 5 * 20
assert op_flops("LayerNorm.forward", [(4, 5), (5,), (5,)], (4, 5)) == 8 * 20, "Class.method looks up the class name"
assert op_flops("Dropout.forward", [(4, 5)], (4, 5)) == 20
assert op_flops("my_new_op", [(3, 3)], (3, 3)) == 9, "an unknown op counts one FLOP per output element"

# %% [markdown]
# ## 2. Finding the ops
#
# Module 02 made one function the only way a graph node is born:
# `Tensor.from_op(data, parents, backward)`. Every differentiable op — `Tensor.__add__`,
# `Tensor.matmul`, module 03's `softmax`, module 04's `linear`, `Dropout.forward` — computes
# its numpy result and then calls it. That gives the profiler two hooks:
#
# 1. **The ops themselves**, for timing. A Python function carries its compiled code, and
#    `fn.__code__.co_names` lists the global and attribute names it uses; a function that
#    mentions `from_op` (in its own code or in a function defined inside it, found in
#    `co_consts`) creates graph nodes. `Tensor.__radd__` (which calls `__add__`) does not
#    mention it and is not an op of its own; `Tensor.matmul` does.
# 2. **`Tensor.from_op`**, for everything known once the result exists: the op's inputs
#    (shapes, bytes), its output, and its `backward` closure.
#
# `find_ops()` walks the loaded `tinytorch` modules (`sys.modules`), their functions and the
# methods of the classes they define, and lists every op with where it lives, so the
# profiler can replace it and later put it back. The profiler's own module is skipped.
#
# One catch: `from tinytorch.core.activations import softmax` copies a *reference* to the
# function into the importing namespace. Replacing `activations.softmax` does not change
# what the name `softmax` means in your notebook. So the same function may be reachable
# under several names, and each place must be listed: `find_ops(namespace)` also scans one
# extra dict of globals — the profiler passes the globals of the code that opened the `with`
# block (your notebook or script), which is where such imports usually live.

# %% nbgrader={"grade": false, "grade_id": "14-profiling-find-ops", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def makes_nodes(code):
    "Whether compiled `code`, or a function defined inside it, mentions `from_op`."
    ### BEGIN SOLUTION
    return "from_op" in code.co_names or any(isinstance(c, types.CodeType) and makes_nodes(c) for c in code.co_consts)
    ### END SOLUTION

def find_ops(namespace=None):
    "`(owner, attribute, function, name)` for every function or method that makes graph nodes in the loaded tinytorch modules and in `namespace` (a dict of globals)."
    spaces = [(m, vars(m), n) for n, m in sorted(sys.modules.items())
              if m is not None and (n == "tinytorch" or n.startswith("tinytorch.")) and n != "tinytorch.core.profiling"]
    if namespace is not None and all(namespace is not space for _, space, _ in spaces):
        spaces.append((namespace, namespace, namespace.get("__name__")))
    found = []
    for owner, space, module_name in spaces:
        ### BEGIN SOLUTION
        for attr, value in list(space.items()):
            if isinstance(value, types.FunctionType) and makes_nodes(value.__code__):
                found.append((owner, attr, value, clean_name(value.__name__)))
            elif isinstance(value, type) and value.__module__ == module_name:
                for a, v in list(vars(value).items()):
                    if isinstance(v, types.FunctionType) and a != "from_op" and makes_nodes(v.__code__):
                        found.append((value, a, v, clean_name(a, value)))
        ### END SOLUTION
    return found

# %% nbgrader={"grade": true, "grade_id": "14-profiling-find-ops-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import tinytorch.core.activations as activations_module
ops = find_ops()
assert isinstance(ops, list) and all(isinstance(o, tuple) and len(o) == 4 for o in ops)
where = {(owner, attr): name for owner, attr, fn, name in ops}
assert where.get((Tensor, "matmul")) == "matmul" and where.get((Tensor, "__add__")) == "add"
assert where.get((Tensor, "__truediv__")) == "div" and where.get((Tensor, "__getitem__")) == "getitem"
assert (Tensor, "__radd__") not in where and (Tensor, "__matmul__") not in where, "these call other ops, they make no node"
assert (Tensor, "from_op") not in where, "from_op itself is hooked separately"
assert where.get((activations_module, "relu")) == "relu", "module-level functions are ops too"
assert all(fn is getattr(owner, attr) for owner, attr, fn, _ in ops), "each entry is the object found at owner.attr"
assert makes_nodes((lambda x: Tensor.from_op(x, (), None)).__code__) and not makes_nodes((lambda x: x + 1).__code__)

# %% [markdown]
# ## 3. Timing an op honestly
#
# Why not just time `from_op` calls? Charging an op with the time since the *previous*
# `from_op` call would give it, besides its own numpy work, all the Python that ran since
# the previous op — your model's `forward`, `Module` calls, argument checks — and after a
# pause (loading a batch, an optimizer step) everything in the pause. Charging it with the
# time until the *next* call would give it the next op's numpy work, which runs before that
# op calls `from_op`. The backward pass would not be seen at all. The only sound forward time
# of an op is the time from **entering** its function to **returning** from it. So the profiler replaces each op
# found by `find_ops` with a thin wrapper that reads the clock (`time.perf_counter`, the
# highest-resolution clock Python has) on the way in and out.
#
# **Self time.** Some ops call other ops (`scaled_dot_product_attention` calls `matmul`; a
# composed softmax calls `exp` and `sum`). Adding up *inclusive* times would count the inner
# ops twice. The wrapper keeps a **stack** of the ops running now; each entry is
# `[name, time spent in nested work, events]`. When an op returns, its inclusive time is
# added to its caller's "nested" slot, and the op is credited with
# `inclusive − nested`: its **self time**. Summing self times over all ops gives the true time
# spent in ops, with nothing counted twice.
#
# **The backward pass.** `from_op` receives each node's `backward` closure. When the node
# records a graph (`out.requires_grad`), the profiler replaces `out._backward` by a wrapper
# that times it and credits the same op name: `matmul`'s backward is charged to `matmul`.
# `functools.wraps` keeps the closure's `__qualname__`, which module 02's shape-error message
# prints. A closure that runs after the profiler has exited simply calls through.
#
# **Its own cost.** The bookkeeping in the `from_op` hook (shapes, FLOPs, the event record)
# is timed too, excluded from the op's self time like nested work, and reported as
# `overhead`. A `from_op` called from a function `find_ops` could not see (an op you define
# in another module of your own, one reached through a list or dict — a bare function inside
# `Sequential(...)` — or one created after the profiler started) still counts its call, FLOPs
# and bytes, but its forward time cannot be known: it is reported in the `untimed` column
# (marked `*` in the table), and its time shows up as time outside ops.
#
# **Putting everything back.** A profiler that leaves wrappers behind slows everything down
# and double-counts the next profile. `__enter__` wraps each op of
# `find_ops(sys._getframe(1).f_globals)` (the globals of the caller of `__enter__`: the code
# with the `with` statement), one wrapper per function however many names it has, and
# records every `(owner, attribute, original, wrapper)` it installs (the raw attribute from
# `vars(owner)`, so a class method stays a class method). `__exit__` restores them in reverse
# order — also when the profiled code raised, and also when `__enter__` itself fails
# half-way — except a name the profiled code rebound itself (say you redefined `relu` inside
# the block: your new definition stays). When no profiler is active, no
# tinytorch code runs a single extra instruction: **zero overhead when off.** Only one
# profiler may be active at a time (`Profiler.active`).

# %% nbgrader={"grade": false, "grade_id": "14-profiling-stats", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
@dataclass
class OpStats:
    "Totals for one op name: forward and backward calls and seconds, FLOPs, bytes read and written."
    name: str
    calls: int = 0          # forward calls
    fwd_time: float = 0.0   # seconds of self time in forward calls
    bwd_calls: int = 0
    bwd_time: float = 0.0
    flops: int = 0          # forward FLOPs
    bytes_in: int = 0       # bytes of the inputs of the nodes made
    bytes_out: int = 0      # bytes of the outputs of the nodes made
    untimed: int = 0        # calls whose forward time could not be measured

    @property
    def time(self):
        "Forward plus backward seconds."
        return self.fwd_time + self.bwd_time

# %% nbgrader={"grade": false, "grade_id": "14-profiling-profiler", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Profiler:
    "Time, FLOPs and bytes per op, forward and backward: `with Profiler() as prof: ...`, then `prof.table()`."
    active = None  # the profiler installed right now, if any

    def __init__(self, record_shapes=False):
        self.record_shapes = record_shapes  # also keep one event per graph node in `self.events`
        self.stats = {}                     # op name -> OpStats
        self.events = []
        self.wall_time = 0.0                # seconds inside `with` blocks
        self.overhead = 0.0                 # seconds of the profiler's own bookkeeping
        self._stack = []                    # [name, nested seconds, events] per op running now
        self._restore = []                  # (owner, attribute, original) to put back on exit

    def __getitem__(self, name):
        if name not in self.stats:
            raise KeyError(f"no op named {name!r} was recorded; recorded: {sorted(self.stats)}")
        return self.stats[name]

    def _stat(self, name):
        if name not in self.stats:
            self.stats[name] = OpStats(name)
        return self.stats[name]

    def _patch(self, owner, attr, new):
        "Set `owner.attr` (or `owner[attr]` for a dict of globals) to `new`, remembering the original."
        space = owner if isinstance(owner, dict) else vars(owner)
        self._restore.append((owner, attr, space[attr], new))
        if isinstance(owner, dict):
            owner[attr] = new
        else:
            setattr(owner, attr, new)

    def _unpatch(self):
        "Put back everything `_patch` replaced, newest first (unless the code inside rebound the name itself)."
        while self._restore:
            owner, attr, original, new = self._restore.pop()
            space = owner if isinstance(owner, dict) else vars(owner)
            if space.get(attr) is not new:
                continue
            if isinstance(owner, dict):
                owner[attr] = original
            else:
                setattr(owner, attr, original)

    def _timed(self, fn, name):
        "`fn` wrapped so each call adds its self time (inclusive minus nested ops) to `name`'s forward time."
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            ### BEGIN SOLUTION
            frame = [name, 0.0, []]
            self._stack.append(frame)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self._stack.pop()
                if self._stack:
                    self._stack[-1][1] += elapsed
                stat = self._stat(name)
                stat.calls += 1
                stat.fwd_time += elapsed - frame[1]
                if frame[2]:
                    frame[2][0]["fwd_time"] = elapsed - frame[1]
            ### END SOLUTION
        return timed

    def _timed_backward(self, backward, name, event):
        "`backward` wrapped so each call adds its time to `name`'s backward time while this profiler is active."
        @functools.wraps(backward)
        def timed_backward(grad):
            if Profiler.active is not self:
                return backward(grad)
            ### BEGIN SOLUTION
            start = time.perf_counter()
            grads = backward(grad)
            elapsed = time.perf_counter() - start
            stat = self._stat(name)
            stat.bwd_calls += 1
            stat.bwd_time += elapsed
            if event is not None:
                event["bwd_time"] += elapsed
            return grads
            ### END SOLUTION
        return timed_backward

    def _hook(self, original):
        "A replacement for `Tensor.from_op` that records each node: name, FLOPs, bytes, and a timed backward."
        def from_op(cls, data, parents, backward):
            out = original.__get__(None, cls)(data, parents, backward)
            start = time.perf_counter()
            frame = self._stack[-1] if self._stack else None
            name = frame[0] if frame else clean_name(sys._getframe(1).f_code.co_name)
            ### BEGIN SOLUTION
            in_shapes = [p.shape for p in parents]
            stat = self._stat(name)
            stat.flops += op_flops(name, in_shapes, out.shape)
            stat.bytes_in += sum(p.data.nbytes for p in parents)
            stat.bytes_out += out.data.nbytes
            if frame is None:
                stat.calls += 1
                stat.untimed += 1
            event = None
            if self.record_shapes:
                event = {"name": name, "in_shapes": in_shapes, "out_shape": out.shape,
                         "flops": op_flops(name, in_shapes, out.shape), "fwd_time": None, "bwd_time": 0.0}
                self.events.append(event)
                if frame is not None:
                    frame[2].append(event)
            if out.requires_grad:
                out._backward = self._timed_backward(out._backward, name, event)
            ### END SOLUTION
            spent = time.perf_counter() - start
            self.overhead += spent
            if frame is not None:
                frame[1] += spent
            return out
        return classmethod(from_op)

    def __enter__(self):
        if Profiler.active is not None:
            raise RuntimeError("a Profiler is already active: profilers do not nest")
        ### BEGIN SOLUTION
        try:
            wrappers, done = {}, set()
            for owner, attr, fn, name in find_ops(sys._getframe(1).f_globals):
                if (id(owner), attr) in done:
                    continue
                done.add((id(owner), attr))
                if id(fn) not in wrappers:
                    wrappers[id(fn)] = self._timed(fn, name)
                self._patch(owner, attr, wrappers[id(fn)])
            self._patch(Tensor, "from_op", self._hook(vars(Tensor)["from_op"]))
        except BaseException:
            self._unpatch()
            raise
        Profiler.active = self
        self._start = time.perf_counter()
        return self
        ### END SOLUTION

    def __exit__(self, *exc_info):
        ### BEGIN SOLUTION
        self.wall_time += time.perf_counter() - self._start
        Profiler.active = None
        self._stack.clear()
        self._unpatch()
        return False  # an exception inside the block propagates
        ### END SOLUTION

# %% [markdown]
# First checks: the profiler attributes a matmul's FLOPs and bytes exactly, counts forward
# and backward calls, and leaves `Tensor` exactly as it found it.

# %% nbgrader={"grade": true, "grade_id": "14-profiling-matmul-attribution", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
A = Tensor(rng.standard_normal((8, 16)))
B = Tensor(rng.standard_normal((16, 4)))
with Profiler() as prof:
    C = A @ B
assert isinstance(C, Tensor) and C.shape == (8, 4)
np.testing.assert_allclose(np.asarray(C.data), A.data @ B.data, rtol=1e-5)
mm = prof["matmul"]
assert isinstance(mm, OpStats) and mm.calls == 1 and mm.untimed == 0
assert mm.flops == 2 * 8 * 16 * 4, f"2*m*k*n = 1024 FLOPs, got {mm.flops}"
assert mm.bytes_out == 8 * 4 * 4 and mm.bytes_in == (8 * 16 + 16 * 4) * 4, "float32: 4 bytes an element"
assert 0 < mm.fwd_time < prof.wall_time, "the op's time is measured and lies inside the block"
assert set(prof.stats) == {"matmul"}, f"only the matmul ran, got {sorted(prof.stats)}"

# %% nbgrader={"grade": true, "grade_id": "14-profiling-forward-backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
W = Tensor(rng.standard_normal((16, 4)), requires_grad=True)
with Profiler() as prof:
    for _ in range(3):
        loss = ((A @ W) * 2.0).sum()
        loss.backward()
assert prof["matmul"].calls == 3 and prof["mul"].calls == 3 and prof["sum"].calls == 3
assert prof["matmul"].bwd_calls == 3 and prof["sum"].bwd_calls == 3, "each recorded node's backward ran once per step"
assert prof["matmul"].bwd_time > 0 and prof["matmul"].flops == 3 * 2 * 8 * 16 * 4
np.testing.assert_allclose(np.asarray(W.grad.data), 3 * 2.0 * A.data.T @ np.ones((8, 4)), rtol=1e-5)
from tinytorch.core.autograd import no_grad
with Profiler() as prof:
    with no_grad():
        A @ W
assert prof["matmul"].calls == 1 and prof["matmul"].bwd_calls == 0, "no graph, no backward"
### BEGIN HIDDEN TESTS
x = Tensor(rng.standard_normal(5), requires_grad=True)
with Profiler() as prof:
    y = (x * x).sum()
y.backward()  # after the block: the closures call through without recording
assert prof["mul"].bwd_calls == 0 and prof["sum"].bwd_calls == 0
np.testing.assert_allclose(np.asarray(x.grad.data), 2 * x.data, rtol=1e-6)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "14-profiling-restores", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
before = dict(vars(Tensor))
with Profiler() as prof:
    assert Profiler.active is prof and vars(Tensor)["matmul"] is not before["matmul"], "ops are wrapped inside"
assert Profiler.active is None
assert all(vars(Tensor)[k] is v for k, v in before.items()), "every Tensor attribute is restored after the block"
try:
    with Profiler() as prof:
        A @ B
        raise ValueError("boom")
except ValueError:
    pass
assert Profiler.active is None and vars(Tensor)["from_op"] is before["from_op"], "restored after an exception too"
assert all(vars(Tensor)[k] is v for k, v in before.items())
assert all(fn is getattr(owner, attr) for owner, attr, fn, _ in find_ops()), "module functions are restored"
assert prof["matmul"].calls == 1

# %% nbgrader={"grade": true, "grade_id": "14-profiling-self-time", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
prof = Profiler()
inner = prof._timed(lambda: time.sleep(0.03), "inner")
outer = prof._timed(lambda: (time.sleep(0.02), inner()), "outer")
start = time.perf_counter()
outer()
total = time.perf_counter() - start
assert prof["outer"].calls == 1 and prof["inner"].calls == 1
assert prof["inner"].fwd_time >= 0.03 and prof["outer"].fwd_time >= 0.02
assert prof["outer"].fwd_time < total - 0.029, "the outer op's self time excludes the nested op"
assert abs(prof["outer"].fwd_time + prof["inner"].fwd_time - total) < 0.005, "self times add up to the whole"

# %% nbgrader={"grade": true, "grade_id": "14-profiling-untimed", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
v = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
with Profiler() as prof:
    def square(x):
        "An op created after the profiler started: it was not wrapped, but from_op still sees it."
        return Tensor.from_op(x.data * x.data, (x,), lambda g: (2 * g * x.data,))
    square(v).sum().backward()
sq = prof["square"]
assert sq.calls == 1 and sq.untimed == 1 and sq.fwd_time == 0.0, "counted, but its forward time is unknown"
assert sq.flops == 12 and sq.bytes_out == 48 and sq.bwd_calls == 1 and sq.bwd_time > 0
assert prof["sum"].untimed == 0
np.testing.assert_allclose(np.asarray(v.grad.data), 2 * v.data, rtol=1e-6)
with Profiler() as prof:
    square(v)  # now `square` is in this notebook's globals when the block starts: wrapped and timed
assert prof["square"].untimed == 0 and prof["square"].calls == 1 and prof["square"].fwd_time > 0
assert globals()["square"] is square and not hasattr(square, "__wrapped__"), "the notebook's name is restored"

# %% [markdown]
# ## 4. The report
#
# `table()` turns the totals into a plain-text table, one row per op name, **sorted by total
# time** (forward + backward), so the top rows are where to look first. Columns:
#
# - `calls`, `fwd ms`, `bwd calls`, `bwd ms`, and `% ops`: this op's share of the time spent
#   in all ops;
# - `GFLOP` (forward) and `GFLOP/s` (forward FLOPs over forward time; `-` when untimed);
# - `MB out`: bytes written by the forward pass (every one of these stays alive until
#   `backward()` when a graph is recorded);
# - `FLOP/B`: **arithmetic intensity**, FLOPs per byte read and written. A matmul does `2k`
#   FLOPs per output element, so its intensity grows with `k`; an element-wise op does one
#   FLOP per 8–12 bytes moved. On a CPU that can do ~100 GFLOP/s but move only ~10 GB/s,
#   an op below ~10 FLOP/B is limited by **memory**, not arithmetic: this is the **roofline**
#   model, and it is why fusing element-wise ops (fewer passes over memory) pays off.
#
# Below the rows: the total, the wall time of the `with` blocks, and the time **outside
# ops**: wall time minus op time. That is the framework's own overhead (Python in
# `Module.__call__` and `forward`, the topological sort and gradient accumulation in
# `backward()`, `Tensor` construction outside ops) plus the profiler's bookkeeping, which is
# shown on its own. A large "outside ops" share means small tensors and too much Python per
# op. Format numbers with fixed widths so the columns line up (`f"{x:>9.3f}"`).

# %% nbgrader={"grade": false, "grade_id": "14-profiling-table", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _fmt(value, width, digits):
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

COLUMNS = [("op", 24), ("calls", 7), ("fwd ms", 10), ("bwd calls", 10), ("bwd ms", 10), ("% ops", 7),
           ("GFLOP", 9), ("GFLOP/s", 9), ("MB out", 9), ("FLOP/B", 8)]

@patch
def table(self: Profiler, limit=None):
    "The profile as plain text: one row per op, slowest first, then totals and the time outside ops."
    rows = sorted(self.stats.values(), key=lambda s: s.time, reverse=True)
    op_time = sum(s.time for s in rows)
    header = COLUMNS[0][0].ljust(COLUMNS[0][1]) + "".join(f"{c:>{w}}" for c, w in COLUMNS[1:])
    lines = [header, "-" * len(header)]
    ### BEGIN SOLUTION
    def row(name, calls, fwd, bwd_calls, bwd, flops, bytes_in, bytes_out, untimed):
        rate = flops / fwd / 1e9 if fwd > 0 and not untimed else None
        share = 100 * (fwd + bwd) / op_time if op_time > 0 else 0.0
        intensity = flops / (bytes_in + bytes_out) if bytes_in + bytes_out else None
        label = name if len(name) < 24 else name[:22] + "…"
        return (label.ljust(24) + f"{calls:>7d}" + _fmt(fwd * 1e3, 10, 3) + f"{bwd_calls:>10d}" +
                _fmt(bwd * 1e3, 10, 3) + _fmt(share, 7, 1) + _fmt(flops / 1e9, 9, 3) + _fmt(rate, 9, 1) +
                _fmt(bytes_out / 1e6, 9, 2) + _fmt(intensity, 8, 1))
    for s in rows[:limit]:
        lines.append(row(s.name + ("*" if s.untimed else ""), s.calls, s.fwd_time, s.bwd_calls, s.bwd_time,
                         s.flops, s.bytes_in, s.bytes_out, s.untimed))
    lines.append("-" * len(header))
    total = [sum(getattr(s, f) for s in rows) for f in
             ("calls", "fwd_time", "bwd_calls", "bwd_time", "flops", "bytes_in", "bytes_out", "untimed")]
    lines.append(row("total", *total))
    outside = self.wall_time - op_time
    share = 100 * outside / self.wall_time if self.wall_time > 0 else 0.0
    lines.append(f"wall time {self.wall_time * 1e3:.3f} ms; in ops {op_time * 1e3:.3f} ms; outside ops "
                 f"{outside * 1e3:.3f} ms ({share:.1f}%, of which profiler bookkeeping {self.overhead * 1e3:.3f} ms)")
    if any(s.untimed for s in rows):
        lines.append("* made nodes from a function the profiler could not wrap: forward time not measured "
                     "(it is counted outside ops)")
    ### END SOLUTION
    return "\n".join(lines)

# %% nbgrader={"grade": true, "grade_id": "14-profiling-table-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
X = Tensor(rng.standard_normal((64, 256)))
W1 = Tensor(rng.standard_normal((256, 256)) * 0.05, requires_grad=True)
((X @ W1) * (X @ W1)).mean().backward()  # warm-up: the first BLAS calls of a process are slow
with Profiler() as prof:
    for _ in range(5):
        h = X @ W1
        out = (h * h).mean()
        out.backward()
    def square(x):
        return Tensor.from_op(x.data * x.data, (x,), lambda g: (2 * g * x.data,))
    square(X)
text = prof.table()
assert isinstance(text, str)
lines = text.splitlines()
assert lines[0].split()[:3] == ["op", "calls", "fwd"] and "GFLOP/s" in lines[0] and "FLOP/B" in lines[0]
body = [l for l in lines[2:] if l and not l.startswith("-")][:4]
names = [l.split()[0] for l in body]
assert set(names) == {"matmul", "mul", "mean", "square*"}, f"one row per op, untimed marked with *: {names}"
times = [float(l.split()[2]) + float(l.split()[4]) for l in body]
assert times == sorted(times, reverse=True), "rows are sorted by total time, slowest first"
mm_row = body[names.index("matmul")].split()
assert int(mm_row[1]) == 5 and int(mm_row[3]) == 5
np.testing.assert_allclose(float(mm_row[6]), 5 * 2 * 64 * 256 * 256 / 1e9, rtol=1e-2)
shares = sum(float(l.split()[5]) for l in body)
assert abs(shares - 100) < 0.5, f"op shares add up to 100%, got {shares}"
assert any(l.startswith("total") for l in lines) and any("outside ops" in l for l in lines)
print(text)

# %% [markdown]
# ## 5. Where does a transformer block spend its time?
#
# A pre-LN transformer block (module 13) is attention plus an MLP, each in a residual branch.
# Here is a small one built from what you already have — `Linear` (04), `softmax` and `gelu`
# (03), and Tensor ops — so that this experiment runs on its own. For a batch of `B`
# sequences of length `T` with model width `D`, `H` heads of width `D/H`, and MLP width `4D`,
# the forward matmul FLOPs are:
#
# | part | shapes | FLOPs |
# |---|---|---|
# | q, k, v and output projections | 4 × `(B·T, D) @ (D, D)` | `8·B·T·D²` |
# | MLP up and down | `(B·T, D) @ (D, 4D)`, `(B·T, 4D) @ (4D, D)` | `16·B·T·D²` |
# | attention scores `q @ kᵀ` | `(B, H, T, D/H) @ (B, H, D/H, T)` | `2·B·T²·D` |
# | weighted values `w @ v` | `(B, H, T, T) @ (B, H, T, D/H)` | `2·B·T²·D` |
#
# The projections and the MLP grow **linearly** in `T`; the two attention matmuls (and the
# softmax over a `(B, H, T, T)` array) grow **quadratically**. They are equal when
# `4·T²·D = 24·T·D²`, i.e. at `T = 6·D`: for short sequences the MLP dominates, for long ones
# attention does.

# %% nbgrader={"grade": false, "grade_id": "14-profiling-block", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

from tinytorch.core.activations import gelu, softmax
from tinytorch.core.layers import Linear, Module

def causal_mask_values(T):
    "(T, T) float32: 0 where a position may look (itself and earlier), a large negative number above the diagonal."
    return np.triu(np.full((T, T), -1e9, dtype=np.float32), k=1)

class TinyBlock(Module):
    "Causal self-attention and a GELU MLP, each in a residual branch (no LayerNorm, to stay within modules 01-04)."

    def __init__(self, d_model, n_heads, seed=0):
        self.n_heads = n_heads
        self.q, self.k, self.v, self.out = (Linear(d_model, d_model, seed=seed + i) for i in range(4))
        self.up, self.down = Linear(d_model, 4 * d_model, seed=seed + 4), Linear(4 * d_model, d_model, seed=seed + 5)

    def heads(self, x):
        B, T, D = x.shape
        return x.reshape(B, T, self.n_heads, D // self.n_heads).transpose(0, 2, 1, 3)  # (B, H, T, D/H)

    def attention(self, x):
        B, T, D = x.shape
        q, k, v = self.heads(self.q(x)), self.heads(self.k(x)), self.heads(self.v(x))
        scores = (q * (1.0 / math.sqrt(D // self.n_heads))) @ k.transpose()  # (B, H, T, T)
        weights = softmax(scores + Tensor(causal_mask_values(T)), axis=-1)
        return self.out((weights @ v).transpose(0, 2, 1, 3).reshape(B, T, D))

    def forward(self, x):
        x = x + self.attention(x)
        return x + self.down(gelu(self.up(x)))

# %% [markdown]
# Profile one training step (forward and backward) of a block with `D = 128`, 4 heads, on a
# batch of 8 sequences of 64 tokens. Run it once untimed first (a **warm-up**: the first call
# pays for memory allocation and lazy initialisation, module 15 explains why).

# %%
block = TinyBlock(128, 4)
x_in = Tensor(rng.standard_normal((8, 64, 128)))
block(x_in).sum().backward()  # warm-up
with Profiler(record_shapes=True) as prof:
    block(x_in).sum().backward()
print(prof.table())

# %% nbgrader={"grade": true, "grade_id": "14-profiling-block-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
B_, T_, D_ = 8, 64, 128
assert isinstance(prof["linear"], OpStats) and prof["linear"].calls == 6 and prof["linear"].bwd_calls == 6
want_linear = 24 * B_ * T_ * D_ * D_ + B_ * T_ * (4 * D_ + 4 * D_ + D_)  # matmuls; biases of q, k, v, out, up, down
assert prof["linear"].flops == want_linear, f"linear FLOPs {prof['linear'].flops} != {want_linear}"
attn = [e for e in prof.events if e["name"] == "matmul"]
assert len(attn) == 2 and sum(e["flops"] for e in attn) == 4 * B_ * T_ * T_ * D_, "q@kT and w@v"
assert all(e["fwd_time"] is not None and e["fwd_time"] > 0 for e in attn)
assert prof["softmax"].flops == 5 * B_ * 4 * T_ * T_ and prof["softmax"].bytes_out == B_ * 4 * T_ * T_ * 4
assert sum(e["flops"] for e in prof.events) == sum(s.flops for s in prof.stats.values()), "events and totals agree"
for s in prof.stats.values():
    assert s.untimed == 0, f"{s.name}: every op of the block is a tinytorch op, all timed"
    assert s.bwd_calls == s.calls, f"{s.name}: every node of the block is on the gradient path"

# %% [markdown]
# Read the table: the six `linear` calls (projections and MLP) hold most of the FLOPs and run
# at tens to a hundred GFLOP/s. `softmax`, `add` and `gelu` do almost no arithmetic yet take
# a visible share of the time: they are **memory-bound** (FLOP/B below 1). And note the
# line "outside ops": the Python between ops.
#
# If module 13 is installed, profile its `TransformerBlock` the same way (it adds the two
# LayerNorms and its own attention module):

# %%
import importlib.util
if importlib.util.find_spec("tinytorch.core.transformers") is not None:
    from tinytorch.core.transformers import TransformerBlock
    tblock = TransformerBlock(128, 4, 512, dropout=0.0, causal=True)
    tblock(x_in).sum().backward()  # warm-up
    with Profiler() as tprof:
        tblock(x_in).sum().backward()
    print(tprof.table(limit=12))
else:
    print("tinytorch.core.transformers is not installed yet: export module 13 to profile its TransformerBlock")

# %% [markdown]
# ## 6. Attention is quadratic in sequence length
#
# Profile the attention part alone at growing `T`, keeping `B`, `D` and the heads fixed, and
# pick the scores matmul out of `prof.events` by its output shape `(…, T, T)`. Its FLOPs grow
# exactly 4× each time `T` doubles; its time should grow about as fast once the arrays are
# large enough for the matmul to run at full speed (tiny matmuls are dominated by fixed
# per-call costs). The projections (`linear`) grow only 2×.

# %% nbgrader={"grade": false, "grade_id": "14-profiling-scaling", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention_scaling(block, seq_lens, batch=2, repeats=3, seed=0):
    "For each T: dict(T=, scores_flops=, scores_time=, linear_flops=, linear_time=) of the attention forward, best of `repeats`."
    rows = []
    for T in seq_lens:
        x = Tensor(np.random.default_rng(seed).standard_normal((batch, T, block.q.in_features)))
        block.attention(x)  # warm-up
        best = None
        for _ in range(repeats):
            ### BEGIN SOLUTION
            with Profiler(record_shapes=True) as p:
                block.attention(x)
            scores = [e for e in p.events if e["name"] == "matmul" and e["out_shape"][-2:] == (T, T)]
            row = {"T": T, "scores_flops": sum(e["flops"] for e in scores),
                   "scores_time": sum(e["fwd_time"] for e in scores),
                   "linear_flops": p["linear"].flops, "linear_time": p["linear"].fwd_time}
            if best is None or row["scores_time"] < best["scores_time"]:
                best = row
            ### END SOLUTION
        rows.append(best)
    return rows

# %% nbgrader={"grade": true, "grade_id": "14-profiling-scaling-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
small = TinyBlock(64, 4, seed=1)
rows = attention_scaling(small, [32, 64, 128], batch=2, repeats=2)
assert isinstance(rows, list) and [r["T"] for r in rows] == [32, 64, 128]
for r in rows:
    assert r["scores_flops"] == 2 * 2 * r["T"] ** 2 * 64, f"scores FLOPs at T={r['T']}: 2*B*T^2*D"
    assert r["scores_time"] > 0 and r["linear_time"] > 0
assert rows[1]["scores_flops"] == 4 * rows[0]["scores_flops"] and rows[2]["scores_flops"] == 4 * rows[1]["scores_flops"]
assert rows[2]["linear_flops"] == 2 * rows[1]["linear_flops"], "the projections grow linearly"
### BEGIN HIDDEN TESTS
one = attention_scaling(small, [48], batch=1, repeats=1)
assert len(one) == 1 and one[0]["scores_flops"] == 2 * 48 * 48 * 64 and one[0]["linear_flops"] == 4 * (2 * 48 * 64 * 64 + 48 * 64)
### END HIDDEN TESTS

# %% [markdown]
# Now at sizes where the clock can see it. Each line shows the scores matmul's time and how
# many times slower it got than at the previous `T` (FLOPs: 4×), next to the projections'.

# %%
rows = attention_scaling(TinyBlock(128, 4, seed=2), [64, 128, 256, 512], batch=2, repeats=3)
print(f"{'T':>5} {'scores MFLOP':>13} {'scores ms':>10} {'x prev':>7} {'linear MFLOP':>13} {'linear ms':>10} {'x prev':>7}")
for prev, r in zip([None] + rows[:-1], rows):
    grow = lambda key: f"{r[key] / prev[key]:7.1f}" if prev else f"{'':>7}"
    print(f"{r['T']:>5} {r['scores_flops'] / 1e6:>13.1f} {r['scores_time'] * 1e3:>10.3f} {grow('scores_time')} "
          f"{r['linear_flops'] / 1e6:>13.1f} {r['linear_time'] * 1e3:>10.3f} {grow('linear_time')}")

# %% [markdown]
# ## 7. Time the profile does not show: page faults
#
# The op table counts time inside numpy calls, but part of it is not arithmetic at all. A
# large numpy array (above glibc's `mmap` threshold, 128 KB to 32 MB) gets fresh pages from
# the operating system, and when it is freed glibc hands them back. The next array of that
# size touches pages the kernel must find and zero first: one *page fault* per 4 KB. A
# TinyGPT training step allocates hundreds of such arrays; on the course machine that was
# about 28 000 faults and 10% of the step, spent in the kernel (the "sys" time of `time`).
# PyTorch avoids it with a caching allocator that keeps freed blocks for reuse. glibc can do
# the same when asked: a fixed `mmap` threshold of 32 MB (its maximum) serves arrays from
# the heap, and a high *trim threshold* keeps freed heap memory in the process instead of
# returning it. `keep_freed_memory()` (given) does that with `mallopt`; the training scripts
# of the milestones and the benchmarks call it once at start. The cost: the process keeps
# its peak memory until it exits, which a training run does anyway.

# %% nbgrader={"grade": false, "grade_id": "14-profiling-keep-freed-memory", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=1 << 30):
    "Ask glibc to serve arrays up to `mmap_threshold` bytes from its heap and keep freed memory; False if not glibc."
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("c")
    if sys.platform != "linux" or name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(libc.mallopt(M_TRIM_THRESHOLD, trim_threshold))

# %% [markdown]
# Count the faults of a few large temporaries before and after (Linux only; `resource`
# reports the process's minor page faults):

# %%
import resource

def faults_of(fn):
    "Minor page faults while running fn()."
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

_big = np.ones((1024, 1024), dtype=np.float32)            # 4 MB
_temporaries = lambda: [(_big * 2).sum() for _ in range(20)]
print("page faults of 20 temporaries of 4 MB:", faults_of(_temporaries))
print("keep_freed_memory():", keep_freed_memory())
_temporaries()
print("after it:", faults_of(_temporaries))

# %% [markdown]
# ## Reflection
#
# Answer in a few sentences each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "14-profiling-reflect-method-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Measuring.** A simpler profiler would hook only `Tensor.from_op` and charge each op with
# the time since the previous `from_op` call. Name two things that number would include
# besides the op's own work, one thing it would miss entirely, and explain how wrapping each
# op's function (with self time) avoids these errors.

# %% [markdown] nbgrader={"grade": true, "grade_id": "14-profiling-reflect-method", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Includes: the Python glue since the previous op (model forward code, Module.__call__,
# argument checks/lifting, Tensor creation outside ops), and anything else that ran in
# between (data loading, optimizer step, printing) — the first op after a pause gets all of
# it. Misses: backward time (backward closures never call from_op), ops that make no node
# (e.g. dropout in eval); nested/composite ops cannot be separated. Wrapping measures entry to
# return of the op itself, so glue lands in "outside ops"; subtracting nested ops' time gives
# self time so nothing is counted twice; backward closures are wrapped separately.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "14-profiling-reflect-quadratic-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Quadratic attention.** For the capstone's model (`D = 256`, 4 heads, MLP width 1024,
# sequence length 128), estimate the fraction of a block's forward matmul FLOPs spent in the
# two attention matmuls. At what sequence length would they equal the projections plus MLP,
# and what else grows with `T²` besides FLOPs?

# %% [markdown] nbgrader={"grade": true, "grade_id": "14-profiling-reflect-quadratic", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Attention 4·B·T²·D vs projections+MLP 24·B·T·D²: ratio 4T²D / (24TD²) = T/(6D) =
# 128/1536 ≈ 8%; so about 7.7% of the total. Equal at T = 6D = 1536. Also growing as T²: the
# (B, H, T, T) score/weight arrays — memory kept for backward, softmax time (memory-bound),
# the mask; memory traffic rather than FLOPs often dominates.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "14-profiling-reflect-roofline-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Memory-bound ops.** In your block's profile, `softmax` and `add` run at a tiny fraction
# of `linear`'s GFLOP/s. Use the FLOP/B column to explain why, and name one change to the
# framework (not the model) that would make them faster.

# %% [markdown] nbgrader={"grade": true, "grade_id": "14-profiling-reflect-roofline", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# They do ~1 FLOP per 8–12 bytes moved (intensity ≪ 1), so their speed is set by memory
# bandwidth, not the ALUs; a matmul reuses each loaded value k times (intensity grows with k)
# and runs near peak. Fixes: fuse element-wise chains into one op (one pass over memory, e.g.
# softmax+mask, bias+gelu, residual add into the projection), do work in place / avoid
# temporaries, use float32 (not float64) to halve bytes, fewer graph nodes.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
