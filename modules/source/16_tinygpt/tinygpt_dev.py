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
# # 16 · TinyGPT: a language model built only from your framework
#
# Fifteen modules ago you wrapped a numpy array in a class. Now you assemble everything you
# built into a **GPT**: a decoder-only transformer that reads a stream of characters and
# learns to predict the next one. Trained on Shakespeare for a few minutes on a laptop CPU, it
# writes text with the shape of a play: names in capitals, line breaks, archaic words — all
# computed by your `Tensor`, your autograd, your layers and your optimiser.
#
# ```
#  ids (B, T) ──Embedding──> (B, T, D) ──+ positions──> dropout
#      └─> [ LayerNorm → MultiHeadAttention(causal) → + ] ┐
#          [ LayerNorm → FeedForward(GELU)          → + ] ┘ × n_layers   (pre-LN blocks, module 13)
#      └─> LayerNorm ──> @ Embeddingᵀ ──> logits (B, T, vocab)           (the output shares the embedding)
# ```
#
# What you build here, on top of modules 10–13:
#
# | piece | the idea |
# |---|---|
# | `TinyGPT` | embeddings + blocks + final LayerNorm + an output layer **tied** to the embedding |
# | `LanguageModelLoss` | next-token cross-entropy: the logits at position t are scored against token t+1 |
# | `sample_next` | greedy, temperature, top-k and top-p (nucleus) sampling, reproducible with a seed |
# | KV cache + `generate` | generation that reuses past keys/values: one new token costs one token of work |
# | `LanguageModelTrainer` | 08's `Trainer` on random windows: train/val split, AdamW, warm-up + cosine, clipping, validation, checkpoints |
#
# The capstone (`tito milestone run tinygpt`) then trains this model on tiny-shakespeare and
# must reach a validation loss of **1.70 nats per character within 15 minutes** on a 2-core CPU.
#
# Prerequisites: all earlier modules, in particular 05 (cross-entropy with `ignore_index`),
# 06 (AdamW, `CosineWarmupLR`, `clip_grad_norm`), 08 (`Trainer`, checkpoint files), 10 (`CharTokenizer`),
# 11 (embeddings), 12 (attention with a KV cache) and 13 (`LayerNorm`, `TransformerBlock`).

# %%
#| default_exp models.tinygpt

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import copy
import math
import time
from pathlib import Path

import numpy as np
from fastcore.basics import patch

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Dropout, Module, linear
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import AdamW, CosineWarmupLR
from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.embeddings import Embedding, LearnedPositionalEmbedding
from tinytorch.core.transformers import LayerNorm, TransformerBlock
from tinytorch.core.training import Trainer, load_checkpoint, module_generators, save_checkpoint

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. The model
#
# A GPT maps token ids `(B, T)` to **logits** `(B, T, V)`: at every position, one score per
# vocabulary entry for what comes next. The pieces are all yours already:
#
# 1. `tok_emb = Embedding(V, D)` turns ids into vectors, `pos_emb = LearnedPositionalEmbedding(max_len, D)`
#    adds a learned vector per position (attention by itself does not know the order), then dropout.
# 2. `n_layers` pre-LN `TransformerBlock(D, n_heads, d_ff, dropout, causal=True)`: the causal
#    mask lets position t read only positions ≤ t, so one forward pass trains all T predictions at once
#    without letting any of them peek at its answer.
# 3. A final `LayerNorm` (pre-LN blocks leave the residual stream un-normalised).
# 4. The output layer maps `D` back to `V` scores. Instead of a new `(D, V)` matrix it reuses the
#    embedding: `logits = h @ tok_emb.weightᵀ`. This is **weight tying** (Press & Wolf, 2017): a token's
#    input vector doubles as its output "template", which saves `V·D` parameters and usually trains
#    better on small data. It must be the *same* `Parameter` object, so both uses add into one gradient.
#
# **Initialisation** follows GPT-2: every weight matrix from N(0, 0.02²), and the two matrices that
# write into the residual stream in each block (attention output and second feed-forward layer)
# scaled by `1/√(2·n_layers)`, so the residual stream's variance does not grow with depth. The helper
# `init_gpt_weights` is given; it also re-seeds every random generator in the model (dropout masks),
# so a `seed` makes the whole model reproducible.
#
# **Generation needs a second mode.** `forward(ids, caches)` with a list of per-block cache dicts
# continues a sequence: the ids are the *new* tokens, their positions start after the cached ones
# (`pos_emb(x, offset=...)`), and each block's attention reads the cached keys and values (module 12).
# Section 4 explains why; for now, pass `cache=` through to each block.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-init-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| exporti
# internal (TinyGPT's initialisation and cache-length helpers): importable, not part of the module's `__all__`
RESIDUAL_OUTPUTS = ("attn.proj.weight", "ffn.fc2.weight")  # the matrices that write into the residual stream


def init_gpt_weights(model, seed=None):
    "GPT-2 initialisation: matrices ~ N(0, 0.02²), residual output matrices scaled by 1/√(2·n_layers); re-seed dropout."
    rng = np.random.default_rng(seed)
    scale = 1 / math.sqrt(2 * max(len(model.blocks), 1))
    for name, p in model.named_parameters():
        if p.ndim >= 2:
            std = 0.02 * (scale if name.endswith(RESIDUAL_OUTPUTS) else 1.0)
            p.data[...] = rng.standard_normal(p.shape) * std
    for i, g in enumerate(module_generators(model)):
        g.bit_generator.state = np.random.default_rng([0 if seed is None else seed, i]).bit_generator.state


def cache_length(caches):
    "How many positions the per-block caches already hold (0 for None or empty caches)."
    if not caches or "k" not in caches[0]:
        return 0
    return caches[0]["k"].shape[2]

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-model", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TinyGPT(Module):
    "A decoder-only transformer: token + learned position embeddings, pre-LN blocks, final LayerNorm, tied output."

    def __init__(self, vocab_size, d_model=256, n_layers=4, n_heads=4, d_ff=1024, max_len=512, dropout=0.1, seed=0):
        self.config = dict(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                           d_ff=d_ff, max_len=max_len, dropout=dropout)
        self.max_len = max_len
        ### BEGIN SOLUTION
        self.tok_emb = Embedding(vocab_size, d_model)
        self.pos_emb = LearnedPositionalEmbedding(max_len, d_model)
        self.drop = Dropout(dropout)
        self.blocks = [TransformerBlock(d_model, n_heads, d_ff, dropout=dropout, causal=True)
                       for _ in range(n_layers)]
        self.ln_f = LayerNorm(d_model)
        self.output_weight = self.tok_emb.weight  # tied: the same Parameter object
        ### END SOLUTION
        init_gpt_weights(self, seed)

    def forward(self, ids, caches=None):
        "Logits (B, T, vocab) for token ids (B, T); with `caches` the ids continue the cached sequence."
        ids = np.asarray(getattr(ids, "data", ids))
        offset = cache_length(caches)
        if ids.ndim != 2:
            raise ValueError(f"TinyGPT expects token ids of shape (batch, time), got shape {ids.shape}")
        if offset + ids.shape[1] > self.max_len:
            raise ValueError(f"TinyGPT: positions up to {offset + ids.shape[1]} exceed max_len={self.max_len}; "
                             "crop the sequence to its last max_len tokens")
        ### BEGIN SOLUTION
        x = self.drop(self.pos_emb(self.tok_emb(ids), offset=offset))
        for block, cache in zip(self.blocks, caches or [None] * len(self.blocks)):
            x = block(x, cache=cache)
        return linear(self.ln_f(x), self.output_weight.transpose())
        ### END SOLUTION

    def num_parameters(self):
        "The number of trainable numbers (the tied matrix counted once)."
        return sum(p.size for p in self.parameters())

