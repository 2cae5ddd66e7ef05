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

# %% nbgrader={"grade": false, "grade_id": "14-profiling-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

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
expect_that(flops, lambda v: type(v) is int, "op_flops", "op_flops returns a Python int")
expect_equal(flops, 2 * 8 * 16 * 4, "op_flops (matmul (8, 16) @ (16, 4): 2*m*k*n)")
expect_equal(op_flops("matmul", [(5, 3, 8, 16), (16, 4)], (5, 3, 8, 4)), 2 * 5 * 3 * 8 * 16 * 4,
             "op_flops (batched matmul)")
expect_equal(op_flops("matmul", [(16,), (16, 4)], (4,)), 2 * 16 * 4, "op_flops (vector @ matrix)")
expect_equal(op_flops("linear", [(32, 10), (10, 7), (7,)], (32, 7)), 2 * 32 * 10 * 7 + 32 * 7,
             "op_flops (linear with bias: one more FLOP per output)")
expect_equal(op_flops("linear", [(32, 10), (10, 7)], (32, 7)), 2 * 32 * 10 * 7, "op_flops (linear without bias)")
### BEGIN HIDDEN TESTS
expect_equal(op_flops("matmul", [(2, 4, 64, 32), (2, 4, 32, 64)], (2, 4, 64, 64)), 2 * 2 * 4 * 64 * 32 * 64,
             "op_flops (batched matmul of two 4-D arrays)")
expect_equal(op_flops("conv2d", [(2, 3, 8, 8), (6, 3, 3, 3)], (2, 6, 6, 6)), 2 * 2 * 6 * 6 * 6 * 27,
             "op_flops (conv2d: 2*C_in*kh*kw per output element)")
expect_equal(op_flops("conv2d", [(2, 3, 8, 8), (6, 3, 3, 3), (6,)], (2, 6, 6, 6)),
             2 * 2 * 6 * 6 * 6 * 27 + 2 * 6 * 6 * 6, "op_flops (conv2d with bias)")
expect_equal(op_flops("conv2d", [(1, 2, 5, 5), (4, 2, 3, 2)], (1, 4, 3, 4)), 2 * 4 * 3 * 4 * (2 * 3 * 2),
             "op_flops (conv2d with a non-square kernel)")
