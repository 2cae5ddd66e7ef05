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
# # 07 · DataLoader: feeding a model batches, fast and reproducibly
#
# A model learns from data one **mini-batch** at a time: 32 to 256 examples stacked into
# one array, so that a single matmul processes them all. Between the files on disk and the
# model sits a small piece of machinery that every framework has: the **data loader**. It
# decides which examples go into which batch (shuffling, with a seed), gathers them into
# arrays, applies **augmentation** (random crops and flips that make the model generalise),
# and hands Tensors to the training loop.
#
# What you build:
#
# | piece | why it matters |
# |---|---|
# | `Dataset`, `TensorDataset`, `Subset`, `random_split` | one interface for "N examples"; a validation split |
# | `DataLoader` (batch size, shuffle with a seed, `drop_last`) | SGD needs a fresh random order every epoch, and experiments must repeat exactly |
# | vectorised batching (fancy indexing) | a Python loop per example can cost more than the model's forward pass |
# | batch transforms: `Normalize`, `RandomCrop`, `RandomHorizontalFlip`, `Compose` | input scaling and augmentation on whole batches at numpy speed |
# | `read_idx`, `load_mnist`, `load_cifar10` | the datasets' own published formats, read byte by byte |
#
# A rule for the whole module: when data is missing or damaged, **fail loudly** with the
# file's name and the command that fixes it. A loader that quietly substitutes random
# numbers produces a model that "trains" and means nothing.

# %%
#| default_exp core.dataloader

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import gzip
import math
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from tinytorch.core.tensor import Tensor

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. Datasets: N examples behind one interface
#
# A **dataset** is anything with a length and a way to fetch example `i`: `len(ds)` and
# `ds[i]`, which returns a tuple of fields, typically `(image, label)`. That is all a loader
# needs to know, which is why the same loader serves images, text and tabular data.
#
# Fetching one example at a time is simple but slow: a batch of 128 means 128 Python calls,
# 128 small arrays and a `np.stack`. When the whole dataset already sits in numpy arrays
# (MNIST is 47 MB, CIFAR-10 150 MB: both fit in memory) a batch is one **fancy-indexing**
# operation, `images[[17, 3, 940, ...]]`, executed in C. So our datasets get a second
# method, `get_batch(indices)`:
#
# - the base class `Dataset` implements it with the slow, general loop (any dataset with
#   `__getitem__` works);
# - `TensorDataset(*arrays)` overrides it with one fancy index per array.
#
# Fields are numpy arrays inside the loader; the `DataLoader` turns them into Tensors at the
# very end.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-as-array", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
def as_array(x):
    "The numpy array behind `x` (a Tensor's data, or `np.asarray(x)`)."
    return x.data if isinstance(x, Tensor) else np.asarray(x)

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-dataset", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dataset:
    "N examples: `len(ds)`, `ds[i]` -> a tuple of fields, and `get_batch(indices)` -> a tuple of stacked arrays."

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, i):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        "The examples at `indices`, each field stacked into one array (one Python call per example)."
        ### BEGIN SOLUTION
        items = [self[int(i)] for i in indices]
        items = [item if isinstance(item, (tuple, list)) else (item,) for item in items]
        return tuple(np.stack([as_array(f) for f in field]) for field in zip(*items))
        ### END SOLUTION

class TensorDataset(Dataset):
    "Examples held in arrays (or Tensors) that share their first dimension; batches by fancy indexing."

    def __init__(self, *arrays):
        ### BEGIN SOLUTION
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(as_array(a) for a in arrays)
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: every array needs the same first dimension, got lengths {lengths}")
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.arrays[0])
        ### END SOLUTION

    def __getitem__(self, i):
        ### BEGIN SOLUTION
        return tuple(a[i] for a in self.arrays)
        ### END SOLUTION

    def get_batch(self, indices):
        "The examples at `indices`: one fancy index per array, no Python loop over examples."
        ### BEGIN SOLUTION
        indices = np.asarray(indices)
        return tuple(a[indices] for a in self.arrays)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-tensordataset-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(20, dtype=np.float32).reshape(10, 2)
y = np.arange(10) % 3
ds = TensorDataset(x, Tensor(y))
expect_equal(len(ds), 10, "len(TensorDataset) (TensorDataset.__len__: the number of examples)")
xi, yi = ds[4]
expect_equal(np.asarray(xi), np.array([8.0, 9.0]), "TensorDataset.__getitem__ (field 0 of example 4)")
expect_equal(int(yi), 1, "TensorDataset.__getitem__ (field 1 of example 4, given as a Tensor)")
expect_equal(np.asarray(ds[9][0]), np.array([18.0, 19.0]), "TensorDataset.__getitem__ (example 9)")
batch = ds.get_batch(np.array([7, 0, 3]))
expect_equal(type(batch).__name__, "tuple", "TensorDataset.get_batch (returns a tuple, one array per field)")
expect_equal([type(f).__name__ for f in batch], ["ndarray", "ndarray"], "TensorDataset.get_batch (one numpy array per field)")
expect_equal(batch[0], np.array([[14.0, 15.0], [0.0, 1.0], [6.0, 7.0]]), "TensorDataset.get_batch (field 0)")
expect_equal(batch[1], np.array([1, 0, 0]), "TensorDataset.get_batch (field 1)")
one = TensorDataset(np.arange(6) * 2)
expect_equal((len(one), len(one.get_batch([5, 2]))), (6, 1), "TensorDataset (a single array: one field)")
expect_equal(one.get_batch([5, 2])[0], np.array([10, 4]), "TensorDataset.get_batch (a single array)")
with expect_raises(ValueError, "TensorDataset.__init__ (arrays of different lengths)", mentions=["5", "4"]):
    TensorDataset(np.zeros((5, 2)), np.zeros(4))
### BEGIN HIDDEN TESTS
with expect_raises(ValueError, "TensorDataset.__init__ (arrays of different lengths)", mentions=["3", "7"]):
    TensorDataset(np.zeros(3), np.zeros(3), np.zeros((7, 1)))