# %% [markdown]
# The tests check shapes, the tying (one object, counted once), the parameter count, and the
# property that makes training on whole sequences legal: changing a *later* token never changes
# the logits at an *earlier* position.

# %% [markdown]
# A TinyGPT's random initialisation depends on the order in which your `__init__` creates its
# layers, so the tests that compare logits with known values first overwrite every weight
# matrix (and every parameter inside the blocks) with numbers drawn from the parameter's own
# name: `set_test_weights`.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-test-weights", "locked": true, "schema_version": 3, "solution": false, "task": false}
import zlib

def set_test_weights(model, seed=0, std=0.3):
    "Overwrite the matrices and the blocks' parameters with values seeded by each parameter's name; returns the model."
    for name, p in model.named_parameters():
        if p.ndim >= 2 or name.startswith("blocks."):
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            p.data[...] = rng.standard_normal(p.shape) * std + (1.0 if name.endswith("gamma") else 0.0)
    return model

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-model-shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
model = TinyGPT(vocab_size=11, d_model=16, n_layers=2, n_heads=4, d_ff=32, max_len=12, dropout=0.0, seed=0)
ids = np.random.default_rng(0).integers(0, 11, (3, 7))
logits = model(ids)
expect_that(isinstance(logits, Tensor), lambda v: v is True, "TinyGPT.forward", "the logits are a Tensor")
expect_equal(logits.shape, (3, 7, 11), "TinyGPT.forward (logits of shape (B, T, vocab))")
expect_equal(logits.dtype, np.float32, "TinyGPT.forward (the model computes in float32)")
expect_that(logits.data, lambda v: np.isfinite(v).all(), "TinyGPT.forward", "the logits are finite")
expect_equal(model(Tensor(ids)).shape, (3, 7, 11), "TinyGPT.forward (ids given as an integer Tensor)")
D, V, L, F, M = 16, 11, 2, 32, 12
per_block = 2 * 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D)
expect_equal(model.num_parameters(), V * D + M * D + L * per_block + 2 * D,
             "TinyGPT.__init__ (embeddings + blocks + final LayerNorm, the tied matrix once)")
with expect_raises(ValueError, "TinyGPT.forward (a sequence longer than max_len)", mentions=["max_len"]):
    model(np.zeros((1, 13), dtype=np.int64))
fixed = set_test_weights(TinyGPT(vocab_size=11, d_model=16, n_layers=2, n_heads=4, d_ff=32, max_len=12,
                                 dropout=0.0, seed=0))
expect_equal(fixed(ids).data[:, -1],
             np.array([[-0.30470, 0.66583, -0.12098, -0.17545, 2.47863, 1.31436, -2.62819, -0.43811, 0.00587, -0.59311, 3.33685],
                       [-1.47036, 0.94300, -0.76527, -0.35298, 3.41807, 0.54849, -2.06482, 1.07182, 0.25204, -0.77943, 2.07130],
                       [-1.02926, 1.30318, -0.03839, 0.78290, 2.99163, 0.51802, -1.47783, -0.09370, -0.84793, -0.03798, 2.96276]]),
             "TinyGPT (the layers of __init__ and forward: the last position's logits, with the test's weights)",
             rtol=1e-4, atol=1e-4)

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-model-tying", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
expect_that(model.output_weight is model.tok_emb.weight, lambda v: v is True, "TinyGPT.__init__ (weight tying)",
            "output_weight must be the embedding's Parameter itself (tok_emb.weight), not a copy")
names = [n for n, _ in model.named_parameters()]
expect_that(names, lambda v: len(v) == len(set(v)) and "output_weight" not in v, "TinyGPT.__init__ (weight tying)",
            "the tied matrix is listed once, as tok_emb.weight")
out = model(np.array([[1, 2, 3]]))
model.zero_grad()
out.sum().backward()
g = model.tok_emb.weight.grad.data
expect_equal(g.shape, (11, 16), "TinyGPT.forward backward (the embedding's gradient)")
expect_that(g[0], lambda v: np.abs(v).sum() > 0, "TinyGPT.forward (the output layer uses the tied embedding)",
            "token 0 is never an input here, yet its embedding gets a gradient through the tied output layer")

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-model-causal", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
a = np.array([[1, 2, 3, 4, 5, 6]])
b = a.copy(); b[0, 4:] = [9, 9]
la, lb = model(a).data, model(b).data
expect_agree(la[:, :4], lb[:, :4], "TinyGPT.forward (causal: positions 0..3 must not depend on tokens 4 and 5)",
             rtol=1e-5, atol=1e-6)
expect_that([la[:, 4:], lb[:, 4:]], lambda v: not np.allclose(v[0], v[1]), "TinyGPT.forward",
            "the logits at the changed positions themselves do change")
### BEGIN HIDDEN TESTS
m2 = TinyGPT(7, d_model=8, n_layers=1, n_heads=2, d_ff=16, max_len=5, dropout=0.0, seed=3)
m3 = TinyGPT(7, d_model=8, n_layers=1, n_heads=2, d_ff=16, max_len=5, dropout=0.0, seed=3)
expect_agree(m2(np.array([[0, 1, 2]])).data, m3(np.array([[0, 1, 2]])).data,
             "TinyGPT.__init__ (the same seed gives the same model)", rtol=0, atol=0)
