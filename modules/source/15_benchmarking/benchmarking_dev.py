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
# # 15 · Benchmarking: honest numbers
#
# "My version is 30% faster" is a claim about a *distribution* of timings, measured on one
# machine, in one state, against one baseline. Most published speed-ups that fail to
# reproduce fail for boring reasons: the first call paid for warming up, the two versions
# ran at different moments on a busy machine, one lucky run was reported, or the numbers
# came from a laptop with a different BLAS and thread count.
#
# In this module you build a small benchmark harness that avoids those traps, and that the
# course's own benchmarks and the milestones use:
#
# ```python
# r = bench(step, warmup=3, repeats=20)            # one function
# c = compare({"numpy": f_np, "tinytorch": f_tt},  # several, side by side in one run
#             baseline="numpy")
# print(c.table()); c.to_json("results.json")
# ```
#
# | piece | the rule it enforces |
# |---|---|
# | `summarize` | report the **median** and the **spread** (quartiles, min/max), not one number |
# | warm-up and `calibrate` | don't time the first calls; make each sample long enough for the clock |
# | `bench` | many samples, with the clock injectable so the harness itself can be tested |
# | `compare` | candidates **interleaved round-robin** so they share the machine's noise; ratios to a baseline |
# | `environment` | say what machine, numpy, BLAS and threads produced the numbers |
# | `table`, `to_json` / `from_json` | results a person can read and a script can reload |
#
# Prerequisites: none for the harness (Python and numpy); the experiments at the end use
# modules 01–03 (Tensor, autograd, softmax).

