"Behaviour of the exported TinyGPT (tinytorch.models.tinygpt): model, loss, sampling, KV cache, trainer."
import math

import numpy as np
import pytest

from tinytorch.core.autograd import Tensor, no_grad
from tinytorch.core.layers import Parameter
from tinytorch.core.tokenization import CharTokenizer
from tinytorch.models.tinygpt import (LanguageModelLoss, LanguageModelTrainer, TinyGPT, cache_length,
                                      embedded_corpus, filter_logits, generate, generate_text, load_model,
                                      sample_next, unigram_entropy)


def small(vocab=17, seed=0, max_len=24, dropout=0.0, **kw):
    cfg = dict(d_model=16, n_layers=2, n_heads=4, d_ff=32)
    cfg.update(kw)
    return TinyGPT(vocab, max_len=max_len, dropout=dropout, seed=seed, **cfg)


# ---------------------------------------------------------------- model

def test_shapes_dtype_and_parameter_count_of_the_seed_configuration():
    model = TinyGPT(65)  # the seed configuration: d_model 256, 4 layers, 4 heads, d_ff 1024, max_len 512
    assert model.config == dict(vocab_size=65, d_model=256, n_layers=4, n_heads=4, d_ff=1024, max_len=512, dropout=0.1)
    D, F = 256, 1024
    block = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D)
    assert model.num_parameters() == 65 * D + 512 * D + 4 * block + 2 * D
    model.eval()
    ids = np.random.default_rng(0).integers(0, 65, (2, 10))
    out = model(ids)
    assert isinstance(out, Tensor) and out.shape == (2, 10, 65) and out.dtype == np.float32
    assert np.isfinite(out.data).all()


def test_forward_rejects_bad_inputs():
    model = small()
    with pytest.raises(ValueError, match="max_len"):
        model(np.zeros((1, 25), dtype=np.int64))
    with pytest.raises(ValueError, match="batch, time"):
        model(np.zeros(5, dtype=np.int64))


def test_output_layer_is_the_embedding_parameter_itself():
    model = small()
    assert isinstance(model.output_weight, Parameter) and model.output_weight is model.tok_emb.weight
    names = [n for n, _ in model.named_parameters()]
    assert names.count("tok_emb.weight") == 1 and not any("output" in n for n in names)
    assert len(model.parameters()) == len({id(p) for p in model.parameters()})
    # loading new weights keeps the tie: the output scores follow the new embedding
    state = model.state_dict()
    state["tok_emb.weight"] = state["tok_emb.weight"] * 3
    model.load_state_dict(state)
    assert model.output_weight is model.tok_emb.weight
    np.testing.assert_array_equal(model.output_weight.data, state["tok_emb.weight"])


def test_tied_gradient_is_the_sum_of_both_uses():
    model = small(vocab=9)
    ids = np.array([[1, 2, 3, 1]])
    model.zero_grad()
    model(ids).sum().backward()
    g = model.tok_emb.weight.grad.data.copy()
    unused = [t for t in range(9) if t not in ids]
    assert np.abs(g[unused]).sum() > 0, "tokens never used as input still get the output layer's gradient"
    # the input-side share alone: the gradient with the output matrix detached into a constant copy
    w = model.tok_emb.weight
    model.output_weight = Parameter(w.data.copy())
    model.zero_grad()
    model(ids).sum().backward()
    total = w.grad.data + model.output_weight.grad.data
    np.testing.assert_allclose(g, total, rtol=1e-4, atol=1e-6)


def test_causal_logits_ignore_the_future():
    model = small()
    a = np.random.default_rng(1).integers(0, 17, (2, 12))
    b = a.copy()
    b[:, 7:] = (b[:, 7:] + 5) % 17
    np.testing.assert_allclose(model(a).data[:, :7], model(b).data[:, :7], rtol=1e-5, atol=1e-6)


def test_model_seed_is_reproducible_and_matters():
    x = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(small(seed=4)(x).data, small(seed=4)(x).data)
    assert not np.allclose(small(seed=4)(x).data, small(seed=5)(x).data)


