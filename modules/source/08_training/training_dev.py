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
# # 08 · Training: the loop, its metrics, and knowing when to stop
#
# You now have every ingredient: Tensors with gradients (01–02), layers (03–04), losses (05),
# optimisers (06) and data loaders (07). Training is the loop that combines them:
#
# ```
# for epoch in range(epochs):
#     for x, y in train_loader:          # one batch
#         loss = loss_fn(model(x), y)    # forward
#         optimizer.zero_grad()
#         loss.backward()                # gradients
#         optimizer.step()               # update
#     evaluate on held-out data; keep the best model; stop when it stops improving
# ```
#
# Five lines of idea, and a surprising amount of engineering around them. This module
# builds the `Trainer` that the milestones use, and the tools to judge a model:
#
# | piece | why it matters |
# |---|---|
# | `accuracy`, `confusion_matrix` | one number to track, and the table that shows *which* classes get confused |
# | `train_step`, `evaluate` | training mode vs evaluation mode, and no graph when none is needed |
# | `EarlyStopping` on a validation split | stop when the model starts to memorise instead of learn |
# | checkpoints (best and last) with resume | hours of training survive a crash; a resumed run continues *exactly* |
# | a text progress bar and a PNG of the curves | see the loss fall, and the throughput, while it trains |

# %%
#| default_exp core.training

# %% nbgrader={"grade": false, "grade_id": "08-training-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
from fastcore.basics import patch

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.dataloader import Compose, DataLoader, as_array, random_split
from tinytorch.core.optimizers import clip_grad_norm

# %% nbgrader={"grade": false, "grade_id": "08-training-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. Metrics: accuracy and the confusion matrix
#
# The loss is what the optimiser minimises; it is not what a person wants to know. For
# classification the headline number is **accuracy**: the fraction of examples whose
# largest logit sits at the true class, `mean(argmax(logits, axis=-1) == labels)`.
# (For a binary classifier with one logit per example the prediction is `logit > 0`.)
#
# Accuracy hides *which* mistakes are made. The **confusion matrix** `M` of `C` classes
# counts them: `M[i, j]` is the number of examples of true class `i` predicted as `j`. The
# diagonal holds the correct ones; row `i` sums to the number of examples of class `i`;
# `M[i, i] / M[i].sum()` is the recall of class `i`. On MNIST it shows at a glance that 4s
# are mistaken for 9s far more often than for 0s.
#
# It can be built without a loop: the pair `(i, j)` is the single number `i * C + j`, and
# `np.bincount` counts all of them at once; reshape the `C*C` counts to `(C, C)`.

# %% nbgrader={"grade": false, "grade_id": "08-training-metrics", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def predictions(outputs, labels):
    "Predicted classes: argmax over the last axis, `> 0` for one logit per example, as is for integer predictions."
    outputs, labels = as_array(outputs), as_array(labels)
    if outputs.shape == labels.shape:
        return outputs if outputs.dtype.kind in "iub" else (outputs > 0).astype(np.int64)
    if outputs.shape[:-1] != labels.shape:
        raise ValueError(f"outputs of shape {outputs.shape} do not match labels of shape {labels.shape}: "
                         "expected logits (..., C) for labels (...)")
    return outputs.argmax(axis=-1)

def accuracy(logits, labels):
    "The fraction of examples predicted correctly (see `predictions`), as a float (0.0 when there are none)."
    ### BEGIN SOLUTION
    labels = as_array(labels)
    return float(np.mean(predictions(logits, labels) == labels)) if labels.size else 0.0
    ### END SOLUTION

def confusion_matrix(preds, labels, num_classes):
    "int64 (C, C) counts: row = true class, column = predicted class; `preds` may also be logits (..., C)."
    preds, labels = as_array(preds), as_array(labels)
    if preds.ndim == labels.ndim + 1:  # logits: take the predicted class
        preds = preds.argmax(axis=-1)
    preds, labels = preds.astype(np.int64).ravel(), labels.astype(np.int64).ravel()
    if preds.shape != labels.shape:
        raise ValueError(f"confusion_matrix: {preds.size} predictions for {labels.size} labels")
    for name, a in (("predictions", preds), ("labels", labels)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in 0..{num_classes - 1}, found {a.min()}..{a.max()}")
    ### BEGIN SOLUTION
    return np.bincount(labels * num_classes + preds, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "08-training-accuracy-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
logits = Tensor([[2.0, 1.0, 0.1], [0.1, 0.2, 3.0], [1.0, 5.0, 0.0], [0.0, 0.0, 1.0]])
labels = Tensor([0, 2, 0, 2])
acc = accuracy(logits, labels)
expect_equal(isinstance(acc, float), True, "accuracy (returns a Python float)")
expect_equal(acc, 0.75, "accuracy (Tensors of logits and labels)")
expect_equal(accuracy(np.array([[0.3, 0.7]] * 4), np.array([1, 1, 0, 1])), 0.75, "accuracy (numpy arrays)")
expect_equal(accuracy(np.array([2.0, -1.0, 0.5, -3.0]), np.array([1.0, 0.0, 0.0, 0.0])), 0.75,
             "accuracy (one logit per example: predicted class is logit > 0)")
expect_equal(accuracy(np.zeros((2, 3, 5)), np.zeros((2, 3), np.int64)), 1.0, "accuracy (logits of shape (..., C))")
expect_equal(accuracy(np.array([1, 2, 0]), np.array([1, 2, 2])), 2 / 3, "accuracy (integer predictions)")
expect_equal(accuracy(np.zeros((0, 3)), np.zeros(0, np.int64)), 0.0, "accuracy (no examples: 0.0)")

# %% nbgrader={"grade": true, "grade_id": "08-training-confusion-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
preds = np.array([0, 1, 1, 2, 2, 2, 0])
true = np.array([0, 1, 2, 2, 2, 0, 0])
m = confusion_matrix(preds, true, 3)
expect_equal(isinstance(m, np.ndarray), True, "confusion_matrix (returns a numpy array)")
expect_equal(m.dtype, np.dtype(np.int64), "confusion_matrix (int64 counts)")
expect_equal(m, np.array([[2, 0, 1], [0, 1, 0], [0, 1, 2]]), "confusion_matrix (rows: true class, columns: predicted)")
expect_equal(m.sum(axis=1), np.bincount(true, minlength=3), "confusion_matrix (row i sums to the examples of class i)")
one_hot_logits = np.eye(3)[preds] * 5.0
expect_agree(confusion_matrix(Tensor(one_hot_logits), Tensor(true), 3), m, "confusion_matrix (logits as Tensors)")
expect_equal(confusion_matrix(np.array([0, 1]), np.array([0, 1]), 3), np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]),
             "confusion_matrix (a class that never occurs still has its row and column)")