expect_equal(m2(np.array([[0, 1, 2, 3, 4]])).shape, (1, 5, 7), "TinyGPT.forward (a sequence of exactly max_len)")
set_test_weights(m2, seed=1)
expect_equal(m2(np.array([[0, 1, 2, 3, 4], [6, 5, 4, 3, 2]])).data[:, -1],
             np.array([[-1.17158, 1.80384, 0.81783, -0.09084, 0.17370, 1.30824, 0.10006],
                       [-1.58689, 1.33214, 1.24926, 0.77624, 0.91968, 0.67641, -0.16526]]),
             "TinyGPT (the layers of __init__ and forward: the last position's logits at max_len, with the test's weights)",
             rtol=1e-4, atol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The language-modelling loss
#
# The model reads `x_0 … x_{T-1}` and at every position t predicts the *next* token. So the
# logits at position t are scored against the token at t+1:
#
# $$\mathcal{L} = -\frac{1}{T-1}\sum_{t=0}^{T-2} \log \mathrm{softmax}(z_t)[x_{t+1}]$$
#
# averaged over the batch too. The last position has no next token inside the window. Rather
# than slicing the `(B, T, V)` logits (which would copy them, and whose gradient would need a
# full-size scatter), shift the **targets**: `targets[:, :-1] = tokens[:, 1:]` and mark the last
# column with an `ignore_index` that module 05's `cross_entropy` skips.
#
# **Every position must be trained.** If the model only ever reads windows of `max_len` tokens
# and the last position is always ignored, the logits at position `max_len - 1` are never
# trained — and that is exactly the position generation uses once the text is longer than the
# window. So the loss also accepts the window **plus the next token**: tokens of shape
# `(B, T + 1)` for logits `(B, T, V)`, every position scored against `tokens[:, t + 1]`. The
# trainer draws windows of `context + 1` tokens, feeds the first `context` to the model and
# passes the whole window to the loss.
#
# The loss is in **nats per token**. A model that knows nothing predicts the uniform
# distribution: loss `log V` (4.17 for Shakespeare's 65 characters). A model that only knows
# character frequencies reaches the **unigram entropy** (about 3.3 nats on Shakespeare). Anything
# below that is the model using context. `exp(loss)` is the **perplexity**: 1.70 nats means the
# model is, on average, as unsure as a choice among e^1.7 ≈ 5.5 characters.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LanguageModelLoss:
    """Next-token cross-entropy for logits (B, T, V): position t is scored against tokens[:, t+1].

    tokens (B, T): the ids the logits were computed from (the last position has no target and is ignored);
    tokens (B, T+1): those ids plus the next one (every position is scored)."""
    IGNORE = -100

    def __call__(self, logits, tokens):
        return self.forward(logits, tokens)

    def forward(self, logits, tokens):
        tokens = np.asarray(getattr(tokens, "data", tokens))
        B, T = logits.shape[:2]
        if logits.ndim != 3 or tokens.shape not in ((B, T), (B, T + 1)) or tokens.shape[1] < 2:
            raise ValueError(f"LanguageModelLoss: logits {logits.shape} need tokens of shape ({B}, {T}) or "
                             f"({B}, {T + 1}) with at least 2 positions, got {tokens.shape}")
        ### BEGIN SOLUTION
        if tokens.shape[1] == T + 1:
            targets = tokens[:, 1:]
        else:
            targets = np.full(tokens.shape, self.IGNORE, dtype=np.int64)
            targets[:, :-1] = tokens[:, 1:]
        return cross_entropy(logits, targets, ignore_index=self.IGNORE)
        ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-loss-values", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(2)
z = rng.standard_normal((2, 5, 7))
tok = rng.integers(0, 7, (2, 5))
loss = LanguageModelLoss()(Tensor(z, dtype=np.float64), tok)
expect_that(isinstance(loss, Tensor), lambda v: v is True, "LanguageModelLoss.forward", "the loss is a Tensor")
expect_equal(loss.shape, (), "LanguageModelLoss.forward (the loss is a scalar)")
logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
manual = -np.take_along_axis(logp[:, :4], tok[:, 1:, None], -1).mean()   # -log p(token t+1) at t = 0..3
expect_equal(float(loss.data), manual, "LanguageModelLoss.forward (mean over the B·(T-1) predictions of -log p(next token))",
             rtol=1e-10)
zt = Tensor(z, dtype=np.float64, requires_grad=True)
LanguageModelLoss()(zt, tok).backward()
expect_equal(zt.grad.data[:, -1], np.zeros((2, 7)),
             "LanguageModelLoss.forward backward (the last position predicts nothing: zero gradient)")
grad_want = np.concatenate([np.exp(logp[:, :4]) - np.eye(7)[tok[:, 1:]], np.zeros((2, 1, 7))], axis=1) / 8
expect_equal(zt.grad.data, grad_want, "LanguageModelLoss.forward backward (the gradient of the logits: (softmax - onehot) / 8)",
             rtol=1e-8, atol=1e-12)
nxt = rng.integers(0, 7, (2, 1))
longer = np.concatenate([tok, nxt], axis=1)           # the window plus the next token: every position scored
loss6 = LanguageModelLoss()(Tensor(z, dtype=np.float64), longer)
manual6 = -np.take_along_axis(logp, longer[:, 1:, None], -1).mean()
expect_equal(float(loss6.data), manual6, "LanguageModelLoss.forward (with T+1 tokens, all T positions are scored)",
             rtol=1e-10)

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-loss-start", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
fresh = TinyGPT(vocab_size=40, d_model=32, n_layers=2, n_heads=4, d_ff=64, max_len=16, dropout=0.0, seed=1)
batch = np.random.default_rng(3).integers(0, 40, (8, 16))
start = float(LanguageModelLoss()(fresh(batch), batch).data)
expect_that(start, lambda v: abs(v - math.log(40)) < 0.1, "TinyGPT.__init__ and LanguageModelLoss",
            "a fresh model is close to uniform: the loss is about log V = log 40 = 3.689")
### BEGIN HIDDEN TESTS
rng2 = np.random.default_rng(5)
t2 = rng2.integers(0, 7, (3, 2))
z2 = rng2.standard_normal((3, 2, 7))
l2 = LanguageModelLoss()(Tensor(z2, dtype=np.float64), t2)
lp2 = z2 - np.log(np.exp(z2).sum(-1, keepdims=True))
expect_equal(float(l2.data), -np.mean([lp2[b, 0, t2[b, 1]] for b in range(3)]),
             "LanguageModelLoss.forward (windows of two tokens)", rtol=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Choosing the next token
#
# The model gives a distribution; a **decoding rule** turns it into a token:
#
# - **greedy** (`temperature=0`): the arg-max. Deterministic, and for small models it quickly
#   falls into loops ("the the the").
# - **temperature** τ: sample from `softmax(z / τ)`. τ < 1 sharpens the distribution (safer,
#   duller), τ > 1 flattens it (more varied, more mistakes).
# - **top-k**: keep only the k highest-scoring tokens, renormalise, sample.
# - **top-p** (nucleus sampling, Holtzman et al. 2020): keep the *smallest* set of most likely
#   tokens whose probabilities add up to at least p. Unlike top-k it adapts: after "Q" the
#   nucleus may be one letter, after a space it may be thirty.
#
# Sampling draws one uniform number u per row and returns the first token whose cumulative
# probability exceeds u (inverse-CDF sampling). With a seeded generator the same seed gives the
# same text — and, as long as the probabilities are the same, the cached and uncached generators
# of section 4 make the same choices.
#
# Work in float64 for the filtering (a token whose probability underflows in float32 would still
# be a possible sample). Ties at the k-th score are all kept.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-sample", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def filter_logits(z, top_k=None, top_p=None):
    "Float64 logits (B, V) with everything outside the top-k and outside the top-p nucleus set to -inf."
    z = np.array(z, dtype=np.float64)
    ### BEGIN SOLUTION
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k:].min(-1, keepdims=True)
        z[z < kth] = -np.inf
    if top_p is not None and top_p < 1.0:
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        order = np.argsort(-p, axis=-1, kind="stable")
        sorted_p = np.take_along_axis(p, order, -1)
        outside = np.cumsum(sorted_p, -1) - sorted_p >= top_p   # the mass before this token already reached p
        np.put_along_axis(z, order, np.where(outside, -np.inf, np.take_along_axis(z, order, -1)), -1)
    ### END SOLUTION
    return z


def sample_next(logits, temperature=1.0, top_k=None, top_p=None, rng=None):
    "One token id per row of logits (B, V): the arg-max when temperature is 0, else a filtered, tempered sample."
    z = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
    z = z.reshape(-1, z.shape[-1])
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    ### BEGIN SOLUTION
    if temperature == 0:
        return z.argmax(-1)
    z = filter_logits(z / temperature, top_k, top_p)
    p = np.exp(z - z.max(-1, keepdims=True))
    cdf = np.cumsum(p / p.sum(-1, keepdims=True), -1)
    u = (rng if rng is not None else np.random.default_rng()).random((z.shape[0], 1))
    return np.minimum((cdf < u).sum(-1), z.shape[-1] - 1)
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-sample-greedy-topk", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
z = np.array([[1.0, 3.0, 2.0, -1.0], [0.5, 0.1, 0.2, 4.0]])
g = sample_next(z, temperature=0)
expect_that(g, lambda v: isinstance(v, np.ndarray) and v.shape == (2,), "sample_next",
            "sample_next returns a numpy array with one id per row")
expect_equal(g, np.array([1, 3]), "sample_next (temperature=0 is the arg-max)")
f = filter_logits(z, top_k=2)
expect_equal(f, np.array([[-np.inf, 3.0, 2.0, -np.inf], [0.5, -np.inf, -np.inf, 4.0]]),
             "filter_logits (top_k=2 sets all but the two largest logits of each row to -inf)")
wide = np.array([[3.0, 9.0, 1.0, 7.0, 0.0, 8.0, 2.0, 6.0, 5.0, 4.0], np.arange(10.0)])
for k in (1, 3, 9, 10):
    kept = np.isfinite(filter_logits(wide, top_k=k))
    want = wide >= np.sort(wide, axis=-1)[:, [-k]]
    expect_equal(kept, want, "filter_logits (top_k keeps exactly the k largest of each row)")
long_row = np.random.default_rng(0).permutation(300)[None].astype(np.float64)
expect_equal(int(np.isfinite(filter_logits(long_row, top_k=7)).sum()), 7, "filter_logits (top_k=7 on 300 logits keeps 7)")
expect_equal(sample_next(z, top_k=1, rng=np.random.default_rng(0)), np.array([1, 3]),
             "sample_next (top_k=1 is greedy: filter_logits, then sampling)")
draws = np.stack([sample_next(z, top_k=2, rng=np.random.default_rng(s)) for s in range(200)])
expect_that(draws, lambda v: set(v[:, 0].tolist()) == {1, 2} and set(v[:, 1].tolist()) <= {3, 0},
            "sample_next (top_k=2: filter_logits, then sampling)", "samples only the two best tokens of each row, and both of them")
expect_equal(sample_next(np.array([[0.0, 1000.0, 999.0]]), top_k=1), np.array([1]),
             "sample_next (logits of 1000 must not overflow: subtract the row maximum)")

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-sample-temperature", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
z = np.log(np.array([[0.5, 0.3, 0.2]]))
rng = np.random.default_rng(0)
counts = np.bincount([sample_next(z, rng=rng)[0] for _ in range(4000)], minlength=3) / 4000
expect_that(counts, lambda v: np.allclose(v, [0.5, 0.3, 0.2], atol=0.03, rtol=0), "sample_next (temperature 1)",
            "4000 samples follow the model's distribution [0.5, 0.3, 0.2] within 0.03")
cold = np.bincount([sample_next(z, temperature=0.25, rng=rng)[0] for _ in range(2000)], minlength=3) / 2000
expect_that(cold, lambda v: v[0] > 0.75, "sample_next (temperature 0.25)",
            "a low temperature concentrates the samples on the most likely token (over 75% of them)")
a = [sample_next(z, rng=np.random.default_rng(7))[0] for _ in range(20)]
expect_that(a, lambda v: len(set(v)) == 1, "sample_next (rng)", "the same seed gives the same sample")
nucleus = filter_logits(z, top_p=0.75)
expect_equal(nucleus, np.array([[np.log(0.5), np.log(0.3), -np.inf]]),
             "filter_logits (top_p=0.75: 0.5 + 0.3 >= 0.75, so the nucleus is {0, 1})")
rows = np.log(np.array([[0.1, 0.6, 0.3, 1e-9], [0.25, 0.25, 0.4, 0.1]]))
expect_equal(np.isfinite(filter_logits(rows, top_p=0.8)), np.array([[False, True, True, False], [True, True, True, False]]),
             "filter_logits (top_p=0.8: each row keeps its own nucleus)")
expect_equal(np.isfinite(filter_logits(np.array([[1000.0, 999.0, 0.0]]), top_p=0.5)), np.array([[True, False, False]]),
             "filter_logits (top_p with logits of 1000 must not overflow: subtract the row maximum)")
expect_equal(np.isfinite(filter_logits(np.array([[0.0, -800.0]]), top_p=1.0)), np.array([[True, True]]),
             "filter_logits (top_p=1.0 keeps every token, even one whose probability rounds to 0)")
big = np.log(np.array([[0.5, 0.3, 0.2]])) + 1000.0
counts = np.bincount([sample_next(big, rng=rng)[0] for _ in range(1000)], minlength=3) / 1000
expect_that(counts, lambda v: np.allclose(v, [0.5, 0.3, 0.2], atol=0.05, rtol=0), "sample_next (logits near 1000)",
            "the samples follow [0.5, 0.3, 0.2] within 0.05: subtract the row maximum so nothing overflows")
expect_equal(filter_logits(z, top_p=0.5), np.array([[np.log(0.5), -np.inf, -np.inf]]),
             "filter_logits (top_p=0.5 keeps only the most likely token of [0.5, 0.3, 0.2])")
### BEGIN HIDDEN TESTS
expect_equal(np.isfinite(filter_logits(z, top_p=0.1)), np.array([[True, False, False]]),
             "filter_logits (top_p: the most likely token is always kept)")
expect_equal(np.isfinite(filter_logits(z, top_p=0.81)), np.array([[True, True, True]]),
             "filter_logits (top_p=0.81 of [0.5, 0.3, 0.2] keeps all three)")
tie = filter_logits(np.array([[1.0, 2.0, 2.0, 0.0]]), top_k=1)
expect_equal(np.isfinite(tie), np.array([[False, True, True, False]]), "filter_logits (top_k: ties at the k-th score are kept)")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Generation with a KV cache
#
# Generating N tokens naively runs the model N times on ever longer sequences: step t
# recomputes the keys and values of all t earlier tokens, although they never change (the
# causal mask means a token's representation depends only on the tokens before it). The total
# work grows like N².
#
# A **KV cache** keeps, for each block, the keys and values computed so far. Module 12's
# `MultiHeadAttention` accepts a `cache` dict; module 13's blocks pass it through. The first
# call (the prompt) fills the caches; after that, each step feeds **only the newest token**: its
# query attends to all cached keys, and its own key and value are appended. One step then costs
# one token's worth of matrix-vector work plus reading the cache.
#
# ```
#  prompt "ROMEO" ─model(ids, caches)─> logits for 5 positions, caches hold 5 keys/values per block
#  ":"            ─model([[id(':')]], caches)─> logits for position 5, caches hold 6 ...
# ```
#
# The cache is only valid inside the context window: positions are learned up to `max_len`. Past
# it, `generate` falls back to re-running the last `max_len` tokens at every step (a sliding
# window), exactly what the uncached path does, so both paths always produce the same tokens.
# Memory: per token, every block stores a key and a value of size `d_model`: `2 · n_layers · d_model`
# numbers, 8 KiB per token for the seed model in float32.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-generate", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def generate(model, prompt, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=None, use_cache=True):
    "Extend prompt ids (T,) or (B, T) by `max_new_tokens` tokens; returns prompt + new ids as an int64 array."
    ids = np.array(getattr(prompt, "data", prompt), dtype=np.int64)
    single = ids.ndim == 1
    ids = np.atleast_2d(ids)
    if ids.shape[1] == 0:
        raise ValueError("generate needs a prompt of at least one token")
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            ### BEGIN SOLUTION
            caches, cached = None, 0
            for _ in range(max_new_tokens):
                if use_cache and ids.shape[1] <= model.max_len:
                    if caches is None:
                        caches = [{} for _ in model.blocks]
                    logits = model(ids[:, cached:], caches)
                    cached = ids.shape[1]
                else:
                    logits = model(ids[:, -model.max_len:])
                nxt = sample_next(logits.data[:, -1], temperature, top_k, top_p, rng)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
            ### END SOLUTION
    finally:
        model.train(was_training)
    return ids[0] if single else ids


def generate_text(model, tokenizer, prompt, max_new_tokens=200, **kwargs):
    "The prompt continued by `max_new_tokens` characters (keyword arguments go to `generate`)."
    return tokenizer.decode(generate(model, tokenizer.encode(prompt), max_new_tokens, **kwargs))

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-cache-logits", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
gm = TinyGPT(vocab_size=13, d_model=16, n_layers=2, n_heads=2, d_ff=32, max_len=20, dropout=0.0, seed=5)
seq = np.random.default_rng(4).integers(0, 13, (2, 9))
full = gm(seq).data
caches = [{} for _ in gm.blocks]
with no_grad():
    parts = [gm(seq[:, :4], caches).data]
    expect_equal(cache_length(caches), 4, "TinyGPT.forward with caches (after a 4-token prompt the caches hold 4 positions)")
    for t in range(4, 9):
        parts.append(gm(seq[:, t:t + 1], caches).data)
expect_equal(cache_length(caches), 9, "TinyGPT.forward with caches (one more position per new token)")
expect_agree(np.concatenate(parts, axis=1), full,
             "TinyGPT.forward with caches (tokens fed one at a time give the full pass's logits: positions and cache=)",
             rtol=1e-4, atol=1e-5)

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-generate-cache-equal", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
p = np.array([3, 1, 4])
for kw in [dict(temperature=0), dict(temperature=1.0, seed=1), dict(temperature=0.8, top_k=5, seed=2),
           dict(temperature=1.2, top_p=0.9, seed=3)]:
    a = generate(gm, p, 30, use_cache=True, **kw)   # 33 tokens > max_len 20: also crosses the window
    b = generate(gm, p, 30, use_cache=False, **kw)
    expect_that(a, lambda v: isinstance(v, np.ndarray) and v.shape == (33,) and v.dtype.kind == "i", "generate",
                "generate returns the prompt + 30 new ids as an integer numpy array of shape (33,)")
    expect_equal(a[:3], np.array([3, 1, 4]), "generate (the result starts with the prompt)")
    expect_agree(a, b, "generate (cached and uncached generation must agree)", rtol=0, atol=0)
expect_equal(gm.training, True, "generate (restores training mode)")
seen, forward = [], gm.forward
gm.forward = lambda ids, *rest: (seen.append(ids.shape[-1]), forward(ids, *rest))[1]  # record each call's length
generate(gm, np.arange(17) % 7, 5, temperature=0)
del gm.forward
expect_equal(seen, [17, 1, 1, 1, 20],
             "generate (use_cache: the prompt once, then only each new token while the 20-token window holds, then the last 20)")

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-generate-seeds", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x1 = generate(gm, p, 15, seed=11)
x2 = generate(gm, p, 15, seed=11)
expect_agree(x1, x2, "generate (the same seed gives the same text)", rtol=0, atol=0)
outs = {tuple(generate(gm, p, 15, seed=s)) for s in range(5)}
expect_that(len(outs), lambda v: v > 1, "generate (seed)", "different seeds give different samples")
batch_out = generate(gm, np.array([[1, 2], [3, 4]]), 5, temperature=0)
expect_equal(batch_out.shape, (2, 7), "generate (a batch of prompts (B, T) gives (B, T + max_new_tokens))")
### BEGIN HIDDEN TESTS
expect_agree(batch_out[1], generate(gm, np.array([3, 4]), 5, temperature=0),
             "generate (each row of a batch is generated independently)", rtol=0, atol=0)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Training
#
# A character corpus is one long stream of ids. The trainer:
#
# - splits it **by position**: the first 90% trains, the last 10% validates. (A random split of
#   windows would leak: overlapping windows would put the same text on both sides.)
# - draws each batch as `batch_size` **random windows** of `context + 1` consecutive tokens from
#   the training part. The model reads the first `context`; every one of those positions is scored
#   against the token after it, so a window trains `context` predictions at once — including the
#   one at the last position, which generation relies on.
# - uses **AdamW** with weight decay on the weight matrices only (decaying LayerNorm gains or
#   biases towards zero has no regularising purpose): two optimisers stepped as one
#   (`OptimizerGroup`), sharing one schedule;
# - **warm-up + cosine** learning rate (`CosineWarmupLR`): Adam's second-moment estimates are
#   poor in the first steps, so the rate ramps up, then decays smoothly to `min_lr`;
# - **clips** the global gradient norm (`clip_grad_norm`), so one unlucky batch cannot throw the
#   weights far away;
# - **validates** every `eval_every` steps on the same fixed set of validation windows (so the
#   curve is not noisier than it needs to be), prints a progress line, saves a **checkpoint**
#   that `resume` restores exactly (weights, optimiser moments, schedule, random state), and
#   can plot the loss curves.
#
# It is module 08's `Trainer`, specialised: the gradient step (zero the gradients, backward,
# clip, update, advance the schedule) is `Trainer.train_step`, unchanged. What differs is where
# batches come from (random windows of one stream instead of a `DataLoader`) and that a language
# model is trained for a number of **steps**, not epochs, so `fit` and `evaluate` count steps.
#
# You write the two hearts of it: drawing a batch, and one training step on it.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-trainer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class OptimizerGroup:
    "Several optimisers stepped as one, with one learning rate (what a schedule sets) shared by all."

    def __init__(self, optimizers, params):
        self.optimizers, self.params = list(optimizers), list(params)  # params: all of them, for clipping

    @property
    def lr(self):
        return self.optimizers[0].lr

    @lr.setter
    def lr(self, value):
        for opt in self.optimizers:
            opt.lr = value

    def zero_grad(self):
        for opt in self.optimizers:
            opt.zero_grad()

    def step(self):
        for opt in self.optimizers:
            opt.step()


class LanguageModelTrainer(Trainer):
    "08's Trainer on random windows of a token stream (first 90% train, last 10% validation), counted in steps."

    def __init__(self, model, tokens, context=128, batch_size=32, lr=1e-3, min_lr=None, warmup_steps=100,
                 total_steps=1000, weight_decay=0.1, betas=(0.9, 0.99), grad_clip=1.0, val_fraction=0.1,
                 eval_every=200, eval_batches=10, log_every=50, checkpoint=None, tokenizer=None, seed=0, log=print):
        tokens = np.asarray(getattr(tokens, "data", tokens)).reshape(-1).astype(np.int64)
        n_train = int(round(len(tokens) * (1 - val_fraction)))
        self.train_ids, self.val_ids = tokens[:n_train], tokens[n_train:]
        if context > model.max_len:
            raise ValueError(f"context {context} is longer than the model's max_len {model.max_len}")
        if min(len(self.train_ids), len(self.val_ids)) < context + 1:
            raise ValueError(f"a corpus of {len(tokens)} tokens is too short for windows of {context + 1} "
                             f"in both splits ({len(self.train_ids)} train, {len(self.val_ids)} validation)")
        params = model.parameters()
        matrices, others = [p for p in params if p.ndim >= 2], [p for p in params if p.ndim < 2]
        optimizers = [AdamW(matrices, lr=lr, betas=betas, weight_decay=weight_decay)]
        if others:
            optimizers.append(AdamW(others, lr=lr, betas=betas, weight_decay=0.0))
        optimizer = OptimizerGroup(optimizers, params)
        scheduler = CosineWarmupLR(optimizer, min(warmup_steps, total_steps), total_steps,
                                   min_lr=lr / 10 if min_lr is None else min_lr)
        super().__init__(model, optimizer, LanguageModelLoss(), scheduler=scheduler, metrics={},
                         clip_grad=grad_clip or None, progress=False)
        self.tokenizer, self.context, self.batch_size, self.total_steps = tokenizer, context, batch_size, total_steps
        self.eval_every, self.eval_batches, self.log_every = eval_every, eval_batches, log_every
        self.checkpoint, self.log = (Path(checkpoint) if checkpoint else None), log
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.seconds = 0.0
        self.history = {"step": [], "train_loss": [], "lr": [], "val_step": [], "val_loss": []}

    @property
    def lr(self):
        return self.optimizer.lr

    @property
    def optimizers(self):
        "The optimisers of the group: AdamW with weight decay on the matrices, then AdamW without on the rest."
        return self.optimizer.optimizers

    def get_batch(self, split="train", rng=None):
        "`batch_size` random windows of `context + 1` consecutive ids from the 'train' or 'val' part: (B, context + 1)."
        data = self.train_ids if split == "train" else self.val_ids
        rng = self.rng if rng is None else rng
        ### BEGIN SOLUTION
        starts = rng.integers(0, len(data) - self.context, size=self.batch_size)
        return data[starts[:, None] + np.arange(self.context + 1)]
        ### END SOLUTION

    def train_step(self):
        "One optimisation step (08's `Trainer.train_step`) on a fresh batch; returns the batch's loss as a float."
        self.model.train()
        batch = self.get_batch("train")
        ### BEGIN SOLUTION
        loss, _ = super().train_step(batch[:, :-1], batch)  # the model reads `context` ids; the loss shifts targets
        ### END SOLUTION
        self.step += 1
        value = float(loss)
        for key, v in (("step", self.step), ("train_loss", value), ("lr", self.lr)):
            self.history[key].append(v)
        return value

# %% [markdown]
# Evaluation, the loop, checkpoints and plotting are plumbing around your two methods; read them,
# they are what the capstone runs. `evaluate` uses a generator with a fixed seed, so every
# evaluation sees the same windows. `evaluate_full` scores **every** validation token after the
# first exactly once: it tiles the validation text with windows of `context + 1` tokens that overlap
# by one (each window's last token is only a target, and the next window starts with it) — this is
# the number the milestone reports.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-trainer-loop", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
@patch
def evaluate(self: LanguageModelTrainer, batches=None, seed=1234):
    "Mean validation loss over `batches` fixed random windows (the same ones every call)."
    rng = np.random.default_rng(seed)
    was_training = self.model.training
    self.model.eval()
    try:
        with no_grad():
            losses = []
            for _ in range(batches or self.eval_batches):
                b = self.get_batch("val", rng)
                losses.append(float(self.loss_fn(self.model(b[:, :-1]), b).item()))
    finally:
        self.model.train(was_training)
    return float(np.mean(losses))


@patch
def evaluate_full(self: LanguageModelTrainer, batch_size=64):
    "The loss on every validation token after the first (windows of context + 1 overlapping by one), in nats/token."
    T, ids = self.context, self.val_ids
    starts = np.arange(0, len(ids) - 1, T)          # window s reads ids[s:s+T] and predicts ids[s+1:s+T+1]
    total, count = 0.0, 0
    was_training = self.model.training
    self.model.eval()
    try:
        with no_grad():
            full = [s for s in starts if s + T + 1 <= len(ids)]
            for i in range(0, len(full), batch_size):
                b = ids[np.asarray(full[i:i + batch_size])[:, None] + np.arange(T + 1)]
                total += float(self.loss_fn(self.model(b[:, :-1]), b).item()) * b.shape[0] * T
                count += b.shape[0] * T
            tail = ids[starts[-1]:] if starts[-1] + T + 1 > len(ids) else None
            if tail is not None and len(tail) >= 2:
                total += float(self.loss_fn(self.model(tail[None, :-1]), tail[None]).item()) * (len(tail) - 1)
                count += len(tail) - 1
    finally:
        self.model.train(was_training)
    return total / count


@patch
def progress_line(self: LanguageModelTrainer, start_step, started, tokens_seen):
    "One progress line: a bar over total_steps, recent train loss, the last validation loss, lr, speed, time left."
    done, elapsed = self.step - start_step, time.perf_counter() - started
    width = 20
    filled = min(width, round(width * self.step / max(self.total_steps, 1)))
    recent = np.mean(self.history["train_loss"][-self.log_every:])
    val = f" | val {self.history['val_loss'][-1]:.4f}" if self.history["val_loss"] else ""
    left = elapsed / max(done, 1) * max(self.total_steps - self.step, 0)
    return (f"[{'#' * filled}{'-' * (width - filled)}] step {self.step}/{self.total_steps} | loss {recent:.4f}{val} | "
            f"lr {self.lr:.2e} | {tokens_seen / max(elapsed, 1e-9):,.0f} tok/s | "
            f"{self.seconds + elapsed:.0f}s, ~{left:.0f}s left")


@patch
def fit(self: LanguageModelTrainer, steps=None, time_budget=None):
    "Train up to `steps` more steps (default: until total_steps) or `time_budget` seconds; returns the history."
    steps = self.total_steps - self.step if steps is None else steps
    start_step, started, tokens = self.step, time.perf_counter(), 0
    stop = start_step + steps
    while self.step < stop:
        self.train_step()
        tokens += self.batch_size * self.context
        out_of_time = time_budget is not None and time.perf_counter() - started >= time_budget
        last = self.step == stop or out_of_time
        if self.eval_every and (self.step % self.eval_every == 0 or last):
            self.history["val_step"].append(self.step)
            self.history["val_loss"].append(self.evaluate())
            if self.checkpoint:
                self.save(self.checkpoint)
        if self.log and (self.step % self.log_every == 0 or last):
            self.log(self.progress_line(start_step, started, tokens))
        if out_of_time and self.step < stop:
            if self.log:
                self.log(f"time budget of {time_budget:.0f}s used up at step {self.step} "
                         f"(the schedule was planned for {self.total_steps} steps)")
            break
    self.seconds += time.perf_counter() - started
    return self.history


@patch
def state_dict(self: LanguageModelTrainer):
    "Everything needed to continue exactly: model, optimisers, schedule, step, history, random states, config."
    tok = self.tokenizer
    return {"step": self.step, "seconds": self.seconds, "config": dict(self.model.config),
            "model": self.model.state_dict(), "optimizers": [o.state_dict() for o in self.optimizers],
            "scheduler": self.scheduler.state_dict(), "history": {k: list(v) for k, v in self.history.items()},
            "rng": self.rng.bit_generator.state,
            "model_rngs": [g.bit_generator.state for g in module_generators(self.model)],
            "tokenizer": None if tok is None else {"chars": [c for c in tok.itos if c != tok.UNK], "unknown": tok.unknown}}


@patch
def load_state_dict(self: LanguageModelTrainer, state):
    "Restore what `state_dict` returned into this trainer (same model shape and corpus)."
    parts = [(self.model, state["model"]), *zip(self.optimizers, state["optimizers"]), (self.scheduler, state["scheduler"])]
    for part, saved in parts:  # in this order: the schedule sets the group's one learning rate last
        part.load_state_dict(saved)
    self.step, self.seconds = state["step"], state["seconds"]
    self.history = copy.deepcopy(state["history"])  # the trainer appends to it; the state stays as it was
    self.rng.bit_generator.state = state["rng"]
    for g, s in zip(module_generators(self.model), state["model_rngs"]):
        g.bit_generator.state = s


@patch
def save(self: LanguageModelTrainer, path):
    "Write a checkpoint (atomically); returns its path."
    return save_checkpoint(path, self.state_dict())


@patch
def resume(self: LanguageModelTrainer, path):
    "Continue from the checkpoint at `path`; returns self."
    self.load_state_dict(load_checkpoint(path))
    return self


@patch
def plot(self: LanguageModelTrainer, path, title=None):
    "Training loss (smoothed) and validation loss against the step, as a PNG; returns the path."
    from matplotlib.figure import Figure  # a bare Figure draws with Agg when saved: no display, pyplot untouched
    fig = Figure(figsize=(6, 3.6), layout="tight")
    ax = fig.add_subplot(1, 1, 1)
    steps, losses = np.asarray(self.history["step"]), np.asarray(self.history["train_loss"])
    if len(losses):
        k = max(1, min(50, len(losses) // 20))
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1:], smooth, label=f"train (mean of {k} steps)", lw=1)
    if self.history["val_loss"]:
        ax.plot(self.history["val_step"], self.history["val_loss"], "o-", ms=3, label="validation")
    ax.set(xlabel="step", ylabel="loss (nats/token)", title=title or "TinyGPT training")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)  # PNG, from the file name
    return Path(path)


