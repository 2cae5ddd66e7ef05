"Tiny datasets in the canonical formats, written into a temporary data folder."
import pickle

import numpy as np
import pytest

from tinytorch.core.dataloader import write_idx


@pytest.fixture
def mnist_root(tmp_path):
    "A data folder holding a 7-image train and 3-image test MNIST in gzipped IDX files."
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    arrays = {"train": (rng.integers(0, 256, (7, 28, 28)).astype(np.uint8), np.array([3, 1, 4, 1, 5, 9, 2], np.uint8)),
              "t10k": (rng.integers(0, 256, (3, 28, 28)).astype(np.uint8), np.array([0, 8, 6], np.uint8))}
    for prefix, (x, y) in arrays.items():
        write_idx(tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", y)
    return tmp_path, arrays


def write_cifar_batch(path, data, labels, str_keys=False):
    "One CIFAR-10 python batch: bytes keys like the original files, or str keys like a Python 3 copy."
    k = (lambda s: s) if str_keys else (lambda s: s.encode())
    with open(path, "wb") as f:
        pickle.dump({k("batch_label"): k("test"), k("data"): data, k("labels"): list(labels),
                     k("filenames"): [k(f"img{i}.png") for i in range(len(labels))]}, f)


@pytest.fixture
def cifar_root(tmp_path):
    "A data folder with six CIFAR-10 batches of 3 images each (the odd ones with str keys)."
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (3, 3072)).astype(np.uint8)
        labels = rng.integers(0, 10, 3)
        write_cifar_batch(folder / name, data, labels, str_keys=bool(i % 2))
        batches[name] = (data, labels)
    return tmp_path, batches