### BEGIN HIDDEN TESTS
big = np.random.default_rng(0).integers(0, 10, (2, 1000))
ref = np.zeros((10, 10), np.int64)
for p, t in zip(*big):
    ref[t, p] += 1
expect_equal(confusion_matrix(big[0], big[1], 10), ref, "confusion_matrix (10 classes, 1000 examples)")
with expect_raises(ValueError, "confusion_matrix (a prediction of 3 with 3 classes)"):
    confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Seeing progress
#
# A training run that prints nothing for ten minutes might be working, or might be stuck.
# A **progress bar** shows how far the epoch is, the running mean of the loss, and the
# **throughput** in examples per second: the number to watch when you make things faster
# (module 14) and the one that tells you how long the run will take.
#
# We keep it to plain text so it works everywhere. In a terminal or a notebook the line is
# rewritten in place with a carriage return `\r`; in a log file (or under `tito test`) that
# would leave hundreds of half-lines, so there only the finished line of each epoch is
# printed.
#
# `progress_line(done, total, loss, rate, width=20, prefix="")` formats one line:
# `prefix`, then a bar of `width` characters, `#` for the done fraction (rounded) and `-`
# for the rest, in brackets, then `done/total`, the loss with 4 decimals and the rate with
# thousands separators:
#
# ```
# epoch 3/10 [##########----------] 12/24 loss 0.4213 | 5,123 ex/s
# ```

# %% nbgrader={"grade": false, "grade_id": "08-training-progress", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def progress_line(done, total, loss, rate, width=20, prefix=""):
    "One line of a text progress bar: `prefix[####------] done/total loss L | R ex/s`."
    ### BEGIN SOLUTION
    filled = round(width * done / total) if total else width
    return f"{prefix}[{'#' * filled}{'-' * (width - filled)}] {done}/{total} loss {loss:.4f} | {rate:,.0f} ex/s"
    ### END SOLUTION

def in_notebook():
    "True inside a Jupyter kernel."
    return "ipykernel" in sys.modules

class Progress:
    "A text progress bar over `total` batches: rewritten in place when `live`, else printed once by `close()`."

    def __init__(self, total, prefix="", file=None, live=None, min_interval=0.1):
        self.file = file or sys.stdout
        is_tty = getattr(self.file, "isatty", lambda: False)()
        self.live = (is_tty or in_notebook()) if live is None else live
        self.total, self.prefix, self.min_interval = total, prefix, min_interval
        self.done, self.examples, self.loss_sum = 0, 0, 0.0
        self.start = self.last_shown = time.perf_counter()

    @property
    def rate(self):
        "Examples per second so far."
        return self.examples / max(time.perf_counter() - self.start, 1e-9)

    def line(self):
        return progress_line(self.done, self.total, self.loss_sum / max(self.examples, 1), self.rate, prefix=self.prefix)

    def update(self, examples, loss):
        "Count one batch of `examples` with mean loss `loss`; redraw at most every `min_interval` seconds."
        self.done, self.examples, self.loss_sum = self.done + 1, self.examples + examples, self.loss_sum + loss * examples
        now = time.perf_counter()
        if self.live and (now - self.last_shown >= self.min_interval or self.done == self.total):
            self.last_shown = now
            print("\r" + self.line(), end="", file=self.file, flush=True)

    def close(self, suffix=""):
        "Print the final line (with `suffix`) and a newline."
        print(("\r" if self.live else "") + self.line() + suffix, file=self.file, flush=True)

# %% nbgrader={"grade": true, "grade_id": "08-training-progress-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import io
line = progress_line(5, 10, 0.5, 1234.4, width=10, prefix="epoch 1/3 ")
expect_equal(isinstance(line, str), True, "progress_line (returns a str)")
expect_that(line, lambda s: s.startswith("epoch 1/3 [#####-----] 5/10"), "progress_line",
            "prefix, then a bar of `width` characters in brackets, then done/total")
expect_that(line, lambda s: "loss 0.5000" in s and "1,234 ex/s" in s, "progress_line",
            "the loss with 4 decimals and the rate in examples/s with thousands separators")
expect_that(progress_line(7, 7, 0.1, 10.0), lambda s: s.startswith("[####################] 7/7"),
            "progress_line (all done, default width 20)", "a full bar of 20 `#`")
expect_that(progress_line(2, 3, 0.1, 10.0, width=10), lambda s: s.startswith("[#######---] 2/3"),
            "progress_line (2 of 3 done, width 10)", "the done fraction rounded: 7 `#` and 3 `-`")
expect_that(progress_line(1, 3, 0.1, 10.0, width=10), lambda s: s.startswith("[###-------] 1/3"),
            "progress_line (1 of 3 done, width 10)", "the done fraction rounded: 3 `#` and 7 `-`")
log = io.StringIO()
bar = Progress(3, file=log, live=False)
for _ in range(3):
    bar.update(32, 0.25)
expect_equal(log.getvalue(), "", "Progress.update (not live: nothing is printed until close())")
bar.close(" | done")
out = log.getvalue()
expect_equal(out.count("\n"), 1, "Progress.close (one finished line)")
expect_that(out, lambda s: "3/3" in s and "loss 0.2500" in s and s.rstrip().endswith("| done"), "Progress.close",
            "the finished line shows 3/3, the mean loss and ends with the suffix")
live = io.StringIO()
bar = Progress(2, file=live, live=True, min_interval=0.0)
bar.update(8, 1.0); bar.update(8, 3.0)
expect_equal(live.getvalue().count("\r"), 2, "Progress.update (live: each update rewrites the line)")
expect_that(live.getvalue(), lambda s: "loss 2.0000" in s, "Progress.update", "the running mean loss over examples")

# %% [markdown]
# ## 3. When to stop: a validation split and early stopping
#
# The training loss keeps falling as long as the model can memorise more of the training
# set. What we care about is the loss on data it has **not** seen. So we hold back a
# **validation split** (10–20% of the training set, chosen at random with a seed; the test
# set stays untouched until the very end, or it stops being a fair estimate) and measure
# on it after every epoch.
#
# A typical run: both losses fall; then the validation loss flattens and turns up while the
# training loss goes on falling: **overfitting**. **Early stopping** keeps the weights of the
# best validation epoch and stops once `patience` epochs in a row failed to improve on it by
# more than `min_delta`. Whether "improve" means lower (`mode="min"`, a loss) or higher
# (`mode="max"`, an accuracy) depends on what is monitored.