def load_model(path):
    "(model in eval mode, tokenizer or None) from a trainer checkpoint."
    state = load_checkpoint(path)
    model = TinyGPT(**state["config"])
    model.load_state_dict(state["model"])
    tok = state.get("tokenizer")
    tokenizer = CharTokenizer("".join(tok["chars"]), unknown=tok["unknown"]) if tok else None
    return model.eval(), tokenizer

# %% [markdown]
# A corpus every Python installation carries: the text of Python's own help topics
# (`pydoc_data.topics`). The tests train on a piece of it.

# %% nbgrader={"grade": false, "grade_id": "16-tinygpt-corpus", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
def embedded_corpus():
    "The text of Python's help topics (`pydoc_data.topics`): about 460,000 characters that every Python install has."
    from pydoc_data.topics import topics
    return "\n".join(topics[k] for k in sorted(topics))


def unigram_entropy(ids):
    "The entropy (nats) of the token frequencies of `ids`: the loss of the best context-free model."
    counts = np.bincount(np.asarray(ids).reshape(-1))
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-trainer-batches", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
stream = np.arange(1000) % 50
tm = TinyGPT(vocab_size=50, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_len=16, dropout=0.0, seed=0)
tr = LanguageModelTrainer(tm, stream, context=16, batch_size=6, total_steps=10, warmup_steps=2, log=None, seed=0)
expect_equal([len(tr.train_ids), len(tr.val_ids)], [900, 100], "LanguageModelTrainer.__init__ (first 90% train, last 10% validation)")
b = tr.get_batch()
expect_that(b, lambda v: isinstance(v, np.ndarray) and v.shape == (6, 17) and v.dtype.kind == "i",
            "LanguageModelTrainer.get_batch", "an integer numpy array of batch_size windows of context + 1 tokens: (6, 17)")
