"DataLoader: batch arithmetic, shuffling and seeds, dtypes, resumable random state."
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.dataloader import (Compose, DataLoader, RandomCrop, RandomHorizontalFlip, Subset, TensorDataset,
                                       random_split)
from tinytorch.core.tensor import Tensor


def labels_of(loader):
    return [np.asarray(b[-1].data).tolist() for b in loader]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), bs=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans())
def test_batches_partition_the_epoch(n, bs, drop_last, shuffle):
    loader = DataLoader(TensorDataset(np.arange(n)), batch_size=bs, shuffle=shuffle, seed=0, drop_last=drop_last)
    batches = labels_of(loader)
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    assert all(len(b) == bs for b in batches[:-1])
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == len(flat), "no example twice in an epoch"
    if not drop_last:
        assert sorted(flat) == list(range(n))
    if not shuffle:
        assert flat == list(range(len(flat)))


def test_bad_batch_size():
    with pytest.raises(ValueError):
        DataLoader(TensorDataset(np.arange(3)), batch_size=0)


def test_dtypes_become_tensors_with_the_policy():
    ds = TensorDataset(np.zeros((5, 2), np.uint8), np.zeros((5, 3), np.float64), np.arange(5))
    xb, fb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert all(isinstance(t, Tensor) for t in (xb, fb, yb))
    assert xb.dtype == np.uint8 and fb.dtype == np.float32 and yb.dtype == np.int64


def test_unseeded_shuffle_is_still_a_permutation():
    flat = sum(labels_of(DataLoader(TensorDataset(np.arange(30)), batch_size=7, shuffle=True)), [])
    assert sorted(flat) == list(range(30))


def test_many_epochs_differ_and_repeat_from_the_seed():
    ds = TensorDataset(np.arange(20))
    a, b = DataLoader(ds, 20, shuffle=True, seed=11), DataLoader(ds, 20, shuffle=True, seed=11)
    epochs_a = [labels_of(a)[0] for _ in range(5)]
    epochs_b = [labels_of(b)[0] for _ in range(5)]
    assert epochs_a == epochs_b
    assert len({tuple(e) for e in epochs_a}) == 5, "five epochs, five different orders"


def test_loader_over_a_split_is_vectorised():
    calls = []
    class Spy(TensorDataset):
        def __getitem__(self, i):
            calls.append(i)
            return super().__getitem__(i)
    train, _ = random_split(Spy(np.arange(50), np.arange(50)), [40, 10], seed=0)
    got = sum(labels_of(DataLoader(train, 16, shuffle=True, seed=0)), [])
    assert sorted(got) == sorted(train.indices.tolist()) and calls == []


def test_state_dict_resumes_loader_and_transform_randomness():
    x = np.random.default_rng(0).integers(0, 256, (24, 1, 6, 6)).astype(np.uint8)
    def make(seed):
        t = Compose([RandomCrop(6, padding=2, seed=seed), RandomHorizontalFlip(seed=seed)])
        return DataLoader(TensorDataset(x, np.arange(24)), batch_size=8, shuffle=True, seed=seed, transform=t)
    first = make(0)
    list(first)
    state = first.state_dict()
    expected = [np.asarray(b[0].data) for b in first]
    resumed = make(123)
    resumed.load_state_dict(state)
    got = [np.asarray(b[0].data) for b in resumed]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)
    with pytest.raises(ValueError):
        DataLoader(TensorDataset(x), 8).load_state_dict(state)  # a loader without the transform's generators