# %% nbgrader={"grade": false, "grade_id": "08-training-early-stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class EarlyStopping:
    "Track the best value of a monitored metric; `stop` turns True after `patience` epochs without improvement."

    def __init__(self, patience=None, min_delta=0.0, mode="min"):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best, self.bad_epochs, self.stop = None, 0, False

    def step(self, value):
        "Record one epoch's `value`; True when it is a new best (better by more than `min_delta`)."
        ### BEGIN SOLUTION
        value = float(value)
        if self.best is None:
            better = not np.isnan(value)
        elif self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        self.stop = self.patience is not None and self.bad_epochs >= self.patience
        return better
        ### END SOLUTION

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "stop": self.stop}

    def load_state_dict(self, state):
        self.best, self.bad_epochs, self.stop = state["best"], state["bad_epochs"], state["stop"]

# %% nbgrader={"grade": true, "grade_id": "08-training-early-stopping-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
es = EarlyStopping(patience=2, min_delta=0.01)
improved, stopped = [], []
for value in [1.0, 0.8, 0.795, 0.7, 0.71, 0.70]:
    improved.append(es.step(value))
    stopped.append(es.stop)
expect_equal(improved, [True, True, False, True, False, False],
             "EarlyStopping.step (returns True on a new best: lower than the best by more than min_delta)")
expect_equal(stopped, [False, False, False, False, False, True],
             "EarlyStopping.step (stop turns True after `patience` epochs in a row without a new best)")
expect_equal([es.best, es.bad_epochs], [0.7, 2], "EarlyStopping.step (best and bad_epochs after six epochs)")
up = EarlyStopping(patience=1, mode="max")
expect_equal([up.step(0.5), up.step(0.6), up.step(0.6), up.stop], [True, True, False, True],
             "EarlyStopping.step (mode='max': higher is better)")
exact = EarlyStopping(min_delta=0.25)
expect_equal([exact.step(v) for v in [1.0, 0.75, 0.5]], [True, False, True],
             "EarlyStopping.step (mode='min': exactly min_delta lower is not an improvement)")
exact_up = EarlyStopping(min_delta=0.25, mode="max")
expect_equal([exact_up.step(v) for v in [0.5, 0.75, 0.8, 1.0]], [True, False, True, False],
             "EarlyStopping.step (mode='max': higher than the best by more than min_delta)")
never = EarlyStopping()  # no patience: track the best, never stop
expect_equal([never.step(v) for v in [3, 4, 5, 6]], [True, False, False, False],
             "EarlyStopping.step (no patience)")
expect_equal([never.best, never.stop], [3.0, False], "EarlyStopping.step (no patience: tracks the best, never stops)")

# %% [markdown]
# ## 4. Checkpoints
#
# A **checkpoint** is everything needed to continue training as if it had never stopped:
#
# - the model's parameters (`model.state_dict()`), and the best ones seen so far;
# - the optimiser's state: Adam's two moment buffers per parameter and its step count, or
#   SGD's momentum (without them the first steps after a restart are wrong);
# - the schedule's position, the epoch counter, the history, the early-stopping counters;
# - the **random state**: the loader's shuffling generator and those of its random
#   transforms, and any generators in the model (Dropout). Restore those and the resumed run
#   draws the same batches and masks as the uninterrupted one, so it ends on *the same
#   numbers*; that is how you know resuming is correct.
#
# The trainer keeps two: `last.ckpt` after every epoch (to resume) and `best.ckpt` at each
# new best validation score (the model you ship).
#
# The state is a nest of dicts, numbers and numpy arrays; `pickle` stores it as is (only
# load checkpoints you made yourself: unpickling runs code named in the file). Write it
# **atomically**: into `name.tmp`, then `os.replace` onto the real name. A crash halfway
# through writing then leaves the previous checkpoint intact instead of a truncated file.
# Loading a path that does not exist raises `FileNotFoundError`; a file that cannot be
# unpickled raises `ValueError`; both messages name the file.

# %% nbgrader={"grade": false, "grade_id": "08-training-checkpoint-io", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def save_checkpoint(path, state):
    "Write `state` (dicts of numbers and arrays) to `path` atomically with pickle; returns the path."
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ### BEGIN SOLUTION
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return path
    ### END SOLUTION

def load_checkpoint(path):
    "The state written by `save_checkpoint`; FileNotFoundError or ValueError naming `path` otherwise."
    ### BEGIN SOLUTION
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path}") from None
    except Exception as err:  # a damaged pickle fails in many ways
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}: {err})") from None
    ### END SOLUTION

def module_generators(model):
    "The numpy random generators held by `model` and its sub-modules (e.g. Dropout's), in a fixed order."
    found = [v for v in vars(model).values() if isinstance(v, np.random.Generator)]
    for child in (model.children() if hasattr(model, "children") else []):
        found += module_generators(child)
    return found