expect_that(b, lambda v: np.all((np.diff(v, axis=1) % 50) == 1), "LanguageModelTrainer.get_batch",
            "each row is a window of consecutive tokens")
# positions as tokens: a token's value is its position in the stream
pos = LanguageModelTrainer(tm, np.arange(1000), context=16, batch_size=6, log=None, seed=0)
vb = pos.get_batch("val", np.random.default_rng(0))
expect_that(vb, lambda v: v.shape == (6, 17) and v.min() >= 900 and np.all(np.diff(v, axis=1) == 1),
            "LanguageModelTrainer.get_batch('val')", "windows of consecutive tokens from val_ids (positions 900..999)")
starts = np.concatenate([pos.get_batch(rng=np.random.default_rng(s))[:, 0] for s in range(50)])
expect_that(starts, lambda v: v.min() >= 0 and len(set(v.tolist())) > 20, "LanguageModelTrainer.get_batch",
            "windows start at random positions of the training part")
ends = np.concatenate([pos.get_batch(rng=np.random.default_rng(s))[:, -1] for s in range(50)])
expect_that(ends, lambda v: v.max() <= 899, "LanguageModelTrainer.get_batch",
            "windows stay inside the training part (positions 0..899)")
expect_agree(tr.get_batch(rng=np.random.default_rng(3)), tr.get_batch(rng=np.random.default_rng(3)),
             "LanguageModelTrainer.get_batch (draws from the rng it is given)", rtol=0, atol=0)