three = TensorDataset(np.arange(4), np.arange(4) * 3, Tensor(np.ones((4, 2))))
expect_equal([f.shape for f in three.get_batch(np.array([3, 1]))], [(2,), (2,), (2, 2)], "TensorDataset.get_batch (three fields)")
expect_equal(three.get_batch(np.array([3, 1]))[1], np.array([9, 3]), "TensorDataset.get_batch (three fields)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-dataset-fallback", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
class Squares(Dataset):
    "A dataset with only __getitem__: example i is (i as a 2-vector, i*i)."
    def __len__(self): return 6
    def __getitem__(self, i): return np.array([i, i], dtype=np.float32), i * i

batch = Squares().get_batch([5, 1, 2])
expect_equal(type(batch).__name__, "tuple", "Dataset.get_batch (returns a tuple, one array per field)")
expect_equal([type(f).__name__ for f in batch], ["ndarray", "ndarray"], "Dataset.get_batch (one numpy array per field)")
xb, yb = batch
expect_equal(xb, np.array([[5.0, 5.0], [1.0, 1.0], [2.0, 2.0]]), "Dataset.get_batch (field 0 stacked)")
expect_equal(yb, np.array([25, 1, 4]), "Dataset.get_batch (field 1 stacked)")
expect_equal(Squares().get_batch(np.array([3]))[0].shape, (1, 2), "Dataset.get_batch (a batch of one)")

# %% [markdown]
# ### Subsets and a validation split
#
# To stop training at the right moment (module 08) we need a **validation set**: examples
# the model never trains on, taken from the training data, so the test set stays untouched
# until the very end. A `Subset` is a view of a dataset through an index array, and its
# `get_batch` maps indices and stays vectorised. `random_split(ds, [0.9, 0.1], seed=0)`
# shuffles the indices once, with a seed, and cuts them into pieces (fractions or counts).

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-subset", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Subset(Dataset):
    "The examples of `dataset` at `indices`, in that order."

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        return self.dataset[int(self.indices[i])]

    def get_batch(self, indices):
        ### BEGIN SOLUTION
        return self.dataset.get_batch(self.indices[np.asarray(indices)])
        ### END SOLUTION

def random_split(dataset, lengths, seed=None):
    "Disjoint random Subsets of `dataset` with the given sizes (counts, or fractions that sum to 1)."
    n = len(dataset)
    if all(isinstance(l, float) for l in lengths):
        if abs(sum(lengths) - 1) > 1e-6:
            raise ValueError(f"random_split: fractions must sum to 1, got {lengths}")
        counts = [int(math.floor(f * n)) for f in lengths]
        counts[0] += n - sum(counts)  # the remainder goes to the first piece
    else:
        counts = [int(l) for l in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: sizes {counts} do not add up to the dataset's {n} examples")
    ### BEGIN SOLUTION
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-subset-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ds = TensorDataset(np.arange(100) * 10, np.arange(100))
train, val = random_split(ds, [0.8, 0.2], seed=0)
expect_equal([isinstance(train, Subset), isinstance(val, Subset)], [True, True], "random_split (returns Subsets)")
expect_equal((len(train), len(val)), (80, 20), "random_split (fractions 0.8 and 0.2 of 100 examples)")
tx, ty = train.get_batch(np.arange(80))
vx, vy = val.get_batch(np.arange(20))
expect_equal((tx.shape, vy.shape), ((80,), (20,)), "Subset.get_batch")
expect_equal(sorted(np.concatenate([ty, vy]).tolist()), list(range(100)), "random_split (the pieces cover every example once)")
expect_agree(tx, ty * 10, "Subset.get_batch (the fields of the same examples)")
expect_agree(vx, vy * 10, "Subset.get_batch (the fields of the same examples)")
expect_agree(val.get_batch(np.array([3, 0, 19]))[1], [val[3][1], val[0][1], val[19][1]],
             "Subset.get_batch (batch i holds the examples Subset[i])")
expect_agree(random_split(ds, [0.8, 0.2], seed=0)[1].get_batch(np.arange(20))[1], vy,
             "random_split (the same seed gives the same split)")
expect_that(ty, lambda v: not np.array_equal(v, np.arange(80)), "random_split",
            "the split is random, not the first 80 examples")
### BEGIN HIDDEN TESTS
parts = random_split(ds, [30, 50, 20], seed=1)
expect_equal([len(p) for p in parts], [30, 50, 20], "random_split (sizes given as counts)")
labels = [p.get_batch(np.arange(len(p)))[1] for p in parts]
expect_equal(sorted(np.concatenate(labels).tolist()), list(range(100)), "random_split (the pieces cover every example once)")
expect_that([vy, random_split(ds, [0.8, 0.2], seed=5)[1].get_batch(np.arange(20))[1]],
            lambda v: not np.array_equal(v[0], v[1]), "random_split", "another seed gives another split")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The DataLoader
#
# One **epoch** is one pass over the dataset. The loader turns an epoch into batches:
#
# 1. choose the order: `0, 1, ..., n-1`, or with `shuffle=True` a random permutation;
# 2. cut it into consecutive slices of `batch_size` indices; the last slice may be short,
#    and `drop_last=True` drops it (useful when every batch must have the same size);
# 3. gather each slice with `dataset.get_batch`, apply `transform` to the inputs (the first
#    field), wrap every field in a `Tensor`.
#
# `len(loader)` is the number of batches per epoch: `ceil(n / batch_size)`, or
# `floor(n / batch_size)` with `drop_last`.
#
# **Shuffling and seeds.** Stochastic gradient descent assumes each batch is a fair random
# sample; visiting the data in the same order every epoch (or sorted by class!) makes the
# gradient steps correlated and training worse. So every epoch needs a *new* permutation.
# Yet an experiment must also be repeatable. Both hold if the loader owns one random
# generator, created once from `seed`: each epoch draws the next permutation from it, so the
# epochs differ from each other, and a second loader with the same seed produces the very
# same sequence of epochs.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-generators", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
def generators(obj):
    "The numpy random generators `obj` draws from: its `.rng`, and those of the transforms it composes."
    found = [obj.rng] if isinstance(getattr(obj, "rng", None), np.random.Generator) else []
    for part in getattr(obj, "transforms", ()):
        found += generators(part)
    return found

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-loader", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class DataLoader:
    "Batches of Tensors from a dataset: optional shuffling (a new permutation each epoch, seeded) and transform."

    def __init__(self, dataset, batch_size=32, shuffle=False, seed=None, drop_last=False, transform=None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), shuffle
        self.seed, self.drop_last, self.transform = seed, drop_last, transform
        self.rng = np.random.default_rng(seed)  # one generator for all epochs: each epoch draws the next order

    def __len__(self):
        "Batches per epoch."
        ### BEGIN SOLUTION
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        ### END SOLUTION

    def order(self):
        "The example indices of one epoch: a fresh permutation on each call when shuffling, else 0..n-1."
        ### BEGIN SOLUTION
        n = len(self.dataset)
        return self.rng.permutation(n) if self.shuffle else np.arange(n)
        ### END SOLUTION

    def __iter__(self):
        "Yield one tuple of Tensors per batch; the transform applies to the first field."
        ### BEGIN SOLUTION
        order = self.order()
        for b in range(len(self)):
            batch = self.dataset.get_batch(order[b * self.batch_size:(b + 1) * self.batch_size])
            if self.transform is not None:
                batch = (self.transform(batch[0]),) + tuple(batch[1:])
            yield tuple(Tensor(field) for field in batch)
        ### END SOLUTION

    def state_dict(self):
        "The random state of the loader and its transforms, to resume training exactly."
        return {"rngs": [g.bit_generator.state for g in [self.rng] + generators(self.transform)]}

    def load_state_dict(self, state):
        "Restore what `state_dict` saved (the same loader and transform set-up)."
        gens = [self.rng] + generators(self.transform)
        if len(state["rngs"]) != len(gens):
            raise ValueError(f"the saved loader state has {len(state['rngs'])} random generators, this loader {len(gens)}")
        for g, s in zip(gens, state["rngs"]):
            g.bit_generator.state = s

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-batches-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(10, dtype=np.float32).reshape(10, 1)
y = np.arange(10)
loader = DataLoader(TensorDataset(x, y), batch_size=4)
expect_equal(len(loader), 3, "len(DataLoader) (DataLoader.__len__: 10 examples in batches of 4)")
batches = list(loader)
expect_equal([(type(b).__name__, len(b)) for b in batches], [("tuple", 2)] * 3,
             "DataLoader.__iter__ (one tuple of fields per batch)")
expect_equal([isinstance(f, Tensor) for b in batches for f in b], [True] * 6, "DataLoader.__iter__ (the loader yields Tensors)")
xb, yb = batches[0]
expect_equal((xb.shape, xb.dtype), ((4, 1), np.dtype(np.float32)), "DataLoader.__iter__ (first batch of inputs)")
expect_equal(yb.dtype.kind, "i", "DataLoader.__iter__ (integer labels stay integers)")
expect_equal([b[0].shape[0] for b in batches], [4, 4, 2], "DataLoader.__iter__ (the last batch holds the remainder)")
expect_equal(np.concatenate([np.asarray(b[1].data) for b in batches]), np.arange(10),
             "DataLoader.__iter__ / DataLoader.order (every example once, 0..n-1 without shuffle)")
expect_equal(np.concatenate([np.asarray(b[0].data) for b in batches]), x, "DataLoader.__iter__ (the inputs)")
dropped = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
expect_equal(len(dropped), 2, "len(DataLoader) (DataLoader.__len__ with drop_last)")
expect_equal([b[0].shape[0] for b in dropped], [4, 4], "DataLoader.__iter__ (drop_last drops the short batch)")
### BEGIN HIDDEN TESTS
even = TensorDataset(np.arange(12))
expect_equal([len(DataLoader(even, batch_size=bs, drop_last=d)) for bs in (1, 3, 5, 12, 13) for d in (False, True)],
             [12, 12, 4, 4, 3, 2, 1, 1, 1, 0], "len(DataLoader) (DataLoader.__len__: ceil, or floor with drop_last)")
expect_equal([b[0].shape[0] for b in DataLoader(even, batch_size=5)], [5, 5, 2], "DataLoader.__iter__ (batch_size=5)")
expect_equal([b[0].shape[0] for b in DataLoader(even, batch_size=13, drop_last=True)], [],
             "DataLoader.__iter__ (drop_last with fewer examples than batch_size)")
expect_equal([np.asarray(b[0].data).tolist() for b in DataLoader(even, batch_size=5, drop_last=True)],
             [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]], "DataLoader.__iter__ (drop_last)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-shuffle-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
ds = TensorDataset(np.arange(50))
def epoch(loader): return np.concatenate([np.asarray(b[0].data) for b in loader])
a = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
e1, e2 = epoch(a), epoch(a)
expect_that(e1, lambda v: v.shape == (50,) and sorted(v.tolist()) == list(range(50)), "DataLoader.order (shuffle=True)",
            "an epoch visits every example exactly once")
expect_that(e2, lambda v: v.shape == (50,) and sorted(v.tolist()) == list(range(50)), "DataLoader.order (shuffle=True)",
            "the second epoch visits every example exactly once too")
expect_that(e1, lambda v: not np.array_equal(v, np.arange(50)), "DataLoader.order (shuffle=True)", "shuffle=True changes the order")
expect_that([e1, e2], lambda v: not np.array_equal(v[0], v[1]), "DataLoader.order (shuffle=True)",
            "each epoch draws a new permutation")
expect_equal([b[0].shape[0] for b in a], [8, 8, 8, 8, 8, 8, 2], "DataLoader.__iter__ (shuffled batches of 8)")
b = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
expect_agree(epoch(b), e1, "DataLoader.order (the same seed gives the same first epoch)")
expect_agree(epoch(b), e2, "DataLoader.order (the same seed gives the same second epoch)")
expect_equal(epoch(DataLoader(ds, batch_size=8)), np.arange(50), "DataLoader.order (shuffle=False keeps 0..n-1)")
### BEGIN HIDDEN TESTS
c = DataLoader(ds, batch_size=8, shuffle=True, seed=4)
expect_that([epoch(c), e1], lambda v: not np.array_equal(v[0], v[1]), "DataLoader.order",
            "a different seed gives a different order")
d = DataLoader(ds, batch_size=7, shuffle=True, seed=3)
epoch(d)
state = d.state_dict()
nxt = epoch(d)
d2 = DataLoader(ds, batch_size=7, shuffle=True, seed=99)
d2.load_state_dict(state)
expect_agree(epoch(d2), nxt, "DataLoader.order (draws from self.rng: state_dict / load_state_dict resume it)")
### END HIDDEN TESTS

# %% [markdown]
# The next test checks that the loader really batches by fancy indexing: it counts how
# often a dataset's `__getitem__` runs while a `TensorDataset` is loaded. The answer must be
# zero, with exactly one `get_batch` call per batch.

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-vectorised", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
class Counting(TensorDataset):
    items = batches = 0
    def __getitem__(self, i):
        Counting.items += 1
        return super().__getitem__(i)
    def get_batch(self, indices):
        Counting.batches += 1
        return super().get_batch(indices)

out = list(DataLoader(Counting(np.zeros((100, 3)), np.zeros(100)), batch_size=32, shuffle=True, seed=0))
expect_equal((len(out), out[0][0].shape, out[-1][0].shape), (4, (32, 3), (4, 3)), "DataLoader.__iter__ (100 examples in batches of 32)")
expect_equal(Counting.items, 0, "DataLoader.__iter__ (batch with dataset.get_batch, not __getitem__ per example)")
expect_equal(Counting.batches, 4, "DataLoader.__iter__ (one dataset.get_batch call per batch)")
### BEGIN HIDDEN TESTS
sq = list(DataLoader(Squares(), batch_size=4))
expect_equal((len(sq), sq[0][0].shape), (2, (4, 2)), "DataLoader.__iter__ (a Dataset with only __getitem__)")
expect_equal(np.asarray(sq[1][1].data), np.array([16, 25]), "DataLoader.__iter__ (a Dataset with only __getitem__)")
### END HIDDEN TESTS

# %% [markdown]
# ### How much does vectorising save?
#
# Time one epoch over 20,000 MNIST-sized examples both ways: the per-example loop of the
# base class against one fancy index per batch. (Your numbers will vary; the ratio is what
# matters. A small model on MNIST spends a few milliseconds per batch in its forward and
# backward passes, so a loader costing as much would halve training speed.)

# %%
import time

class LoopDataset(Dataset):
    "The same arrays, but only __getitem__: batches are gathered by the base class's Python loop."
    def __init__(self, *arrays): self.arrays = arrays
    def __len__(self): return len(self.arrays[0])
    def __getitem__(self, i): return tuple(a[i] for a in self.arrays)

images = np.random.default_rng(0).integers(0, 256, (20_000, 28, 28), dtype=np.uint8)
labels = np.random.default_rng(1).integers(0, 10, 20_000)
for name, ds in [("per-example loop", LoopDataset(images, labels)), ("fancy indexing", TensorDataset(images, labels))]:
    start = time.perf_counter()
    for xb, yb in DataLoader(ds, batch_size=128, shuffle=True, seed=0):
        pass
    print(f"{name:>17}: {time.perf_counter() - start:.3f} s per epoch")

# %% [markdown]
# ## 3. Transforms on whole batches
#
# Raw pixels are bytes in `[0, 255]`. Networks train far better on inputs of roughly zero
# mean and unit variance, so we rescale and **normalise**: per channel `c`,
# $x' = (x - \mu_c) / \sigma_c$, with $\mu, \sigma$ measured on the training set
# (MNIST after scaling to [0, 1]: μ ≈ 0.1307, σ ≈ 0.3081).
#
# **Augmentation** makes new training examples out of old ones by changes that keep the
# label: a digit shifted by two pixels is still a 3, a horizontally mirrored cat is still a
# cat. A model that sees a slightly different version of each image every epoch overfits
# less. Two classic ones for CIFAR-10:
#
# - `RandomCrop(32, padding=4)`: pad the image with 4 zero pixels on every side (40×40),
#   then cut out a random 32×32 window: a random shift of up to 4 pixels;
# - `RandomHorizontalFlip(p=0.5)`: mirror each image left-right with probability 0.5.
#
# (Never flip digits: a mirrored 2 is no longer a 2. Augmentations encode what you know
# about the data.)
#
# Ours work on a **whole batch** `(N, C, H, W)` (or `(N, H, W)`) at once, with one random
# draw per example and no Python loop:
#
# - a flip is `x[..., ::-1]` where a per-example coin says so (`np.where` with a mask of
#   shape `(N, 1, 1, 1)`);
# - a crop at per-example offsets is a gather: `np.lib.stride_tricks.sliding_window_view(x,
#   (h, w), axis=(-2, -1))` views every `h×w` window without copying (shape
#   `(N, C, H-h+1, W-w+1, h, w)`), and indexing it with `[np.arange(N), ..., top, left]`
#   picks one window per example.
#
# Each random transform owns a generator made from its `seed`, like the loader. Transforms
# take and return numpy arrays; `Compose([...])` chains them.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-transforms", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Compose:
    "Apply several batch transforms in order."

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        ### BEGIN SOLUTION
        for t in self.transforms:
            x = t(x)
        return x
        ### END SOLUTION

class ToFloat:
    "Bytes to float32 in [0, 1] (multiply by `scale`)."

    def __init__(self, scale=1 / 255):
        self.scale = scale

    def __call__(self, x):
        ### BEGIN SOLUTION
        return np.asarray(x, dtype=np.float32) * np.float32(self.scale)
        ### END SOLUTION

class Normalize:
    "(x - mean[c]) / std[c] per channel c (axis 1 of a batch), as float32; a scalar mean/std applies to all."

    def __init__(self, mean, std):
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        if self.mean.shape != self.std.shape or self.mean.ndim > 1:
            raise ValueError(f"Normalize: mean and std must be numbers or equal-length lists, got shapes "
                             f"{self.mean.shape} and {self.std.shape}")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std}")

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        if self.mean.ndim == 1 and self.mean.size > 1 and (x.ndim < 2 or x.shape[1] != self.mean.size):
            raise ValueError(f"Normalize has {self.mean.size} channel means but the batch has shape {x.shape}; "
                             "channels are axis 1 (N, C, H, W)")
        ### BEGIN SOLUTION
        shape = (1, -1) + (1,) * (x.ndim - 2) if self.mean.ndim == 1 else ()
        return (x - self.mean.reshape(shape)) / self.std.reshape(shape)
        ### END SOLUTION

class RandomCrop:
    "A random `size`×`size` window of each image after zero-padding by `padding` pixels on every side."

    def __init__(self, size, padding=0, seed=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding, self.rng = int(padding), np.random.default_rng(seed)

    def __call__(self, x):
        x = np.asarray(x)
        p, (th, tw) = self.padding, self.size
        if p:
            x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)])
        n, h, w = len(x), x.shape[-2], x.shape[-1]
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: cannot cut {self.size} windows out of {h}x{w} images (after padding {p})")
        ### BEGIN SOLUTION
        top = self.rng.integers(0, h - th + 1, size=n)
        left = self.rng.integers(0, w - tw + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(x, (th, tw), axis=(-2, -1))
        return windows[np.arange(n), ..., top, left, :, :]
        ### END SOLUTION

class RandomHorizontalFlip:
    "Mirror each image left-right (last axis) with probability `p`."

    def __init__(self, p=0.5, seed=None):
        self.p, self.rng = p, np.random.default_rng(seed)

    def __call__(self, x):
        x = np.asarray(x)
        ### BEGIN SOLUTION
        flip = self.rng.random(len(x)) < self.p
        return np.where(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x[..., ::-1], x)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-normalize-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
batch = rng.integers(0, 256, (4, 3, 5, 5)).astype(np.uint8)
out = Normalize([10.0, 20.0, 30.0], [2.0, 4.0, 5.0])(batch)
expect_equal((type(out).__name__, out.shape, out.dtype), ("ndarray", (4, 3, 5, 5), np.dtype(np.float32)), "Normalize.__call__")
expect_equal(out, (batch.astype(np.float64) - np.array([10.0, 20.0, 30.0]).reshape(1, 3, 1, 1)) / np.array([2.0, 4.0, 5.0]).reshape(1, 3, 1, 1),
             "Normalize.__call__ (per channel c: (x - mean[c]) / std[c])", rtol=1e-5)
gray = Normalize(0.5, 0.25)(np.full((2, 28, 28), 1.0))
expect_equal(gray, np.full((2, 28, 28), 2.0), "Normalize.__call__ (a scalar mean and std)", rtol=1e-6)
expect_equal(Normalize(0.5, 0.25)(np.array([[0.0, 0.25, 1.5]])), np.array([[-2.0, -1.0, 4.0]]),
             "Normalize.__call__ (a scalar mean and std)", rtol=1e-6)
f = ToFloat()(np.array([[0, 51, 255]], dtype=np.uint8))
expect_equal(f.dtype, np.dtype(np.float32), "ToFloat.__call__ (float32)")
expect_equal(f, np.array([[0.0, 0.2, 1.0]]), "ToFloat.__call__ (bytes to [0, 1])", rtol=1e-6)
expect_equal(ToFloat(scale=0.5)(np.array([4, 6], dtype=np.uint8)), np.array([2.0, 3.0]), "ToFloat.__call__ (scale)", rtol=1e-6)
### BEGIN HIDDEN TESTS
three = Normalize([1.0, 2.0], [0.5, 4.0])(np.array([[[2.0, 3.0], [10.0, 6.0]]]))  # a batch (N, C, W): one example, 2 channels
expect_equal(three, np.array([[[2.0, 4.0], [2.0, 1.0]]]), "Normalize.__call__ (per channel c on axis 1 of (N, C, W))", rtol=1e-6)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-crop-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.arange(64 * 3 * 6 * 6).reshape(64, 3, 6, 6) % 251 + 1  # no zeros, so padding is visible
out = RandomCrop(6, padding=2, seed=0)(x)
expect_equal((type(out).__name__, out.shape), ("ndarray", (64, 3, 6, 6)), "RandomCrop.__call__")
padded = np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)])
# the reference loop: which windows (top, left) of its padded image is each output?
windows = [[(t, l) for t in range(5) for l in range(5) if np.array_equal(out[i], padded[i, :, t:t + 6, l:l + 6])]
           for i in range(64)]