# %%
#| default_exp core.benchmarking

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import contextlib
import datetime
import importlib.metadata
import importlib.util
import io
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastcore.basics import patch

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. A timing is a distribution
#
# Run the same function 50 times and time each call: you do not get one number. Most calls
# land close to some typical value, and a few take much longer — the operating system ran
# something else, the garbage collector woke up, a cache was cold. The distribution is
# **skewed to the right**: there is a hard floor (the work itself) and a long tail of
# interruptions.
#
# That decides what to report:
# - the **median** (the middle sample) describes the typical call and ignores the tail; the
#   mean is dragged up by a single 10× outlier;
# - the **interquartile range** `IQR = q3 − q1` (the 25th to 75th percentile) shows the
#   spread of the typical calls, again robust to the tail; a standard deviation assumes a
#   symmetric bell the data does not have;
# - **min and max** are worth showing too: the min approximates the noise-free cost, the max
#   shows how bad the tail gets.
#
# Percentiles use linear interpolation between the sorted samples, as `np.percentile` does by
# default: for the four samples `[1, 2, 3, 4]`, the median is 2.5 and q1 is 1.75.

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-summarize", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def summarize(times):
    "dict(n, median, q1, q3, iqr, min, max, mean) of a list of times in seconds, as Python floats."
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"summarize needs a non-empty list of times, got shape {t.shape}")
    ### BEGIN SOLUTION
    q1, median, q3 = np.percentile(t, [25, 50, 75])
    return {"n": int(t.size), "median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "min": float(t.min()), "max": float(t.max()), "mean": float(t.mean())}
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-summarize-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
expect_equal(type(s).__name__, "dict", "summarize (returns a dict)")
expect_equal(sorted(s), ["iqr", "max", "mean", "median", "min", "n", "q1", "q3"], "summarize (its keys)")
expect_equal([type(s[k]).__name__ for k in ("n", "median", "q1", "q3", "iqr", "min", "max", "mean")],
             ["int", "float", "float", "float", "float", "float", "float", "float"],
             "summarize (n is an int, the statistics Python floats)")
expect_equal([s["n"], s["median"], s["q1"], s["q3"], s["iqr"], s["min"], s["max"], s["mean"]],
             [5, 3.0, 2.0, 4.0, 2.0, 1.0, 5.0, 3.0], "summarize (n, median, q1, q3, iqr, min, max, mean)")
s = summarize([1.0, 2.0, 3.0, 4.0])
expect_equal([s["median"], s["q1"], s["q3"], s["iqr"]], [2.5, 1.75, 3.25, 1.5],
             "summarize (percentiles by linear interpolation)")
s = summarize([0.010, 0.011, 0.010, 0.012, 0.500])
expect_equal([s["median"], s["mean"], s["min"], s["max"]], [0.011, 0.1086, 0.010, 0.500],
             "summarize (one outlier moves the mean, not the median)", rtol=1e-9)
### BEGIN HIDDEN TESTS
t = np.random.default_rng(0).exponential(1.0, 101)
s = summarize(list(t))
expect_agree([s["median"], s["q1"], s["q3"], s["iqr"], s["mean"], s["min"], s["max"]],
             [np.median(t), np.percentile(t, 25), np.percentile(t, 75), np.percentile(t, 75) - np.percentile(t, 25),
              t.mean(), t.min(), t.max()], "summarize (101 samples)")
one = summarize([2.0])
expect_equal([one["n"], one["median"], one["iqr"], one["min"], one["max"]], [1, 2.0, 0.0, 2.0, 2.0],
             "summarize (a single sample)")
with expect_raises(ValueError, "summarize (no samples)"):
    summarize([])
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Warm-up, samples, and the clock
#
# **Warm-up.** The first calls of a function are often slower than the rest: numpy allocates
# fresh memory the operating system has to map in, caches and the branch predictor are cold,
# and BLAS starts its thread pool on first use (on this course's machine the first few
# float32 matmuls of a process took 10–20 ms, the following ones 0.05 ms). Unless the
# first call is what you want to measure, run a few calls untimed first.
#
# **Clock resolution.** `time.perf_counter()` is the right clock: monotonic and with
# sub-microsecond resolution, but reading it costs ~50–100 ns, and the operating system's
# timer granularity adds jitter. For a function that runs in a microsecond, one call per
# sample measures mostly the clock. So a **sample** runs the function `number` times in a
# row and records `elapsed / number`; `calibrate` chooses `number` so that a sample lasts at
# least `min_time` seconds: 1 when a single call already does, else
# `ceil(min_time / t_call)` (capped at `MAX_NUMBER`), where `t_call` is the fastest warm-up
# call (one extra untimed call measures it when there was no warm-up). Clock readings are
# floats, so `1e-3 / 1e-4` can come out as `10.000000000000002`: subtract a tiny tolerance
# before rounding up, or you get 11.
#
# **An injectable clock.** `bench(..., clock=...)` reads time only through `clock()`. With a
# fake clock that the test advances by hand, the harness becomes *testable*: we know exactly
# which durations it saw and can check its medians, its warm-up and its sample counts.
#
# **What we do not do.** `timeit` switches the garbage collector off while timing. Training
# runs with it on, and a framework that creates garbage should pay for collecting it, so
# the harness leaves it alone.

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-max-number", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (calibrate's cap): importable, not part of the module's `__all__`
MAX_NUMBER = 1_000_000  # most calls in one sample

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-bench", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def time_sample(fn, number, clock=time.perf_counter):
    "Seconds per call of `fn`, called `number` times in a row between two clock readings."
    ### BEGIN SOLUTION
    start = clock()
    for _ in range(number):
        fn()
    return (clock() - start) / number
    ### END SOLUTION

def calibrate(fn, min_time, clock=time.perf_counter, estimate=None):
    "Calls per sample so that a sample lasts at least `min_time` seconds; `estimate` is one call's time if known."
    if min_time <= 0:
        return 1
    ### BEGIN SOLUTION
    if estimate is None:
        estimate = time_sample(fn, 1, clock)
    if estimate >= min_time:
        return 1
    calls = min_time / max(estimate, 1e-9)
    return min(MAX_NUMBER, math.ceil(calls - 1e-6))  # the tolerance absorbs clock rounding: 10.0000000001 -> 10
    ### END SOLUTION

def run_warmup(fn, warmup, clock=time.perf_counter):
    "Call `fn` `warmup` times untimed for the results; return each call's seconds (for calibration)."
    ### BEGIN SOLUTION
    return [time_sample(fn, 1, clock) for _ in range(warmup)]
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-calibrate-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
class FakeClock:
    "A clock that only moves when told to: `clock.now += seconds`."
    def __init__(self):
        self.now = 100.0
    def __call__(self):
        return self.now

clock = FakeClock()
calls = []
def tick():
    calls.append(1)
    clock.now += 1e-4

per_call = time_sample(tick, 5, clock)
expect_that(per_call, lambda v: type(v) is float, "time_sample", "returns a Python float")
expect_equal([per_call, len(calls)], [1e-4, 5], "time_sample (seconds per call of `number` calls)", rtol=1e-9, atol=0)
expect_equal(calibrate(tick, 1e-3, clock, estimate=1e-4), 10, "calibrate (10 calls of 0.1 ms make a 1 ms sample)")
expect_equal(calibrate(tick, 3e-3, clock, estimate=1e-3), 3,
             "calibrate (3e-3 / 1e-3 is 3.0000000000000004 in floats: 3 calls, not 4)")
expect_equal(calibrate(tick, 1.0001e-3, clock, estimate=1e-4), 11, "calibrate (10.001 calls round up to 11)")
expect_equal(calibrate(tick, 1e-3, clock, estimate=5e-3), 1, "calibrate (a call longer than min_time needs no repetition)")
expect_equal(calibrate(tick, 1e-3, clock, estimate=1e-3), 1, "calibrate (a call as long as min_time needs no repetition)")
expect_equal([calibrate(tick, 1e-3, clock, estimate=0.0), calibrate(tick, 10.0, clock, estimate=1e-8)],
             [1_000_000, 1_000_000], "calibrate (at most MAX_NUMBER calls, also for a call the clock cannot see)")
expect_equal(calibrate(tick, 0.0, clock), 1, "calibrate (min_time 0: one call)")
calls.clear()
expect_equal([calibrate(tick, 2.5e-4, clock), len(calls)], [3, 1],
             "calibrate (without an estimate: one untimed call measures it)")
calls.clear()
warm = run_warmup(tick, 4, clock)
expect_equal(type(warm).__name__, "list", "run_warmup (returns a list)")
expect_equal([warm, len(calls)], [[1e-4] * 4, 4], "run_warmup (each warm-up call's seconds)", rtol=1e-9, atol=0)
expect_equal(run_warmup(tick, 0, clock), [], "run_warmup (no warm-up)")

# %% [markdown]
# A result holds the per-call times of its samples and their summary. `BenchResult` is
# given; `bench` is yours: warm up, calibrate (unless `number` is given), then take `repeats`
# samples. The environment (section 4) is captured once per result; `env=False` skips it.

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-fmt-time", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (how the reports print a duration): importable, not part of the module's `__all__`
def fmt_time(seconds):
    "A duration with 3 significant digits in a readable unit: `1.23 ms`, `456 ns`."
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-result", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
@dataclass
class BenchResult:
    "The samples of one benchmarked function: `times` are seconds per call, one per sample."
    name: str
    times: list
    number: int = 1          # calls per sample
    warmup: int = 0          # untimed calls before the samples (calibration calls not counted)
    env: dict = field(default_factory=dict)

    def __post_init__(self):
        self.times = [float(t) for t in self.times]
        self.stats = summarize(self.times)

    median = property(lambda self: self.stats["median"])
    q1 = property(lambda self: self.stats["q1"])
    q3 = property(lambda self: self.stats["q3"])
    iqr = property(lambda self: self.stats["iqr"])
    min = property(lambda self: self.stats["min"])
    max = property(lambda self: self.stats["max"])

    def to_dict(self):
        "The result as JSON-ready data (without the environment)."
        return {"name": self.name, "times": self.times, "number": self.number, "warmup": self.warmup,
                "stats": self.stats}

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-bench-fn", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def bench(fn, *, warmup=3, repeats=20, min_time=1e-3, number=None, name=None, clock=time.perf_counter, env=True):
    "Time `fn()`: `warmup` untimed calls, then `repeats` samples of `number` calls (calibrated to `min_time` if None)."
    if repeats < 1:
        raise ValueError(f"bench needs repeats >= 1, got {repeats}")
    ### BEGIN SOLUTION
    warm = run_warmup(fn, warmup, clock)
    if number is None:
        number = calibrate(fn, min_time, clock, estimate=min(warm) if warm else None)
    times = [time_sample(fn, number, clock) for _ in range(repeats)]
    ### END SOLUTION
    return BenchResult(name or getattr(fn, "__name__", "fn"), times, number, warmup, environment() if env else {})

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-bench-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
clock = FakeClock()
durations = iter([9.0, 9.0] + [5.0, 1.0, 3.0, 2.0, 4.0])  # two slow warm-up calls, then five samples
log = []
def step():
    log.append(1)
    clock.now += next(durations)

r = bench(step, warmup=2, repeats=5, number=1, clock=clock, env=False)
expect_equal([type(r).__name__, r.name, r.number, r.warmup], ["BenchResult", "step", 1, 2],
             "bench (the result's name, number and warmup)")
expect_equal([len(log), len(r.times)], [7, 5], "bench (warm-up calls run, but are not samples)")
expect_equal(r.times, [5.0, 1.0, 3.0, 2.0, 4.0], "bench (one sample per repeat, in order)")
expect_equal([r.median, r.q1, r.q3, r.min, r.max], [3.0, 2.0, 4.0, 1.0, 5.0], "bench (the result's summary)")
expect_equal(r.env, {}, "bench (env=False records no environment)")
### BEGIN HIDDEN TESTS
clock = FakeClock()
log.clear()
def fast():
    log.append(1)
    clock.now += 2e-5
r = bench(fast, warmup=3, repeats=4, min_time=1e-3, clock=clock, env=False, name="fast op")
expect_equal([r.name, r.number, len(log)], ["fast op", 50, 3 + 4 * 50],
             "bench (calibrated from the warm-up: 50 calls of 20 µs per 1 ms sample)")
expect_equal(r.times, [2e-5] * 4, "bench (times are per call)", rtol=1e-6, atol=0)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-bench-calibrated", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
clock = FakeClock()
log.clear()
def quick():
    log.append(1)
    clock.now += 1e-4
r = bench(quick, warmup=0, repeats=6, min_time=1e-3, clock=clock, env=False)
expect_equal([r.number, len(log), r.warmup], [10, 1 + 6 * 10, 0],
             "bench (no warm-up: one calibration call, then 6 samples of 10 calls)")
expect_equal(r.times, [1e-4] * 6, "bench (times are per call, not per sample)", rtol=1e-6, atol=0)
uneven_steps = iter([3e-4, 1e-4, 2e-4] + [1e-4] * 40)
def uneven():
    clock.now += next(uneven_steps)
r = bench(uneven, warmup=3, repeats=2, min_time=1e-3, clock=clock, env=False)
expect_equal([r.number, r.warmup], [10, 3], "bench (calibrates on the fastest warm-up call)")
r = bench(quick, warmup=2, repeats=3, number=7, clock=clock, env=False)
expect_equal([r.number, len(r.times)], [7, 3], "bench (a given number is used as is)")
real = bench(lambda: sum(range(100)), warmup=2, repeats=5, env=False)
expect_equal([real.name, len(real.times), real.warmup], ["<lambda>", 5, 2], "bench (a real function)")
expect_that((real.number, real.median), lambda v: v[0] > 1 and v[1] > 0, "bench (calibrated on the real clock)",
            "a real microsecond-scale function gets many calls per sample")

# %% [markdown]
# ## 3. Comparing: side by side, in one run
#
# To compare candidates, time them **in the same run, interleaved**. A shared machine drifts:
# other jobs start and stop (on this course's machine, up to eight programs share two cores),
# the CPU's clock speed changes with temperature and load, memory fills up. If A's samples
# are all taken first and B's after, any drift shows up as a difference between A and B.
#
# `compare` therefore runs in **rounds**: every round takes one sample of each candidate, and
# the order rotates from round to round (`a b c`, `b c a`, `c a b`, …) so no candidate is
# always first after a pause. Warm-up runs first, round-robin too. Each candidate gets its own
# `number` (a fast function needs more calls per sample than a slow one).
#
# The result reports each candidate's **ratio** to the baseline, `median(candidate) /
# median(baseline)` (above 1: slower than the baseline). Because samples of one round were
# taken under the same conditions, the **paired ratios** `t_candidate[r] / t_baseline[r]`
# cancel much of the shared noise; their quartiles are a fair error bar on the ratio.

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-compare", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Comparison:
    "Results of several candidates timed in one interleaved run, with ratios to a baseline."

    def __init__(self, results, baseline, env=None):
        if baseline not in results:
            raise KeyError(f"baseline {baseline!r} is not one of the candidates {list(results)}")
        self.results, self.baseline, self.env = dict(results), baseline, env or {}

    def __getitem__(self, name):
        return self.results[name]

    def ratio(self, name):
        "median(name) / median(baseline): how many times the baseline's time `name` takes."
        ### BEGIN SOLUTION
        return self.results[name].median / self.results[self.baseline].median
        ### END SOLUTION

    def paired_ratios(self, name):
        "Per-round ratios `times[name][r] / times[baseline][r]` (samples of one round share the machine's state)."
        ### BEGIN SOLUTION
        base = self.results[self.baseline].times
        return [t / b for t, b in zip(self.results[name].times, base)]
        ### END SOLUTION

def compare(candidates, baseline=None, *, warmup=3, repeats=20, min_time=1e-3, number=None,
            clock=time.perf_counter, env=True):
    "Time every `candidates[name]()` in interleaved, rotating rounds; ratios relative to `baseline` (default: the first)."
    names = list(candidates)
    if not names:
        raise ValueError("compare needs at least one candidate")
    baseline = names[0] if baseline is None else baseline
    if baseline not in candidates:
        raise KeyError(f"baseline {baseline!r} is not one of the candidates {names}")
    ### BEGIN SOLUTION
    warm = {n: [] for n in names}
    for _ in range(warmup):
        for n in names:
            warm[n] += run_warmup(candidates[n], 1, clock)
    numbers = {n: number or calibrate(candidates[n], min_time, clock, estimate=min(warm[n]) if warm[n] else None)
               for n in names}
    times = {n: [] for n in names}
    for r in range(repeats):
        shift = r % len(names)
        for n in names[shift:] + names[:shift]:
            times[n].append(time_sample(candidates[n], numbers[n], clock))
    ### END SOLUTION
    info = environment() if env else {}
    return Comparison({n: BenchResult(n, times[n], numbers[n], warmup, info) for n in names}, baseline, info)

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-compare-rounds", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
clock = FakeClock()
order = []
def timed_as(name, seconds):
    def fn():
        order.append(name)
        clock.now += seconds
    return fn

c = compare({"a": timed_as("a", 2.0), "b": timed_as("b", 5.0), "c": timed_as("c", 1.0)}, baseline="a",
            warmup=1, repeats=4, number=1, clock=clock, env=False)
expect_equal([type(c).__name__, c.baseline, sorted(c.results)], ["Comparison", "a", ["a", "b", "c"]],
             "compare (a Comparison of every candidate)")
expect_equal(len(order), 3 * (1 + 4), "compare (one warm-up call and four samples each)")
expect_equal(sorted(order[:3]), ["a", "b", "c"], "compare (warm-up first, one call of each candidate per round)")
rounds = [order[i:i + 3] for i in range(3, len(order), 3)]
expect_equal(rounds, [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]],
             "compare (each round samples every candidate once, the order rotating: a b c, b c a, c a b, ...)")