short = LanguageModelTrainer(tm, np.arange(40), context=16, batch_size=6, val_fraction=0.45, log=None, seed=0)
windows = np.concatenate([short.get_batch(rng=np.random.default_rng(s)) for s in range(20)])
expect_that(windows, lambda v: np.all(np.diff(v, axis=1) == 1), "LanguageModelTrainer.get_batch",
            "every window is consecutive tokens")
expect_equal(sorted(set(windows[:, 0].tolist())), [0, 1, 2, 3, 4, 5],
             "LanguageModelTrainer.get_batch (22 training tokens give windows of 17 starting at 0..5, each possible)")

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-trainer-step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
w0 = tm.tok_emb.weight.data.copy()
expect_equal(tr.lr, 5e-4, "LanguageModelTrainer.__init__ (the first step runs at the warm-up rate lr / warmup_steps)",
             rtol=1e-9)
first = tr.train_step()
expect_that(first, lambda v: isinstance(v, float), "LanguageModelTrainer.train_step", "returns the loss as a float")
expect_that(first, lambda v: abs(v - math.log(50)) < 0.3, "LanguageModelTrainer.train_step",
            "the first loss of a fresh model is about log V = log 50 = 3.91 (the model reads batch[:, :-1])")
expect_equal([tr.step, len(tr.history["train_loss"])], [1, 1], "LanguageModelTrainer.train_step (counts the step)")
expect_that([tm.tok_emb.weight.data, w0], lambda v: not np.allclose(v[0], v[1]), "LanguageModelTrainer.train_step",
            "a step changes the weights (the optimisers step)")