expect_that(windows, lambda v: all(len(w) == 1 for w in v), "RandomCrop.__call__",
            "each output is a 6x6 window of its own padded image")
expect_that(windows, lambda v: len({w[0] for w in v}) > 5, "RandomCrop.__call__", "each example gets its own random offset")
expect_that(windows, lambda v: sorted({w[0][0] for w in v}) == [0, 1, 2, 3, 4] and sorted({w[0][1] for w in v}) == [0, 1, 2, 3, 4],
            "RandomCrop.__call__", "every top and left offset from 0 to 2 * padding occurs (64 draws)")
expect_agree(RandomCrop(6, padding=2, seed=0)(x), out, "RandomCrop.__call__ (seeded: the same seed gives the same crops)")
expect_equal(RandomCrop(6)(x), x, "RandomCrop.__call__ (no padding, full size: identity)")
### BEGIN HIDDEN TESTS
src = np.arange(10 * 5 * 5).reshape(10, 5, 5)
small = RandomCrop(3, seed=1)(src)
expect_equal(small.shape, (10, 3, 3), "RandomCrop.__call__ (a batch (N, H, W))")
expect_that([[(t, l) for t in range(3) for l in range(3) if np.array_equal(small[i], src[i, t:t + 3, l:l + 3])] for i in range(10)],
            lambda v: all(len(w) == 1 for w in v), "RandomCrop.__call__ (a batch (N, H, W))",
            "each output is a 3x3 window of its own image")
