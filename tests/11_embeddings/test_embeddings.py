"Behaviour of the exported embedding layers (tinytorch.core.embeddings)."
import numpy as np
import pytest

from tinytorch.core.autograd import Tensor
from tinytorch.core.embeddings import (Embedding, LearnedPositionalEmbedding, PositionalEncoding, embedding,
                                       scatter_add_rows, sinusoidal_table)
from tinytorch.core.layers import Module, Parameter


@pytest.mark.parametrize("num_rows,n,dim", [(1, 50, 3), (65, 4096, 8), (1000, 300, 2), (7, 1, 5)])
def test_scatter_add_rows_matches_add_at(num_rows, n, dim):
    rng = np.random.default_rng(num_rows)
    ids = rng.integers(0, num_rows, n)
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    want = np.zeros((num_rows, dim), dtype=np.float32)
    np.add.at(want, ids, rows)
    got = scatter_add_rows(ids, rows, num_rows)
    assert got.dtype == np.float32 and got.shape == (num_rows, dim)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_scatter_add_rows_empty():
    out = scatter_add_rows(np.zeros(0, dtype=np.int64), np.zeros((0, 4), dtype=np.float32), 3)
    np.testing.assert_array_equal(out, np.zeros((3, 4)))


def test_embedding_matches_onehot_matmul_and_accumulates():
    rng = np.random.default_rng(0)
    emb = Embedding(9, 5, seed=0)
    ids = rng.integers(0, 9, (4, 7))
    out = emb(Tensor(ids))
    np.testing.assert_array_equal(out.data, emb.weight.data[ids])
    w = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(w)
    onehot = np.eye(9, dtype=np.float32)[ids.reshape(-1)]             # (N, V)
    np.testing.assert_allclose(emb.weight.grad.data, onehot.T @ w.reshape(-1, 5), rtol=1e-5, atol=1e-5)
    emb(Tensor(ids)).backward(w)
    np.testing.assert_allclose(emb.weight.grad.data, 2 * onehot.T @ w.reshape(-1, 5), rtol=1e-5, atol=1e-5)


def test_embedding_is_a_module_with_one_parameter_and_state_dict():
    emb = Embedding(12, 4, seed=3)
    assert isinstance(emb, Module)
    assert [name for name, _ in emb.named_parameters()] == ["weight"]
    other = Embedding(12, 4, seed=4)
    other.load_state_dict(emb.state_dict())
    np.testing.assert_array_equal(other(np.arange(12)).data, emb(np.arange(12)).data)


def test_embedding_init_std_and_seed():
    w = Embedding(1000, 64, seed=1).weight.data
    assert w.dtype == np.float32 and abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002
    assert abs(Embedding(1000, 64, std=1.0, seed=1).weight.data.std() - 1.0) < 0.05
    assert not np.array_equal(w, Embedding(1000, 64, seed=2).weight.data)


@pytest.mark.parametrize("bad", [np.array([3]), np.array([-1]), np.array([[0, 1], [2, 99]])])
def test_embedding_rejects_out_of_range_ids(bad):
    with pytest.raises(IndexError):
        embedding(bad, Parameter(np.zeros((3, 2))))


def test_embedding_no_gradient_for_ids_and_none_when_frozen():
    w = Tensor(np.ones((4, 2)))                        # no requires_grad: no graph
    out = embedding(np.array([1, 1]), w)
    assert not out.requires_grad


def test_sinusoidal_table_is_relative_position_structured():
    table = sinusoidal_table(128, 32).astype(np.float64)
    sim = table @ table.T
    for k in range(5):
        np.testing.assert_allclose(np.diag(sim, k)[:60], np.diag(sim, k)[0], rtol=1e-4)
    assert len({tuple(np.round(r, 4)) for r in table}) == 128, "every position is distinct"
    # pe(pos + k) is a fixed rotation of pe(pos) in every (sin, cos) pair
    freq = 1.0 / 10000 ** (np.arange(0, 32, 2) / 32)
    k = 5
    c, s = np.cos(k * freq), np.sin(k * freq)
    sin_p, cos_p = table[:100, 0::2], table[:100, 1::2]
    np.testing.assert_allclose(table[k:100 + k, 0::2], sin_p * c + cos_p * s, atol=1e-5)
    np.testing.assert_allclose(table[k:100 + k, 1::2], cos_p * c - sin_p * s, atol=1e-5)


def test_positional_modules_offsets_and_limits():
    x = Tensor(np.zeros((3, 4, 6)))
    for pos in (PositionalEncoding(10, 6), LearnedPositionalEmbedding(10, 6, seed=0)):
        table = pos.table.data if isinstance(pos, PositionalEncoding) else pos.weight.data
        for offset in (0, 6):
            np.testing.assert_allclose(pos(x, offset=offset).data[1], table[offset:offset + 4])
        with pytest.raises(ValueError, match="max_len=10"):
            pos(x, offset=7)
        with pytest.raises(ValueError):
            pos(Tensor(np.zeros((3, 4, 5))))


def test_generation_one_token_at_a_time_matches_full_sequence():
    pos = LearnedPositionalEmbedding(16, 4, seed=0)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 9, 4)))
    full = pos(x).data
    steps = np.concatenate([pos(Tensor(x.data[:, t:t + 1]), offset=t).data for t in range(9)], axis=1)
    np.testing.assert_allclose(steps, full)


def test_learned_positions_train():
    "A learned position table receives gradients only for the positions used."
    pos = LearnedPositionalEmbedding(8, 3, seed=0)
    x = Tensor(np.ones((5, 4, 3)), requires_grad=True)
    (pos(x, offset=2) * pos(x, offset=2)).sum().backward()
    g = pos.weight.grad.data
    assert np.all(g[[0, 1, 6, 7]] == 0) and np.all(g[2:6] != 0)
    np.testing.assert_allclose(g[2:6], 2 * 5 * (1 + pos.weight.data[2:6]), rtol=1e-5)
