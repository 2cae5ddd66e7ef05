"Dataset, TensorDataset, Subset and random_split from the exported package."
import numpy as np
import pytest

from tinytorch.core.dataloader import Dataset, Subset, TensorDataset, random_split
from tinytorch.core.tensor import Tensor


def test_base_dataset_requires_len_and_getitem():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_fallback_get_batch_accepts_single_fields_and_tensors():
    class Single(Dataset):
        def __len__(self): return 4
        def __getitem__(self, i): return Tensor(np.full(3, i, dtype=np.float32))
    (xb,) = Single().get_batch(np.array([2, 0]))
    assert isinstance(xb, np.ndarray) and xb.shape == (2, 3)
    np.testing.assert_array_equal(xb, [[2, 2, 2], [0, 0, 0]])


def test_tensordataset_keeps_dtypes_and_accepts_tensors():
    x = Tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = np.arange(6, dtype=np.int64)
    ds = TensorDataset(x, y)
    xb, yb = ds.get_batch([5, 5, 0])
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb, [[10, 11], [10, 11], [0, 1]])
    np.testing.assert_array_equal(yb, [5, 5, 0])
    with pytest.raises(ValueError):
        TensorDataset()


def test_subset_of_subset_maps_indices_without_item_calls():
    calls = []
    class Spy(TensorDataset):
        def __getitem__(self, i):
            calls.append(i)
            return super().__getitem__(i)
    base = Spy(np.arange(10) * 100)
    inner = Subset(Subset(base, [9, 8, 7, 6, 5]), [4, 0])
    assert len(inner) == 2
    np.testing.assert_array_equal(inner.get_batch([0, 1])[0], [500, 900])
    assert calls == [], "Subset.get_batch must stay vectorised"
    assert int(inner[1][0]) == 900


def test_random_split_counts_fractions_and_errors():
    ds = TensorDataset(np.arange(11))
    parts = random_split(ds, [6, 3, 2], seed=5)
    assert [len(p) for p in parts] == [6, 3, 2]
    seen = np.concatenate([p.get_batch(np.arange(len(p)))[0] for p in parts])
    assert sorted(seen.tolist()) == list(range(11))
    fr = random_split(ds, [0.5, 0.5], seed=0)
    assert sum(len(p) for p in fr) == 11
    a = random_split(ds, [0.7, 0.3], seed=1)[1].get_batch(np.arange(3))[0]
    b = random_split(ds, [0.7, 0.3], seed=2)[1].get_batch(np.arange(3))[0]
    assert not np.array_equal(np.sort(a), np.sort(b)), "different seeds give different splits"
    with pytest.raises(ValueError):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.4])