wide = RandomCrop((2, 4), padding=1, seed=2)(np.ones((200, 1, 3, 4)))
expect_equal(wide.shape, (200, 1, 2, 4), "RandomCrop.__call__ (size (2, 4))")
expect_that(wide.sum(axis=(1, 2, 3)), lambda v: sorted(set(v.tolist())) == [3.0, 4.0, 6.0, 8.0], "RandomCrop.__call__ (size (2, 4))",
            "2x4 windows of a 3x4 image of ones padded to 5x6 hold 1 or 2 rows and 3 or 4 columns of ones, "
            "and every top (0..3) and left (0..2) occurs in 200 draws")
codes = RandomCrop(1, seed=3)(np.broadcast_to(np.arange(25).reshape(1, 1, 5, 5), (2000, 1, 5, 5)))  # pixel value: 5 * row + column
expect_equal(codes.shape, (2000, 1, 1, 1), "RandomCrop.__call__ (1x1 windows)")
expect_that([np.bincount(codes.ravel() // 5, minlength=5).tolist(), np.bincount(codes.ravel() % 5, minlength=5).tolist()],
            lambda v: all(len(c) == 5 and 0.12 * 2000 < min(c) and max(c) < 0.28 * 2000 for c in v), "RandomCrop.__call__",
            "the top and left offsets are uniform: each of 0..4 in about a fifth of 2000 draws")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-flip-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = np.random.default_rng(0).integers(0, 256, (200, 3, 4, 5)).astype(np.uint8)
out = RandomHorizontalFlip(p=0.5, seed=0)(x)
expect_equal((type(out).__name__, out.shape, out.dtype), ("ndarray", (200, 3, 4, 5), np.dtype(np.uint8)),
             "RandomHorizontalFlip.__call__")
flipped = [bool(np.array_equal(out[i], x[i, :, :, ::-1])) for i in range(200)]
kept = [bool(np.array_equal(out[i], x[i])) for i in range(200)]
expect_that([flipped, kept], lambda v: all(f or k for f, k in zip(*v)), "RandomHorizontalFlip.__call__",
            "every image is either unchanged or mirrored left-right")
expect_that(flipped, lambda v: 60 < sum(v) < 140, "RandomHorizontalFlip.__call__ (p=0.5)", "p=0.5 should flip about half of 200")
expect_agree(RandomHorizontalFlip(p=0.5, seed=0)(x), out, "RandomHorizontalFlip.__call__ (seeded: the same seed, the same flips)")
expect_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1], "RandomHorizontalFlip.__call__ (p=1 flips all)")
expect_equal(RandomHorizontalFlip(p=0.0)(x), x, "RandomHorizontalFlip.__call__ (p=0 flips none)")
### BEGIN HIDDEN TESTS
few = RandomHorizontalFlip(p=0.1, seed=1)(x)
expect_that([bool(np.array_equal(few[i], x[i, :, :, ::-1])) for i in range(200)], lambda v: 4 < sum(v) < 40,
            "RandomHorizontalFlip.__call__ (p=0.1)", "p=0.1 should flip about 20 of 200")