# %% nbgrader={"grade": true, "grade_id": "08-training-checkpoint-io-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import tempfile
tmp = Path(tempfile.mkdtemp())
state = {"epoch": 3, "model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, "history": {"loss": [1.0, 0.5]}}
path = save_checkpoint(tmp / "run" / "last.ckpt", state)
expect_equal(isinstance(path, Path), True, "save_checkpoint (returns a Path)")
expect_equal(Path(path).relative_to(tmp).as_posix(), "run/last.ckpt", "save_checkpoint (returns the path it wrote)")
expect_equal(sorted(p.name for p in (tmp / "run").iterdir()), ["last.ckpt"],
             "save_checkpoint (writes the file, creating its folder, and leaves no temporary file behind)")
back = load_checkpoint(path)
expect_equal(back, state, "load_checkpoint (returns the state that was saved)")
expect_equal(back["model"]["w"].dtype, np.dtype(np.float32), "load_checkpoint (arrays keep their dtype)")
(tmp / "broken.ckpt").write_bytes(path.read_bytes()[:20])
with expect_raises(ValueError, "load_checkpoint (a damaged file)", mentions=["broken.ckpt"]):
    load_checkpoint(tmp / "broken.ckpt")
with expect_raises(FileNotFoundError, "load_checkpoint (no such file)", mentions=["missing.ckpt"]):
    load_checkpoint(tmp / "missing.ckpt")
save_checkpoint(path, {"epoch": 4})
expect_equal(load_checkpoint(path), {"epoch": 4}, "save_checkpoint (replaces an existing checkpoint)")
before = path.read_bytes()
with expect_raises(TypeError, "save_checkpoint (a state that cannot be pickled)"):
    save_checkpoint(path, {"epoch": 5, "model": (i for i in range(3))})  # a generator cannot be pickled
expect_agree(path.read_bytes(), before,
             "save_checkpoint (atomic: a write that fails halfway leaves the previous checkpoint intact)")

# %% [markdown]
# ## 5. The Trainer
#
# The `Trainer` holds a model, an optimiser, a loss function and optionally a learning-rate
# schedule, and runs the loop. Batches are `(inputs, targets)` pairs, as a `DataLoader` over
# a two-array `TensorDataset` yields them.
#
# **One step** (`train_step`): forward, loss, `optimizer.zero_grad()` (gradients accumulate
# otherwise: module 02), `loss.backward()`, optionally clip the global gradient norm, then
# `optimizer.step()`; a per-step schedule (warm-up, cosine) advances after each step.
#
# **Evaluation** (`evaluate`) differs in two ways that are easy to forget:
# - `model.eval()`: Dropout must be off (and, in later courses, batch-norm must use its
#   running statistics); afterwards the model goes back to the mode it was in;
# - `no_grad()`: no graph is recorded, which saves the memory of every intermediate result.
#
# Both report the **mean over examples**: a batch's mean loss and metrics are weighted by its
# size, so a short last batch counts for what it holds.

# %% nbgrader={"grade": false, "grade_id": "08-training-deterministic", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
def deterministic(transform):
    "`transform` without its random steps (for validation data): random transforms have an `rng`."
    if transform is None or isinstance(getattr(transform, "rng", None), np.random.Generator):
        return None
    if isinstance(transform, Compose):
        kept = [t for t in map(deterministic, transform.transforms) if t is not None]
        return Compose(kept) if kept else None
    return transform

# %% nbgrader={"grade": false, "grade_id": "08-training-trainer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def split_loader(loader, fraction, seed=0):
    "(train, validation) loaders from `loader`'s dataset; validation is unshuffled, without random transforms."
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must be between 0 and 1, got {fraction}")
    train_set, val_set = random_split(loader.dataset, [1 - fraction, fraction], seed=seed)
    train = DataLoader(train_set, loader.batch_size, loader.shuffle, loader.seed, loader.drop_last, loader.transform)
    return train, DataLoader(val_set, loader.batch_size, transform=deterministic(loader.transform))

class Trainer:
    "Fit a model with an optimiser and a loss: metrics, validation, early stopping, checkpoints, progress."

    def __init__(self, model, optimizer, loss_fn, scheduler=None, scheduler_every="step", metrics=None,
                 clip_grad=None, checkpoint_dir=None, progress=True, file=None):
        if scheduler_every not in ("step", "epoch"):
            raise ValueError(f"scheduler_every must be 'step' or 'epoch', got {scheduler_every!r}")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.scheduler_every, self.clip_grad = scheduler, scheduler_every, clip_grad
        self.metrics = {"accuracy": accuracy} if metrics is None else dict(metrics)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.progress, self.file = progress, file
        self.epoch, self.history, self.best_model = 0, {}, None
        self.stopper, self.train_loader, self.bar = EarlyStopping(), None, None

    def measure(self, sums, outputs, targets, loss):
        "Add one batch's loss and metrics, weighted by its size, to `sums`; returns the batch size."
        n = len(targets)
        sums["loss"] = sums.get("loss", 0.0) + loss * n
        for name, fn in self.metrics.items():
            sums[name] = sums.get(name, 0.0) + fn(outputs, targets) * n
        return n

    def train_step(self, x, y):
        "One gradient step on the batch (x, y); returns (loss as a float, the model's outputs)."
        ### BEGIN SOLUTION
        out = self.model(x)
        loss = self.loss_fn(out, y)
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip_grad is not None:
            clip_grad_norm(self.optimizer.params, self.clip_grad)
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_every == "step":
            self.scheduler.step()
        return loss.item(), out
        ### END SOLUTION

    def train_epoch(self, loader, prefix="", keep_open=False):
        "One pass of train_step over `loader` in training mode; the mean loss and metrics, throughput, seconds."
        self.model.train()
        self.bar = Progress(len(loader), prefix=prefix, file=self.file, live=None if self.progress else False)
        sums, n = {}, 0
        for x, y in loader:
            loss, out = self.train_step(x, y)
            n += self.measure(sums, out, y, loss)
            self.bar.update(len(y), loss)
        if self.scheduler is not None and self.scheduler_every == "epoch":
            self.scheduler.step()
        stats = {k: v / max(n, 1) for k, v in sums.items()}
        stats.update(examples_per_s=self.bar.rate, seconds=time.perf_counter() - self.bar.start)
        if self.progress and not keep_open:
            self.bar.close()
        return stats

    def evaluate(self, loader):
        "Mean loss and metrics over `loader`: eval mode, no graph; the model's mode is restored afterwards."
        was_training = self.model.training
        ### BEGIN SOLUTION
        self.model.eval()
        sums, n = {}, 0
        try:
            with no_grad():
                for x, y in loader:
                    out = self.model(x)
                    n += self.measure(sums, out, y, self.loss_fn(out, y).item())
        finally:
            self.model.train(was_training)
        return {k: v / max(n, 1) for k, v in sums.items()}
        ### END SOLUTION

    def predict(self, loader):
        "(predicted classes, labels) over `loader`, in eval mode without a graph."
        was_training, preds, labels = self.model.training, [], []
        self.model.eval()
        try:
            with no_grad():
                for x, y in loader:
                    preds.append(predictions(self.model(x), y))
                    labels.append(as_array(y))
        finally:
            self.model.train(was_training)
        return np.concatenate(preds), np.concatenate(labels)

# %% [markdown]
# The tests use a tiny model: a `Linear` layer on 2-D points with fixed weights, with
# `cross_entropy`; `softmax_ce` recomputes its loss and gradient by hand in numpy.

# %% nbgrader={"grade": true, "grade_id": "08-training-step-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.activations import ReLU
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import SGD, Adam, StepLR
from tinytorch.core.dataloader import TensorDataset

rng = np.random.default_rng(0)
X = rng.standard_normal((64, 2)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
W0 = np.array([[0.5, -0.4], [-0.3, 0.2]], np.float32)
B0 = np.array([0.1, -0.1], np.float32)

def tiny_model():
    "Linear(2, 2) with the fixed weights W0, B0."
    model = Linear(2, 2, seed=0)
    model.weight.data[...], model.bias.data[...] = W0, B0
    return model

def softmax_ce(W, b, X, Y):
    "(mean cross-entropy, gradient wrt W, gradient wrt b) of the linear model x @ W + b, in numpy (float64)."
    z = X.astype(np.float64) @ W + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(Y)), Y]).mean()
    p[np.arange(len(Y)), Y] -= 1
    return loss, X.T @ p / len(Y), p.sum(axis=0) / len(Y)

