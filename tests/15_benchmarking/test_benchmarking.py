"The exported benchmark harness, driven by a fake clock: medians, warm-up, calibration, interleaving, ratios, JSON."
import json
import time

import numpy as np
import pytest

import tinytorch.core.benchmarking as benchmarking
from tinytorch.core.benchmarking import (BenchResult, Comparison, bench, calibrate, compare, environment, fmt_time,
                                         summarize)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def ticking(clock, durations, log=None, name=None):
    "A function that advances `clock` by the next of `durations` (cycling) and logs its name."
    seq = list(durations)
    state = {"i": 0}

    def fn():
        if log is not None:
            log.append(name)
        clock.now += seq[state["i"] % len(seq)]
        state["i"] += 1
    fn.__name__ = name or "fn"
    return fn


@pytest.mark.parametrize("n", [1, 2, 5, 10, 51])
def test_summarize_matches_numpy(n):
    t = np.random.default_rng(n).lognormal(size=n)
    s = summarize(t.tolist())
    assert s["n"] == n
    np.testing.assert_allclose([s["median"], s["q1"], s["q3"], s["min"], s["max"], s["mean"]],
                               [np.median(t), *np.percentile(t, [25, 75]), t.min(), t.max(), t.mean()])
    assert s["iqr"] == pytest.approx(s["q3"] - s["q1"])
    json.dumps(s)


def test_summarize_rejects_nothing():
    with pytest.raises(ValueError):
        summarize([])


def test_median_from_a_fake_clock_and_warmup_not_counted():
    clock, log = FakeClock(), []
    fn = ticking(clock, [50.0, 50.0, 50.0, 7.0, 1.0, 3.0, 9.0, 2.0, 8.0], log, "step")
    r = bench(fn, warmup=3, repeats=6, number=1, clock=clock, env=False)
    assert len(log) == 9 and r.warmup == 3 and r.number == 1 and r.name == "step"
    assert r.times == [7.0, 1.0, 3.0, 9.0, 2.0, 8.0], "the three slow warm-up calls are not samples"
    assert r.median == 5.0 and r.min == 1.0 and r.max == 9.0
    assert r.q1 == pytest.approx(np.percentile(r.times, 25)) and r.q3 == pytest.approx(np.percentile(r.times, 75))


def test_calibration_picks_calls_per_sample_and_reports_per_call_times():
    clock, log = FakeClock(), []
    fn = ticking(clock, [3e-5], log)
    r = bench(fn, warmup=2, repeats=5, min_time=1e-3, clock=clock, env=False)
    assert r.number == 34 and len(log) == 2 + 5 * 34  # ceil(1e-3 / 3e-5)
    np.testing.assert_allclose(r.times, [3e-5] * 5)
    log.clear()
    r = bench(fn, warmup=0, repeats=2, min_time=1e-3, clock=clock, env=False)
    assert r.number == 34 and len(log) == 1 + 2 * 34, "one calibration call when there is no warm-up"
    slow = ticking(clock, [0.5])
    assert calibrate(slow, 1e-3, clock) == 1
    assert calibrate(fn, 1e-3, clock, estimate=0.0) == benchmarking.MAX_NUMBER


def test_bench_validates_repeats():
    with pytest.raises(ValueError):
        bench(lambda: None, repeats=0, env=False)


def test_compare_interleaves_in_rotating_rounds():
    clock, log = FakeClock(), []
    cands = {n: ticking(clock, [d], log, n) for n, d in [("a", 1.0), ("b", 2.0), ("c", 4.0)]}
    c = compare(cands, baseline="b", warmup=2, repeats=4, number=1, clock=clock, env=False)
    assert log[:6] == ["a", "b", "c", "a", "b", "c"], "warm-up runs round-robin first"
    assert log[6:] == list("abc" "bca" "cab" "abc")
    assert [len(c[n].times) for n in "abc"] == [4, 4, 4] and all(c[n].warmup == 2 for n in "abc")
    assert c.ratio("a") == 0.5 and c.ratio("c") == 2.0 and c.ratio("b") == 1.0
    assert c.paired_ratios("c") == [2.0] * 4


def test_compare_calibrates_each_candidate_on_its_own():
    clock = FakeClock()
    c = compare({"fast": ticking(clock, [1e-5]), "slow": ticking(clock, [2e-3])}, warmup=1, repeats=3,
                min_time=1e-3, clock=clock, env=False)
    assert c.baseline == "fast" and c["fast"].number == 100 and c["slow"].number == 1
    assert c.ratio("slow") == pytest.approx(200.0)


