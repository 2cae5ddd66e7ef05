"""The vision milestones in their --quick form (a few hundred real images, seconds each): the loss falls and
test accuracy clears a chance-based bar. Needs the datasets: TINYTORCH_DATA must point at them."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MILESTONES = ROOT / "milestones"
SCRIPTS = ["mlp_mnist", "lenet5_mnist", "mlp_cifar10", "lenet5_cifar10"]
DATA = os.environ.get("TINYTORCH_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="TINYTORCH_DATA is not set: the milestones train on the real "
                                "MNIST/CIFAR-10 files (`tito data fetch mnist`, `tito data fetch cifar10`) "
                                "and never on made-up data")


def load_script(stem):
    sys.path.insert(0, str(MILESTONES))
    try:
        spec = importlib.util.spec_from_file_location(f"milestone_{stem}", MILESTONES / f"{stem}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(MILESTONES))


@needs_data
@pytest.mark.parametrize("stem", SCRIPTS)
def test_quick_run_learns(stem, tmp_path):
    summary_path = tmp_path / "summary.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(MILESTONES / f"{stem}.py"), "--quick", "--summary", str(summary_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert summary_path.is_file(), f"the quick run did not finish:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    s = json.loads(summary_path.read_text())
    losses = [row["loss"] for row in s["history"]]
    assert s["quick"] and s["test_size"] == 1000 and s["train_size"] <= 1000
    assert losses[-1] < 0.9 * losses[0], f"{stem}: the training loss should fall, got {losses}"
    chance = 0.1
    bar = chance + 5 * np.sqrt(chance * (1 - chance) / s["test_size"])  # five standard deviations above guessing
    assert s["target"] >= bar, "the quick bar itself must be well above chance"
    assert s["value"] >= s["target"], f"{stem}: quick test accuracy {s['value']:.1%} is below its bar {s['target']:.1%}"
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout and "seed 0" in proc.stdout and "img/s" in proc.stdout


def test_missing_data_is_an_error_not_made_up(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TINYTORCH_DATA=str(tmp_path))
    proc = subprocess.run([sys.executable, str(MILESTONES / "mlp_mnist.py"), "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "tito data fetch mnist" in proc.stderr and str(tmp_path) in proc.stderr


def test_validation_split_is_disjoint_and_from_the_training_set():
    common = load_script("common")
    train, val = common.split(1000, 100, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert len(np.union1d(train, val)) == 1000 and not np.intersect1d(train, val).size
    again_train, again_val = common.split(1000, 100, seed=3)
    np.testing.assert_array_equal(val, again_val)


def test_tito_table_agrees_with_the_scripts():
    from tito.milestones import MILESTONES as TABLE
    vision = [m for m in TABLE if getattr(m, "metric", "test_accuracy") == "test_accuracy"]
    assert [m.script[:-3] for m in vision] == SCRIPTS
    for m in vision:
        recipe = load_script(m.script[:-3]).RECIPE
        assert (recipe.name, recipe.target) == (m.name, m.target)


def test_results_table_is_generated(tmp_path):
    make_readme = load_script("make_readme")
    run = {"name": "lenet5-cifar10", "value": 0.6712, "target": 0.66, "wall_seconds": 600.0, "images_per_second": 4000.0,
           "epochs": 40, "epochs_run": 40, "best_epoch": 39, "seed": 0, "threads": 1, "date": "2026-11-22T04:00:00",
           "command": "python milestones/lenet5_cifar10.py --full", "numpy": "2.4", "blas": {"name": "openblas"},
           "load_average": {"start": 1.0, "end": 2.0}}
    (tmp_path / "lenet5-cifar10.json").write_text(json.dumps(run))
    (tmp_path / "mlp-mnist.json").write_text(json.dumps(dict(run, name="mlp-mnist", value=0.97, target=0.982)))
    runs = make_readme.load_results(tmp_path)
    assert [r["name"] for r in runs] == ["mlp-mnist", "lenet5-cifar10"]
    text = make_readme.render(f"intro\n{make_readme.START}\nold\n{make_readme.END}\noutro\n", runs)
    assert "67.12%" in text and "| **no** |" in text and "old" not in text and text.endswith("outro\n")


def test_committed_readme_matches_the_recorded_results():
    make_readme = load_script("make_readme")
    assert make_readme.main(["--check"]) == 0, "run `python milestones/make_readme.py` and commit README.md"