model = tiny_model()
opt = SGD(model.parameters(), lr=0.5)
trainer = Trainer(model, opt, cross_entropy, scheduler=StepLR(opt, step_size=1, gamma=0.5), progress=False)
x, y = Tensor(X), Tensor(Y)
loss0, gW0, gB0 = softmax_ce(W0, B0, X, Y)
W1, B1 = W0 - 0.5 * gW0, B0 - 0.5 * gB0      # one step at lr 0.5; the schedule then halves it
loss1, gW1, gB1 = softmax_ce(W1, B1, X, Y)
W2, B2 = W1 - 0.25 * gW1, B1 - 0.25 * gB1
first, out = trainer.train_step(x, y)
expect_equal(isinstance(first, float), True, "Trainer.train_step (returns the loss as a Python float)")
expect_equal(first, loss0, "Trainer.train_step (the batch's loss, computed before the step)", rtol=1e-5)
expect_equal(out.shape, (64, 2), "Trainer.train_step (returns the model's outputs)")
expect_equal(out.data, X @ W0 + B0, "Trainer.train_step (the outputs of the forward pass)", rtol=1e-5, atol=1e-6)
expect_equal([model.weight.data, model.bias.data], [W1, B1],
             "Trainer.train_step (one step: forward, loss, zero_grad, backward, optimizer.step)", rtol=1e-5, atol=1e-6)
expect_equal(opt.lr, 0.25, "Trainer.train_step (a per-step schedule advances after each step)")
second, _ = trainer.train_step(x, y)
expect_equal(second, loss1, "Trainer.train_step (the loss after one step)", rtol=1e-5)
expect_that([first, second], lambda v: v[1] < v[0], "Trainer.train_step", "a gradient step on the same batch lowers its loss")
expect_equal([model.weight.data, model.bias.data], [W2, B2],
             "Trainer.train_step (fresh gradients each step: zero_grad; and the scheduled lr)", rtol=1e-5, atol=1e-6)
expect_equal(opt.lr, 0.125, "Trainer.train_step (a per-step schedule advances after each step)")
per_epoch = tiny_model()
opt = SGD(per_epoch.parameters(), lr=0.5)
trainer = Trainer(per_epoch, opt, cross_entropy, scheduler=StepLR(opt, step_size=1, gamma=0.5), scheduler_every="epoch",
                  progress=False)
trainer.train_step(x, y)
expect_equal(opt.lr, 0.5, "Trainer.train_step (scheduler_every='epoch': the schedule does not advance per step)")
trainer.train_epoch(DataLoader(TensorDataset(X, Y), batch_size=16))
expect_equal(opt.lr, 0.25, "Trainer.train_epoch (scheduler_every='epoch': one schedule step per epoch)")
clipped = tiny_model()
trainer = Trainer(clipped, SGD(clipped.parameters(), lr=0.5), cross_entropy, clip_grad=0.01, progress=False)
trainer.train_step(x, y)
moved = np.sqrt(np.sum((clipped.weight.data - W0) ** 2) + np.sum((clipped.bias.data - B0) ** 2))
expect_equal(float(moved), 0.5 * 0.01, "Trainer.train_step (clip_grad: the gradients' global norm is clipped before the step)",
             rtol=1e-4)

# %% nbgrader={"grade": true, "grade_id": "08-training-evaluate-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
class Spy(Module):
    "Linear + Dropout that records the mode it ran in and whether its output recorded a graph."
    def __init__(self):
        self.fc, self.drop, self.seen = tiny_model(), Dropout(0.5, seed=0), []
    def forward(self, x):
        out = self.drop(self.fc(x))
        self.seen.append((self.training, out.requires_grad))
        return out

spy = Spy()
trainer = Trainer(spy, SGD(spy.parameters(), lr=0.1), cross_entropy, progress=False)
loader = DataLoader(TensorDataset(X, Y), batch_size=24)  # batches of 24, 24, 16
stats = trainer.evaluate(loader)
expect_equal(isinstance(stats, dict), True, "Trainer.evaluate (returns a dict)")
expect_equal(sorted(stats), ["accuracy", "loss"], "Trainer.evaluate (the mean loss and each metric)")
expect_equal(spy.seen, [(False, False)] * 3, "Trainer.evaluate (runs in eval mode, without a graph: model.eval(), no_grad())")
expect_equal(spy.training, True, "Trainer.evaluate (the model is back in training mode afterwards)")
expect_equal([spy.fc.weight.data, spy.fc.bias.data], [W0, B0], "Trainer.evaluate (leaves the parameters alone)")
logits = X @ W0 + B0
expect_equal(stats["loss"], softmax_ce(W0, B0, X, Y)[0],
             "Trainer.evaluate (the mean loss over examples: each batch weighted by its size)", rtol=1e-5)
expect_equal(stats["accuracy"], np.mean(logits.argmax(1) == Y), "Trainer.evaluate (the accuracy over all examples)")
single = trainer.evaluate(DataLoader(TensorDataset(X[:1], Y[:1]), batch_size=1))
expect_equal(single["loss"], softmax_ce(W0, B0, X[:1], Y[:1])[0], "Trainer.evaluate (one example)", rtol=1e-5)
### BEGIN HIDDEN TESTS
spy.eval()
trainer.evaluate(loader)
expect_equal(spy.training, False, "Trainer.evaluate (a model in eval mode stays in eval mode)")
### END HIDDEN TESTS

# %% [markdown]
# ### `fit`: the whole loop
#
# `fit(train, epochs, val=None, val_fraction=0.0, patience=None, ...)` trains until
# `epochs` epochs are done **in total** (so a resumed run asks for the same number):
#
# 1. without a `val` loader but with `val_fraction`, split the training loader
#    (`split_loader`: the validation part is unshuffled and gets only the deterministic
#    part of the transform; random crops and flips are for training);
# 2. with `resume=True` and a `last.ckpt` in `checkpoint_dir`, load it;
# 3. each epoch: `train_epoch` (its progress bar's prefix is `epoch k/N `, k counting from 1),
#    `evaluate` on validation, count the epoch, record the numbers (`record` prints the
#    epoch's one finished progress line), and ask the early stopper about the monitored value
#    (`val_loss` by default, `train_loss` without validation). On a new best keep a copy of
#    the weights and write `best.ckpt`; always write `last.ckpt`. Stop when the stopper says so,
#    or, given a `time_budget` in seconds, when another epoch as long as the last one would
#    overrun it (`another_epoch_fits`);
# 4. finally load the best weights back into the model (`restore_best`; without it the model
#    keeps the last epoch's weights), and draw the curves if `plot` names a PNG file.
#
# `state_dict`/`load_state_dict` collect and restore everything a checkpoint holds. A
# checkpoint also loads into a new `Trainer` for the same model and optimiser that has no
# schedule or has never been fitted (to evaluate a saved model): what one side lacks is skipped.
#
# `plot_history(history, path)` draws one panel per metric side by side (the loss, and the
# accuracy when it was recorded), each 4.5 × 3.2 inches at 100 dpi (450 × 320 pixels), with
# the training and validation curves as coloured lines against the epoch, and saves the
# figure as a PNG file.