expect_equal([c[n].times for n in "abc"], [[2.0] * 4, [5.0] * 4, [1.0] * 4], "compare (each candidate's samples)")
expect_equal([(c[n].name, c[n].number, c[n].warmup, c[n].env) for n in "abc"],
             [("a", 1, 1, {}), ("b", 1, 1, {}), ("c", 1, 1, {})], "compare (each result's name, number and warmup)")
clock = FakeClock()
calibrated = compare({"slow": timed_as("slow", 1e-3), "quick": timed_as("quick", 1e-4)}, warmup=1, repeats=2,
                     min_time=1e-3, clock=clock, env=False)
expect_equal([calibrated["slow"].number, calibrated["quick"].number], [1, 10],
             "compare (each candidate calibrated on its own warm-up)")
clock = FakeClock()
order.clear()
cold = compare({"slow": timed_as("slow", 1e-3), "quick": timed_as("quick", 1e-4)}, warmup=0, repeats=2,
               min_time=1e-3, clock=clock, env=False)
expect_equal([cold["slow"].number, cold["quick"].number, len(order)], [1, 10, 2 + 2 * (1 + 10)],
             "compare (without warm-up: one calibration call per candidate)")

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-compare-ratios", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
r_b, r_c = c.ratio("b"), c.ratio("c")
expect_that(r_b, lambda v: type(v) is float, "Comparison.ratio", "returns a Python float")
expect_equal([r_b, r_c, c.ratio("a")], [2.5, 0.5, 1.0], "Comparison.ratio (median over the baseline's median)",
             rtol=1e-12)
