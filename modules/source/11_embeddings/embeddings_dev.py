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
# # 11 · Embeddings: token ids become vectors, positions become signals
#
# Module 10 turned text into integer ids. A network cannot do arithmetic on "token 17":
# ids are names, not quantities (token 18 is not "a bit more" than 17). An **embedding**
# gives every token its own learned vector of `dim` numbers, stored as row `id` of a
# weight matrix `E` of shape `(num_embeddings, dim)`. Looking a token up is indexing:
#
# ```
#   ids (B, T) ints  ──  E[ids]  ──>  vectors (B, T, dim)
# ```
#
# That lookup is exactly a `Linear` layer applied to a **one-hot** vector (`onehot(id) @ E`
# picks row `id`), minus the waste: the one-hot matmul would spend `B·T·V·dim`
# multiply-adds, almost all of them on zeros, to copy `B·T` rows.
#
# The gradient is where the systems thinking is. Row `r` of `E` receives the sum of the
# upstream gradients of *every position where token `r` appears* — in a batch of
# Shakespeare, the space character appears thousands of times. That is a **scatter-add**,
# and doing it fast is half of this chapter.
#
# The other half: attention (module 12) treats its input as a *set* — shuffle the tokens
# and each one's output is shuffled the same way, unchanged. Word order must be written into
# the vectors themselves: a **positional encoding** added to each token's embedding. You
# build the fixed sinusoidal one of the original Transformer and the learned one of GPT.
#
# | piece | shape | learned? |
# |---|---|---|
# | `Embedding(num_embeddings, dim)` | weight `(V, dim)` | yes, scatter-add gradient |
# | `PositionalEncoding(max_len, dim)` | table `(max_len, dim)` | no (sinusoids) |
# | `LearnedPositionalEmbedding(max_len, dim)` | weight `(max_len, dim)` | yes |

# %%
#| default_exp core.embeddings

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import numpy as np

from tinytorch.core.autograd import Tensor
from tinytorch.core.layers import Module, Parameter

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-gradient-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The gradient checks of the graded cells: the gradients your backward gives, against central differences
# (module 02's helpers).
from tinytorch.core.autograd import backward_grads, central_differences

# %% [markdown]
# ## 1. Scatter-add: the gradient of a lookup
#
# Forward: `out[n] = E[ids[n]]` for each of the `N = B·T` positions. Backward, given the
# upstream gradient `g` of shape `(N, dim)`:
#
# $$\frac{\partial L}{\partial E_r} = \sum_{n \,:\, ids_n = r} g_n$$
#
# The tempting `dE[ids] += g` is **wrong** in numpy: with a repeated id, fancy-index
# assignment writes the same row several times and only the last write survives. The
# correct unbuffered version is `np.add.at(dE, ids, g)` — but `np.add.at` takes a slow,
# general path through its indices and is a few times slower than vectorised numpy.
#
# A faster way that only uses whole-array operations: **sort, then sum segments**.
# 1. `order = np.argsort(ids, kind="stable")`: positions grouped by id;
# 2. in `ids[order]`, find where each run of equal ids starts (`starts`);
# 3. `np.add.reduceat(g[order], starts, axis=0)` sums each run's rows in one call;
# 4. write those sums into the rows `ids[order][starts]` of a zero matrix. Each id occurs
#    once there, so plain assignment is safe.
#
# The cost is a sort of `N` integers plus one pass over `g`; measured below against
# `np.add.at`. (Another way: one `np.bincount(ids, weights=g[:, j])` per column — fast for
# few columns, slow for `dim = 256` with a big vocabulary.)

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-scatter-add", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def scatter_add_rows(ids, rows, num_rows):
    "A `(num_rows, dim)` array whose row r is the sum of `rows[n]` over all n with `ids[n] == r`."
    ids = np.asarray(ids).reshape(-1)
    rows = np.asarray(rows)
    rows = rows.reshape(ids.size, rows.shape[-1])
    out = np.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)
    if ids.size == 0:
        return out
    ### BEGIN SOLUTION
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    ### END SOLUTION
    return out

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-scatter-add-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rows = np.arange(10, dtype=np.float32).reshape(5, 2)   # rows [0,1], [2,3], [4,5], [6,7], [8,9]
out = scatter_add_rows(np.array([2, 0, 2, 2, 3]), rows, 4)
expect_equal(out, np.array([[2, 3], [0, 0], [0 + 4 + 6, 1 + 5 + 7], [8, 9]], dtype=np.float32),
             "scatter_add_rows (repeated ids accumulate; ids that never occur get zeros)")