# %% nbgrader={"grade": false, "grade_id": "08-training-fit", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def state_dict(self: Trainer):
    "Everything needed to resume: epoch, model, optimiser, schedule, history, early stopping, best weights, random state."
    ### BEGIN SOLUTION
    return {"epoch": self.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": {k: list(v) for k, v in self.history.items()},
            "early_stopping": self.stopper.state_dict(), "best_model": self.best_model,
            "rngs": {"loader": self.train_loader.state_dict() if self.train_loader is not None else None,
                     "model": [g.bit_generator.state for g in module_generators(self.model)]}}
    ### END SOLUTION

@patch
def load_state_dict(self: Trainer, state):
    "Restore what `state_dict` returned (same model and optimiser; schedule and loader state when both sides have one)."
    ### BEGIN SOLUTION
    self.epoch, self.best_model = state["epoch"], state["best_model"]
    self.model.load_state_dict(state["model"])
    self.optimizer.load_state_dict(state["optimizer"])
    if self.scheduler is not None and state["scheduler"] is not None:
        self.scheduler.load_state_dict(state["scheduler"])
    self.history = {k: list(v) for k, v in state["history"].items()}
    self.stopper.load_state_dict(state["early_stopping"])
    if self.train_loader is not None and state["rngs"]["loader"] is not None:
        self.train_loader.load_state_dict(state["rngs"]["loader"])
    for g, s in zip(module_generators(self.model), state["rngs"]["model"]):
        g.bit_generator.state = s
    ### END SOLUTION

@patch
def save(self: Trainer, name):
    "Write checkpoint `name`.ckpt into checkpoint_dir (nothing without one); returns the path or None."
    return save_checkpoint(self.checkpoint_dir / f"{name}.ckpt", self.state_dict()) if self.checkpoint_dir else None

@patch
def record(self: Trainer, train_stats, val_stats):
    "Append an epoch's numbers to the history; print the finished progress line with the validation numbers."
    row = {"epoch": self.epoch, "lr": self.optimizer.lr, **{f"train_{k}": v for k, v in train_stats.items()},
           **{f"val_{k}": v for k, v in val_stats.items()}}
    for k, v in row.items():
        self.history.setdefault(k, []).append(v)
    if self.progress:
        shown = "".join(f" {k} {v:.2%}" if k == "accuracy" else f" {k} {v:.4f}" for k, v in val_stats.items())
        self.bar.close(f" | val{shown}" if val_stats else "")

@patch
def another_epoch_fits(self: Trainer, started, time_budget):
    "Whether an epoch as long as the last one would end within `time_budget` seconds of `started` (always, without a budget)."
    if time_budget is None or self.bar is None:
        return True
    now = time.perf_counter()
    return now + (now - self.bar.start) <= started + time_budget

@patch
def fit(self: Trainer, train, epochs, val=None, val_fraction=0.0, patience=None, min_delta=0.0, monitor=None,
        resume=False, restore_best=True, split_seed=0, plot=None, time_budget=None):
    "Train until `epochs` epochs are done in total; early stopping on validation; best/last checkpoints; the history."
    started = time.perf_counter()
    if val is not None and val_fraction:
        raise ValueError("give either a validation loader or val_fraction, not both")
    if val is None and val_fraction:
        train, val = split_loader(train, val_fraction, seed=split_seed)
    self.train_loader = train
    monitor = monitor or ("val_loss" if val is not None else "train_loss")
    self.stopper = EarlyStopping(patience, min_delta, "min" if monitor.endswith("loss") else "max")
    if resume and self.checkpoint_dir and (self.checkpoint_dir / "last.ckpt").is_file():
        self.load_state_dict(load_checkpoint(self.checkpoint_dir / "last.ckpt"))
    ### BEGIN SOLUTION
    while self.epoch < epochs and not self.stopper.stop and self.another_epoch_fits(started, time_budget):
        train_stats = self.train_epoch(train, prefix=f"epoch {self.epoch + 1}/{epochs} ", keep_open=True)
        val_stats = self.evaluate(val) if val is not None else {}
        self.epoch += 1
        self.record(train_stats, val_stats)
        if self.stopper.step(self.history[monitor][-1]):
            self.best_model = self.model.state_dict()
            self.save("best")
        self.save("last")
    if restore_best and self.best_model is not None:
        self.model.load_state_dict(self.best_model)
    ### END SOLUTION
    if plot:
        plot_history(self.history, plot)
    return self.history

def plot_history(history, path):
    "Loss (and accuracy, if recorded) per epoch, training vs validation, saved as a PNG file; returns the path."
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display needed, any backend untouched
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    ### BEGIN SOLUTION
    names = [m for m in ("loss", "accuracy") if history.get(f"train_{m}")]
    fig = Figure(figsize=(4.5 * len(names), 3.2))
    FigureCanvasAgg(fig)
    for i, name in enumerate(names, 1):
        ax = fig.add_subplot(1, len(names), i)
        for split in ("train", "val"):
            if history.get(f"{split}_{name}"):
                ax.plot(history["epoch"], history[f"{split}_{name}"], marker="o", label=split)
        ax.set(xlabel="epoch", title=name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return Path(path)
    ### END SOLUTION

# %% [markdown]
# The big test: a small MLP learns three Gaussian blobs in 2-D, with a validation split and
# early stopping. It must reach high validation accuracy, and its training loss must fall.

# %% nbgrader={"grade": true, "grade_id": "08-training-fit-mlp", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def blobs(n, seed=0):
    "Three well-separated Gaussian blobs in 2-D: (float32 points, int64 labels)."
    r = np.random.default_rng(seed)
    labels = r.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return (centres[labels] + r.standard_normal((n, 2))).astype(np.float32), labels

def mlp(seed=0):
    return Sequential(Linear(2, 32, init="he", seed=seed), ReLU(), Linear(32, 3, seed=seed + 1))

X, Y = blobs(600)
model = mlp()
trainer = Trainer(model, Adam(model.parameters(), lr=0.01), cross_entropy, progress=False)
history = trainer.fit(DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True, seed=0), epochs=15,
                      val_fraction=0.2, patience=4)