clock = FakeClock()
drift = iter([1.0, 2.0, 3.0, 6.0, 10.0, 20.0])  # the machine slows down: a, b alternate (a first, then b first, ...)
def a(): clock.now += next(drift)
def b(): clock.now += next(drift)
d = compare({"a": a, "b": b}, warmup=0, repeats=3, number=1, clock=clock, env=False)
expect_equal(d.baseline, "a", "compare (the baseline defaults to the first candidate)")
expect_equal([d["a"].times, d["b"].times], [[1.0, 6.0, 10.0], [2.0, 3.0, 20.0]],
             "compare (rounds rotate: a first, then b first, ...)")
expect_equal(d.ratio("b"), 0.5, "Comparison.ratio (medians, not means)", rtol=1e-12)
pr = d.paired_ratios("b")
expect_equal(type(pr).__name__, "list", "Comparison.paired_ratios (returns a list)")
expect_equal(pr, [2.0, 0.5, 2.0], "Comparison.paired_ratios (per-round ratios to the baseline)", rtol=1e-12)
flipped = Comparison(d.results, "b")
expect_equal([flipped.ratio("a"), flipped.paired_ratios("a")], [2.0, [0.5, 2.0, 0.5]],
             "Comparison.paired_ratios (relative to the comparison's own baseline)", rtol=1e-12)
### BEGIN HIDDEN TESTS
with expect_raises(KeyError, "compare (an unknown baseline is an error)"):
    compare({"x": a}, baseline="y", repeats=1, env=False)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Saying where the numbers came from