def test_dropout_is_active_in_training_only_and_seeded():
    x = np.random.default_rng(2).integers(0, 17, (2, 8))
    m1, m2 = small(seed=1, dropout=0.3), small(seed=1, dropout=0.3)
    np.testing.assert_array_equal(m1(x).data, m2(x).data, err_msg="seeded dropout masks")
    assert not np.allclose(m1(x).data, m1(x).data), "training mode: fresh masks each call"
    m1.eval()
    np.testing.assert_array_equal(m1(x).data, m1(x).data)


# ---------------------------------------------------------------- loss

def test_loss_equals_manual_shifted_cross_entropy():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((3, 6, 11))
    tok = rng.integers(0, 11, (3, 6))
    loss = LanguageModelLoss()(Tensor(z, dtype=np.float64), tok)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want = -np.mean(np.take_along_axis(logp[:, :-1], tok[:, 1:, None], -1))
    assert loss.shape == ()
    np.testing.assert_allclose(float(loss.data), want, rtol=1e-12)


def test_loss_of_a_model_equals_its_logits_scored_by_hand():
    model = small()
    tok = np.random.default_rng(4).integers(0, 17, (2, 9))
    z = model(tok).data.astype(np.float64)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want = -np.mean(np.take_along_axis(logp[:, :-1], tok[:, 1:, None], -1))
    np.testing.assert_allclose(float(LanguageModelLoss()(model(tok), tok).data), want, rtol=1e-5)


def test_loss_with_the_next_token_scores_every_position():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((2, 5, 7))
    window = rng.integers(0, 7, (2, 6))
    zt = Tensor(z, dtype=np.float64, requires_grad=True)
    loss = LanguageModelLoss()(zt, window)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    np.testing.assert_allclose(float(loss.data), -np.mean(np.take_along_axis(logp, window[:, 1:, None], -1)), rtol=1e-12)
    loss.backward()
    assert np.all(np.abs(zt.grad.data).sum(-1) > 0), "every position gets a gradient"


def test_every_position_is_trained_so_generation_past_the_window_works():
    "A period-7 sequence: after training, greedy generation far past max_len continues the pattern."
    pattern = np.arange(7)
    stream = np.tile(pattern, 300)
    model = TinyGPT(7, d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=12, dropout=0.0, seed=0)
    tr = LanguageModelTrainer(model, stream, context=12, batch_size=16, lr=1e-2, warmup_steps=10, total_steps=120,
                              eval_every=0, log=None)
    tr.fit()
    g = tr.model.pos_emb.weight.grad.data
    assert np.abs(g).sum(axis=1).min() > 0, "every position, the last included, gets a gradient"
    out = generate(model, np.array([3, 4, 5]), 40, temperature=0)          # 43 tokens, window 12
    np.testing.assert_array_equal(out, (np.arange(43) + 3) % 7)


def test_loss_rejects_mismatched_tokens():
    with pytest.raises(ValueError):
        LanguageModelLoss()(Tensor(np.zeros((2, 5, 3))), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError):
        LanguageModelLoss()(Tensor(np.zeros((2, 1, 3))), np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError):
        LanguageModelLoss()(Tensor(np.zeros((2, 5, 3))), np.zeros((2, 7), dtype=np.int64))


# ---------------------------------------------------------------- sampling and generation

def test_sampling_rules():
    z = np.array([[2.0, 1.0, 0.0, -1.0]])
    assert sample_next(z, temperature=0)[0] == 0
    draws = {int(sample_next(z, top_k=2, rng=np.random.default_rng(s))[0]) for s in range(100)}
    assert draws == {0, 1}
    p = np.exp(z) / np.exp(z).sum()                        # 0.644, 0.237, 0.087, 0.032
    kept = np.isfinite(filter_logits(z, top_p=0.9))[0]
    np.testing.assert_array_equal(kept, [True, True, True, False])
    assert p[0, :2].sum() < 0.9 <= p[0, :3].sum()
    with pytest.raises(ValueError):
        sample_next(z, temperature=-1)
    rng = np.random.default_rng(0)
    hot = np.bincount([sample_next(z, temperature=100.0, rng=rng)[0] for _ in range(2000)], minlength=4) / 2000
    np.testing.assert_allclose(hot, 0.25, atol=0.04, err_msg="a very high temperature is nearly uniform")


@pytest.mark.parametrize("kw", [dict(temperature=0), dict(seed=0), dict(temperature=0.7, top_k=4, seed=1),
                                dict(temperature=1.3, top_p=0.8, seed=2)])