expect_equal(isinstance(history, dict), True, "Trainer.fit (returns the history dict)")
expect_equal(sorted(history), ["epoch", "lr", "train_accuracy", "train_examples_per_s", "train_loss", "train_seconds",
                               "val_accuracy", "val_loss"], "Trainer.fit (the history: one list per recorded number)")
expect_that(trainer.epoch, lambda e: 1 <= e <= 15, "Trainer.fit", "between 1 and `epochs` epochs run")
expect_agree(history["epoch"], list(range(1, trainer.epoch + 1)), "Trainer.fit (one history row per epoch, counted in trainer.epoch)")
expect_agree([len(history["train_loss"]), len(history["val_loss"]), len(history["val_accuracy"])], [trainer.epoch] * 3,
             "Trainer.fit (training and validation numbers for every epoch)")
expect_that(history["train_loss"], lambda v: v[-1] < 0.5 * v[0], "Trainer.fit", "the training loss falls below half its first value")
expect_that(history["val_accuracy"], lambda v: max(v) > 0.95, "Trainer.fit", "validation accuracy above 95%")
Xt, Yt = blobs(300, seed=1)
test_acc = accuracy(model(Tensor(Xt)), Yt)
expect_that(test_acc, lambda a: a > 0.95, "Trainer.fit", "held-out accuracy above 95%")
_, val_split = split_loader(DataLoader(TensorDataset(X, Y), batch_size=32), 0.2, seed=0)
expect_agree(trainer.evaluate(val_split)["loss"], min(history["val_loss"]),
             "Trainer.fit (restore_best: the weights of the best validation epoch are loaded at the end)", rtol=1e-6)
### BEGIN HIDDEN TESTS
frozen = mlp(5)
stuck = Trainer(frozen, SGD(frozen.parameters(), lr=0.0), cross_entropy, progress=False)
h = stuck.fit(DataLoader(TensorDataset(X, Y), batch_size=64), epochs=20, val_fraction=0.2, patience=3)
expect_equal([stuck.epoch, len(h["val_loss"])], [4, 4],
             "Trainer.fit (early stopping: with lr 0 nothing improves after epoch 1, so it stops after 1 + patience epochs)")
# Validation labels opposite to the training labels: the better the model learns, the worse it validates.
import re
r = np.random.default_rng(1)
Xf = r.standard_normal((60, 2)).astype(np.float32)
Yf = (Xf[:, 0] > 0).astype(np.int64)
flipped = DataLoader(TensorDataset(Xf, 1 - Yf), batch_size=20)
shown, ckdir = io.StringIO(), Path(tempfile.mkdtemp())
last = tiny_model()
t = Trainer(last, SGD(last.parameters(), lr=0.5), cross_entropy, checkpoint_dir=ckdir, file=shown)
hf = t.fit(DataLoader(TensorDataset(Xf, Yf), batch_size=20), epochs=3, val=flipped, restore_best=False)
expect_that(hf["val_loss"], lambda v: v[0] < v[1] < v[2], "Trainer.fit", "the validation loss on opposite labels rises")
expect_agree(t.evaluate(flipped)["loss"], hf["val_loss"][-1],
             "Trainer.fit (restore_best=False: the model keeps the last epoch's weights)", rtol=1e-6)
expect_equal(sorted(p.name for p in ckdir.iterdir()), ["best.ckpt", "last.ckpt"],
             "Trainer.fit (writes best.ckpt and last.ckpt into checkpoint_dir)")
expect_equal([load_checkpoint(ckdir / "best.ckpt")["epoch"], load_checkpoint(ckdir / "last.ckpt")["epoch"]], [1, 3],
             "Trainer.fit (best.ckpt at the best epoch, last.ckpt after every epoch)")
text = shown.getvalue()
expect_equal(text.count("\n"), 3, "Trainer.fit (one finished progress line per epoch)")
expect_equal(sorted(set(re.findall(r"epoch -?\d+/\d+", text))), ["epoch 1/3", "epoch 2/3", "epoch 3/3"],
             "Trainer.fit (the progress bar's prefix: epoch k/N, k from 1)")
best = tiny_model()
t = Trainer(best, SGD(best.parameters(), lr=0.5), cross_entropy, progress=False)
hb = t.fit(DataLoader(TensorDataset(Xf, Yf), batch_size=20), epochs=3, val=flipped)
expect_agree(t.evaluate(flipped)["loss"], hb["val_loss"][0],
             "Trainer.fit (restore_best: the weights of the best validation epoch, here the first, are loaded at the end)",
             rtol=1e-6)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "08-training-resume-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def dropout_mlp():
    return Sequential(Linear(2, 16, seed=0), ReLU(), Dropout(0.2, seed=1), Linear(16, 3, seed=2))

def run(epochs, ckpt, resume=False):
    "A fresh seeded set-up (Dropout and shuffling both draw random numbers) trained to `epochs` in total."
    model = dropout_mlp()
    opt = Adam(model.parameters(), lr=0.01)
    t = Trainer(model, opt, cross_entropy, scheduler=StepLR(opt, step_size=3, gamma=0.8), checkpoint_dir=ckpt,
                progress=False)
    t.fit(DataLoader(TensorDataset(X, Y), batch_size=50, shuffle=True, seed=3), epochs=epochs, val_fraction=0.2,
          resume=resume, restore_best=False)
    return t

straight = run(4, Path(tempfile.mkdtemp()))
ckpt = Path(tempfile.mkdtemp())
run(2, ckpt)
expect_equal(sorted(p.name for p in ckpt.iterdir()), ["best.ckpt", "last.ckpt"],
             "Trainer.fit (writes best.ckpt and last.ckpt into checkpoint_dir)")
expect_equal(load_checkpoint(ckpt / "last.ckpt")["epoch"], 2, "Trainer.state_dict (the epoch count, in last.ckpt)")
resumed = run(4, ckpt, resume=True)
expect_equal([resumed.epoch, len(resumed.history["train_loss"])], [4, 4],
             "Trainer.fit (resume: load_state_dict restores epoch and history; training continues to `epochs` in total)")
expect_agree([p.data for p in resumed.model.parameters()], [p.data for p in straight.model.parameters()],
             "Trainer.state_dict / load_state_dict (a resumed run ends exactly where an uninterrupted one does: "
             "model, optimiser, schedule and random state)", rtol=0, atol=0)