#
# A timing without its environment cannot be compared with anything. The same matmul runs at
# very different speeds depending on:
# - the **BLAS** library numpy was built with (OpenBLAS, MKL, Accelerate) and its version;
#   `np.show_config(mode="dicts")` reports it (numpy ≥ 1.26; older versions only print it,
#   so capture the text);
# - the number of **threads** BLAS may use: the environment variables `OMP_NUM_THREADS`,
#   `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, … set before numpy loads, and the CPUs this
#   process may run on (`os.sched_getaffinity`, where the OS has it);
#   [threadpoolctl](https://github.com/joblib/threadpoolctl), if installed, reports the
#   thread pools actually loaded — use it when present, never require it;
# - the CPU, the Python and numpy versions, and this package's version.
#
# `environment()` collects all of it in a JSON-ready dict, with a UTC timestamp. Its keys:
# `python` (`platform.python_version()`), `implementation` (`platform.python_implementation()`),
# `platform` (`platform.platform()`), `cpu` (`cpu_model()`), `cpu_count` (`os.cpu_count()`),
# `cpus_available` (the number of CPUs in `os.sched_getaffinity(0)`, or `os.cpu_count()` where
# the OS has no affinity), `numpy` (its version), `blas` (`blas_info()`), `threadpools`
# (`threadpools()`), `thread_env` (the variables of `THREAD_VARS` that are set, with their
# values), `tinytorch` (`package_version("tinytorch")`) and `time` (now in UTC, ISO format to
# the second: `datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")`).

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-env-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (what `environment` reads): importable, not part of the module's `__all__`
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

def blas_info():
    "numpy's BLAS: name, version and configuration from `np.show_config`, or its printed text on old numpy."
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # numpy < 1.26 can only print its configuration
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            np.show_config()
        return {"text": out.getvalue().strip()}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return {k: blas[k] for k in ("name", "version", "openblas configuration") if k in blas}

def threadpools():
    "The thread pools threadpoolctl sees (BLAS, OpenMP), or None when threadpoolctl is not installed."
    if importlib.util.find_spec("threadpoolctl") is None:
        return None
    from threadpoolctl import threadpool_info
    keys = ("user_api", "internal_api", "num_threads", "version", "architecture")  # architecture: BLAS kernel
    return [{k: p.get(k) for k in keys} for p in threadpool_info()]

def cpu_model():
    "The CPU's model name (from /proc/cpuinfo on Linux), else what `platform` knows."
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()

def package_version(name="tinytorch"):
    "An installed package's version, or None."
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-environment", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def environment():
    "Where the numbers come from: Python, numpy, BLAS, threads, CPUs, platform, tinytorch, and a UTC timestamp."
    ### BEGIN SOLUTION
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "python": platform.python_version(), "implementation": platform.python_implementation(),
        "platform": platform.platform(), "cpu": cpu_model(), "cpu_count": os.cpu_count(), "cpus_available": cpus,
        "numpy": np.__version__, "blas": blas_info(), "threadpools": threadpools(),
        "thread_env": {k: os.environ[k] for k in THREAD_VARS if k in os.environ},
        "tinytorch": package_version("tinytorch"),
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-environment-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import platform
import sys
from unittest import mock
before = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
with mock.patch.dict(os.environ, {"OMP_NUM_THREADS": "2"}):
    env = environment()
with mock.patch.dict(os.environ):
    os.environ.pop("OMP_NUM_THREADS", None)
    env_unset = environment()
after = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
expect_equal(type(env).__name__, "dict", "environment (returns a dict)")
expect_equal(sorted(env), sorted(["python", "implementation", "platform", "cpu", "cpu_count", "cpus_available", "numpy",
                                  "blas", "threadpools", "thread_env", "tinytorch", "time"]), "environment (its keys)")
expect_agree([env["python"], env["implementation"], env["platform"], env["numpy"]],
             [platform.python_version(), platform.python_implementation(), platform.platform(), np.__version__],
             "environment (python, implementation, platform and numpy)")
expect_agree([env["cpu"], env["cpu_count"]], [cpu_model(), os.cpu_count()], "environment (the CPU and its count)")
expect_agree(env["cpus_available"], len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
             "environment (cpus_available: the CPUs this process may run on)")
expect_that((env["cpus_available"], os.cpu_count()), lambda v: 1 <= v[0] <= v[1], "environment (cpus_available)",
            "between 1 and the CPU count")
others = {k: os.environ[k] for k in THREAD_VARS if k in os.environ and k != "OMP_NUM_THREADS"}
expect_agree(env["thread_env"], dict(others, OMP_NUM_THREADS="2"), "environment (thread variables that are set are recorded)")
expect_agree(env_unset["thread_env"], others, "environment (unset thread variables are left out)")
with mock.patch.object(os, "sched_getaffinity", lambda pid: {0} if pid == 0 else {0, 1, 2}, create=True):
    expect_equal(environment()["cpus_available"], 1,
                 "environment (cpus_available counts os.sched_getaffinity(0): the CPUs this process may run on)")
expect_agree([env["blas"], env["threadpools"], env["tinytorch"]], [blas_info(), threadpools(), package_version("tinytorch")],
             "environment (BLAS, thread pools and tinytorch's version, from the given helpers)")
expect_that(env["blas"], lambda v: type(v) is dict and len(v) > 0, "environment (blas)", "numpy's BLAS is described")
expect_that((before, env["time"], after), lambda v: v[1].endswith("+00:00") and v[0] <= v[1] <= v[2],
            "environment (time)", "the current UTC time in ISO format, to the second")
expect_agree(json.loads(json.dumps(env)), env, "environment (JSON-ready)")

# %% [markdown]
# ## 5. Reports: a table for people, JSON for programs
#
# The table shows, per candidate: the median, the quartiles with the IQR, min and max,
# `number × samples`, and for a comparison the ratio to the baseline with the quartiles of
# the paired ratios. Below it, one line of environment. The exact format, so that the
# columns line up under the (given) header: the name left-aligned in 20 characters (cut to
# its first 19); the six times with `fmt_time` (given), each right-aligned in 10; the calls
# as `{number}x{samples}` (e.g. `10x20`) right-aligned in 12; with a baseline, the ratio with
# 2 decimals right-aligned in 9 and the paired ratios' quartiles as `q1-q3` with 2 decimals
# each, right-aligned in 15; the baseline's own row shows `1.00` and `(baseline)` instead.
#
# The JSON holds everything needed to recompute the table — the raw per-call times, not only
# the summary — plus the environment, so results from different days and machines can be
# reloaded and compared: `from_json(to_json())` gives back an equal result. `to_json(path)`
# also writes the file; `from_json` accepts the text or a path. The layout: a bench result
# is `{"kind": KIND_BENCH, "env": ..., "result": result.to_dict()}`; a comparison is
# `{"kind": KIND_COMPARE, "env": ..., "baseline": ..., "results": [to_dict() of each, in
# order], "ratios": {name: ratio}}`. `from_json` raises ValueError for a file of the other kind.

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-json-kinds", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (the `kind` a JSON file declares): importable, not part of the module's `__all__`
KIND_BENCH, KIND_COMPARE = "tinytorch.bench", "tinytorch.compare"