expect_equal(op_flops("linear", [(2, 3, 10), (10, 7), (7,)], (2, 3, 7)), 2 * 2 * 3 * 10 * 7 + 2 * 3 * 7,
             "op_flops (linear on a 3-D input)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "14-profiling-flops-attention", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# q, k, v of 2 sequences x 4 heads, 10 queries and 12 keys of width 8: 2*8 + 2*8 + 5 FLOPs per (query, key) pair
got = op_flops("scaled_dot_product_attention", [(2, 4, 10, 8), (2, 4, 12, 8), (2, 4, 12, 8)], (2, 4, 10, 8))
expect_that(got, lambda v: type(v) is int, "op_flops (scaled_dot_product_attention)", "op_flops returns a Python int")
expect_equal(got, 2 * 4 * 10 * 12 * (2 * 8 + 2 * 8 + 5), "op_flops (scaled_dot_product_attention)")
expect_equal(op_flops("scaled_dot_product_attention", [(3, 5, 6), (3, 7, 6), (3, 7, 2)], (3, 5, 2)),
             3 * 5 * 7 * (2 * 6 + 2 * 2 + 5), "op_flops (scaled_dot_product_attention: v narrower than q, k)")
expect_equal(op_flops("multi_head_attention", [(3, 16, 3 * 32)], (3, 16, 32)), 4 * 3 * 16 * 16 * 32,
             "op_flops (multi_head_attention: 4*B*T^2*D)")

# %% nbgrader={"grade": true, "grade_id": "14-profiling-flops-other", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
expect_equal(op_flops("add", [(4, 5), (5,)], (4, 5)), 20, "op_flops (element-wise: one FLOP per output element)")
expect_equal(op_flops("relu", [(4, 5)], (4, 5)), 20, "op_flops (relu: element-wise)")
expect_equal(op_flops("sum", [(4, 5)], ()), 20, "op_flops (a reduction combines every input element)")
expect_equal(op_flops("max", [(4, 5)], (4,)), 20, "op_flops (max: a reduction counts its input)")
expect_equal(op_flops("maxpool2d", [(2, 3, 8, 8)], (2, 3, 4, 4)), 2 * 3 * 8 * 8, "op_flops (maxpool2d: a reduction)")
expect_equal([op_flops("transpose", [(4, 5)], (5, 4)), op_flops("getitem", [(4, 5)], (2, 5))], [0, 0],
             "op_flops (data movement is free)")
expect_equal([op_flops("softmax", [(4, 5)], (4, 5)), op_flops("log_softmax", [(4, 5)], (4, 5))], [5 * 20, 5 * 20],
             "op_flops (softmax, log_softmax: 5 per element from PER_ELEMENT)")
expect_equal(op_flops("exp", [(4, 5)], (4, 5)), 20, "op_flops (exp: 1 per element from PER_ELEMENT)")
expect_equal(op_flops("LayerNorm.forward", [(4, 5), (5,), (5,)], (4, 5)), 8 * 20,
             "op_flops (Class.method looks up the class name)")
expect_equal(op_flops("Dropout.forward", [(4, 5)], (4, 5)), 20, "op_flops (Dropout.forward: element-wise)")
expect_equal(op_flops("my_new_op", [(3, 3)], (3, 3)), 9, "op_flops (an unknown op counts one FLOP per output element)")

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
expect_equal([makes_nodes((lambda x: Tensor.from_op(x, (), None)).__code__), makes_nodes((lambda x: x + 1).__code__)],
             [True, False], "makes_nodes (a function that mentions from_op, one that does not)")

def outer_op(x):
    def inner():
        return Tensor.from_op(x, (), None)
    return inner()

expect_equal(makes_nodes(outer_op.__code__), True, "makes_nodes (from_op in a function defined inside)")
ops = find_ops()
expect_equal(type(ops).__name__, "list", "find_ops (returns a list)")
expect_equal(sorted({(type(o).__name__, len(o)) for o in ops}), [("tuple", 4)],
             "find_ops (each entry is an (owner, attribute, function, name) tuple)")
tensor_ops = {attr: name for owner, attr, fn, name in ops if owner is Tensor}
expect_equal([tensor_ops.get(a) for a in ("matmul", "__add__", "__truediv__", "__getitem__")],
             ["matmul", "add", "div", "getitem"], "find_ops (Tensor's methods that make nodes, with their op names)")
expect_equal(sorted(a for a in ("__radd__", "__matmul__", "from_op", "__init__", "backward") if a in tensor_ops), [],
             "find_ops (__radd__ and __matmul__ call other ops and make no node; from_op is hooked separately)")
expect_equal([name for owner, attr, fn, name in ops if owner is activations_module and attr == "relu"], ["relu"],
             "find_ops (module-level functions are ops too)")
expect_equal([(getattr(owner, "__name__", "?"), attr) for owner, attr, fn, _ in ops if fn is not getattr(owner, attr)],
             [], "find_ops (each entry's function is the object found at owner.attr)")

class ScratchLayer:
    def forward(self, x):
        return Tensor.from_op(x, (), None)
    def describe(self):
        return "no node here"

scratch = {"__name__": ScratchLayer.__module__, "my_op": outer_op, "ScratchLayer": ScratchLayer, "Tensor": Tensor,
           "helper": lambda x: x, "number": 3}
found = find_ops(scratch)
expect_equal(sorted((attr, name) for owner, attr, fn, name in found if owner is scratch), [("my_op", "outer_op")],
             "find_ops (the functions of the extra namespace, named by their own name)")
expect_equal(sorted((attr, name) for owner, attr, fn, name in found if owner is ScratchLayer),
             [("forward", "ScratchLayer.forward")], "find_ops (methods of a class defined in the namespace)")
expect_agree(sum(owner is Tensor for owner, *_ in found), sum(owner is Tensor for owner, *_ in ops),
             "find_ops (a class imported into the namespace is listed once, where it is defined)")

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
# **Events.** With `Profiler(record_shapes=True)` the hook also appends one dict per node to
# `prof.events`: `{"name", "in_shapes", "out_shape", "flops", "fwd_time", "bwd_time"}` (the
# inputs' shapes as a list of tuples, the output's shape, that node's FLOPs, and seconds). A
# node's `fwd_time` is the self time of the op call that made it, set when the call returns; a
# call that makes several nodes gives it to its first node, and the others (like the nodes of
# an untimed call) keep `None`. Its `bwd_time` starts at `0.0` and adds the time of each run
# of that node's backward.
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
outside_start = time.perf_counter()
with Profiler() as prof:
    C = A @ B
outside = time.perf_counter() - outside_start
expect_equal([type(C).__name__, C.shape], ["Tensor", (8, 4)], "Profiler._timed (a wrapped op returns its result)")
expect_agree(np.asarray(C.data), A.data @ B.data, "Profiler._timed (a wrapped op returns its result)", rtol=1e-5)
mm = prof["matmul"]
expect_equal(type(mm).__name__, "OpStats", "Profiler (prof[name] is the op's OpStats)")
expect_equal([mm.calls, mm.untimed, mm.bwd_calls], [1, 0, 0],
             "Profiler.__enter__, Profiler._timed and the from_op hook (matmul wrapped and timed: 1 call, 0 untimed)")
expect_equal(mm.flops, 2 * 8 * 16 * 4, "Profiler._hook (the from_op hook adds the node's op_flops: 2*m*k*n)")
expect_equal([mm.bytes_in, mm.bytes_out], [(8 * 16 + 16 * 4) * 4, 8 * 4 * 4],
             "Profiler._hook (the from_op hook adds the bytes of the inputs and of the output; float32: 4 bytes)")
expect_that((mm.fwd_time, prof.wall_time), lambda v: 0 < v[0] < v[1], "Profiler._timed (forward time)",
            "the op's time is measured (> 0) and lies inside the block's wall time")
expect_that((prof.wall_time, outside), lambda v: 0 < v[0] <= v[1], "Profiler.__exit__ (wall time)",
            "the block's wall time is measured from entering to leaving it (no longer than the time around it)")
expect_equal(sorted(prof.stats), ["matmul"], "Profiler (only the matmul ran, so only it has stats)")
expect_that((prof.overhead, prof.wall_time), lambda v: 0 < v[0] < v[1], "Profiler._hook (overhead)",
            "the from_op hook's own time is counted, inside the block's wall time")

# %% nbgrader={"grade": true, "grade_id": "14-profiling-forward-backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
W = Tensor(rng.standard_normal((16, 4)), requires_grad=True)
with Profiler() as prof:
    for _ in range(3):
        loss = ((A @ W) * 2.0).sum()
        loss.backward()
expect_equal([prof["matmul"].calls, prof["mul"].calls, prof["sum"].calls], [3, 3, 3],
             "Profiler._timed (one forward call per op per step)")
expect_equal([prof["matmul"].bwd_calls, prof["mul"].bwd_calls, prof["sum"].bwd_calls], [3, 3, 3],
             "Profiler._timed_backward and the from_op hook (each recorded node's backward is wrapped, and ran once per step)")
expect_that([prof[n].bwd_time for n in ("matmul", "mul", "sum")], lambda v: all(t > 0 for t in v),
            "Profiler._timed_backward", "the backward time of each op is measured")
expect_that((sum(s.time for s in prof.stats.values()), prof.wall_time), lambda v: 0 < v[0] <= v[1],
            "Profiler._timed_backward (op times)", "forward and backward times of all ops fit inside the wall time")
expect_equal(prof["matmul"].flops, 3 * 2 * 8 * 16 * 4, "Profiler._hook (the from_op hook adds FLOPs of every call)")
expect_agree(np.asarray(W.grad.data), 3 * 2.0 * A.data.T @ np.ones((8, 4)),
             "Profiler._timed_backward (the wrapped backward returns the gradients)", rtol=1e-5)
from tinytorch.core.autograd import no_grad
with Profiler() as prof:
    with no_grad():
        A @ W
expect_equal([prof["matmul"].calls, prof["matmul"].bwd_calls], [1, 0],
             "Profiler._hook (the from_op hook: no graph, no backward)")
### BEGIN HIDDEN TESTS
x = Tensor(rng.standard_normal(5), requires_grad=True)
with Profiler() as prof:
    y = (x * x).sum()
y.backward()  # after the block: the closures call through without recording
expect_equal([prof["mul"].bwd_calls, prof["sum"].bwd_calls, prof["mul"].bwd_time], [0, 0, 0.0],
             "Profiler._timed_backward (after the block, a backward calls through without recording)")
expect_agree(np.asarray(x.grad.data), 2 * x.data, "Profiler._timed_backward (calls through after the block)", rtol=1e-6)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "14-profiling-restores", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.activations import relu
before = dict(vars(Tensor))
with Profiler() as prof:
    inside = [Profiler.active is prof, vars(Tensor)["matmul"] is not before["matmul"],
              vars(Tensor)["from_op"] is not before["from_op"]]
    one_wrapper = activations_module.relu is relu and hasattr(relu, "__wrapped__")
expect_equal(inside, [True, True, True],
             "Profiler.__enter__ (sets Profiler.active, wraps the ops and hooks from_op)")
expect_equal(one_wrapper, True,
             "Profiler.__enter__ (a function reachable under two names gets one wrapper, installed under both)")
expect_equal(Profiler.active is None, True, "Profiler.__exit__ (Profiler.active is None again)")
expect_equal(sorted(k for k, v in before.items() if vars(Tensor).get(k) is not v) + sorted(set(vars(Tensor)) - set(before)),
             [], "Profiler.__exit__ (every Tensor attribute is restored)")
expect_equal([hasattr(relu, "__wrapped__"), hasattr(activations_module.relu, "__wrapped__")], [False, False],
             "Profiler.__exit__ (the notebook's and the module's names are restored)")
with expect_raises(ValueError, "Profiler.__exit__ (an exception in the block propagates)", mentions=["boom"]):
    with Profiler() as prof:
        A @ B
        int("boom")
expect_equal([Profiler.active is None, vars(Tensor)["from_op"] is before["from_op"]], [True, True],
             "Profiler.__exit__ (restores everything after an exception too)")
expect_equal(sorted(k for k, v in before.items() if vars(Tensor).get(k) is not v), [],
             "Profiler.__exit__ (every Tensor attribute is restored after an exception)")
expect_equal([(getattr(owner, "__name__", "?"), attr) for owner, attr, fn, _ in find_ops()
              if fn is not getattr(owner, attr) or hasattr(fn, "__wrapped__")], [],
             "Profiler.__exit__ (module functions are restored)")
expect_equal(prof["matmul"].calls, 1, "Profiler (the op before the exception was recorded)")
with expect_raises(RuntimeError, "Profiler.__enter__ (profilers do not nest)"):
    with Profiler():
        with Profiler():
            pass
expect_equal(Profiler.active is None, True, "Profiler.__exit__ (after a refused nested profiler)")

# %% nbgrader={"grade": true, "grade_id": "14-profiling-self-time", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
prof = Profiler()
inner = prof._timed(lambda: time.sleep(0.03), "inner")
outer = prof._timed(lambda: (time.sleep(0.02), inner()), "outer")
start = time.perf_counter()
outer()
total = time.perf_counter() - start
expect_equal([prof["outer"].calls, prof["inner"].calls], [1, 1], "Profiler._timed (counts each call)")
times = (prof["inner"].fwd_time, prof["outer"].fwd_time, total)
expect_that(times, lambda v: v[0] >= 0.03 and v[1] >= 0.02, "Profiler._timed (self time)",
            "each op's time includes its own work (inner slept 30 ms, outer 20 ms)")
expect_that(times, lambda v: v[1] < v[2] - 0.029, "Profiler._timed (self time)",
            "the outer op's self time excludes the nested op's time")
expect_that(times, lambda v: 0.05 <= v[0] + v[1] <= v[2], "Profiler._timed (self time)",
            "self times add up to the whole call, nothing counted twice")
expect_equal(prof._stack, [], "Profiler._timed (the stack is empty again when the ops have returned)")
# three levels: a parent's nested time is its child's inclusive time (the child's own nested ops included)
deep = Profiler()
c = deep._timed(lambda: time.sleep(0.01), "c")
b = deep._timed(lambda: (time.sleep(0.01), c()), "b")
a = deep._timed(lambda: (time.sleep(0.01), b()), "a")
start = time.perf_counter()
a()
total = time.perf_counter() - start
three = (deep["a"].fwd_time, deep["b"].fwd_time, deep["c"].fwd_time, total)
expect_that(three, lambda v: min(v[:3]) >= 0.01 and sum(v[:3]) <= v[3], "Profiler._timed (self time, three levels)",
            "each op's self time is at least its own sleep, and the three add up to no more than the whole call")

# %% nbgrader={"grade": true, "grade_id": "14-profiling-untimed", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
v = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
with Profiler() as prof:
    def square(x):
        "An op created after the profiler started: it was not wrapped, but from_op still sees it."
        return Tensor.from_op(x.data * x.data, (x,), lambda g: (2 * g * x.data,))
    square(v).sum().backward()
sq = prof["square"]
expect_equal([sq.calls, sq.untimed, sq.fwd_time], [1, 1, 0.0],
             "Profiler._hook (the from_op hook counts a call it could not time: untimed, forward time unknown)")
expect_equal([sq.flops, sq.bytes_in, sq.bytes_out, sq.bwd_calls], [12, 48, 48, 1],
             "Profiler._hook (the from_op hook: FLOPs, bytes and backward of an untimed op)")
expect_that(sq.bwd_time, lambda t: t > 0, "Profiler._timed_backward", "the backward of an untimed op is still timed")
expect_equal([prof["sum"].untimed, prof["sum"].calls], [0, 1],
             "Profiler._hook (the from_op hook: a wrapped op is timed, not untimed)")
expect_agree(np.asarray(v.grad.data), 2 * v.data, "Profiler (backward through an untimed op)", rtol=1e-6)
with Profiler() as prof:
    square(v)  # now `square` is in this notebook's globals when the block starts: wrapped and timed
expect_equal([prof["square"].untimed, prof["square"].calls], [0, 1],
             "Profiler.__enter__ (wraps the ops found in the globals of the code with the `with`)")
expect_that(prof["square"].fwd_time, lambda t: t > 0, "Profiler._timed", "the wrapped op's forward time is measured")
expect_equal([globals()["square"] is square, hasattr(square, "__wrapped__")], [True, False],
             "Profiler.__exit__ (the notebook's name is restored)")
script = {"Profiler": Profiler, "Tensor": Tensor, "v": v}
exec("def cube(x):\n    return Tensor.from_op(x.data ** 3, (x,), lambda g: (3 * g * x.data ** 2,))\n"
     "with Profiler() as script_prof:\n    cube(v)\n", script)
expect_equal([script["script_prof"]["cube"].calls, script["script_prof"]["cube"].untimed], [1, 0],
             "Profiler.__enter__ (wraps the ops in the globals of the code with the `with`, e.g. a script's)")
sys.modules["tinytorch.zz_alias"] = activations_module  # the same module under a second name
with Profiler() as prof:
    square(v)
    activations_module.relu(v)
del sys.modules["tinytorch.zz_alias"]
expect_equal([prof["square"].untimed, prof["relu"].untimed, prof["relu"].calls], [0, 0, 1],
             "Profiler.__enter__ (a module listed twice in sys.modules: its ops wrapped once, every other op still wrapped)")
expect_equal([hasattr(activations_module.relu, "__wrapped__"), hasattr(square, "__wrapped__")], [False, False],
             "Profiler.__exit__ (restores a module listed twice)")

def two_nodes(x):
    "One op call that makes two nodes."
    y = Tensor.from_op(x.data * 2, (x,), lambda g: (2 * g,))
    return Tensor.from_op(y.data + 1, (y,), lambda g: (g,))

with Profiler(record_shapes=True) as prof:
    two_nodes(v).sum().backward()
two = [e for e in prof.events if e["name"] == "two_nodes"]
expect_equal([(e["in_shapes"], e["out_shape"], e["flops"]) for e in two], [([(3, 4)], (3, 4), 12)] * 2,
             "Profiler._hook (the from_op hook records one event per node)")
expect_equal([e["fwd_time"] is None for e in two], [False, True],
             "Profiler._timed and the from_op hook (a call's self time goes to the event of its first node)")
expect_agree(two[0]["fwd_time"], prof["two_nodes"].fwd_time, "Profiler._timed (the first event's fwd_time is the call's self time)",
             rtol=1e-9, atol=1e-12)
expect_that([e["bwd_time"] for e in two], lambda v: all(t > 0 for t in v),
            "Profiler._timed_backward and the from_op hook's event (bwd_time)",
            "each node's backward time is added to its own event, which starts at 0.0")
expect_equal([prof["two_nodes"].calls, prof["two_nodes"].bwd_calls, prof["two_nodes"].flops], [1, 2, 24],
             "Profiler._hook (one call, two nodes: two backward calls, the FLOPs of both)")

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
# op.
#
# The exact format, so that columns line up under the header (`COLUMNS` gives each column's
# width; `_fmt(value, width, digits)` right-aligns a number, or `-` for `None`):
#
# - the op name left-aligned in 24 characters, with `*` appended when some of its calls were
#   untimed; a label longer than 23 characters is cut to its first 22 and `…`;
# - `calls` and `bwd calls` as integers; `fwd ms` and `bwd ms` in milliseconds with 3
#   decimals; `% ops` with 1 decimal (0.0 when no time was spent in ops at all); `GFLOP`
#   (10⁹ FLOPs) with 3 decimals; `GFLOP/s` with 1 decimal, `-` when the op has no forward
#   time or any untimed call; `MB out` (10⁶ bytes) with 2 decimals; `FLOP/B` with 1 decimal,
#   `-` when the op moved no bytes;
# - after the rows a dashed line, then the `total` row (the sums of every column, formatted
#   the same way), then one line, for example
#   `wall time 12.500 ms; in ops 10.000 ms; outside ops 2.500 ms (20.0%, of which profiler bookkeeping 2.500 ms)`
#   (the outside share is 0.0% when there is no wall time), and, only when some op was
#   untimed, a last line starting with `*` that says what the mark means.
#
# `table(limit=n)` shows only the `n` slowest op rows (the total row still counts every op).

# %% nbgrader={"grade": false, "grade_id": "14-profiling-table-format", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the table's columns and number format): importable, not part of the module's `__all__`
COLUMNS = [("op", 24), ("calls", 7), ("fwd ms", 10), ("bwd calls", 10), ("bwd ms", 10), ("% ops", 7),
           ("GFLOP", 9), ("GFLOP/s", 9), ("MB out", 9), ("FLOP/B", 8)]

def _fmt(value, width, digits):
    "`value` right-aligned in `width` characters with `digits` decimals, or `-` for None."
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

# %% nbgrader={"grade": false, "grade_id": "14-profiling-table", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
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
import re
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
expect_equal(type(text).__name__, "str", "Profiler.table (returns a str)")
lines = text.splitlines()
expect_equal(lines[0].split()[:3], ["op", "calls", "fwd"], "Profiler.table (the header line comes first)")
body = [l for l in lines[2:] if l and not l.startswith("-")][:4]
names = [l.split()[0] for l in body]
expect_equal(sorted(names), ["matmul", "mean", "mul", "square*"],
             "Profiler.table (one row per op, an untimed op's row marked with *)")
mm_row = body[names.index("matmul")].split() if "matmul" in names else []
expect_equal([int(mm_row[1]), int(mm_row[3])], [5, 5], "Profiler.table (matmul's row: calls and backward calls)")
expect_equal(float(mm_row[6]), 5 * 2 * 64 * 256 * 256 / 1e9, "Profiler.table (matmul's row: GFLOP)", rtol=1e-2)
expect_that(sum(float(l.split()[5]) for l in body), lambda v: abs(v - 100) < 0.5,
            "Profiler.table (each row's % ops)", "the ops' shares add up to 100%")
expect_equal([any(l.startswith("total") for l in lines), any("outside ops" in l for l in lines)], [True, True],
             "Profiler.table (a total row and the line with the time outside ops below the rows)")
print(text)

# given numbers, no clock: every character of every row is known
given = Profiler()
given.stats = {s.name: s for s in [
    OpStats("view", calls=4, fwd_time=0.001),
    OpStats("slow", calls=2, fwd_time=0.003, bwd_calls=2, bwd_time=0.001, flops=6_000_149_997,
            bytes_in=1_000_000_000, bytes_out=2_000_004_999),
    OpStats("odd", calls=1, flops=4_000_499_999, bytes_in=1_000_000_000, bytes_out=4_000_000_000, untimed=1),
    OpStats("MultiHeadAttention.proj", calls=3, fwd_time=0.0006, flops=3_000_000, bytes_in=1_000_000, bytes_out=500_000),
    OpStats("fast", calls=1, fwd_time=0.003, flops=1_500_150_001, bytes_in=200_005_001, bytes_out=200_005_001),
    OpStats("mixed", calls=2, fwd_time=0.0005, flops=8_000_500_001, bytes_in=100_000_000, bytes_out=100_000_000,
            untimed=1),
    OpStats("ScaledDotProductAttn.fwd", calls=1, fwd_time=0.0009, flops=900_000, bytes_in=0, bytes_out=300_000),
]}
given.wall_time, given.overhead = 0.0125, 0.0025
g_lines = given.table().splitlines()
expect_equal(g_lines[2:9],
             ['slow                          2     3.000         2     1.000   40.0    6.000   2000.0  2000.00     2.0',
              'fast                          1     3.000         0     0.000   30.0    1.500    500.1   200.01     3.8',
              'view                          4     1.000         0     0.000   10.0    0.000      0.0     0.00       -',
              'ScaledDotProductAttn.f…       1     0.900         0     0.000    9.0    0.001      1.0     0.30     3.0',
              'MultiHeadAttention.proj       3     0.600         0     0.000    6.0    0.003      5.0     0.50     2.0',
              'mixed*                        2     0.500         0     0.000    5.0    8.001        -   100.00    40.0',
              'odd*                          1     0.000         0     0.000    0.0    4.000        -  4000.00     0.8'],
             "Profiler.table (each op's row: slowest first, name cut to 24 characters, numbers as specified under the header)")
expect_equal(g_lines[9:11],
             ['-------------------------------------------------------------------------------------------------------',
              'total                        14     9.000         2     1.000  100.0   19.505        -  6300.81     2.3'],
             "Profiler.table (a dashed line and the total row below the op rows)")
expect_equal(g_lines[11:12],
             ['wall time 12.500 ms; in ops 10.000 ms; outside ops 2.500 ms (20.0%, of which profiler bookkeeping 2.500 ms)'],
             "Profiler.table (the line below the rows: wall time, in ops, outside ops with its share, bookkeeping)")
expect_equal([len(g_lines)] + [l[:1] for l in g_lines[12:]], [13, "*"],
             "Profiler.table (a last line, after the rows, explains the * of untimed ops)")
expect_equal(given.table(limit=2).splitlines()[2:7],
             ['slow                          2     3.000         2     1.000   40.0    6.000   2000.0  2000.00     2.0',
              'fast                          1     3.000         0     0.000   30.0    1.500    500.1   200.01     3.8',
              '-------------------------------------------------------------------------------------------------------',
              'total                        14     9.000         2     1.000  100.0   19.505        -  6300.81     2.3',
              'wall time 12.500 ms; in ops 10.000 ms; outside ops 2.500 ms (20.0%, of which profiler bookkeeping 2.500 ms)'],
             "Profiler.table (limit: only the slowest rows, then the total row)")
expect_equal(Profiler().table().splitlines(),
             ['op                        calls    fwd ms bwd calls    bwd ms  % ops    GFLOP  GFLOP/s   MB out  FLOP/B',
              '-------------------------------------------------------------------------------------------------------',
              '-------------------------------------------------------------------------------------------------------',
              'total                         0     0.000         0     0.000    0.0    0.000        -     0.00       -',
              'wall time 0.000 ms; in ops 0.000 ms; outside ops 0.000 ms (0.0%, of which profiler bookkeeping 0.000 ms)'],
             "Profiler.table (an empty profile: only the total row and the wall-time line, with zero shares)")

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
expect_equal(type(prof["linear"]).__name__, "OpStats", "Profiler (prof['linear'] is an OpStats)")
expect_equal([prof["linear"].calls, prof["linear"].bwd_calls], [6, 6],
             "Profiler (the block's six linear calls, forward and backward)")
want_linear = 24 * B_ * T_ * D_ * D_ + B_ * T_ * (4 * D_ + 4 * D_ + D_)  # matmuls; biases of q, k, v, out, up, down
expect_equal(prof["linear"].flops, want_linear, "Profiler._hook (the from_op hook: linear FLOPs of the block)")
attn = [e for e in prof.events if e["name"] == "matmul"]
expect_equal([len(attn), sum(e["flops"] for e in attn)], [2, 4 * B_ * T_ * T_ * D_],
             "Profiler._hook (the from_op hook's events: q@kT and w@v)")
expect_equal([(e["in_shapes"], e["out_shape"]) for e in attn],
             [([(8, 4, 64, 32), (8, 4, 32, 64)], (8, 4, 64, 64)), ([(8, 4, 64, 64), (8, 4, 64, 32)], (8, 4, 64, 32))],
             "Profiler._hook (the from_op hook's events: input and output shapes)")
expect_that([e["fwd_time"] for e in attn], lambda v: all(t is not None and t > 0 for t in v),
            "Profiler._timed (an event's fwd_time)", "each recorded matmul event gets its forward self time")
expect_agree(sum(e["fwd_time"] for e in attn), prof["matmul"].fwd_time,
             "Profiler._timed (an event's fwd_time is the op call's self time)", rtol=1e-9, atol=1e-12)
expect_that([e["bwd_time"] for e in attn], lambda v: all(t > 0 for t in v),
            "Profiler._timed_backward (an event's bwd_time)", "each matmul event gets its backward time")
expect_agree(sum(e["bwd_time"] for e in attn), prof["matmul"].bwd_time,
             "Profiler._timed_backward and the from_op hook's event (bwd_time starts at 0.0, adds the node's backward time)", rtol=1e-9, atol=1e-12)
expect_equal([prof["softmax"].flops, prof["softmax"].bytes_out], [5 * B_ * 4 * T_ * T_, B_ * 4 * T_ * T_ * 4],
             "Profiler._hook (the from_op hook: softmax FLOPs and bytes written)")
expect_agree(sum(e["flops"] for e in prof.events), sum(s.flops for s in prof.stats.values()),
             "Profiler._hook (the from_op hook: events and totals agree)")
expect_equal(sorted(s.name for s in prof.stats.values() if s.untimed), [],
             "Profiler._hook (every op of the block is a tinytorch op: all timed, none untimed)")
expect_equal(sorted(s.name for s in prof.stats.values() if s.bwd_calls != s.calls), [],
             "Profiler._timed_backward (every node of the block is on the gradient path: one backward per call)")

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
expect_equal([type(rows).__name__] + [r["T"] for r in rows], ["list", 32, 64, 128],
             "attention_scaling (one row per sequence length)")
expect_equal([r["scores_flops"] for r in rows], [2 * 2 * T ** 2 * 64 for T in (32, 64, 128)],
             "attention_scaling (scores FLOPs: 2*B*T^2*D)")
expect_equal([r["linear_flops"] for r in rows], [4 * (2 * 2 * T * 64 * 64 + 2 * T * 64) for T in (32, 64, 128)],
             "attention_scaling (the projections' FLOPs grow linearly)")
expect_that([(r["scores_time"], r["linear_time"]) for r in rows], lambda v: all(s > 0 and l > 0 for s, l in v),
            "attention_scaling (times)", "the scores matmul's and the projections' times are measured")

class ScoresProbe:
    "Not attention: (B, T, T) scores from a 3-D matmul, then a matmul of another shape and FLOP count."
    def __init__(self):
        self.q = Linear(8, 8, seed=0)
    def attention(self, x):
        B, T, D = x.shape
        scores = self.q(x) @ x.transpose(0, 2, 1)                   # (B, T, T): 2*B*T*T*D FLOPs
        return scores.reshape(B * T, T) @ Tensor(np.ones((T, 3)))   # (B*T, 3): 2*B*T*T*3 FLOPs

probe_rows = attention_scaling(ScoresProbe(), [4, 6], batch=2, repeats=1)
expect_equal([(r["T"], r["scores_flops"], r["linear_flops"]) for r in probe_rows],
             [(4, 2 * 2 * 4 * 4 * 8, 2 * 2 * 4 * 8 * 8 + 2 * 4 * 8), (6, 2 * 2 * 6 * 6 * 8, 2 * 2 * 6 * 8 * 8 + 2 * 6 * 8)],
             "attention_scaling (the scores are the matmul whose output ends in (T, T), whatever its rank)")
### BEGIN HIDDEN TESTS
one = attention_scaling(small, [48], batch=1, repeats=1)
expect_equal([len(one), one[0]["scores_flops"], one[0]["linear_flops"]],
             [1, 2 * 48 * 48 * 64, 4 * (2 * 48 * 64 * 64 + 48 * 64)], "attention_scaling (one sequence length)")
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

# %% nbgrader={"grade": false, "grade_id": "14-profiling-mallopt-parameters", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

# %% nbgrader={"grade": false, "grade_id": "14-profiling-keep-freed-memory", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export

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
