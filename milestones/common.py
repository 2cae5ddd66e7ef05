"""Shared code of the vision milestones: options, data, training with model selection on a validation split,
one evaluation on the full test set, and the result record.

A milestone script describes its model and recipe in a `Recipe` and calls `main(recipe)`.
Import this module before numpy: it applies `--threads` to the BLAS library before numpy loads it.
"""
import os
import sys


def _threads_from_argv(argv, default=1):
    "The value of `--threads N` / `--threads=N` in argv (numpy's BLAS reads its thread count once, at import)."
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


# One BLAS thread by default: on this shared 2-core machine a second BLAS thread mostly waits for a core
# (a skinny conv matmul took 8 ms with two threads and 0.9 ms with one under load); pass --threads 2 to try.
THREADS = _threads_from_argv(sys.argv)
if "numpy" not in sys.modules:  # too late otherwise (e.g. imported by a test): leave the environment alone
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.core.autograd import Tensor, no_grad  # noqa: E402
from tinytorch.core.dataloader import (Compose, DataError, DataLoader, Normalize, RandomCrop,  # noqa: E402
                                       RandomHorizontalFlip, TensorDataset, ToFloat, data_dir, load_cifar10,
                                       load_mnist, random_split)
from tinytorch.core.losses import cross_entropy  # noqa: E402
from tinytorch.core.optimizers import SGD, CosineWarmupLR  # noqa: E402
from tinytorch.core.training import Trainer  # noqa: E402
from tinytorch.core.profiling import keep_freed_memory  # noqa: E402

# Freed numpy arrays stay in the process for reuse instead of costing page faults again (module 14, section 7):
# about 10% of a TinyGPT step on the course machine.
keep_freed_memory()

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def lenet5(in_channels, seed, padding=0):
    "LeNet-5 (ReLU, max pooling): conv 6@5x5, pool, conv 16@5x5, pool, 120-84-10; `padding=2` for 28x28 inputs."
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
    return Sequential(Conv2d(in_channels, 6, 5, padding=padding, seed=seed), ReLU(), MaxPool2d(2),
                      Conv2d(6, 16, 5, seed=seed + 1), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(400, 120, init="he", seed=seed + 2), ReLU(),
                      Linear(120, 84, init="he", seed=seed + 3), ReLU(),
                      Linear(84, 10, seed=seed + 4))


@dataclass
class Recipe:
    "What a milestone trains and how."
    name: str                      # e.g. "lenet5-cifar10"; results/<name>.json
    dataset: str                   # "mnist" or "cifar10"
    model: Callable                # model(seed) -> Module taking (N, C, H, W) or, with flatten=True, (N, C*H*W)
    target: float                  # test accuracy to reach, e.g. 0.982
    epochs: int
    lr: float
    batch_size: int = 128
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    crop_padding: int = 0          # random crop after zero padding by this much (0: no crop)
    flip: bool = False             # random horizontal flips
    flatten: bool = False          # feed (N, C*H*W) vectors (an MLP)
    val_size: int = 5000           # validation examples held out from the training set
    quick_bar: float = 0.2         # accuracy a --quick run must clear (chance is 0.1)
    quick_epochs: int = 6
    budget_seconds: float = 14 * 60  # stop training early (and say so) rather than overrun the 15-minute limit
    extra: dict = field(default_factory=dict)  # anything else worth recording


def parse_args(recipe, argv=None):
    p = argparse.ArgumentParser(description=f"Milestone {recipe.name}: train from scratch, pick the model on a "
                                f"validation split, report test accuracy (target {recipe.target:.1%}).")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="a small run (a few hundred images, seconds) that checks the pipeline learns; not the milestone")
    mode.add_argument("--full", action="store_true",
                      help=f"the full run, and record it in milestones/results/{recipe.name}.json")
    mode.add_argument("--no-test", action="store_true",
                      help="tuning: report validation accuracy only and never touch the test set")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, the split, shuffling, augmentation")
    p.add_argument("--threads", type=int, default=THREADS, help="BLAS threads (default 1)")
    p.add_argument("--epochs", type=int, default=None, help=f"override the number of epochs ({recipe.epochs})")
    p.add_argument("--budget", type=float, default=None, help="seconds after which no new epoch starts "
                   f"(default {recipe.budget_seconds:.0f})")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a recipe field, e.g. --set lr=0.1 (for tuning on the validation split)")
    p.add_argument("--summary", type=Path, default=None, help="also write the run's summary (losses, accuracies) "
                   "as JSON to this path")
    return p.parse_args(argv)


# ---------------------------------------------------------------- data

def load(dataset):
    "(train images, train labels, test images, test labels) as uint8 NCHW arrays and int64 labels."
    if dataset == "mnist":
        (xtr, ytr), (xte, yte) = load_mnist("train"), load_mnist("test")
        return xtr[:, None], ytr, xte[:, None], yte
    (xtr, ytr), (xte, yte) = load_cifar10("train"), load_cifar10("test")
    return xtr, ytr, xte, yte