# %% nbgrader={"grade": false, "grade_id": "15-benchmarking-report", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def env_line(env):
    "One line saying where the numbers come from."
    if not env:
        return "environment: not recorded"
    blas = env.get("blas") or {}
    threads = ", ".join(f"{k}={v}" for k, v in (env.get("thread_env") or {}).items()) or "no thread variables set"
    kernels = ", ".join(f"{p.get('internal_api')} kernel {p.get('architecture')} with {p.get('num_threads')} threads"
                        for p in env.get("threadpools") or [] if p.get("user_api") == "blas")
    return (f"python {env.get('python')}, numpy {env.get('numpy')}, BLAS {blas.get('name', '?')} "
            f"{blas.get('version', '')}".rstrip() + (f" ({kernels})" if kernels else " (kernel unknown: pip install "
            "threadpoolctl)") + f", {env.get('cpus_available')} of {env.get('cpu_count')} CPUs "
            f"({env.get('cpu')}), {threads}")

def report_table(results, baseline=None, ratio=None, paired=None):
    "Plain-text table of BenchResults; with a baseline, ratio and paired-ratio columns from the given functions."
    head = f"{'name':<20}{'median':>10}{'q1':>10}{'q3':>10}{'IQR':>10}{'min':>10}{'max':>10}{'calls':>12}"
    if baseline is not None:
        head += f"{'× base':>9}{'paired q1-q3':>15}"
    lines = [head, "-" * len(head)]
    ### BEGIN SOLUTION
    for r in results:
        line = (f"{r.name[:19]:<20}" + "".join(f"{fmt_time(v):>10}" for v in (r.median, r.q1, r.q3, r.iqr, r.min, r.max))
                + f"{f'{r.number}x{len(r.times)}':>12}")
        if baseline is not None:
            if r.name == baseline:
                line += f"{'1.00':>9}{'(baseline)':>15}"
            else:
                q1, q3 = np.percentile(paired(r.name), [25, 75])
                line += f"{ratio(r.name):>9.2f}{f'{q1:.2f}-{q3:.2f}':>15}"
        lines.append(line)
    ### END SOLUTION
    return "\n".join(lines)

def _read(text_or_path):
    "JSON from a text, or from a file when given a Path or a string that does not look like JSON."
    if isinstance(text_or_path, Path) or not str(text_or_path).lstrip().startswith("{"):
        text_or_path = Path(text_or_path).read_text()
    return json.loads(text_or_path)

def _write(data, path):
    text = json.dumps(data, indent=1)
    if path is not None:
        Path(path).write_text(text + "\n")
    return text

def _result(d, env):
    return BenchResult(d["name"], d["times"], d["number"], d["warmup"], env)

@patch
def table(self: BenchResult):
    "The result as a plain-text table with its environment."
    return report_table([self]) + "\n" + env_line(self.env)

@patch
def to_json(self: BenchResult, path=None):
    "The result (raw times, summary, environment) as JSON text; also written to `path` if given."
    ### BEGIN SOLUTION
    return _write({"kind": KIND_BENCH, "env": self.env, "result": self.to_dict()}, path)
    ### END SOLUTION

@patch(cls_method=True)
def from_json(cls: BenchResult, text_or_path):
    "A BenchResult back from `to_json`'s text or file."
    ### BEGIN SOLUTION
    data = _read(text_or_path)
    if data.get("kind") != KIND_BENCH:
        raise ValueError(f"not a tinytorch bench result (kind {data.get('kind')!r})")
    return _result(data["result"], data["env"])
    ### END SOLUTION

@patch
def table(self: Comparison):
    "The comparison as a plain-text table (ratios to the baseline) with its environment."
    return (report_table(list(self.results.values()), self.baseline, self.ratio, self.paired_ratios)
            + "\n" + env_line(self.env))

@patch
def to_json(self: Comparison, path=None):
    "The comparison (raw times, summaries, ratios, environment) as JSON text; also written to `path` if given."
    ### BEGIN SOLUTION
    return _write({"kind": KIND_COMPARE, "env": self.env, "baseline": self.baseline,
                   "results": [r.to_dict() for r in self.results.values()],
                   "ratios": {n: self.ratio(n) for n in self.results}}, path)
    ### END SOLUTION

@patch(cls_method=True)
def from_json(cls: Comparison, text_or_path):
    "A Comparison back from `to_json`'s text or file."
    ### BEGIN SOLUTION
    data = _read(text_or_path)
    if data.get("kind") != KIND_COMPARE:
        raise ValueError(f"not a tinytorch comparison (kind {data.get('kind')!r})")
    return Comparison({d["name"]: _result(d, data["env"]) for d in data["results"]}, data["baseline"], data["env"])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-table-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
text = c.table()
expect_equal(type(text).__name__, "str", "Comparison.table (returns a str)")
expect_equal(text.splitlines()[2:],
             ['a                          2 s       2 s       2 s      0 ns       2 s       2 s         1x4     1.00     (baseline)',
              'b                          5 s       5 s       5 s      0 ns       5 s       5 s         1x4     2.50      2.50-2.50',
              'c                          1 s       1 s       1 s      0 ns       1 s       1 s         1x4     0.50      0.50-0.50',
              'environment: not recorded'],
             "report_table (one row per candidate, with the ratio to the baseline; the environment line last)")