gray = np.arange(24).reshape(2, 3, 4)
expect_equal(RandomHorizontalFlip(p=1.0)(gray), gray[:, :, ::-1], "RandomHorizontalFlip.__call__ (a batch (N, H, W))")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-compose-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
images = np.random.default_rng(0).integers(0, 256, (10, 3, 8, 8)).astype(np.uint8)
labels = np.arange(10)
pipeline = Compose([ToFloat(), Normalize([0.5] * 3, [0.5] * 3), RandomHorizontalFlip(p=1.0)])
out = pipeline(images)
expect_equal((out.shape, out.dtype), ((10, 3, 8, 8), np.dtype(np.float32)), "Compose.__call__")
expect_equal(out, (images[..., ::-1] / 255 - 0.5) / 0.5, "Compose.__call__ (each transform in order)", rtol=1e-5, atol=1e-6)
xb, yb = next(iter(DataLoader(TensorDataset(images, labels), batch_size=4, transform=pipeline)))
expect_equal((isinstance(xb, Tensor), xb.dtype, xb.shape), (True, np.dtype(np.float32), (4, 3, 8, 8)),
             "DataLoader.__iter__ (the transform's output as a Tensor)")
expect_equal(np.asarray(xb.data), (images[:4, ..., ::-1] / 255 - 0.5) / 0.5, "DataLoader.__iter__ (the transform applies to the inputs)",
             rtol=1e-5, atol=1e-6)
expect_equal(np.asarray(yb.data), np.array([0, 1, 2, 3]), "DataLoader.__iter__ (the transform leaves labels alone)")
### BEGIN HIDDEN TESTS
expect_equal(Compose([ToFloat(scale=2.0), Normalize(1.0, 2.0)])(np.array([3], np.uint8)), np.array([2.5]),
             "Compose.__call__ (each transform in order)", rtol=1e-6)
expect_equal(Compose([])(np.array([3, 4])), np.array([3, 4]), "Compose.__call__ (no transforms: identity)")
tagged = list(DataLoader(TensorDataset(np.arange(6), np.arange(6) * 10, np.arange(6) + 100), batch_size=4,
                         transform=lambda v: v * 2))
expect_equal([[np.asarray(f.data).tolist() for f in b] for b in tagged],
             [[[0, 2, 4, 6], [0, 10, 20, 30], [100, 101, 102, 103]], [[8, 10], [40, 50], [104, 105]]],
             "DataLoader.__iter__ (the transform applies to the first field only)")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Reading the datasets' own formats
#
# Datasets live in a **data folder**: `$TINYTORCH_DATA` if set, else `~/.cache/tinytorch`.
# Nothing is downloaded by the library: `tito data fetch mnist` (or `cifar10`) downloads
# from the canonical location, checks the checksums and puts the files in place;
# `tito data status` shows what is there.
#
# ```
# $TINYTORCH_DATA/
#   mnist/train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz  t10k-labels-idx1-ubyte.gz
#   cifar-10-batches-py/data_batch_1 ... data_batch_5  test_batch  batches.meta
# ```
#
# A missing or damaged file raises `DataError`, whose message names the file and the command
# that fixes it.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-fetch-hint", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
def fetch_hint(name):
    "How to get dataset `name`."
    return f"run `tito data fetch {name}` (it downloads and verifies the files; `tito data status` shows what is there)"

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-data-dir", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class DataError(Exception):
    "A dataset file is missing or damaged; the message names the file and the command that fixes it."

def data_dir():
    "The data folder: $TINYTORCH_DATA if set, else ~/.cache/tinytorch."
    ### BEGIN SOLUTION
    return Path(os.environ.get("TINYTORCH_DATA") or Path.home() / ".cache" / "tinytorch").expanduser()
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-data-dir-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
saved = {k: os.environ[k] for k in ("TINYTORCH_DATA", "HOME") if k in os.environ}
os.environ["TINYTORCH_DATA"] = "/tmp/some/where"
from_env = data_dir()
del os.environ["TINYTORCH_DATA"]
os.environ["HOME"] = "/tmp/home-of-07"
default = data_dir()
os.environ.pop("HOME")
os.environ.update(saved)  # the environment as it was
expect_equal(isinstance(from_env, Path), True, "data_dir (returns a pathlib.Path)")
expect_equal(str(from_env), "/tmp/some/where", "data_dir ($TINYTORCH_DATA when it is set)")
expect_equal(isinstance(default, Path), True, "data_dir (returns a pathlib.Path)")
expect_equal(str(default), "/tmp/home-of-07/.cache/tinytorch", "data_dir (~/.cache/tinytorch when $TINYTORCH_DATA is not set)")