def split(n, val_size, seed):
    "Indices of the training and validation parts of a training set of n examples (module 07's random_split)."
    val, train = random_split(range(n), [val_size, n - val_size], seed=seed)
    return train.indices, val.indices


def channel_stats(images):
    "Per-channel mean and std of uint8 NCHW images, on the [0, 1] scale."
    stats = [(c.mean(dtype=np.float64), c.std(dtype=np.float64))
             for c in (images[:, i].astype(np.float32) / 255 for i in range(images.shape[1]))]
    return np.array([m for m, _ in stats]), np.array([s for _, s in stats])


def flatten_batch(x):
    return x.reshape(len(x), -1)


def preprocess(recipe, mean, std):
    "uint8 batch -> normalised float32 batch (flattened for an MLP)."
    steps = [ToFloat(), Normalize(mean, std)] + ([flatten_batch] if recipe.flatten else [])
    return Compose(steps)


def augment(recipe, mean, std, seed):
    "The training transform: random crop and flip (as configured), then `preprocess`."
    steps = []
    if recipe.crop_padding:
        steps.append(RandomCrop(32 if recipe.dataset == "cifar10" else 28, padding=recipe.crop_padding, seed=seed + 1))
    if recipe.flip:
        steps.append(RandomHorizontalFlip(seed=seed + 2))
    return Compose(steps + [preprocess(recipe, mean, std)])


# ---------------------------------------------------------------- training

VAL_BATCH = 1024  # a power of two: a batch's accuracy times its size is its exact count of correct predictions


def predict(model, x, batch_size=1000):
    "Class predictions for float32 inputs x, in evaluation mode and without a graph."
    model.eval()
    out = []
    with no_grad():
        for i in range(0, len(x), batch_size):
            out.append(model(Tensor(x[i:i + batch_size])).data.argmax(axis=1))
    model.train()
    return np.concatenate(out)


def accuracy(model, x, y):
    return float(np.mean(predict(model, x) == y))


class MilestoneTrainer(Trainer):
    "Module 08's Trainer, printing one line per epoch and keeping the milestone's record of each epoch."

    def __init__(self, model, optimizer, loss_fn, scheduler, epochs, log=print):
        super().__init__(model, optimizer, loss_fn, scheduler=scheduler, progress=False)
        self.planned_epochs, self.log, self.rows = epochs, log, []

    def record(self, train_stats, val_stats):
        super().record(train_stats, val_stats)
        seconds = time.perf_counter() - self.bar.start  # this epoch: training and validation
        row = {"epoch": self.epoch, "loss": train_stats["loss"], "train_accuracy": train_stats["accuracy"],
               "val_accuracy": val_stats["accuracy"], "lr_end": self.optimizer.lr, "seconds": seconds}
        self.rows.append(row)
        images = len(self.train_loader) * self.train_loader.batch_size
        self.log(f"epoch {self.epoch:3d}/{self.planned_epochs}  loss {row['loss']:.4f}  "
                 f"train acc {row['train_accuracy']:.2%}  val acc {row['val_accuracy']:.2%}  {seconds:.1f}s  "
                 f"{images / max(seconds, 1e-9):.0f} img/s")


def train(recipe, model, train_x, train_y, val_x, val_y, epochs, seed, log=print, deadline=None):
    "SGD with (Nesterov) momentum, weight decay and a warm-up + cosine schedule; keeps the best epoch on validation."
    mean, std = channel_stats(train_x)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=recipe.batch_size, shuffle=True, seed=seed,
                        drop_last=True, transform=augment(recipe, mean, std, seed))
    val = DataLoader(TensorDataset(preprocess(recipe, mean, std)(val_x), val_y), batch_size=VAL_BATCH)
    opt = SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
              weight_decay=recipe.weight_decay)
    total = epochs * len(loader)
    sched = CosineWarmupLR(opt, warmup_steps=min(int(recipe.warmup_epochs * len(loader)), total), total_steps=total)
    def loss_fn(logits, y):
        return cross_entropy(logits, y, label_smoothing=recipe.label_smoothing)
    trainer = MilestoneTrainer(model, opt, loss_fn, sched, epochs, log=log)
    budget = None if deadline is None else deadline - time.perf_counter()
    history = trainer.fit(loader, epochs, val=val, monitor="val_accuracy", time_budget=budget)  # restores the best
    if trainer.epoch < epochs:
        log(f"stopping after epoch {trainer.epoch} of {epochs}: another epoch would overrun the time budget "
            f"(the learning-rate schedule was planned for {epochs} epochs)")
    best = int(np.argmax(history["val_accuracy"]))  # the first of equals, as the early stopper keeps it
    train_seconds = sum(history["train_seconds"])
    return {"history": trainer.rows, "best": {"val_accuracy": history["val_accuracy"][best], "epoch": best + 1},
            "mean": mean.tolist(), "std": std.tolist(), "stopped_early": trainer.epoch < epochs,
            "images_per_second": trainer.epoch * len(loader) * recipe.batch_size / max(train_seconds, 1e-9),
            "train_seconds": train_seconds}


# ---------------------------------------------------------------- the run