expect_equal(d.table().splitlines()[2:4],
             ['a                          6 s     3.5 s       8 s     4.5 s       1 s      10 s         1x3     1.00     (baseline)',
              'b                          3 s     2.5 s    11.5 s       9 s       2 s      20 s         1x3     0.50      1.25-2.00'],
             "report_table (median, quartiles, IQR, min, max, calls, ratio and the paired ratios' quartiles)")
given = Comparison({"base": BenchResult("base", [2e-3, 4e-3, 3e-3, 1e-3], 10),
                    "candidate with a long name": BenchResult("candidate with a long name", [1e-3, 1e-3, 6e-3, 2e-3], 20),
                    "tiny": BenchResult("tiny", [1e-6, 2e-6, 8e-9, 1.2e-6], 1000),
                    "spread": BenchResult("spread", [2e-3, 8e-3, 9e-3, 4e-3], 3)}, "base")
expect_equal(given.table().splitlines()[2:6],
             ['base                    2.5 ms   1.75 ms   3.25 ms    1.5 ms      1 ms      4 ms        10x4     1.00     (baseline)',
              'candidate with a lo     1.5 ms      1 ms      3 ms      2 ms      1 ms      6 ms        20x4     0.60      0.44-2.00',
              'tiny                    1.1 µs    752 ns    1.4 µs    648 ns      8 ns      2 µs      1000x4     0.00      0.00-0.00',
              'spread                    6 ms    3.5 ms   8.25 ms   4.75 ms      2 ms      9 ms         3x4     2.40      1.75-3.25'],
             "report_table (given results: names cut to 19 characters, times with fmt_time, calls as number x samples)")
expect_equal(report_table([given["base"], given["tiny"]]).splitlines()[2:],
             ['base                    2.5 ms   1.75 ms   3.25 ms    1.5 ms      1 ms      4 ms        10x4',
              'tiny                    1.1 µs    752 ns    1.4 µs    648 ns      8 ns      2 µs      1000x4'],
             "report_table (without a baseline: no ratio columns)")
one = bench(quick, warmup=0, repeats=3, number=10, clock=clock, env=True).table().splitlines()
expect_equal(one[2], 'quick                   100 µs    100 µs    100 µs      0 ns    100 µs    100 µs        10x3',
             "BenchResult.table (one row)")
expect_that(one[-1], lambda v: v.startswith("python") and "numpy" in v, "BenchResult.table (environment line)",
            "the environment line comes last")

# %% nbgrader={"grade": true, "grade_id": "15-benchmarking-json-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import tempfile
c_env = compare({"x": timed_as("x", 3.0), "y": timed_as("y", 4.5)}, baseline="y", warmup=0, repeats=3,
                number=2, clock=clock)
text = c_env.to_json()
data = json.loads(text)
expect_equal([data["kind"], data["baseline"]], ["tinytorch.compare", "y"], "Comparison.to_json (kind and baseline)")
expect_agree(data["env"], c_env.env, "Comparison.to_json (the environment)")
expect_equal(data["ratios"], {"x": 3.0 / 4.5, "y": 1.0}, "Comparison.to_json (the ratios)", rtol=1e-12)
expect_equal([(d["name"], d["times"], d["number"], d["warmup"]) for d in data["results"]],
             [("x", [3.0] * 3, 2, 0), ("y", [4.5] * 3, 2, 0)], "Comparison.to_json (each result's raw times)")
expect_agree([d["stats"] for d in data["results"]], [c_env["x"].stats, c_env["y"].stats],
             "Comparison.to_json (each result's summary)")
back = Comparison.from_json(text)
expect_equal([type(back).__name__, back.baseline, list(back.results)], ["Comparison", "y", ["x", "y"]],
             "Comparison.from_json (the candidates in order, and the baseline)")
expect_equal([(back[n].name, back[n].times, back[n].number, back[n].warmup) for n in ("x", "y")],
             [("x", [3.0] * 3, 2, 0), ("y", [4.5] * 3, 2, 0)], "Comparison.from_json (each result)")
expect_agree([back[n].stats for n in ("x", "y")], [c_env[n].stats for n in ("x", "y")],
             "Comparison.from_json (each result's summary)")
expect_equal(back.ratio("x"), 3.0 / 4.5, "Comparison.from_json (ratios work on the reloaded result)", rtol=1e-12)
expect_agree([back.env, back["x"].env, back["y"].env], [c_env.env] * 3, "Comparison.from_json (the environment)")
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "result.json"
    r1 = bench(quick, warmup=1, repeats=3, number=5, clock=clock)
    returned = r1.to_json(path)
    written = json.loads(path.read_text())
    r2 = BenchResult.from_json(path)
    c_env.to_json(str(Path(tmp) / "c.json"))
    c_back = Comparison.from_json(str(Path(tmp) / "c.json"))
r1_data = json.loads(returned)
expect_agree(written, r1_data, "BenchResult.to_json (writes the JSON it returns to the path)")
expect_equal([r1_data["kind"], r1_data["result"]["name"], r1_data["result"]["number"], r1_data["result"]["warmup"],
              r1_data["result"]["times"]], ["tinytorch.bench", "quick", 5, 1, [1e-4] * 3],
             "BenchResult.to_json (kind, name, number, warmup and raw times)", rtol=1e-9, atol=0)
expect_agree([r1_data["env"], r1_data["result"]["stats"]], [r1.env, r1.stats], "BenchResult.to_json (environment and summary)")
expect_equal([type(r2).__name__, r2.name, r2.number, r2.warmup, r2.times], ["BenchResult", "quick", 5, 1, [1e-4] * 3],
             "BenchResult.from_json (from a file)", rtol=1e-9, atol=0)
expect_agree([r2.env, r2.times], [r1.env, r1.times], "BenchResult.from_json (the environment and times round-trip)")
expect_equal([list(c_back.results), c_back.baseline, c_back.ratio("x")], [["x", "y"], "y", 3.0 / 4.5],
             "Comparison.from_json (from a file given as a str path)", rtol=1e-12)