# %% [markdown]
# ### MNIST's IDX format
#
# MNIST ships as four gzipped **IDX** files, a format simple enough to read with `struct`:
#
# | bytes | content |
# |---|---|
# | 0–1 | zero |
# | 2 | element type: `0x08` unsigned byte (others: `0x09` int8, `0x0B` int16, `0x0C` int32, `0x0D` float32, `0x0E` float64, all big-endian) |
# | 3 | number of dimensions `d` |
# | 4 … 4+4d | the `d` dimension sizes, big-endian uint32 (`struct.unpack(">dI", ...)`) |
# | then | the elements, row-major |
#
# So the training images are `0x00000803`, then 60000, 28, 28, then 47,040,000 bytes. A
# reader must check everything it can: the magic bytes, and that the number of bytes after
# the header is exactly what the dimensions promise (a truncated download is the most
# common damage). `np.frombuffer` then turns the bytes into an array without a loop.
#
# The labels are one byte each; we return them as `int64`, the dtype loss functions and
# fancy indexing expect for class indices.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-idx-types", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-idx", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def write_idx(path, array):
    "Write `array` as an IDX file (gzipped when `path` ends in .gz): for tests and small experiments."
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}
    if array.dtype.newbyteorder("=") not in codes:
        raise ValueError(f"write_idx: IDX has no element type for {array.dtype}")
    code = codes[array.dtype.newbyteorder("=")]
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += array.astype(np.dtype(IDX_TYPES[code])).tobytes()
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as f:
        f.write(raw)
    return Path(path)

def read_idx(path, dataset="mnist"):
    "An IDX file (gzipped if it ends in .gz) as a numpy array; DataError naming the file if missing or corrupt."
    path = Path(path)
    ### BEGIN SOLUTION
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path} is missing: {fetch_hint(dataset)}") from None
    except (OSError, EOFError, ValueError) as err:  # gzip's BadGzipFile is an OSError, a truncated stream EOFError
        raise DataError(f"{path} is damaged ({err}): delete it and {fetch_hint(dataset)}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (bad magic bytes {raw[:4]!r}): {fetch_hint(dataset)}")
    ndim, dtype = raw[3], np.dtype(IDX_TYPES[raw[2]])
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DataError(f"{path} is truncated inside its header: {fetch_hint(dataset)}")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    expected = start + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path} is damaged: its header promises shape {shape} ({expected} bytes) but the file "
                        f"holds {len(raw)} bytes: delete it and {fetch_hint(dataset)}")
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))
    ### END SOLUTION

# %% [markdown]
# The tests write tiny IDX files into a temporary folder with `write_idx`, so they need no
# real dataset.

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-idx-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import tempfile
tmp = Path(tempfile.mkdtemp())
imgs = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
write_idx(tmp / "imgs.gz", imgs)
out = read_idx(tmp / "imgs.gz")
expect_equal((type(out).__name__, out.shape, out.dtype), ("ndarray", (5, 28, 28), np.dtype(np.uint8)), "read_idx (gzipped uint8 images)")
expect_equal(out, imgs, "read_idx (gzipped uint8 images)")
raw = gzip.open(tmp / "imgs.gz").read()
expect_equal((raw[:4], struct.unpack(">3I", raw[4:16])), (b"\x00\x00\x08\x03", (5, 28, 28)), "write_idx")
ints = np.array([[1, -2], [300000, 4]], dtype=np.int32)
write_idx(tmp / "ints", ints)  # not gzipped, big-endian int32 inside
expect_equal(read_idx(tmp / "ints"), ints, "read_idx (big-endian int32, not gzipped)")
with gzip.open(tmp / "short.gz", "wb") as f:
    f.write(raw[:-10])  # a truncated file
with expect_raises(Exception, "read_idx (a truncated file raises DataError naming the file and the fix)",
                   mentions=["short.gz", "tito data fetch mnist"]):
    read_idx(tmp / "short.gz")
with expect_raises(Exception, "read_idx (a missing file raises DataError naming the file and the fix)",
                   mentions=["nothere.gz", "tito data fetch mnist"]):
    read_idx(tmp / "nothere.gz")
### BEGIN HIDDEN TESTS
(tmp / "notgz.gz").write_bytes(b"this is not gzip at all")
with expect_raises(Exception, "read_idx (a .gz file that is not gzip raises DataError)", mentions=["notgz.gz", "tito data fetch mnist"]):
    read_idx(tmp / "notgz.gz")
(tmp / "magic").write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
with expect_raises(Exception, "read_idx (bad magic bytes raise DataError)", mentions=["magic", "tito data fetch mnist"]):
    read_idx(tmp / "magic")
for name, head in [("magic0", b"\x01\x00\x08\x01"), ("magic1", b"\x00\x01\x08\x01"), ("magic2", b"\x00\x00\x07\x01")]:
    (tmp / name).write_bytes(head + struct.pack(">I", 1) + b"\x00")  # one bad magic byte, else a valid 1-element file
for name in ["magic0", "magic1", "magic2"]:
    with expect_raises(Exception, "read_idx (a bad magic byte raises DataError)", mentions=["magic", "tito data fetch mnist"]):
        read_idx(tmp / name)
(tmp / "tiny").write_bytes(b"\x00\x00\x08")  # 3 bytes
with expect_raises(Exception, "read_idx (a 3-byte file raises DataError)", mentions=["tiny", "tito data fetch mnist"]):
    read_idx(tmp / "tiny")
write_idx(tmp / "empty", np.zeros(0, np.uint8))
expect_equal(read_idx(tmp / "empty").shape, (0,), "read_idx (a file with no elements)")
(tmp / "long").write_bytes(raw + b"\x00")  # one byte too many
with expect_raises(Exception, "read_idx (a file longer than its header says raises DataError)", mentions=["long", "tito data fetch mnist"]):
    read_idx(tmp / "long")
(tmp / "header").write_bytes(raw[:9])  # cut inside the dimension sizes
with expect_raises(Exception, "read_idx (a file cut inside its header raises DataError)", mentions=["header", "tito data fetch mnist"]):
    read_idx(tmp / "header")
write_idx(tmp / "floats.gz", np.array([[0.5, -2.0, 3.25]], dtype=np.float32))
expect_equal(read_idx(tmp / "floats.gz"), np.array([[0.5, -2.0, 3.25]]), "read_idx (float32 elements)")
write_idx(tmp / "vector", np.array([3, 1, 2], dtype=np.uint8))
expect_equal(read_idx(tmp / "vector"), np.array([3, 1, 2]), "read_idx (a 1-D file)")
### END HIDDEN TESTS

# %% [markdown]
# ### Loading MNIST
#
# `load_mnist(split)` reads the image and label files of the split (`train`: 60,000,
# `test`: 10,000) from `root/mnist` (`root` defaults to `data_dir()`) and checks what it
# got: images `(N, 28, 28)` uint8, as many labels as images, labels in 0..9. It accepts the
# files gzipped (as published) or already unpacked.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-mnist-files", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

def find_file(folder, name):
    "`folder/name.gz` if it exists, else `folder/name` if that exists, else the .gz path (reported as missing)."
    gz, plain = Path(folder) / f"{name}.gz", Path(folder) / name
    return plain if not gz.exists() and plain.exists() else gz

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-mnist", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def load_mnist(split="train", root=None):
    "MNIST `split` ('train' or 'test'): uint8 images (N, 28, 28) and int64 labels (N,), from root/mnist."
    if split not in MNIST_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    folder = Path(root or data_dir()) / "mnist"
    ### BEGIN SOLUTION
    image_file, label_file = (find_file(folder, name) for name in MNIST_FILES[split])
    images, labels = read_idx(image_file, "mnist"), read_idx(label_file, "mnist")
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{image_file}: expected uint8 images (N, 28, 28), found {images.dtype} {images.shape}: "
                        f"{fetch_hint('mnist')}")
    if labels.ndim != 1 or len(labels) != len(images) or (labels.size and labels.max() > 9):
        raise DataError(f"{label_file}: expected {len(images)} labels in 0..9, found shape {labels.shape}: "
                        f"{fetch_hint('mnist')}")
    return images, labels.astype(np.int64)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-mnist-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