for _ in range(9):
    tr.train_step()
expect_agree(tr.history["lr"], [tr.scheduler.lr_at(t) for t in range(1, 11)],
             "LanguageModelTrainer.train_step (advances the warm-up + cosine schedule once per step: scheduler.step)",
             rtol=1e-9)
expect_equal(tr.history["lr"], [1e-3] + [1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * (t - 2) / 8)) for t in range(2, 10)]
             + [1e-4], "LanguageModelTrainer.train_step (the learning rate after each step)", rtol=1e-9)
expect_equal(tr.step, 10, "LanguageModelTrainer.train_step (counts the steps)")
expect_equal(tr.lr, 1e-4, "LanguageModelTrainer.train_step (after total_steps the rate has decayed to min_lr = lr / 10)",
             rtol=1e-6)
clipped = LanguageModelTrainer(TinyGPT(vocab_size=50, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_len=16,
                                       dropout=0.0, seed=0), stream, context=16, batch_size=6, total_steps=10,
                               warmup_steps=2, grad_clip=1e-3, log=None, seed=0)
clipped.train_step()
norm = float(np.sqrt(sum(np.sum(np.square(p.grad.data, dtype=np.float64)) for p in clipped.model.parameters())))
expect_that(norm, lambda v: 0.999e-3 <= v <= 1.001e-3, "LanguageModelTrainer.train_step (gradient clipping)",
            "the global gradient norm is clipped to grad_clip = 1e-3 (clip_grad_norm) before the optimisers step")
g_pos = np.abs(tm.pos_emb.weight.grad.data).sum(axis=1)
expect_that(g_pos, lambda v: v.shape == (16,) and v.min() > 0, "LanguageModelTrainer.train_step",
            "every position is trained, the last one (max_len - 1) included: the loss gets the whole window")
expect_that(tm.tok_emb.weight.grad is not None, lambda v: v is True, "LanguageModelTrainer.train_step",
            "the embedding has a gradient after a step")
expect_that(tm.tok_emb.weight.grad.data, lambda v: np.isfinite(v).all(), "LanguageModelTrainer.train_step",
            "the gradients are finite")
### BEGIN HIDDEN TESTS
expect_that([o.lr for o in tr.optimizers] + [tr.lr], lambda v: all(x == v[-1] for x in v),
            "LanguageModelTrainer.train_step", "every optimiser follows the one schedule")
expect_that([p.grad is not None for p in tm.parameters()], lambda v: all(v), "LanguageModelTrainer.train_step",
            "every parameter received a gradient")
### END HIDDEN TESTS

# %% [markdown]
# Now the real test: a small model on 60,000 characters of Python documentation. In a few hundred
# steps the loss must fall **well below the unigram entropy** — proof that the model uses context,
# not just letter frequencies. (About 20 seconds.)

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-trainer-learns", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
text = embedded_corpus()[:60_000]
tok = CharTokenizer(text)
ids = tok.encode(text)
H1 = unigram_entropy(ids[: int(0.9 * len(ids))])
small = TinyGPT(tok.vocab_size, d_model=64, n_layers=2, n_heads=4, d_ff=256, max_len=32, dropout=0.0, seed=0)
trainer = LanguageModelTrainer(small, ids, context=32, batch_size=32, lr=3e-3, warmup_steps=30, total_steps=300,
                               eval_every=100, log_every=100, tokenizer=tok, seed=0)