### BEGIN HIDDEN TESTS
with expect_raises(ValueError, "Comparison.from_json (a bench result is not a comparison)"):
    Comparison.from_json(r1.to_json())
with expect_raises(ValueError, "BenchResult.from_json (a comparison is not a bench result)"):
    BenchResult.from_json(c_env.to_json())
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Using the harness
#
# ### How much does the framework cost?
#
# `a @ b` on two tinytorch Tensors does the numpy matmul plus the framework's work: argument
# checks, a `Tensor` for the result, and (when a gradient is needed) the graph node. For big
# matrices that overhead disappears next to the `2·n³` FLOPs; for small ones it dominates.
# Compare, at several sizes, the same product through tinytorch and through numpy directly.

# %%
from tinytorch.core.autograd import Tensor

print(f"{'n':>5} {'numpy':>10} {'tinytorch':>10} {'ratio':>7} {'paired q1-q3':>14}")
for n in (8, 64, 256):
    a_np = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a_t = Tensor(a_np, requires_grad=True)
    cmp = compare({"numpy": lambda: a_np @ a_np, "tinytorch": lambda: a_t @ a_t}, baseline="numpy",
                  warmup=3, repeats=9, min_time=2e-3, env=False)
    q1, q3 = np.percentile(cmp.paired_ratios("tinytorch"), [25, 75])
    print(f"{n:>5} {fmt_time(cmp['numpy'].median):>10} {fmt_time(cmp['tinytorch'].median):>10} "
          f"{cmp.ratio('tinytorch'):>7.2f} {q1:>6.2f}-{q3:<6.2f}")

# %% [markdown]
# At `n = 8` the product is a few hundred nanoseconds of arithmetic and tinytorch's Python
# around it costs several times that; at `n = 256` the ratio is close to 1. This is why the
# milestones use batches, and why module 14's "outside ops" line matters for small models.
#
# ### Fused or composed softmax, forward and backward
#
# Module 03 wrote softmax as one fused op. Here is the same function composed from the Tensor
# ops of module 02 (five graph nodes). One full comparison, as a table:

# %%
from tinytorch.core.activations import softmax

def softmax_composed(x, axis=-1):
    e = (x - x.max(axis=axis, keepdims=True).detach()).exp()
    return e / e.sum(axis=axis, keepdims=True)

scores = Tensor(np.random.default_rng(1).standard_normal((8, 4, 64, 64)), requires_grad=True)
grad_out = np.ones(scores.shape, dtype=np.float32)
result = compare({"fused": lambda: softmax(scores).backward(grad_out),
                  "composed": lambda: softmax_composed(scores).backward(grad_out)},
                 baseline="fused", warmup=2, repeats=9, min_time=5e-3)
print(result.table())

# %% [markdown]
# ### Warm-up, seen
#
# With no warm-up and one call per sample, the first samples of a fresh function show the
# start-up cost; the median barely notices it, the mean and max do.

# %%
big = np.random.default_rng(2).standard_normal((384, 384))
cold = bench(lambda: np.linalg.qr(big), warmup=0, repeats=8, number=1, env=False)
print("per-sample times:", ", ".join(fmt_time(t) for t in cold.times))
print(f"median {fmt_time(cold.median)}, mean {fmt_time(cold.stats['mean'])}, max {fmt_time(cold.max)}")

# %% [markdown]
# ## Reflection
#
# Answer in a few sentences each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "15-benchmarking-reflect-median-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **What to report.** Twenty samples of a training step are mostly near 80 ms, with two at
# 300 ms when another program ran. What do the mean, the median and the standard deviation
# report, and which would you put in a paper? When is the minimum the better number, and why
# is it dangerous as the only one?

# %% [markdown] nbgrader={"grade": true, "grade_id": "15-benchmarking-reflect-median", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Mean ≈ 80 + 2·220/20 ≈ 102 ms (dragged up by outliers), median ≈ 80 ms (typical call), std
# inflated by the two outliers and meaningless for a skewed distribution; report median with
# IQR (or quartiles) and n. The min estimates the noise-free cost (good for comparing
# implementations of the same deterministic work) but hides variance and real-world costs
# (GC, allocation, contention), is optimistic, and one lucky sample decides it.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "15-benchmarking-reflect-interleave-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Interleaving.** You time A for 20 samples, then B for 20 samples, and find B 15% faster.
# Give two reasons this could be an artefact of the machine rather than of B, and explain how
# `compare`'s rotating rounds and paired ratios guard against them.

# %% [markdown] nbgrader={"grade": true, "grade_id": "15-benchmarking-reflect-interleave", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Drift over time: other processes starting/stopping (shared cores), CPU frequency scaling /
# thermal throttling / turbo, memory and cache state, BLAS thread pools warming up, page cache.
# A-then-B confounds candidate with time. Round-robin puts one sample of each in every round
# so slow periods hit both alike; rotation removes a fixed position bias (always first after a
# pause / after the other one warmed caches); paired per-round ratios cancel shared slowdowns
# and their spread shows whether 15% is beyond the noise.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "15-benchmarking-reflect-environment-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Reproducing.** A classmate reports that tinytorch's training step is 3× slower than
# yours for the same code. Which fields of `environment()` do you compare first, and what
# single setting could explain a 2× difference on a 2-core machine?

# %% [markdown] nbgrader={"grade": true, "grade_id": "15-benchmarking-reflect-environment", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# BLAS name/version (OpenBLAS vs MKL vs reference BLAS), thread settings (OMP/OPENBLAS/MKL
# _NUM_THREADS, cpus_available / affinity, threadpools), CPU model and count, numpy/python
# versions, tinytorch version. Threads: OPENBLAS_NUM_THREADS=1 (or a container limited to one
# CPU) halves matmul throughput on 2 cores; also float64 vs float32 doubles matmul time.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