root = Path(tempfile.mkdtemp())
(root / "mnist").mkdir()
rng = np.random.default_rng(0)
train_x, test_x = (rng.integers(0, 256, (n, 28, 28)).astype(np.uint8) for n in (6, 3))
train_y, test_y = np.array([0, 1, 2, 3, 9, 5], np.uint8), np.array([7, 7, 1], np.uint8)
write_idx(root / "mnist" / "train-images-idx3-ubyte.gz", train_x)
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", train_y)
write_idx(root / "mnist" / "t10k-images-idx3-ubyte", test_x)  # unpacked files work too
write_idx(root / "mnist" / "t10k-labels-idx1-ubyte", test_y)
x, y = load_mnist("train", root=root)
expect_equal((type(x).__name__, x.shape, x.dtype), ("ndarray", (6, 28, 28), np.dtype(np.uint8)), "load_mnist (train images)")
expect_equal((y.shape, y.dtype), ((6,), np.dtype(np.int64)), "load_mnist (labels are int64)")
expect_equal(x, train_x, "load_mnist (train images)")
expect_equal(y, np.array([0, 1, 2, 3, 9, 5]), "load_mnist (train labels)")
x, y = load_mnist("test", root=root)
expect_equal(x.shape, (3, 28, 28), "load_mnist (test images, unpacked files)")
expect_equal(x, test_x, "load_mnist (test images, unpacked files)")
expect_equal(y, np.array([7, 7, 1]), "load_mnist (test labels, unpacked files)")
(root / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
with expect_raises(Exception, "load_mnist (a missing label file raises DataError naming the file and the fix)",
                   mentions=["train-labels-idx1-ubyte", "tito data fetch mnist"]):
    load_mnist("train", root=root)
### BEGIN HIDDEN TESTS
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2], np.uint8))  # 3 labels, 6 images
with expect_raises(Exception, "load_mnist (label and image counts that differ raise DataError)",
                   mentions=["train-labels", "tito data fetch mnist"]):
    load_mnist(split="train", root=root)
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 12], np.uint8))
with expect_raises(Exception, "load_mnist (a label of 12 raises DataError)", mentions=["train-labels", "tito data fetch mnist"]):
    load_mnist(split="train", root=root)
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4, 10], np.uint8))
with expect_raises(Exception, "load_mnist (a label of 10 raises DataError)", mentions=["train-labels", "tito data fetch mnist"]):
    load_mnist(split="train", root=root)
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.array([9, 1, 2, 3, 4, 0], np.uint8))
expect_equal(load_mnist(split="train", root=root)[1], np.array([9, 1, 2, 3, 4, 0]), "load_mnist (labels 0..9)")
write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.array([[0, 1, 2, 3, 4, 5]], np.uint8))  # 2-D labels
with expect_raises(Exception, "load_mnist (labels that are not 1-D raise DataError)", mentions=["train-labels", "tito data fetch mnist"]):
    load_mnist(split="train", root=root)
write_idx(root / "mnist" / "t10k-images-idx3-ubyte", test_x[:, :27])  # 27 rows
with expect_raises(Exception, "load_mnist (images that are not 28x28 raise DataError)", mentions=["t10k-images", "tito data fetch mnist"]):
    load_mnist(split="test", root=root)
write_idx(root / "mnist" / "t10k-images-idx3-ubyte", test_x.astype(np.int32))
with expect_raises(Exception, "load_mnist (images that are not uint8 raise DataError)", mentions=["t10k-images", "tito data fetch mnist"]):
    load_mnist(split="test", root=root)
write_idx(root / "mnist" / "t10k-images-idx3-ubyte", test_x.reshape(3, 28 * 28))
with expect_raises(Exception, "load_mnist (images that are not (N, 28, 28) raise DataError)", mentions=["t10k-images", "tito data fetch mnist"]):
    load_mnist(split="test", root=root)
### END HIDDEN TESTS

# %% [markdown]
# ### CIFAR-10's python batches
#
# CIFAR-10 (60,000 colour images 32×32 in 10 classes) ships as Python **pickles**: five
# training batches and one test batch of 10,000 images each. Each is a dict with
# `data`, a `(10000, 3072)` uint8 array whose rows hold the 1024 red values, then the 1024
# green, then the 1024 blue (channel-major, row by row), and `labels`, a list of ints.
# So `data.reshape(-1, 3, 32, 32)` is exactly NCHW, no transpose needed.
#
# The files were written by Python 2. Loaded with `pickle.load(f, encoding="bytes")` (as
# the dataset's own page suggests) the keys are bytes, `b"data"` and `b"labels"`; copies
# re-saved by Python 3 have str keys. Accept both.
#
# A systems note: unpickling runs code named in the file, so only unpickle files you trust,
# like ones `tito data fetch` downloaded and verified against the published checksum.

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-cifar-files", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}

# %% nbgrader={"grade": false, "grade_id": "07-dataloader-cifar", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

def read_cifar_batch(path):
    "One CIFAR-10 python batch: uint8 images (N, 3, 32, 32) and int64 labels (N,); DataError if missing or corrupt."
    path = Path(path)
    ### BEGIN SOLUTION
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except FileNotFoundError:
        raise DataError(f"{path} is missing: {fetch_hint('cifar10')}") from None
    except Exception as err:  # a damaged pickle can fail in many ways
        raise DataError(f"{path} is damaged ({type(err).__name__}: {err}): delete it and {fetch_hint('cifar10')}") from None
    get = lambda key: batch.get(key.encode(), batch.get(key)) if isinstance(batch, dict) else None
    data, labels = get("data"), get("labels")
    if data is None or labels is None:
        raise DataError(f"{path} is not a CIFAR-10 batch (no 'data' and 'labels' entries): {fetch_hint('cifar10')}")
    data, labels = np.asarray(data), np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise DataError(f"{path}: expected uint8 data (N, 3072) and N labels, found {data.dtype} {data.shape} and "
                        f"{labels.shape}: {fetch_hint('cifar10')}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels outside 0..9: {fetch_hint('cifar10')}")
    return data.reshape(-1, 3, 32, 32), labels
    ### END SOLUTION