def test_paired_ratios_follow_the_rounds_under_drift():
    clock = FakeClock()
    seq = iter([1.0, 2.0, 4.0, 2.0, 8.0, 16.0])  # the machine slows down over time
    cands = {"base": lambda: setattr(clock, "now", clock.now + next(seq)),
             "new": lambda: setattr(clock, "now", clock.now + next(seq))}
    c = compare(cands, baseline="base", warmup=0, repeats=3, number=1, clock=clock, env=False)
    assert c["base"].times == [1.0, 2.0, 8.0] and c["new"].times == [2.0, 4.0, 16.0]
    assert c.paired_ratios("new") == [2.0, 2.0, 2.0], "each round's pair shares the drift"
    assert c.ratio("new") == 2.0


def test_compare_rejects_bad_arguments():
    with pytest.raises(KeyError):
        compare({"a": lambda: None}, baseline="b", repeats=1, env=False)
    with pytest.raises(ValueError):
        compare({}, repeats=1, env=False)
    with pytest.raises(KeyError):
        Comparison({"a": BenchResult("a", [1.0])}, baseline="z")


def test_json_round_trip_of_a_comparison(tmp_path):
    clock = FakeClock()
    c = compare({"x": ticking(clock, [3.0, 1.0]), "y": ticking(clock, [2.0])}, baseline="y", warmup=1, repeats=5,
                number=2, clock=clock)
    text = c.to_json()
    data = json.loads(text)
    assert data["kind"] == "tinytorch.compare" and data["ratios"]["x"] == c.ratio("x")
    assert data["env"]["numpy"] == np.__version__
    for back in (Comparison.from_json(text), Comparison.from_json(c.to_json(tmp_path / "c.json")),
                 Comparison.from_json(str(tmp_path / "c.json"))):
        assert back.baseline == "y" and list(back.results) == ["x", "y"] and back.env == c.env
        for n in "xy":
            assert back[n].times == c[n].times and back[n].number == 2 and back[n].warmup == 1
            assert back[n].stats == c[n].stats
        assert back.ratio("x") == c.ratio("x") and back.paired_ratios("x") == c.paired_ratios("x")
        assert back.table() == c.table()


def test_json_round_trip_of_a_bench_result(tmp_path):
    clock = FakeClock()
    r = bench(ticking(clock, [0.25, 0.5]), warmup=2, repeats=7, number=3, clock=clock, name="train step")
    path = tmp_path / "r.json"
    r.to_json(path)
    back = BenchResult.from_json(path)
    assert (back.name, back.times, back.number, back.warmup, back.env) == (r.name, r.times, 3, 2, r.env)
    assert back.stats == r.stats and back.table() == r.table()
    with pytest.raises(ValueError):
        Comparison.from_json(r.to_json())
    with pytest.raises(ValueError):
        BenchResult.from_json(Comparison({"a": r}, "a").to_json())


def test_table_shows_medians_ratios_and_environment():
    clock = FakeClock()
    c = compare({"numpy": ticking(clock, [2e-3]), "tinytorch": ticking(clock, [3e-3])}, baseline="numpy",
                warmup=0, repeats=3, number=1, clock=clock)
    lines = c.table().splitlines()
    assert lines[0].split()[:2] == ["name", "median"]
    assert lines[2].split()[:3] == ["numpy", "2", "ms"] and "(baseline)" in lines[2]
    assert lines[3].split()[:3] == ["tinytorch", "3", "ms"] and "1.50" in lines[3]
    assert "numpy " + np.__version__ in lines[-1] and "CPUs" in lines[-1]


def test_fmt_time_units():
    assert [fmt_time(x) for x in (2.5, 1.234e-3, 4.56e-6, 7e-9)] == ["2.5 s", "1.23 ms", "4.56 µs", "7 ns"]


def test_environment_records_threads_blas_and_versions(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = environment()
    json.dumps(env)
    assert "OMP_NUM_THREADS" not in env["thread_env"], "unset variables are left out"
    assert env["thread_env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert env["numpy"] == np.__version__ and env["cpu_count"] >= env["cpus_available"] >= 1
    assert env["blas"].get("name"), "numpy >= 1.26 names its BLAS"
    import importlib.util
    if importlib.util.find_spec("threadpoolctl") is None:
        assert env["threadpools"] is None
    else:
        assert isinstance(env["threadpools"], list)


def test_blas_info_on_an_old_numpy_keeps_the_printed_text(monkeypatch):
    def old_show_config():
        print("blas_opt_info:\n    libraries = ['openblas']")
    monkeypatch.setattr(np, "show_config", old_show_config)
    assert benchmarking.blas_info() == {"text": "blas_opt_info:\n    libraries = ['openblas']"}


def test_real_clock_sanity():
    r = bench(lambda: time.sleep(0.002), warmup=1, repeats=5, env=False)
    assert r.number == 1 and 0.002 <= r.median < 0.2
    fast = bench(lambda: None, warmup=1, repeats=5, env=False)
    assert fast.number > 100 and fast.median < 1e-4