expect_agree(resumed.history["val_loss"], straight.history["val_loss"],
             "Trainer.state_dict / load_state_dict (the resumed run's validation losses)", rtol=1e-6)
expect_agree(resumed.history["lr"], straight.history["lr"], "Trainer.state_dict / load_state_dict (the schedule's position)")
best = load_checkpoint(ckpt / "best.ckpt")
expect_agree(best["epoch"], 1 + int(np.argmin(resumed.history["val_loss"])),
             "Trainer.fit (best.ckpt holds the best validation epoch)")
again = dropout_mlp()
fresh = Trainer(again, Adam(again.parameters(), lr=0.01), cross_entropy, progress=False)  # no schedule, never fitted
fresh.load_state_dict(load_checkpoint(ckpt / "last.ckpt"))
expect_agree([fresh.epoch, fresh.history["val_loss"]] + [p.data for p in again.parameters()],
             [resumed.epoch, resumed.history["val_loss"]] + [p.data for p in resumed.model.parameters()],
             "Trainer.load_state_dict (a checkpoint into a new Trainer without a schedule, never fitted)", rtol=0, atol=0)

# %% nbgrader={"grade": true, "grade_id": "08-training-plot-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
from matplotlib.image import imread

def png_size(data):
    "(width, height) in pixels from a PNG's header."
    return [int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")]

curves = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.7, 0.6],
          "train_accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.45, 0.65, 0.7]}
png = plot_history(curves, Path(tempfile.mkdtemp()) / "curves.png")
expect_equal(isinstance(png, Path), True, "plot_history (returns a Path)")
expect_equal(png.name, "curves.png", "plot_history (returns the path it wrote)")
data = png.read_bytes()
expect_equal(data[:8], b"\x89PNG\r\n\x1a\n", "plot_history (writes a PNG file)")
expect_that(len(data), lambda n: n > 2000, "plot_history", "a PNG with a figure in it")
expect_equal(png_size(data), [900, 320], "plot_history (loss and accuracy: two 450 x 320 pixel panels side by side)")
img = imread(png)
expect_that(int(np.sum(np.ptp(img[..., :3], axis=-1) > 0.3)), lambda n: n > 200, "plot_history",
            "the training and validation curves are drawn as coloured lines")
expect_that(float(img[int(0.75 * len(img)):, :, :3].min()), lambda v: v < 0.5, "plot_history",
            "the panels fill the figure's height (one row of panels)")
only_train = plot_history({"epoch": [1, 2], "train_loss": [1.0, 0.5]}, png.with_name("loss.png"))
expect_equal(only_train.read_bytes()[:4], b"\x89PNG", "plot_history (only a training loss recorded)")
expect_equal(png_size(only_train.read_bytes()), [450, 320], "plot_history (only the loss recorded: one 450 x 320 pixel panel)")

# %% [markdown]
# The curves of the resumed run, and its confusion matrix on fresh points. (The figure is a
# file; in a notebook, show it with `IPython.display.Image(filename=...)`.)

# %%
print("saved", plot_history(resumed.history, Path(tempfile.mkdtemp()) / "resumed.png"))
preds, labels = resumed.predict(DataLoader(TensorDataset(*blobs(300, seed=2)), batch_size=100))
print(confusion_matrix(preds, labels, 3))

# %% [markdown]
# ## 6. The real thing: an MLP on MNIST
#
# With MNIST in your data folder (`tito data fetch mnist`) this trains a 784-128-10 MLP on
# 10,000 training images for 3 epochs, with the progress bar, and reports accuracy on the
# full 10,000-image test set. The MLP milestone trains on all 60,000 and reaches ~98%.

# %%
from tinytorch.core.dataloader import DataError, Normalize, ToFloat, load_mnist

try:
    train_x, train_y = load_mnist("train")
    test_x, test_y = load_mnist("test")
except DataError as err:
    print("MNIST is not in the data folder (fine for this module):", err)
else:
    flat = lambda imgs: imgs.reshape(len(imgs), -1)
    prep = Compose([ToFloat(), Normalize(0.1307, 0.3081)])
    net = Sequential(Linear(784, 128, init="he", seed=0), ReLU(), Linear(128, 10, seed=1))
    mnist_trainer = Trainer(net, Adam(net.parameters(), lr=1e-3), cross_entropy)
    mnist_trainer.fit(DataLoader(TensorDataset(flat(train_x[:10_000]), train_y[:10_000]), batch_size=128,
                                 shuffle=True, seed=0, transform=prep), epochs=3, val_fraction=0.1)
    result = mnist_trainer.evaluate(DataLoader(TensorDataset(flat(test_x), test_y), batch_size=1000, transform=prep))
    print(f"test accuracy {result['accuracy']:.2%}, test loss {result['loss']:.4f}")

# %% [markdown]
# ## Reflection
#
# Answer in a sentence or three each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "08-training-reflect-validation-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Validation.** Why do we stop early on a validation split taken from the training set
# rather than on the test set? What happens to the test accuracy you report if you pick the
# epoch (or any setting) by looking at the test set?

# %% [markdown] nbgrader={"grade": true, "grade_id": "08-training-reflect-validation", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Choosing the epoch/hyper-parameters is fitting; if it uses the test set, the test set is no
# longer unseen and the reported accuracy is optimistically biased (selection on noise). A
# validation split from training data does the selection; the test set is used once at the end,
# so it remains an unbiased estimate of performance on new data.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "08-training-reflect-resume-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Resuming.** You restart a crashed Adam run from a checkpoint that holds only the model's
# weights. Name two things that then differ from the run that never crashed, and their effect.

# %% [markdown] nbgrader={"grade": true, "grade_id": "08-training-reflect-resume", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Any two: Adam's moment buffers and step count restart at zero (bias correction makes the
# first steps large, like a fresh start: a loss spike); the LR schedule restarts (warm-up again /
# wrong lr); the data order and augmentation/dropout random draws differ (not reproducible);
# the epoch counter/history/early-stopping counters and best model are lost.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "08-training-reflect-throughput-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Throughput.** The progress bar shows examples per second. Why does it usually rise when
# you double the batch size, and why is that not automatically a faster way to reach a
# given accuracy?

# %% [markdown] nbgrader={"grade": true, "grade_id": "08-training-reflect-throughput", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Larger batches amortise per-step Python/framework overhead and give BLAS larger matmuls
# (better efficiency), so more examples/s. But there are half as many optimiser steps per
# epoch and the gradient noise changes; beyond some size more epochs (or a larger, re-tuned
# lr) are needed, so time-to-accuracy may not improve; memory also grows with batch size.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