def test_cached_and_uncached_generation_give_identical_tokens(kw):
    model = small(max_len=24)
    prompts = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    a = generate(model, prompts, 40, use_cache=True, **kw)     # 44 tokens: crosses max_len 24 as well
    b = generate(model, prompts, 40, use_cache=False, **kw)
    assert a.shape == (2, 44) and a.dtype == np.int64
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[:, :4], prompts)


def test_cached_logits_match_the_full_forward():
    model = small()
    seq = np.random.default_rng(5).integers(0, 17, (3, 20))
    full = model(seq).data
    caches = [{} for _ in range(len(model.blocks))]  # one KV cache per block, as the model expects
    with no_grad():
        got = [model(seq[:, :7], caches).data] + [model(seq[:, t:t + 1], caches).data for t in range(7, 20)]
    assert cache_length(caches) == 20
    np.testing.assert_allclose(np.concatenate(got, 1), full, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="max_len"):
        model(seq[:, :5], caches)  # 20 cached + 5 > 24


def test_generation_seeds_mode_and_errors():
    model = small()
    p = np.array([3, 1, 4, 1])
    np.testing.assert_array_equal(generate(model, p, 20, seed=9), generate(model, p, 20, seed=9))
    assert len({tuple(generate(model, p, 20, seed=s)) for s in range(4)}) > 1
    model.train()
    generate(model, p, 3)
    assert model.training
    model.eval()
    generate(model, p, 3)
    assert not model.training
    with pytest.raises(ValueError):
        generate(model, np.array([], dtype=np.int64), 3)


# ---------------------------------------------------------------- trainer

CORPUS = embedded_corpus()


def test_split_is_positional_and_batches_are_windows():
    stream = np.arange(2000)
    tr = LanguageModelTrainer(small(max_len=20), stream, context=20, batch_size=5, log=None,
                              total_steps=5, warmup_steps=1)
    np.testing.assert_array_equal(tr.train_ids, stream[:1800])
    np.testing.assert_array_equal(tr.val_ids, stream[1800:])
    b = tr.get_batch()
    assert b.shape == (5, 21) and np.all(np.diff(b, axis=1) == 1), "windows of context + 1 consecutive tokens"
    last = np.concatenate([tr.get_batch(rng=np.random.default_rng(s))[:, -1] for s in range(200)])
    assert last.max() <= 1799 and last.max() >= 1750, "windows reach the end of the training part, never beyond"
    v = tr.get_batch("val", np.random.default_rng(0))
    assert v.min() >= 1800 and v.shape == (5, 21)
    LanguageModelTrainer(small(max_len=20), stream[:210], context=20)        # 21 validation tokens: just enough
    with pytest.raises(ValueError):
        LanguageModelTrainer(small(max_len=20), stream[:200], context=20)    # 20 validation tokens
    with pytest.raises(ValueError):
        LanguageModelTrainer(small(max_len=8), stream, context=16)


def test_full_validation_scores_every_validation_token_after_the_first_exactly_once():
    stream = np.arange(1000)
    model = small(vocab=1000, max_len=16)
    tr = LanguageModelTrainer(model, stream, context=16, batch_size=4, log=None)
    seen = []
    real = tr.loss_fn

    def recording(logits, tokens):
        assert tokens.shape[1] == logits.shape[1] + 1, "each window is scored with its next token"
        seen.extend(np.asarray(tokens)[:, 1:].ravel().tolist())
        return real(logits, tokens)
    tr.loss_fn = recording
    value = tr.evaluate_full(batch_size=3)
    assert sorted(seen) == list(range(901, 1000)), "targets: the validation tokens after the first, once each"
    assert np.isfinite(value)


def test_weight_decay_only_on_matrices_and_one_schedule():
    model = small()
    tr = LanguageModelTrainer(model, np.arange(3000) % 17, context=16, batch_size=4, total_steps=20,
                              warmup_steps=5, lr=1e-2, log=None)
    decayed, plain = tr.optimizers
    assert all(p.ndim >= 2 for p in decayed.params) and decayed.weight_decay > 0
    assert all(p.ndim < 2 for p in plain.params) and plain.weight_decay == 0
    lrs = []
    for _ in range(20):
        tr.train_step()
        lrs.append(tr.history["lr"][-1])
        assert decayed.lr == plain.lr
    assert np.argmax(lrs) == 4 and lrs[-1] == pytest.approx(1e-3), "warm-up to 5 steps, cosine down to lr/10"