def load_cifar10(split="train", root=None):
    "CIFAR-10 `split` ('train' or 'test'): uint8 images (N, 3, 32, 32) and int64 labels (N,)."
    if split not in CIFAR10_FILES:
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    folder = Path(root or data_dir()) / "cifar-10-batches-py"
    ### BEGIN SOLUTION
    parts = [read_cifar_batch(folder / name) for name in CIFAR10_FILES[split]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "07-dataloader-cifar-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
root = Path(tempfile.mkdtemp())
(root / "cifar-10-batches-py").mkdir()
rows = np.random.default_rng(0).integers(0, 256, (6, 2, 3072)).astype(np.uint8)  # 2 images per batch file
names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
for i, name in enumerate(names):
    labels = [i % 10, (i + 3) % 10]
    # batch 1 like the original files (bytes keys), the others with str keys (a Python 3 copy)
    content = {b"data": rows[i], b"labels": labels} if i == 0 else {"data": rows[i], "labels": labels}
    with open(root / "cifar-10-batches-py" / name, "wb") as f:
        pickle.dump(content, f)
x, y = load_cifar10("train", root=root)
expect_equal((type(x).__name__, x.shape, x.dtype), ("ndarray", (10, 3, 32, 32), np.dtype(np.uint8)),
             "load_cifar10 (read_cifar_batch: uint8 images (N, 3, 32, 32))")
expect_equal((y.shape, y.dtype), ((10,), np.dtype(np.int64)), "load_cifar10 (read_cifar_batch: int64 labels)")
expect_equal(x[0, 0].ravel(), rows[0, 0, :1024], "load_cifar10 (read_cifar_batch: the red plane comes first)")
expect_equal(x[1, 2, 31], rows[0, 1, -32:], "load_cifar10 (read_cifar_batch: the last row of blue)")
expect_equal(x, rows[:5].reshape(10, 3, 32, 32), "load_cifar10 (read_cifar_batch: the five training batches in order)")
expect_equal(y, np.array([0, 3, 1, 4, 2, 5, 3, 6, 4, 7]), "load_cifar10 (read_cifar_batch: the labels of the five batches in order)")
xt, yt = load_cifar10("test", root=root)
expect_equal(xt.shape, (2, 3, 32, 32), "load_cifar10 (test)")
expect_equal(xt, rows[5].reshape(2, 3, 32, 32), "load_cifar10 (test)")
expect_equal(yt, np.array([5, 8]), "load_cifar10 (test)")
(root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04garbage")
with expect_raises(Exception, "load_cifar10 (read_cifar_batch: a damaged batch raises DataError naming the file and the fix)",
                   mentions=["data_batch_3", "tito data fetch cifar10"]):
    load_cifar10("train", root=root)
### BEGIN HIDDEN TESTS
(root / "cifar-10-batches-py" / "test_batch").unlink()
with expect_raises(Exception, "load_cifar10 (read_cifar_batch: a missing batch raises DataError)",
                   mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
def save_test_batch(content):
    with open(root / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump(content, f)
save_test_batch({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
with expect_raises(Exception, "read_cifar_batch (rows of 100 bytes are not CIFAR-10 images)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"data": np.zeros((2, 3072), np.int32), b"labels": [0, 1]})
with expect_raises(Exception, "read_cifar_batch (data that is not uint8 raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"data": np.zeros(3072, np.uint8), b"labels": [0]})
with expect_raises(Exception, "read_cifar_batch (data that is not (N, 3072) raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1, 2]})
with expect_raises(Exception, "read_cifar_batch (3 labels for 2 images raise DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]})
with expect_raises(Exception, "read_cifar_batch (a label of 10 raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"data": np.zeros((2, 3072), np.uint8), b"labels": [-1, 0]})
with expect_raises(Exception, "read_cifar_batch (a label of -1 raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({b"labels": [0, 1]})
with expect_raises(Exception, "read_cifar_batch (a dict without data raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({"data": np.zeros((2, 3072), np.uint8)})
with expect_raises(Exception, "read_cifar_batch (a dict without labels raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch([1, 2, 3])
with expect_raises(Exception, "read_cifar_batch (a pickle that is not a dict raises DataError)", mentions=["test_batch", "tito data fetch cifar10"]):
    load_cifar10("test", root=root)
save_test_batch({"data": rows[5], "labels": [9, 0]})
expect_equal(load_cifar10("test", root=root)[1], np.array([9, 0]), "read_cifar_batch (labels 0..9)")
expect_equal(read_cifar_batch(root / "cifar-10-batches-py" / "test_batch")[0], rows[5].reshape(2, 3, 32, 32),
             "read_cifar_batch (str keys)")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The real thing
#
# If the datasets are in your data folder (`tito data status`), this cell loads MNIST, shows
# a digit, and times one shuffled epoch of batches of 128 with normalisation. If not, it
# tells you how to fetch them; nothing else in this module needs them.

# %%
try:
    train_x, train_y = load_mnist("train")
    print(f"MNIST train: {train_x.shape} {train_x.dtype}, labels {train_y.shape} {train_y.dtype}, "
          f"{train_x.nbytes / 1e6:.1f} MB; examples per class: {np.bincount(train_y).tolist()}")
    for row in train_x[0][4:24:2]:
        print("".join(" .:-=+*#%@"[int(v) * 10 // 256] * 2 for v in row[2:26]))
    print("label:", train_y[0])
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=128, shuffle=True, seed=0,
                        transform=Compose([ToFloat(), Normalize(0.1307, 0.3081)]))
    start = time.perf_counter()
    for xb, yb in loader:
        pass
    seconds = time.perf_counter() - start
    print(f"one epoch: {len(loader)} batches in {seconds:.2f} s ({len(train_x) / seconds:,.0f} examples/s); "
          f"last batch {xb.shape} {xb.dtype}")
except DataError as err:
    print("MNIST is not in the data folder (fine for this module):", err)

# %% [markdown]
# The same for CIFAR-10 with the augmentation pipeline used to train CNNs on it (module 09).
# The per-channel means and standard deviations are the usual ones, measured on the
# training set after scaling to [0, 1].

# %%
try:
    test_x, test_y = load_cifar10("test")
    print(f"CIFAR-10 test: {test_x.shape} {test_x.dtype}; first labels:",
          [CIFAR10_CLASSES[i] for i in test_y[:5]])
    augment = Compose([RandomCrop(32, padding=4, seed=0), RandomHorizontalFlip(seed=0), ToFloat(),
                       Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])])
    start = time.perf_counter()
    for xb, yb in DataLoader(TensorDataset(test_x, test_y), batch_size=128, shuffle=True, seed=0, transform=augment):
        pass
    print(f"10,000 images augmented and batched in {time.perf_counter() - start:.2f} s; batch {xb.shape} {xb.dtype}")
except DataError as err:
    print("CIFAR-10 is not in the data folder (fine for this module):", err)

# %% [markdown]
# ## Reflection
#
# Answer in a sentence or three each; these are graded by hand.

# %% [markdown] nbgrader={"grade": false, "grade_id": "07-dataloader-reflect-shuffle-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Order.** Suppose the training set is sorted by label and the loader never shuffles. What
# goes wrong during an epoch of SGD? And why does our loader draw a new permutation every
# epoch from one seeded generator instead of re-seeding each epoch with the same seed?

# %% [markdown] nbgrader={"grade": true, "grade_id": "07-dataloader-reflect-shuffle", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Batches would hold a single class: each step pushes the model towards predicting that class,
# gradients are biased and correlated, and the model ends the epoch tuned to the last classes
# (catastrophic swings; loss oscillates). Re-seeding every epoch would repeat the same
# permutation each epoch (the same batches, less randomness); one generator gives different
# epochs while the whole sequence is still reproducible from the seed.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "07-dataloader-reflect-memory-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Memory.** How many bytes do the 50,000 CIFAR-10 training images take as uint8, and as
# float32? Why do we keep the dataset as uint8 and convert and normalise one batch at a
# time inside the loader?

# %% [markdown] nbgrader={"grade": true, "grade_id": "07-dataloader-reflect-memory", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 50,000 × 3072 = 153.6 MB as uint8; ×4 = 614 MB as float32. Converting per batch keeps
# memory 4× lower (only a 128-image float batch, ~1.6 MB, exists at once), and random
# augmentation must be applied freshly each epoch anyway, so there is nothing to precompute;
# the conversion cost is small next to the model's forward/backward.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "07-dataloader-reflect-augment-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Augmentation.** Why is random cropping and flipping applied to the training batches but
# not to the validation or test batches? Name one augmentation that would be wrong for
# MNIST digits and say why.

# %% [markdown] nbgrader={"grade": true, "grade_id": "07-dataloader-reflect-augment", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Augmentation is a regulariser for training (more varied examples, less overfitting);
# evaluation must measure the model on the real, fixed data, deterministically, so results are
# comparable across runs and epochs. Wrong for digits: horizontal flips (or large rotations):
# a mirrored 2/3/7 or a rotated 6/9 changes or destroys the label.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