expect_equal(out.dtype, np.float32, "scatter_add_rows (the result keeps the rows' dtype)")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(0)
ids = rng.integers(0, 7, 300)
g = rng.standard_normal((300, 5))
want = np.stack([g[ids == r].sum(axis=0) for r in range(9)])
expect_equal(scatter_add_rows(ids, g, 9), want, "scatter_add_rows (300 ids, rows 7 and 8 unused)", atol=1e-12)
expect_equal(scatter_add_rows(ids.reshape(20, 15), g.reshape(20, 15, 5), 9), want,
             "scatter_add_rows (ids of shape (20, 15), rows of shape (20, 15, 5))", atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# How much does it matter? A GPT batch has `32 × 128 = 4096` positions and `dim = 256`.

# %%
import time

def best_of(fn, repeats=5):
    "The fastest of a few runs, in milliseconds."
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return 1e3 * min(times)

rng = np.random.default_rng(0)
for vocab in (65, 50257):
    ids = rng.integers(0, vocab, 4096)
    g = rng.standard_normal((4096, 256)).astype(np.float32)
    def with_add_at():
        out = np.zeros((vocab, 256), dtype=np.float32); np.add.at(out, ids, g); return out
    np.testing.assert_allclose(scatter_add_rows(ids, g, vocab), with_add_at(), atol=1e-4)
    print(f"vocab {vocab:>6}: np.add.at {best_of(with_add_at):6.2f} ms, "
          f"sort + reduceat {best_of(lambda: scatter_add_rows(ids, g, vocab)):6.2f} ms")

# %% [markdown]
# ## 2. The embedding op and the `Embedding` layer
#
# `embedding(ids, weight)` is one differentiable op: forward `weight.data[ids]`, backward
# the scatter-add, reshaped back to the weight's shape. Ids are indices, not learnable, so
# they get no gradient. Check them first: numpy would quietly read row `V - 1` for id `-1`,
# turning a data bug into a model that trains on the wrong token.
#
# **Initialisation.** GPT-2 draws embeddings from `N(0, 0.02²)`. Small values matter when
# the output layer reuses the embedding matrix (weight tying, module 16): logits
# `h @ Eᵀ` with unit-variance `h` have standard deviation `0.02·√dim ≈ 0.3` for `dim = 256`,
# so the untrained model starts close to uniform over the vocabulary, at loss ≈ `log V`.

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-embedding", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def embedding(ids, weight):
    "Rows `weight[ids]`: ids of any shape `S` give `S + (dim,)`; the weight's gradient scatter-adds."
    ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding ids must be integers, got dtype {ids.dtype}")
    num = weight.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= num):
        raise IndexError(f"embedding ids must lie in [0, {num}), got values from {ids.min()} to {ids.max()}")
    ### BEGIN SOLUTION
    out = weight.data[ids]
    return Tensor.from_op(out, (weight,), lambda g: (scatter_add_rows(ids, g, num),))
    ### END SOLUTION

class Embedding(Module):
    "A table of `num_embeddings` learned vectors of size `dim`, looked up by integer id."

    def __init__(self, num_embeddings, dim, std=0.02, seed=None):
        self.num_embeddings, self.dim = num_embeddings, dim
        ### BEGIN SOLUTION
        rng = np.random.default_rng(seed)
        self.weight = Parameter(rng.standard_normal((num_embeddings, dim)) * std)
        ### END SOLUTION

    def forward(self, ids):
        "Vectors for `ids` (int Tensor or array of shape S) as a Tensor of shape `S + (dim,)`."
        ### BEGIN SOLUTION
        return embedding(ids, self.weight)
        ### END SOLUTION

    def __repr__(self):
        return f"Embedding({self.num_embeddings}, {self.dim})"

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-lookup", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
emb = Embedding(10, 4, seed=0)
expect_equal([isinstance(emb.weight, Parameter), emb.weight.shape, emb.weight.dtype], [True, (10, 4), np.dtype(np.float32)],
             "Embedding.__init__ (the weight is a (num_embeddings, dim) float32 Parameter)")
expect_equal([p is emb.weight for p in emb.parameters()], [True], "Embedding.parameters (the weight is the only parameter)")
expect_that(float(emb.weight.data.std()), lambda s: 0.005 < s < 0.05, "Embedding.__init__",
            "weights start small (standard deviation std = 0.02)")