def blas_info():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return {"name": cfg.get("name"), "version": cfg.get("version")}
    except Exception:  # numpy < 1.26 has no dict mode
        return {"name": "unknown", "version": None}


def override(recipe, settings):
    "A copy of `recipe` with FIELD=VALUE settings applied (values parsed as Python literals)."
    import ast
    import dataclasses
    changes = {}
    for item in settings:
        key, _, value = item.partition("=")
        if key not in {f.name for f in dataclasses.fields(recipe)} or key in ("name", "model", "target"):
            raise SystemExit(f"--set {item}: not a recipe field one can change")
        changes[key] = ast.literal_eval(value)
    return dataclasses.replace(recipe, **changes)


def run(recipe, args, log=print):
    "Train and evaluate as `args` say; returns the summary dict."
    recipe = override(recipe, args.set)
    quick = args.quick
    epochs = args.epochs or (recipe.quick_epochs if quick else recipe.epochs)
    wall_start = time.perf_counter()
    load_avg_start = os.getloadavg()[0]
    xtr_all, ytr_all, xte, yte = load(recipe.dataset)
    rng_seed = args.seed
    train_idx, val_idx = split(len(xtr_all), recipe.val_size, rng_seed)
    if quick:  # a few hundred images, a slice of the test set: checks that the pipeline learns, nothing more
        train_idx, val_idx = train_idx[:600], val_idx[:200]
        pick = np.random.default_rng(rng_seed).permutation(len(xte))[:1000]
        xte, yte = xte[pick], yte[pick]
    xtr, ytr, xval, yval = xtr_all[train_idx], ytr_all[train_idx], xtr_all[val_idx], ytr_all[val_idx]
    log(f"{recipe.name}: {len(xtr)} training / {len(xval)} validation images (from the training set), "
        f"{len(xte)} test images; {epochs} epochs, batch {recipe.batch_size}, seed {args.seed}, "
        f"{THREADS} BLAS thread(s){'  [--quick: not the milestone]' if quick else ''}")
    model = recipe.model(args.seed)
    budget = args.budget if args.budget is not None else recipe.budget_seconds
    result = train(recipe, model, xtr, ytr, xval, yval, epochs, args.seed, log, deadline=wall_start + budget)
    if args.no_test:
        log(f"\n{recipe.name}: best validation accuracy {result['best']['val_accuracy']:.2%} at epoch "
            f"{result['best']['epoch']} (--no-test: the test set was not used)")
        return None
    test_in = preprocess(recipe, np.asarray(result["mean"]), np.asarray(result["std"]))(xte)
    test_acc = accuracy(model, test_in, yte)  # the one look at the test set, with the model chosen on validation
    wall = time.perf_counter() - wall_start
    target = recipe.quick_bar if quick else recipe.target
    summary = {
        "name": recipe.name, "metric": "test_accuracy", "value": test_acc, "target": target,
        "reached": bool(test_acc >= target), "quick": quick, "seed": args.seed,
        "wall_seconds": round(wall, 1), "train_seconds": round(result["train_seconds"], 1),
        "images_per_second": round(result["images_per_second"], 1),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python " + " ".join(shlex.quote(a) for a in [f"milestones/{Path(sys.argv[0]).name}"] + sys.argv[1:]),
        "numpy": np.__version__, "blas": blas_info(), "threads": THREADS, "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": {"start": round(load_avg_start, 2), "end": round(os.getloadavg()[0], 2)},
        "epochs": epochs, "epochs_run": len(result["history"]), "stopped_early": result["stopped_early"],
        "best_epoch": result["best"]["epoch"],
        "val_accuracy": result["best"]["val_accuracy"],
        "train_size": len(xtr), "val_size": len(xval), "test_size": len(xte),
        "recipe": {k: v for k, v in vars(recipe).items() if k not in ("model", "name", "target")},
        "history": result["history"],
    }
    status = "reached" if summary["reached"] else "NOT reached"
    log(f"\n{recipe.name}: test accuracy {test_acc:.2%} on {len(xte)} test images "
        f"({'quick bar' if quick else 'target'} {target:.1%}: {status})  seed {args.seed}  "
        f"wall time {wall:.0f}s  ({wall / 60:.1f} min)  {summary['images_per_second']:.0f} img/s training  "
        f"model from epoch {summary['best_epoch']} (val acc {summary['val_accuracy']:.2%})")
    return summary


def main(recipe, argv=None):
    args = parse_args(recipe, argv)
    try:
        summary = run(recipe, args)
    except DataError as err:
        print(f"error: {err}\n(the data folder is {data_dir()}; set TINYTORCH_DATA to use another)", file=sys.stderr)
        return 2
    if summary is None:  # --no-test
        return 0
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=1))
    if args.full:
        RESULTS.mkdir(exist_ok=True)
        record = {k: v for k, v in summary.items() if k != "quick"}
        path = RESULTS / f"{recipe.name}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path.relative_to(HERE.parent)}; regenerate the table with `python milestones/make_readme.py`")
    return 0 if summary["reached"] else 1