history = trainer.fit()
val = trainer.evaluate_full()
print(f"unigram entropy {H1:.3f} nats; validation loss after {trainer.step} steps: {val:.3f}")
expect_that(history["val_loss"], lambda v: len(v) >= 2 and v[-1] < v[0], "LanguageModelTrainer.fit (train_step)",
            "the validation loss falls")
expect_that([val, H1], lambda v: v[0] < v[1] - 0.6, "LanguageModelTrainer.train_step and TinyGPT.forward",
            "the model must learn to use context: the validation loss ends over 0.6 nats below the unigram entropy")
print(generate_text(small, tok, "The ", 120, temperature=0.8, top_k=20, seed=0))

# %% [markdown]
# ### Checkpoints and resume
#
# A long run gets interrupted. `save` writes everything that determines the future of the run;
# `resume` puts it back, so an interrupted-and-resumed run computes **exactly** the same numbers
# as an uninterrupted one: the same batches (the random state), the same updates (Adam's moments),
# the same learning rates (the schedule's step).

# %% nbgrader={"grade": true, "grade_id": "16-tinygpt-checkpoint-resume", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import tempfile

def make(seed=0):
    m = TinyGPT(tok.vocab_size, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=16, dropout=0.1, seed=seed)
    return m, LanguageModelTrainer(m, ids[:20_000], context=16, batch_size=8, total_steps=12, warmup_steps=3,
                                   eval_every=0, log=None, tokenizer=tok, seed=seed)

with tempfile.TemporaryDirectory() as tmp:
    m1, t1 = make()
    straight = [t1.train_step() for _ in range(12)]
    m2, t2 = make()
    first_half = [t2.train_step() for _ in range(6)]
    path = t2.save(Path(tmp) / "run.ckpt")
    m3, t3 = make(seed=99)                       # a different start, overwritten by the checkpoint
    t3.resume(path)
    expect_equal(t3.step, 6, "LanguageModelTrainer.resume (restores the step)")
    second_half = [t3.train_step() for _ in range(6)]
    expect_agree(first_half + second_half, straight,
                 "LanguageModelTrainer.resume and train_step (a resumed run continues exactly like an uninterrupted one)",
                 rtol=1e-6)
    expect_agree(m3.tok_emb.weight.data, m1.tok_emb.weight.data,
                 "LanguageModelTrainer.resume (the resumed run ends with the same weights)", rtol=0, atol=0)
    loaded, ltok = load_model(path)
    expect_that(isinstance(loaded, TinyGPT), lambda v: v is True, "load_model", "returns a TinyGPT")
    expect_agree(ltok.vocab_size, tok.vocab_size, "load_model (restores the tokenizer)")
    expect_equal(loaded.training, False, "load_model (returns the model in eval mode)")
    png = t3.plot(Path(tmp) / "loss.png")
    expect_equal(png.read_bytes()[:8], b"\x89PNG\r\n\x1a\n", "LanguageModelTrainer.plot (writes a PNG)")

# %% [markdown]
# ## 6. The capstone: Shakespeare in fifteen minutes
#
# ```bash
# tito data fetch shakespeare                    # once: tiny-shakespeare, 1.1 M characters
# tito milestone run tinygpt                      # ≤ 1.70 nats/char on the last 10%, within 15 minutes
# tito milestone run tinygpt --quick              # a 1–2 minute version that ends with generated text
# tito generate --checkpoint milestones/runs/tinygpt/last.ckpt --prompt "ROMEO:"
# ```
#
# The milestone trains the model you just built, with your trainer, on the first 90% of
# tiny-shakespeare, reports the loss on **every** character of the last 10%, writes a checkpoint,
# and prints samples. Without the data it says how to get it; `--fallback` trains on the embedded
# corpus instead (and says so).
#
# **Which model fits in 15 minutes?** On a CPU, time is the budget, not data. The seed
# configuration (`d_model=256`, 4 layers, context 128, batch 32) costs about 6 · 3.3 M parameters
# · 4096 tokens ≈ 80 GFLOP per step (the "6N FLOPs per token" rule: 2N forward, 4N backward),
# plus attention — about a second per step here, 900 steps in 15 minutes: too few. A model with
# `d_model=128` and context 64 does a step in a fraction of that, sees several times more text in
# the same time, and ends lower. Finding that trade-off — model size against number of steps for
# a fixed compute budget — is the question the "scaling laws" papers (Kaplan et al. 2020,
# Hoffmann et al. 2022) answer for large models.
#
# **Where the time goes.** Profile one step with module 14: the `linear` matmuls (forward and
# the two backward products) should dominate; attention's `T²` terms are small at T = 64–128;
# the element-wise ops (GELU, LayerNorm, softmax) are memory-bound. If anything else shows up
# near the top — a Python loop, a `np.add.at`, a float64 copy — that is where your framework
# loses to PyTorch. The course's own benchmarks measure the step against PyTorch side by side.

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "16-tinygpt-reflect-tying-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Weight tying.** For the seed configuration (V = 65, d_model = 256) how many parameters does
# tying save, and what fraction of the model is that? Would the answer be different for a GPT-2
# with a 50,257-token vocabulary and d_model = 768 (124 M parameters in total)? Why might tying
# help a small model trained on little data?

# %% [markdown] nbgrader={"grade": true, "grade_id": "16-tinygpt-reflect-tying", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Saves V·D = 65·256 = 16,640 parameters, about 0.5% of ~3.3 M: negligible here. For GPT-2,
# 50,257·768 ≈ 38.6 M, about 30% of the model. Tying shares statistics between input and output
# use of each token (every occurrence as input or target updates the same vector), acting as a
# regulariser; rare tokens get better vectors.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "16-tinygpt-reflect-kv-cache-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **KV cache.** Generating N tokens from a one-token prompt: roughly how many token-positions
# does the uncached model process in total, and how many with the cache? For the seed model,
# how much memory does the cache hold at 512 tokens (float32), and what limits the speed-up you
# measure in practice?

# %% [markdown] nbgrader={"grade": true, "grade_id": "16-tinygpt-reflect-kv-cache", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Uncached: 1 + 2 + ... + N ≈ N²/2 positions (each step re-runs the whole prefix); cached: N.
# Memory: 2 (k and v) · 4 layers · 256 · 512 positions · 4 bytes = 4 MiB per sequence. In
# practice each cached step is a tiny matrix-vector product whose cost is dominated by Python
# and per-op overhead (and attention over the cache still grows linearly), so the measured
# speed-up is far below N/2.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "16-tinygpt-reflect-budget-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **A fixed budget.** You have 15 minutes of CPU. Doubling `d_model` multiplies the work per
# token by about four. Explain why a smaller model trained on more tokens can end with a lower
# validation loss than a bigger one in the same time, and name one sign in the loss curves that
# you chose a model too small (or too big) for the budget.

# %% [markdown] nbgrader={"grade": true, "grade_id": "16-tinygpt-reflect-budget", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Loss depends on both model size and tokens seen; with fixed compute a bigger model sees
# proportionally fewer tokens (steps) and is still far from converged when time runs out
# (compute-optimal scaling, Chinchilla). Too big: the loss is still falling steeply at the end
# (under-trained), train ≈ val. Too small: the loss flattens early at a high value (capacity
# limit); or train falling while val rises (overfitting) means too big for the data/too many epochs.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