expect_agree(Embedding(10, 4, seed=0).weight.data, emb.weight.data, "Embedding.__init__ (the same seed gives the same weights)")
ids = Tensor([[1, 2, 3], [3, 3, 9]])
out = emb(ids)
expect_equal([isinstance(out, Tensor), out.shape, out.dtype], [True, (2, 3, 4), np.dtype(np.float32)],
             "Embedding.forward (ids of shape (2, 3) give a float32 Tensor of shape (2, 3, dim))")
expect_agree(out.data, emb.weight.data[np.array([[1, 2, 3], [3, 3, 9]])], "Embedding.forward (row id of the weight for each id)")
emb.weight.data = np.arange(40, dtype=np.float32).reshape(10, 4)   # known weights: row r is [4r, 4r+1, 4r+2, 4r+3]
expect_equal(emb(ids).data, 4 * np.array([[1, 2, 3], [3, 3, 9]])[..., None] + np.arange(4),
             "Embedding.forward (looks up row id of the weight)")
expect_equal(emb(np.array([0, 9])).data, np.array([[0, 1, 2, 3], [36, 37, 38, 39]]),
             "Embedding.forward (ids as a numpy array)")

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
emb = Embedding(5, 3, seed=1)
emb(np.array([[4, 1, 4], [4, 0, 1]])).sum().backward()
g = emb.weight.grad
expect_equal(isinstance(g, Tensor), True, "embedding backward (the weight's grad is a Tensor)")
expect_equal(g.data, np.array([[1] * 3, [2] * 3, [0] * 3, [0] * 3, [3] * 3], dtype=np.float64),
             "embedding backward (row r's gradient counts how often id r was used)")
w = Tensor(np.random.default_rng(2).standard_normal((6, 3)), dtype=np.float64, requires_grad=True)
lookup = lambda w: embedding(np.array([[0, 5, 5], [2, 0, 5]]), w)
expect_equal(backward_grads(lookup, w), central_differences(lookup, w),
             "embedding backward (scatter-add of the upstream gradient)", rtol=1e-5, atol=1e-6)

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-validation", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
emb = Embedding(5, 3, seed=1)
for bad in ([5], [-1], [0, 7]):
    with expect_raises(IndexError, "embedding (ids outside [0, num_embeddings) raise IndexError giving the range)",
                       mentions=["[0, 5)"]):
        emb(np.array(bad))
with expect_raises(TypeError, "embedding (float ids raise TypeError)"):
    emb(np.array([1.0, 2.0]))
