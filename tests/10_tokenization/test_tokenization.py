"Behaviour of the exported tokenizers (tinytorch.core.tokenization): round trips, policies, persistence, speed."
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from pydoc_data.topics import topics

from tinytorch.core.tokenization import BPETokenizer, CharTokenizer, merge_pair, most_frequent_pair

DOCS = "\n".join(topics[k] for k in sorted(topics))


# ---- CharTokenizer ---------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=200))
def test_char_round_trip_on_any_text(text):
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert tok.decode(ids) == text
    assert tok.vocab_size == len(set(text))


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=100), st.randoms(use_true_random=False))
def test_char_ids_do_not_depend_on_corpus_order(text, rnd):
    shuffled = list(text)
    rnd.shuffle(shuffled)
    a, b = CharTokenizer(text), CharTokenizer("".join(shuffled))
    assert a.itos == b.itos
    np.testing.assert_array_equal(a.encode(text), b.encode(text))


def test_char_ids_follow_code_point_order():
    tok = CharTokenizer("bca\nB")
    assert tok.itos == ["\n", "B", "a", "b", "c"]
    np.testing.assert_array_equal(tok.encode("abc"), [2, 3, 4])


def test_unknown_error_policy_names_character_and_position():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"'z'.*position 2"):
        tok.encode("abzc")
    with pytest.raises(ValueError):
        tok.encode("\U0001F642")  # a code point far beyond the vocabulary's


def test_unknown_unk_policy_maps_to_id_zero():
    tok = CharTokenizer("abc", unknown="unk")
    assert tok.vocab_size == 4 and tok.itos[0] == CharTokenizer.UNK
    ids = tok.encode("a\U0001F642zc")
    np.testing.assert_array_equal(ids, [1, 0, 0, 3])
    assert tok.decode(ids) == "a<unk><unk>c"
    empty = CharTokenizer("", unknown="unk")
    np.testing.assert_array_equal(empty.encode("xy"), [0, 0])


def test_unknown_policy_is_validated():
    with pytest.raises(ValueError, match="unknown"):
        CharTokenizer("abc", unknown="ignore")


def test_char_decode_accepts_tensors_and_rejects_bad_ids():
    from tinytorch.core.tensor import Tensor
    tok = CharTokenizer("hello")
    assert tok.decode(Tensor(tok.encode("hello"))) == "hello"
    assert tok.decode(np.array([[3, 1], [2, 2]])) == "ohll", "ids of any shape decode in order"
    for bad in ([4], [-1], [0, 9]):
        with pytest.raises(ValueError):
            tok.decode(bad)


@pytest.mark.parametrize("unknown", ["error", "unk"])
def test_char_save_load_json(tmp_path, unknown):
    tok = CharTokenizer("naïve café — 東京 🙂 \"quoted\" \\ \n", unknown=unknown)
    path = tmp_path / "vocab.json"
    tok.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["unknown"] == unknown
    back = CharTokenizer.load(path)
    assert back.itos == tok.itos and back.unknown == unknown
    text = "café 東京"
    np.testing.assert_array_equal(back.encode(text), tok.encode(text))


def test_char_load_rejects_other_files(tmp_path):
    BPETokenizer(260).train("abababab").save(tmp_path / "bpe.json")
    with pytest.raises(ValueError):
        CharTokenizer.load(tmp_path / "bpe.json")


def test_char_encode_is_vectorised():
    text = (DOCS * 3)[:1_000_000]
    tok = CharTokenizer(text)
    tok.encode(text)
    start = time.perf_counter()
    ids = tok.encode(text)
    seconds = time.perf_counter() - start
    assert ids.shape == (1_000_000,)
    assert seconds < 0.5, f"encoding 1M characters took {seconds:.2f} s"


# ---- BPE steps ---------------------------------------------------------------------------------

def _merged_by_str_replace(seq, pair, new):
    "What merge_pair means, said another way: str.replace swaps non-overlapping occurrences from the left."
    text = "".join(map(chr, seq)).replace(chr(pair[0]) + chr(pair[1]), chr(new))
    return [ord(ch) for ch in text]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=60), st.integers(0, 3), st.integers(0, 3))
def test_merge_pair_matches_left_to_right_reference(seq, a, b):
    got = merge_pair(np.array(seq, dtype=np.int64), (a, b), 4)
    np.testing.assert_array_equal(got, _merged_by_str_replace(seq, (a, b), 4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=60))
def test_most_frequent_pair_counts(seq):
    pair, count = most_frequent_pair(np.array(seq), 5)
    pairs = list(zip(seq[:-1], seq[1:]))
    best = max(pairs.count(p) for p in pairs)
    assert count == best
    assert tuple(pair) == min(p for p in set(pairs) if pairs.count(p) == best), "ties go to the smallest pair"


# ---- BPETokenizer --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer(vocab_size=512).train(DOCS[:100_000])


def test_bpe_training_is_fast_and_deterministic():
    start = time.perf_counter()
    a = BPETokenizer(vocab_size=768).train(DOCS[:100_000])
    seconds = time.perf_counter() - start
    assert seconds < 10, f"512 merges on 100 KB took {seconds:.1f} s"
    b = BPETokenizer(vocab_size=768).train(DOCS[:100_000])
    assert a.merges == b.merges and a.vocab_size == 768


def test_bpe_vocab_entries_are_joined_parts(bpe):
    assert len(bpe.merges) == bpe.vocab_size - 256 == 256
    for k, (a, b) in enumerate(bpe.merges):
        assert a < 256 + k and b < 256 + k, "a merge only uses tokens that existed before it"
        assert bpe.vocab[256 + k] == bpe.vocab[a] + bpe.vocab[b]


def test_bpe_encode_leaves_no_learned_pair_unmerged(bpe):
    # merges applied in order: after merge k its pair never reappears (later tokens are new ids)
    for text in (DOCS[:100_000], DOCS[400_000:]):
        ids = bpe.encode(text)
        assert bpe.decode(ids) == text
        present = set(zip(ids[:-1].tolist(), ids[1:].tolist()))
        assert not present & set(bpe.merges)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=120))
def test_bpe_round_trip_on_any_text(text):
    tok = BPETokenizer(vocab_size=300).train(DOCS[:10_000])
    ids = tok.encode(text)
    assert ids.ndim == 1 and (ids.size == 0 or 0 <= ids.min() and ids.max() < tok.vocab_size)
    assert tok.decode(ids) == text


def test_bpe_compresses_held_out_text(bpe):
    held = DOCS[200_000:300_000]
    ratio = bpe.compression_ratio(held)
    assert ratio == pytest.approx(len(held) / len(bpe.encode(held)))
    assert ratio > 1.8
    assert BPETokenizer(vocab_size=256).train(held).compression_ratio(held) == pytest.approx(
        len(held) / len(held.encode("utf-8"))), "no merges: one token per byte"


def test_bpe_stops_when_nothing_repeats():
    assert BPETokenizer(vocab_size=400).train("abcdefg").vocab_size == 256
    with pytest.raises(ValueError):
        BPETokenizer(vocab_size=100)


def test_bpe_decode_invalid_utf8_and_bad_ids(bpe):
    assert bpe.decode([0xC3]) == "\ufffd"
    with pytest.raises(ValueError):
        bpe.decode([bpe.vocab_size])


def test_bpe_save_load(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == bpe.merges and back.vocab == bpe.vocab
    text = DOCS[300_000:320_000]
    np.testing.assert_array_equal(back.encode(text), bpe.encode(text))
    CharTokenizer("ab").save(tmp_path / "c.json")
    with pytest.raises(ValueError):
        BPETokenizer.load(tmp_path / "c.json")