def test_tiny_training_run_falls_well_below_the_unigram_entropy():
    text = CORPUS[100_000:150_000]
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    h1 = unigram_entropy(ids[:int(0.9 * len(ids))])
    model = TinyGPT(tok.vocab_size, d_model=48, n_layers=2, n_heads=4, d_ff=192, max_len=32, dropout=0.0, seed=1)
    tr = LanguageModelTrainer(model, ids, context=32, batch_size=32, lr=3e-3, warmup_steps=20, total_steps=250,
                              eval_every=125, log=None, tokenizer=tok, seed=1)
    before = tr.evaluate_full()
    tr.fit()
    after = tr.evaluate_full()
    assert before == pytest.approx(math.log(tok.vocab_size), abs=0.1)
    assert after < h1 - 0.5, f"validation {after:.3f} must be well below the unigram entropy {h1:.3f}"
    text_out = generate_text(model, tok, "The ", 40, temperature=0.5, seed=0)
    assert text_out.startswith("The ") and len(text_out) == 44


def test_resume_continues_exactly_and_load_model_restores(tmp_path):
    text = CORPUS[:30_000]
    tok = CharTokenizer(text)
    ids = tok.encode(text)

    def make(seed):
        m = TinyGPT(tok.vocab_size, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_len=16, dropout=0.2, seed=seed)
        return m, LanguageModelTrainer(m, ids, context=16, batch_size=4, total_steps=10, warmup_steps=2,
                                       eval_every=5, log=None, tokenizer=tok, seed=seed, checkpoint=tmp_path / "c.ckpt")
    m1, t1 = make(0)
    t1.fit()
    m2, t2 = make(0)
    t2.fit(steps=5)                                  # eval at step 5 writes the checkpoint
    m3, t3 = make(7)
    t3.resume(tmp_path / "c.ckpt")
    t3.fit()
    np.testing.assert_allclose(t3.history["train_loss"], t1.history["train_loss"], rtol=1e-6)
    np.testing.assert_allclose(t3.history["val_loss"], t1.history["val_loss"], rtol=1e-6)
    for (n, a), (_, b) in zip(m1.named_parameters(), m3.named_parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, err_msg=n)
    model, tok2 = load_model(tmp_path / "c.ckpt")
    assert tok2.itos == tok.itos and not model.training
    np.testing.assert_array_equal(model.tok_emb.weight.data, m3.tok_emb.weight.data)
    png = t3.plot(tmp_path / "loss.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_fit_respects_a_time_budget_and_logs_progress():
    lines = []
    tr = LanguageModelTrainer(small(), np.arange(3000) % 17, context=16, batch_size=4, total_steps=10_000,
                              warmup_steps=5, eval_every=1000, log_every=1, log=lines.append)
    tr.fit(time_budget=0.5)
    assert 0 < tr.step < 10_000
    assert any("time budget" in line for line in lines)
    assert any(line.startswith("[") and "tok/s" in line and "loss" in line for line in lines)
    assert tr.history["val_step"][-1] == tr.step, "the last step is evaluated"


def test_the_language_model_trainer_steps_with_08s_trainer():
    from tinytorch.core.training import Trainer
    assert issubclass(LanguageModelTrainer, Trainer), "one training loop: 16 specialises 08's Trainer"
    model = small()
    tr = LanguageModelTrainer(model, np.arange(3000) % 17, context=16, batch_size=4, total_steps=20,
                              warmup_steps=5, lr=1e-2, grad_clip=1e-3, log=None)
    tr.train_step()
    norm = math.sqrt(sum(float(np.sum(p.grad.data.astype(np.float64) ** 2)) for p in model.parameters()))
    assert norm <= 1e-3 * (1 + 1e-4), f"the step clips the global gradient norm to grad_clip, got {norm}"
    tr.optimizer.lr = 0.5
    assert all(o.lr == 0.5 for o in tr.optimizers), "setting the group's rate sets every optimiser's"