expect_agree(emb(np.array([4, 0])).data, emb.weight.data[[4, 0]], "Embedding.forward (valid ids after the checks)")
### BEGIN HIDDEN TESTS
expect_equal(emb(np.zeros((0,), dtype=np.int64)).shape, (0, 3), "Embedding.forward (no ids give shape (0, dim))")
w = Tensor(np.random.default_rng(3).standard_normal((4, 2)), dtype=np.float64, requires_grad=True)
one = lambda w: embedding(np.array(3), w)
expect_equal(one(w).shape, (2,), "embedding (a scalar id gives one vector)")
expect_equal(backward_grads(one, w), central_differences(one, w), "embedding backward (a scalar id)", rtol=1e-5, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Sinusoidal positional encoding
#
# "Attention Is All You Need" (Vaswani et al., 2017) adds to the embedding at position
# `pos` a fixed vector of sines and cosines of geometrically spaced frequencies:
#
# $$PE_{pos,\,2i} = \sin\!\left(\frac{pos}{10000^{2i/d}}\right), \qquad
#   PE_{pos,\,2i+1} = \cos\!\left(\frac{pos}{10000^{2i/d}}\right)$$
#
# Dimension pair `i` is a clock ticking at its own speed: the first pair turns once every
# 2π ≈ 6 positions, the last once every ~60,000. Nearby positions get similar vectors,
# every position up to a very long range gets a distinct one, and — the reason for sine
# *and* cosine — the encoding of `pos + k` is a fixed rotation of the encoding of `pos`
# (per pair), so "k tokens back" is the same linear map at every position.
#
# Build the table once, `(max_len, dim)` in float32 (for odd `dim`, drop the last cosine
# column). Compute the angles in float64 and cast at the end: `pos / 10000^(2i/d)` for
# `pos` in the thousands loses digits in float32.

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-sinusoidal", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sinusoidal_table(max_len, dim):
    "The `(max_len, dim)` float32 table: sin in even columns, cos in odd columns, frequencies 1/10000^(2i/dim)."
    ### BEGIN SOLUTION
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    freq = 1.0 / 10000.0 ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    angles = pos * freq                                   # (max_len, ceil(dim / 2))
    table = np.empty((max_len, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : dim // 2])
    return table.astype(np.float32)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-sinusoidal-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
pe = sinusoidal_table(50, 8)
expect_equal(pe.dtype, np.float32, "sinusoidal_table (a float32 array)")
expect_equal(pe.shape, (50, 8), "sinusoidal_table (shape (max_len, dim))")
expect_equal(pe[0], np.array([0, 1, 0, 1, 0, 1, 0, 1], dtype=np.float32), "sinusoidal_table (position 0: sin 0 = 0, cos 0 = 1)",
             atol=1e-7)
expect_equal(pe[3, 0], np.sin(3.0), "sinusoidal_table (column 0 is sin(pos))", rtol=1e-6)
expect_equal(pe[3, 1], np.cos(3.0), "sinusoidal_table (column 1 is cos(pos))", rtol=1e-6)
expect_equal(pe[7, 2:4], np.array([np.sin(7 / 10000 ** (2 / 8)), np.cos(7 / 10000 ** (2 / 8))]),
             "sinusoidal_table (pair i has frequency 1/10000^(2i/dim))", rtol=1e-5)
expect_equal(pe[:, 0::2] ** 2 + pe[:, 1::2] ** 2, np.ones((50, 4)), "sinusoidal_table (each pair lies on the unit circle)",
             rtol=1e-5)
angles = np.arange(50)[:, None] / 10000 ** (np.arange(0, 8, 2) / 8)
expect_equal(pe, np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(50, 8), "sinusoidal_table (every entry)",
             rtol=1e-5, atol=1e-6)
### BEGIN HIDDEN TESTS
odd = sinusoidal_table(6, 5)
expect_equal(odd.shape, (6, 5), "sinusoidal_table (odd dim: drop the last cosine column)")
expect_equal(odd[:, 2:4], np.stack([np.sin(np.arange(6) / 10000 ** (2 / 5)), np.cos(np.arange(6) / 10000 ** (2 / 5))], 1),
             "sinusoidal_table (odd dim: frequencies use dim = 5)", rtol=1e-5)
expect_equal(odd[:, 4], np.sin(np.arange(6) / 10000 ** (4 / 5)), "sinusoidal_table (odd dim: the last column is a sine)",
             rtol=1e-5)
far = sinusoidal_table(5000, 16)
expect_equal(far[4999, 0], np.sin(4999.0), "sinusoidal_table (compute the angles in float64)", atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Adding positions, as one op
#
# Both positional modules do the same thing in `forward`: add rows `offset ... offset+T-1`
# of a `(max_len, dim)` table to an input `x` of shape `(..., T, dim)`. The `offset` is for
# generation with a cache (module 16): when the model has already seen 40 tokens and is
# given one new token, that token sits at position 40, not 0.
#
# Written as `x + table[offset:offset + T]`, that is two graph nodes, and the slice's
# backward would scatter into a full-size zero table with `np.add.at`. As one op:
# forward `x.data + table.data[offset:offset+T]`; backward `g` for `x`, and for the table
# (if it is learned) a zero table whose rows `offset ... offset+T-1` hold `g` summed over
# the batch dimensions.

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-add-positions", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def add_positions(x, table, offset=0):
    "`x + table[offset:offset+T]` for x of shape `(..., T, dim)`, one differentiable op (in `x` and `table`)."
    T = x.shape[-2]
    if x.ndim < 2 or x.shape[-1] != table.shape[1]:
        raise ValueError(f"add_positions: x must have shape (..., T, {table.shape[1]}), got {x.shape}")
    if offset < 0 or offset + T > table.shape[0]:
        raise ValueError(f"positions {offset}..{offset + T - 1} do not fit in max_len={table.shape[0]}: "
                         "use a shorter sequence or a larger max_len")
    ### BEGIN SOLUTION
    out = x.data + table.data[offset:offset + T]

    def backward(g):
        gt = None
        if table.requires_grad:
            gt = np.zeros_like(table.data)
            gt[offset:offset + T] = g.reshape(-1, T, g.shape[-1]).sum(axis=0)
        return g, gt
    return Tensor.from_op(out, (x, table), backward)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-add-positions-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(4)
xd, td = rng.standard_normal((2, 3, 4)), rng.standard_normal((6, 4))
x = Tensor(xd, dtype=np.float64, requires_grad=True)
table = Tensor(td, dtype=np.float64, requires_grad=True)
out = add_positions(x, table, offset=2)
expect_equal([isinstance(out, Tensor), out.shape], [True, (2, 3, 4)], "add_positions (a Tensor of x's shape)")
expect_equal(out.data, xd + td[2:5], "add_positions (x + table[offset:offset+T])")
shifted = lambda x, t: add_positions(x, t, offset=2)
expect_equal(backward_grads(shifted, x, table), central_differences(shifted, x, table),
             "add_positions backward (x and table, offset=2)", rtol=1e-5, atol=1e-6)
x0 = Tensor(xd[0], dtype=np.float64, requires_grad=True)
expect_equal(backward_grads(add_positions, x0, table), central_differences(add_positions, x0, table),
             "add_positions backward (x of shape (T, dim), offset=0)", rtol=1e-5, atol=1e-6)
with expect_raises(ValueError, "add_positions (positions past the table raise ValueError naming max_len)",
                   mentions=["max_len=6"]):
    add_positions(x, table, offset=4)

# %% [markdown]
# ## 5. The two positional modules
#
# `PositionalEncoding` keeps its table as a plain `Tensor` (no gradient, so not a
# `Parameter`, so `parameters()` does not list it and the optimiser leaves it alone).
# `LearnedPositionalEmbedding` makes the table a `Parameter`, initialised like an embedding,
# and learns it: GPT-2's choice. Learned positions fit the data's own structure, but know
# nothing beyond `max_len`; sinusoids are defined for any position (although a model trained
# on 128 positions will not magically use position 1000 well).

# %% nbgrader={"grade": false, "grade_id": "11-embeddings-positional", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class PositionalEncoding(Module):
    "Adds the fixed sinusoidal encoding of positions `offset ... offset+T-1` to x of shape `(..., T, dim)`."

    def __init__(self, max_len, dim):
        self.max_len, self.dim = max_len, dim
        ### BEGIN SOLUTION
        self.table = Tensor(sinusoidal_table(max_len, dim))
        ### END SOLUTION

    def forward(self, x, offset=0):
        ### BEGIN SOLUTION
        return add_positions(x, self.table, offset)
        ### END SOLUTION

    def __repr__(self):
        return f"PositionalEncoding(max_len={self.max_len}, dim={self.dim})"

class LearnedPositionalEmbedding(Module):
    "Adds a learned vector for each position `offset ... offset+T-1` to x of shape `(..., T, dim)`."

    def __init__(self, max_len, dim, std=0.02, seed=None):
        self.max_len, self.dim = max_len, dim
        ### BEGIN SOLUTION
        self.weight = Parameter(np.random.default_rng(seed).standard_normal((max_len, dim)) * std)
        ### END SOLUTION

    def forward(self, x, offset=0):
        ### BEGIN SOLUTION
        return add_positions(x, self.weight, offset)
        ### END SOLUTION

    def __repr__(self):
        return f"LearnedPositionalEmbedding(max_len={self.max_len}, dim={self.dim})"

# %% nbgrader={"grade": true, "grade_id": "11-embeddings-positional-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = Tensor(np.zeros((2, 5, 8)), requires_grad=True)
pos = PositionalEncoding(16, 8)
expect_equal(len(pos.parameters()), 0, "PositionalEncoding.parameters (the sinusoidal table is fixed: no parameters)")
out = pos(x)
expect_equal([isinstance(out, Tensor), out.shape, out.dtype], [True, (2, 5, 8), np.dtype(np.float32)],
             "PositionalEncoding.forward (a float32 Tensor of x's shape)")
angles = np.arange(16)[:, None] / 10000 ** (np.arange(0, 8, 2) / 8)
sinusoids = np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(16, 8)
expect_equal(out.data, np.broadcast_to(sinusoids[:5], (2, 5, 8)), "PositionalEncoding.forward (adds rows 0..T-1)",
             rtol=1e-5, atol=1e-6)
expect_equal(pos(x, offset=3).data[0], sinusoids[3:8], "PositionalEncoding.forward (offset=3 adds rows 3..7)",
             rtol=1e-5, atol=1e-6)
learned = LearnedPositionalEmbedding(16, 8, seed=0)
expect_equal([p is learned.weight for p in learned.parameters()], [True],
             "LearnedPositionalEmbedding.parameters (the weight is the only parameter)")
expect_equal(learned.weight.shape, (16, 8), "LearnedPositionalEmbedding.__init__ (weight of shape (max_len, dim))")
out = learned(x, offset=1)
expect_agree(out.data, np.broadcast_to(learned.weight.data[1:6], (2, 5, 8)),
             "LearnedPositionalEmbedding.forward (adds rows offset..offset+T-1 of the weight)")
learned.weight.data = np.arange(128, dtype=np.float32).reshape(16, 8) / 8   # known weights
out = learned(x, offset=1)
expect_equal(out.data, np.broadcast_to(np.arange(8, 48, dtype=np.float32).reshape(5, 8) / 8, (2, 5, 8)),
             "LearnedPositionalEmbedding.forward (adds rows 1..5 for offset=1)")
out.sum().backward()
expect_equal(learned.weight.grad.data, np.repeat([0.0, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8).reshape(16, 8),
             "LearnedPositionalEmbedding backward (rows 1..5 used by 2 sequences each)")
expect_equal(x.grad.data, np.ones((2, 5, 8)), "LearnedPositionalEmbedding backward (the gradient passes through to x)")
pe = LearnedPositionalEmbedding(64, 32, std=0.02, seed=0)
expect_that([float(pe.weight.data.std()), float(pe.weight.data.mean())], lambda v: 0.015 < v[0] < 0.025 and abs(v[1]) < 0.005,
            "LearnedPositionalEmbedding.__init__", "weights start as normal samples with mean 0 and standard deviation std")

# %% [markdown]
# ## 6. Putting them together
#
# The input layer of a GPT is `positions(embedding(ids))`. Two sentences that differ only in
# word order now enter the network as different sets of vectors.

# %%
vocab, dim, max_len = 65, 16, 32
tok_emb, pos_enc = Embedding(vocab, dim, seed=0), PositionalEncoding(max_len, dim)
ids = np.array([[46, 43, 50, 50, 53], [53, 50, 50, 43, 46]])   # 'hello' and 'olleh' as ids
h = pos_enc(tok_emb(ids))
print("input to the first block:", h.shape)
print("same tokens, different order -> different vector sets:",
      not np.allclose(np.sort(h.data[0], axis=0), np.sort(h.data[1], axis=0)))

# %% [markdown]
# The structure of the sinusoidal table: similarity (dot product) between the encodings of
# two positions depends only on their distance, and falls off with it.

# %%
table = sinusoidal_table(64, 64)
sim = table @ table.T
print("pe(10)·pe(10+k) for k = 0..5:", np.round(sim[10, 10:16], 2))
print("pe(40)·pe(40+k) for k = 0..5:", np.round(sim[40, 40:46], 2), "(the same: only the distance matters)")

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "11-embeddings-reflect-onehot-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Lookup versus matmul.** For a batch of `B·T = 4096` ids, `V = 50,257` and `dim = 768`,
# compare the work and memory of `onehot(ids) @ E` with `E[ids]`, forward and backward. Why
# is the embedding's weight gradient still a dense `(V, dim)` array in our implementation, and
# what could a framework do instead?

# %% [markdown] nbgrader={"grade": true, "grade_id": "11-embeddings-reflect-onehot", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# One-hot: a 4096×50257 matrix (~200M floats, 0.8 GB) and 4096·50257·768 ≈ 158 G multiply-adds;
# lookup: copies 4096 rows (3M floats). Backward: one-hot needs onehotᵀ @ g (same cost);
# scatter-add touches only used rows (N·dim adds). The gradient is dense because the optimizer
# and autograd expect full-shape grads (zeros for unused rows); a sparse gradient (ids + rows)
# with a sparse-aware optimizer would avoid the (V, dim) allocation.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "11-embeddings-reflect-positions-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Why positions at all?** Show that without positional information, self-attention maps a
# permuted input to the same permutation of its output. What would a language model without
# positions be unable to distinguish? When would you prefer sinusoidal over learned positions?

# %% [markdown] nbgrader={"grade": true, "grade_id": "11-embeddings-reflect-positions", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Attention weights are softmax(q_i·k_j) over the set of keys and the output is a weighted sum
# of values: permuting inputs permutes queries, keys and values together, so each output moves
# with its input (permutation equivariance). Without positions "dog bites man" = "man bites
# dog" as bags of tokens (apart from a causal mask). Sinusoidal: no parameters, defined for
# any length, good with little data; learned: fits the data, limited to max_len.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
