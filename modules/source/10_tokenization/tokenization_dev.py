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
# # 10 · Tokenization: from text to integers
#
# A network computes with numbers, not letters. Before a language model can read
# Shakespeare, every piece of text must become a sequence of integer **token ids**, and
# every sequence the model writes must turn back into text. The object that does both is a
# **tokenizer**:
#
# ```
#   "ROMEO:"  --encode-->  [30, 27, 25, 17, 27, 10]  --decode-->  "ROMEO:"
# ```
#
# Two tokenizers, two ends of a trade-off:
#
# | tokenizer | vocabulary | tokens per character | used by |
# |---|---|---|---|
# | `CharTokenizer` | the distinct characters of a corpus (65 for Shakespeare) | 1 | module 16's TinyGPT |
# | `BPETokenizer` | 256 bytes + learned merges (here 512–1024) | about 0.5 | GPT-2/3/4, Llama (with ~50k–200k tokens) |
#
# A bigger vocabulary makes sequences shorter — attention costs grow with the square of the
# sequence length (module 12), so that matters — but every extra token is one more row in
# the embedding table and one more output of the final layer, and it is seen less often in
# training. Small models on small data (ours) are happiest at the character level; the BPE
# half of this chapter shows how the large models compress text.
#
# What must be true of every tokenizer, and what the tests check:
# - **round trip**: `decode(encode(text)) == text` for any text it supports;
# - **stability**: the same corpus always gives the same ids (a trained model's embedding
#   rows are tied to them; reorder the vocabulary and the model reads gibberish);
# - **a declared policy for the unexpected**: a character never seen in the corpus either
#   raises a clear error or becomes an explicit `<unk>` token — never a silent wrong id;
# - **persistence**: the vocabulary is saved next to the model's weights (as JSON) and
#   loaded back identically;
# - **speed**: tiny-shakespeare is 1.1 million characters; encoding it must take
#   milliseconds, not a Python loop's second.

# %%
#| default_exp core.tokenization

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
#| export
import json
import os
from pathlib import Path

import numpy as np
from fastcore.basics import patch

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
from tito.checks import expect_agree, expect_equal, expect_raises, expect_that

# %% [markdown]
# ## 1. A character-level tokenizer
#
# The vocabulary is the set of distinct characters in the training text, **sorted** (by
# Unicode code point, which is what Python's `sorted` does for one-character strings).
# Sorting makes the ids a function of the *set* of characters only: shuffle the corpus,
# read it in a different order, and every character keeps its id.
#
# **Unknown characters.** Text at generation or evaluation time may contain a character the
# corpus never had (a `é` in a prompt). The tokenizer takes a policy as an argument:
# - `unknown="error"` (the default): `encode` raises a `ValueError` that names the
#   character as Python shows it and its position counted from 0 (`'z'` ... `position 2`
#   for `encode("abzc")`), and says how to fix it;
# - `unknown="unk"`: the vocabulary gets one extra token, `<unk>`, with **id 0** (the
#   characters then take ids 1, 2, ...); unknown characters encode to it, and it decodes
#   to the string `"<unk>"`. The round trip then no longer holds for such text — that is the
#   price of never failing, and why it is a choice and not the default.
#
# **Encoding fast.** A Python loop with a dictionary lookup per character costs about
# 0.1 µs × 10⁶ ≈ 0.1–0.2 s for Shakespeare; fine once, painful in a data pipeline. The
# vectorised way: view the text as an array of Unicode code points
# (`np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)`) and look every one of them up
# at once in a **table indexed by code point**: `table[ord(c)]` is the id of `c`, or -1 for
# a character outside the vocabulary. Make the table one slot longer than the largest code
# point in the vocabulary and keep -1 in that last slot: then `table.take(codes, mode="clip")`
# sends any larger code point there, and a single array operation encodes the whole text.
# (The table has as many entries as the largest code point: 128 for ASCII text, ~128,000
# with an emoji — a few hundred kilobytes, paid once.)
#
# **Decoding** maps ids back through the id → token list and joins the strings. An id
# outside `[0, vocab_size)` is an error, not a crash deep inside numpy.

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-char", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CharTokenizer:
    """Character-level tokenizer: the sorted distinct characters of a corpus, with a declared unknown policy.

    `unknown="error"` raises on characters outside the vocabulary; `unknown="unk"` maps them to `<unk>` (id 0).
    """
    UNK = "<unk>"

    def __init__(self, corpus="", unknown="error"):
        if unknown not in ("error", "unk"):
            raise ValueError(f"unknown must be 'error' or 'unk', got {unknown!r}")
        self.unknown = unknown
        self.fit(corpus)

    def fit(self, corpus):
        "Build the vocabulary from the distinct characters of `corpus` (sorted); returns self."
        ### BEGIN SOLUTION
        chars = sorted(set(corpus))
        self.itos = ([self.UNK] if self.unknown == "unk" else []) + chars
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        codes = np.array([ord(c) for c in chars], dtype=np.int64)
        self._table = np.full(codes.max(initial=0) + 2, -1, dtype=np.int64)  # code point -> id; last slot -1
        self._table[codes] = np.arange(len(codes)) + (self.unknown == "unk")
        ### END SOLUTION
        return self

    @property
    def vocab_size(self):
        "Number of token ids (characters, plus `<unk>` under the 'unk' policy)."
        return len(self.itos)

    def __len__(self):
        return self.vocab_size

    def encode(self, text):
        "The token ids of `text` as an int64 array."
        ### BEGIN SOLUTION
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = self._table.take(codes, mode="clip")  # code points past the table hit its last slot, -1
        unknown = ids < 0
        if unknown.any():
            if self.unknown == "unk":
                ids[unknown] = 0
            else:
                i = int(np.argmax(unknown))
                raise ValueError(f"character {text[i]!r} at position {i} is not in the vocabulary "
                                 f"({self.vocab_size} characters); build the tokenizer from a corpus that "
                                 "contains it, or use unknown='unk'")
        return ids
        ### END SOLUTION

    def decode(self, ids):
        "The text of a sequence of token ids (a list, numpy array or integer Tensor)."
        ids = np.asarray(getattr(ids, "data", ids)).reshape(-1)
        ### BEGIN SOLUTION
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            bad = ids[(ids < 0) | (ids >= self.vocab_size)][0]
            raise ValueError(f"token id {bad} is outside the vocabulary [0, {self.vocab_size})")
        return "".join([self.itos[i] for i in ids.tolist()])
        ### END SOLUTION

# %% [markdown]
# First the vocabulary: sorted, stable under reordering the corpus, one id per character.

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-char-vocab", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
tok = CharTokenizer("hello world")
expect_equal(tok.vocab_size, 8, "CharTokenizer.fit (vocab_size: 8 distinct characters in 'hello world')")
expect_equal(len(tok), 8, "CharTokenizer.fit (len(tokenizer) is the vocabulary size)")
expect_equal(tok.itos, [" ", "d", "e", "h", "l", "o", "r", "w"], "CharTokenizer.fit (itos: the sorted characters)")
expect_equal(tok.stoi, {" ": 0, "d": 1, "e": 2, "h": 3, "l": 4, "o": 5, "r": 6, "w": 7},
             "CharTokenizer.fit (stoi: character -> id, the inverse of itos)")
again = CharTokenizer("dlrow olleh")
expect_equal(again.itos, [" ", "d", "e", "h", "l", "o", "r", "w"],
             "CharTokenizer.fit (ids depend on the set of characters only, not their order in the corpus)")
expect_equal(CharTokenizer("ba").itos, ["a", "b"], "CharTokenizer.fit (itos is sorted by code point)")
expect_equal(CharTokenizer("").vocab_size, 0, "CharTokenizer.fit (an empty corpus has no characters)")

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-char-roundtrip", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
tok = CharTokenizer("hello world")
ids = tok.encode("hello")
expect_equal(type(ids).__name__, "ndarray", "CharTokenizer.encode (returns a numpy array)")
expect_equal(ids.dtype, np.int64, "CharTokenizer.encode (int64 ids)")
expect_equal(ids, np.array([3, 2, 4, 4, 5]), "CharTokenizer.fit / encode (the ids of 'hello')")
expect_equal(tok.encode("world hello"), np.array([7, 5, 6, 4, 1, 0, 3, 2, 4, 4, 5]),
             "CharTokenizer.fit / encode (the ids of 'world hello')")
expect_equal(tok.decode(ids), "hello", "CharTokenizer.decode (an array of ids)")
expect_equal(tok.decode([5, 0, 7]), "o w", "CharTokenizer.decode (a list of ids)")
expect_equal(tok.encode("").shape, (0,), "CharTokenizer.encode (empty text)")
expect_equal(tok.decode([]), "", "CharTokenizer.decode (no ids)")
uni = CharTokenizer("naïve café — 東京 🙂")
expect_equal(uni.encode("café 東京 🙂"), np.array([sorted(set("naïve café — 東京 🙂")).index(ch) for ch in "café 東京 🙂"]),
             "CharTokenizer.encode (any Unicode character)")
expect_equal(uni.decode(uni.encode("café 東京 🙂")), "café 東京 🙂",
             "CharTokenizer.encode / decode (any Unicode character round-trips)")
with expect_raises(ValueError, "CharTokenizer.decode (an id outside the vocabulary)", mentions=["8"]):
    tok.decode([8])
with expect_raises(ValueError, "CharTokenizer.decode (the error names the bad id)", mentions=["12"]):
    tok.decode([3, 12, 1])
with expect_raises(ValueError, "CharTokenizer.decode (a negative id must raise, not wrap around)", mentions=["-1"]):
    tok.decode([-1])
with expect_raises(ValueError, "CharTokenizer.decode (the error names the first bad id, -1)", mentions=["-1"]):
    tok.decode([0, -1, 9])

# %% [markdown]
# The unknown-character policy: by default a clear error; on request, an explicit `<unk>`.

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-char-unknown", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
tok = CharTokenizer("hello world")
with expect_raises(ValueError, "CharTokenizer.fit / encode (an unknown character: name it and its position)",
                   mentions=["'p'", "position 3"]):
    tok.encode("help!")
with expect_raises(ValueError, "CharTokenizer.fit / encode (an unknown character: name it and its position)",
                   mentions=["'!'", "position 0"]):
    tok.encode("!hello")
with expect_raises(ValueError, "CharTokenizer.fit / encode (a character past the largest code point of the vocabulary)",
                   mentions=["'🙂'", "position 2"]):
    tok.encode("he🙂")
lenient = CharTokenizer("hello world", unknown="unk")
expect_equal(lenient.vocab_size, 9, "CharTokenizer.fit (unknown='unk': one more token, <unk>)")
expect_equal(lenient.itos, ["<unk>", " ", "d", "e", "h", "l", "o", "r", "w"],
             "CharTokenizer.fit (unknown='unk': <unk> takes id 0, characters follow)")
expect_equal(lenient.stoi, {"<unk>": 0, " ": 1, "d": 2, "e": 3, "h": 4, "l": 5, "o": 6, "r": 7, "w": 8},
             "CharTokenizer.fit (unknown='unk': stoi)")
ids = lenient.encode("help!")
expect_equal(lenient.encode("hello"), np.array([4, 3, 5, 5, 6]), "CharTokenizer.fit / encode (unknown='unk': ids from 1)")
expect_equal(ids, np.array([4, 3, 5, 0, 0]), "CharTokenizer.fit / encode (unknown='unk': unknown characters become 0)")
expect_equal(lenient.decode(ids), "hel<unk><unk>", "CharTokenizer.decode (unknown='unk')")
### BEGIN HIDDEN TESTS
expect_equal(lenient.encode("~ hello ~"), np.array([0, 1, 4, 3, 5, 5, 6, 1, 0]), "CharTokenizer.encode (unknown='unk')")
expect_equal(lenient.encode("w🙂"), np.array([8, 0]), "CharTokenizer.encode (unknown='unk', a code point past the table)")
with expect_raises(ValueError, "CharTokenizer.__init__ (an unsupported policy)"):
    CharTokenizer("abc", unknown="skip")
big = CharTokenizer("abc").fit("zyx")
expect_equal(big.itos, ["x", "y", "z"], "CharTokenizer.fit (fit rebuilds the vocabulary from the new corpus)")
expect_equal(big.encode("zx"), np.array([2, 0]), "CharTokenizer.fit (fit rebuilds the encoding table)")
with expect_raises(ValueError, "CharTokenizer.fit (fit rebuilds the encoding table)", mentions=["'a'"]):
    big.encode("a")
### END HIDDEN TESTS

# %% [markdown]
# ### Saving the vocabulary
#
# A model's embedding row 17 means "the character with id 17": without the exact vocabulary
# the weights are useless. JSON is the right format: human-readable, language-neutral, and
# it stores any Unicode character. Save the list of tokens (in id order) and the policy;
# loading rebuilds the same tokenizer.

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-char-save", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def save(self: CharTokenizer, path):
    "Write the vocabulary and policy to `path` as JSON."
    ### BEGIN SOLUTION
    chars = self.itos[1:] if self.unknown == "unk" else self.itos
    Path(path).write_text(json.dumps({"type": "char", "unknown": self.unknown, "chars": chars},
                                     ensure_ascii=False), encoding="utf-8")
    ### END SOLUTION

@patch(cls_method=True)
def load(cls: CharTokenizer, path):
    "A CharTokenizer read back from a JSON file written by `save`."
    ### BEGIN SOLUTION
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    if d.get("type") != "char":
        raise ValueError(f"{path} does not hold a character tokenizer (type {d.get('type')!r})")
    return cls("".join(d["chars"]), unknown=d["unknown"])
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-char-save-load", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import tempfile
uni, lenient = CharTokenizer("naïve café — 東京 🙂"), CharTokenizer("hello world", unknown="unk")
with tempfile.TemporaryDirectory() as tmp:
    uni.save(Path(tmp) / "uni.json")
    expect_that(json.loads((Path(tmp) / "uni.json").read_text(encoding="utf-8")), lambda v: bool(v),
                "CharTokenizer.save", "the file holds JSON")
    back = CharTokenizer.load(Path(tmp) / "uni.json")
    expect_equal(type(back).__name__, "CharTokenizer", "CharTokenizer.load (returns a CharTokenizer)")
    expect_equal(back.unknown, "error", "CharTokenizer.save / load (the unknown policy comes back)")
    expect_equal(back.itos, sorted(set("naïve café — 東京 🙂")), "CharTokenizer.save / load (the same ids)")
    expect_equal(back.encode("東京 café"), np.array([sorted(set("naïve café — 東京 🙂")).index(ch) for ch in "東京 café"]),
                 "CharTokenizer.load (the loaded tokenizer encodes)")
    lenient.save(Path(tmp) / "lenient.json")
    back = CharTokenizer.load(Path(tmp) / "lenient.json")
    expect_equal(back.unknown, "unk", "CharTokenizer.save / load (the unknown policy comes back)")
    expect_equal(back.itos, ["<unk>", " ", "d", "e", "h", "l", "o", "r", "w"],
                 "CharTokenizer.save / load (the same ids, <unk> once at id 0)")
    expect_equal(back.encode("help!"), np.array([4, 3, 5, 0, 0]), "CharTokenizer.load (the loaded tokenizer encodes)")

# %% [markdown]
# How much faster is the vectorised encoder? Compare with the dictionary loop on a million
# characters (your numbers will differ; the ratio is the point).

# %%
import time
sample = ("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 17000)[:1_000_000]
shakes = CharTokenizer(sample)
def best_of(fn, repeats=3):
    "The fastest of a few runs (the first run pays for page faults and caches)."
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); result = fn(); times.append(time.perf_counter() - start)
    return result, min(times)
fast, t_fast = best_of(lambda: shakes.encode(sample))
slow, t_slow = best_of(lambda: np.array([shakes.stoi[c] for c in sample]))
np.testing.assert_array_equal(fast, slow)
print(f"1M characters: vectorised {t_fast * 1e3:.1f} ms, dictionary loop {t_slow * 1e3:.1f} ms")

# %% [markdown]
# ## 2. Byte-pair encoding (BPE)
#
# Characters are a tiny vocabulary but long sequences: "the" costs three tokens although it
# is the most common word in English. **Byte-pair encoding** (Sennrich et al., 2016, after a
# 1994 compression algorithm by Gage) learns a vocabulary from the data:
#
# 1. start from the text's **UTF-8 bytes**: 256 base tokens, so *any* text can be encoded
#    and nothing is ever unknown;
# 2. count every pair of adjacent tokens; the most frequent pair `(a, b)` becomes a new
#    token with the next free id (256, 257, ...), and every occurrence of `a b` in the
#    sequence is replaced by it;
# 3. repeat until the vocabulary has the size you asked for. The ordered list of merges
#    *is* the tokenizer.
#
# ```
#   "aaabdaaabac"   pairs: aa×4 ab×2 bd ...   merge aa -> Z   "ZabdZabac"
#                   pairs: Za×2 ab×2 ...      merge Za -> Y   "YbdYbac"   ...
# ```
#
# **Encoding** new text applies the learned merges **in the order they were learned**;
# on the training text that reproduces exactly the training sequence. **Decoding** looks up
# each token's bytes (a merged token's bytes are its two parts' bytes joined) and decodes
# the UTF-8. Because merges can split a multi-byte character, decoding an arbitrary id
# sequence may give invalid UTF-8; `errors="replace"` shows it as `�` instead of crashing.
#
# Real tokenizers (GPT-2 on) first split text into words with a regular expression so that
# merges never cross a space, and add special tokens; we keep the core algorithm.
#
# ### Making it fast
# The textbook version walks the sequence in Python for every merge: 256 merges × 100,000
# tokens ≈ 25 million interpreter steps, tens of seconds. Two numpy tricks make each step
# a handful of array operations:
#
# - **counting pairs**: with `n` token ids, the pair `(a, b)` has the unique code
#   `a·n + b`; `np.bincount` over all codes counts every pair in one pass, and `argmax`
#   picks the most frequent (ties go to the smallest code, so training is deterministic);
# - **merging a pair**: the positions `i` where `ids[i] == a and ids[i+1] == b` are found
#   with one boolean mask. Replace `ids[i]` by the new id and delete `ids[i+1]`. One subtlety:
#   when `a == b`, a run `a a a` matches at two overlapping positions, but only the first
#   may merge (left to right: `a a a -> Z a`, and `a a a a -> Z Z`). In a run of consecutive
#   matching positions, keep the 1st, 3rd, 5th ... match.

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-bpe-steps", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def most_frequent_pair(ids, n_tokens):
    "The most frequent adjacent pair `(a, b)` in the int array `ids` (ids < n_tokens) and its count."
    ### BEGIN SOLUTION
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size < 2:
        return None, 0
    counts = np.bincount(ids[:-1] * n_tokens + ids[1:])
    best = int(np.argmax(counts))
    return (best // n_tokens, best % n_tokens), int(counts[best])
    ### END SOLUTION

def merge_pair(ids, pair, new_id):
    "Replace each non-overlapping occurrence (left to right) of `pair` in `ids` by `new_id`."
    ids = np.asarray(ids, dtype=np.int64)
    a, b = pair
    ### BEGIN SOLUTION
    idx = np.flatnonzero((ids[:-1] == a) & (ids[1:] == b))
    if idx.size == 0:
        return ids
    starts = np.r_[True, np.diff(idx) != 1]           # first match of each run of consecutive matches
    run_start = idx[starts][np.cumsum(starts) - 1]
    keep = idx[(idx - run_start) % 2 == 0]            # 1st, 3rd, ... match of each run
    out = ids.copy()
    out[keep] = new_id
    alive = np.ones(ids.size, dtype=bool)
    alive[keep + 1] = False
    return out[alive]
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-most-frequent-pair", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ids = np.frombuffer(b"aaabdaaabac", dtype=np.uint8).astype(np.int64)
pair, count = most_frequent_pair(ids, 256)
expect_equal(type(pair).__name__, "tuple", "most_frequent_pair (returns a pair (a, b) as a tuple, and its count)")
expect_equal((tuple(int(p) for p in pair), count), ((97, 97), 4), "most_frequent_pair ('aa' occurs 4 times)")
pair, count = most_frequent_pair(np.array([5, 1, 2, 3, 1, 2, 9, 9]), 10)
expect_equal((tuple(int(p) for p in pair), count), ((1, 2), 2), "most_frequent_pair ((1, 2) occurs twice)")
pair, count = most_frequent_pair(np.array([0, 1, 0, 1, 1, 0]), 2)
expect_equal((tuple(int(p) for p in pair), count), ((0, 1), 2), "most_frequent_pair (ties go to the smallest pair code)")
pair, count = most_frequent_pair(np.array([7, 3]), 8)
expect_equal((tuple(int(p) for p in pair), count), ((7, 3), 1), "most_frequent_pair (two ids: one pair)")
pair, count = most_frequent_pair(np.array([6, 6, 6, 1, 6, 6]), 7)
expect_equal((tuple(int(p) for p in pair), count), ((6, 6), 3), "most_frequent_pair (overlapping pairs all count)")
expect_equal(most_frequent_pair(np.array([5]), 6)[1], 0, "most_frequent_pair (one id: no pair, count 0)")
expect_equal(most_frequent_pair(np.array([], dtype=np.int64), 6)[1], 0, "most_frequent_pair (no ids: no pair, count 0)")

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-merge-pair", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
out = merge_pair(np.array([1, 2, 3, 1, 2, 2, 1]), (1, 2), 9)
expect_equal(type(out).__name__, "ndarray", "merge_pair (returns a numpy array)")
expect_equal(out, np.array([9, 3, 9, 2, 1]), "merge_pair (two merges shorten 7 ids to 5)")
expect_equal(merge_pair(np.array([4, 4, 4]), (4, 4), 7), np.array([7, 4]), "merge_pair (a a a -> Z a)")
expect_equal(merge_pair(np.array([4, 4, 4, 4]), (4, 4), 7), np.array([7, 7]), "merge_pair (a a a a -> Z Z)")
expect_equal(merge_pair(np.array([1, 3]), (1, 2), 9), np.array([1, 3]), "merge_pair (no occurrence: unchanged)")
expect_equal(merge_pair(np.array([3, 1, 2]), (1, 2), 9), np.array([3, 9]), "merge_pair (a pair at the end)")
expect_equal(merge_pair(np.array([2, 1, 2, 1]), (2, 1), 9), np.array([9, 9]), "merge_pair (back-to-back pairs)")
### BEGIN HIDDEN TESTS
expect_equal(merge_pair(np.array([5, 4, 4, 4, 4, 4, 3, 4, 4]), (4, 4), 7), np.array([5, 7, 7, 4, 3, 7]),
             "merge_pair (runs of a a ...: 1st, 3rd, ... match)")
expect_equal(merge_pair(np.array([2]), (2, 2), 7), np.array([2]), "merge_pair (one id)")
rng = np.random.default_rng(0)
seq = rng.integers(0, 3, 500)
def slow_merge(seq, pair, new):
    out, i = [], 0
    while i < len(seq):
        hit = i + 1 < len(seq) and (seq[i], seq[i + 1]) == pair
        out.append(new if hit else seq[i])
        i += 2 if hit else 1
    return np.array(out)
expect_equal(merge_pair(seq, (0, 0), 3), slow_merge(list(seq), (0, 0), 3), "merge_pair (random ids, pair (0, 0))")
expect_equal(merge_pair(seq, (1, 2), 3), slow_merge(list(seq), (1, 2), 3), "merge_pair (random ids, pair (1, 2))")
expect_equal(merge_pair(seq, (2, 2), 3), slow_merge(list(seq), (2, 2), 3), "merge_pair (random ids, pair (2, 2))")
### END HIDDEN TESTS

# %% [markdown]
# ### The tokenizer
#
# `BPETokenizer(vocab_size)` holds the merges and, for decoding, the byte string of every
# token (`vocab[id]`). `train(text)` runs the loop above (stopping early if no pair occurs
# twice: merging a pair seen once compresses nothing); `encode` converts text to bytes and
# applies the merges in order; `decode` joins the tokens' bytes. `compression_ratio(text)`
# is characters per token: how many times shorter the sequence is than at character level.

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-bpe", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BPETokenizer:
    "Byte-level byte-pair encoding: 256 byte tokens plus merges learned from a corpus by pair counts."

    def __init__(self, vocab_size=512):
        if vocab_size < 256:
            raise ValueError(f"a byte-level BPE needs vocab_size >= 256 (one token per byte), got {vocab_size}")
        self.target_size = vocab_size
        self.merges = []                                  # [(a, b)]: token 256 + k is merges[k]
        self.vocab = [bytes([i]) for i in range(256)]     # id -> bytes

    @property
    def vocab_size(self):
        "Number of token ids: 256 bytes plus one per merge learned."
        return len(self.vocab)

    def __len__(self):
        return self.vocab_size

    def _add_merge(self, pair):
        self.merges.append((int(pair[0]), int(pair[1])))
        self.vocab.append(self.vocab[pair[0]] + self.vocab[pair[1]])

    def train(self, text):
        "Learn merges from `text` until the vocabulary has `vocab_size` tokens; returns self."
        self.merges, self.vocab = [], self.vocab[:256]
        ids = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
        ### BEGIN SOLUTION
        while self.vocab_size < self.target_size:
            pair, count = most_frequent_pair(ids, self.target_size)
            if count < 2:
                break
            ids = merge_pair(ids, pair, self.vocab_size)
            self._add_merge(pair)
        ### END SOLUTION
        return self

    def encode(self, text):
        "The token ids of `text` as an int64 array (the merges applied in the order learned)."
        ids = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
        ### BEGIN SOLUTION
        for k, pair in enumerate(self.merges):
            ids = merge_pair(ids, pair, 256 + k)
        return ids
        ### END SOLUTION

    def decode(self, ids):
        "The text of a sequence of token ids (invalid UTF-8 shown as U+FFFD)."
        ids = np.asarray(getattr(ids, "data", ids)).reshape(-1)
        ### BEGIN SOLUTION
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}), got {ids.min()}..{ids.max()}")
        return b"".join([self.vocab[i] for i in ids.tolist()]).decode("utf-8", errors="replace")
        ### END SOLUTION

    def compression_ratio(self, text):
        "Characters per token on `text` (1.0 would be no better than characters)."
        ### BEGIN SOLUTION
        return len(text) / max(len(self.encode(text)), 1)
        ### END SOLUTION

# %% [markdown]
# The tests train on a corpus every Python installation carries: the help texts of the
# `pydoc_data` package (about 460,000 characters of English prose and code).

# %%
from pydoc_data.topics import topics
docs = "\n".join(topics[k] for k in sorted(topics))
print(f"pydoc corpus: {len(docs):,} characters")

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-bpe-train", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
bpe = BPETokenizer(vocab_size=260).train("aaabdaaabac" * 3)
expect_equal(bpe.merges[:1], [(97, 97)], "BPETokenizer.train (the first merge is the most frequent pair 'aa')")
expect_equal(bpe.merges, [(97, 97), (97, 98), (256, 257), (97, 99)],
             "BPETokenizer.train (each merge is the most frequent pair of the sequence merged so far)")
expect_equal(bpe.vocab_size, 260, "BPETokenizer.train (merges until vocab_size is reached)")
expect_equal(bpe.vocab[256:], [b"aa", b"ab", b"aaab", b"ac"], "BPETokenizer.train (a merged token's bytes are its parts' bytes joined)")
expect_equal(BPETokenizer(vocab_size=300).train("abab").merges, [(97, 98)],
             "BPETokenizer.train (a pair seen twice is merged; it stops when no pair occurs twice)")
small = BPETokenizer(vocab_size=300).train(docs[:20_000])
expect_equal(small.vocab_size, 300, "BPETokenizer.train (it learns merges until vocab_size is reached)")
expect_equal(small.merges[:8], [(32, 32), (101, 32), (32, 116), (32, 97), (105, 110), (258, 104), (256, 256), (101, 110)],
             "BPETokenizer.train (the first 8 merges on 20,000 characters of the pydoc corpus)")
expect_equal(small.merges, [(32, 32), (101, 32), (32, 116), (32, 97), (105, 110), (258, 104), (256, 256), (101, 110),
                            (111, 110), (116, 32), (115, 32), (101, 114), (97, 116), (261, 257), (111, 114), (105, 264),
                            (115, 115), (61, 61), (10, 10), (97, 114), (105, 116), (101, 100), (97, 108), (42, 42),
                            (115, 116), (97, 110), (114, 101), (32, 34), (101, 120), (260, 103), (259, 110), (109, 263),
                            (10, 256), (32, 105), (105, 103), (101, 99), (117, 116), (10, 262), (116, 104), (34, 32),
                            (97, 109), (101, 115), (273, 273), (103, 101)],
             "BPETokenizer.train (all 44 merges on 20,000 characters of the pydoc corpus)")
ids = small.encode(docs[:20_000])
expect_equal(type(ids).__name__, "ndarray", "BPETokenizer.encode (returns a numpy array)")
expect_that(ids.dtype, lambda v: v.kind == "i", "BPETokenizer.encode", "the ids are integers")
expect_equal(len(ids), 13711, "BPETokenizer.encode (20,000 characters become 13,711 tokens)")
expect_equal(small.decode(ids), docs[:20_000], "BPETokenizer.decode (decode(encode(text)) is the text)")
### BEGIN HIDDEN TESTS
def slow_encode(text, merges):
    "The merges applied in order, each by a left-to-right walk."
    ids = list(text.encode("utf-8"))
    for k, pair in enumerate(merges):
        out, i = [], 0
        while i < len(ids):
            hit = i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair
            out.append(256 + k if hit else ids[i])
            i += 2 if hit else 1
        ids = out
    return np.array(ids)
expect_equal(ids, slow_encode(docs[:20_000], small.merges), "BPETokenizer.encode (the merges applied in the order learned)")
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-bpe-unicode", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
small = BPETokenizer(vocab_size=300).train(docs[:20_000])
text = "naïve café — 東京 🙂, never unknown: \x00\t\n"
expect_equal(small.encode(text), np.array([110, 97, 195, 175, 118, 257, 99, 97, 102, 195, 169, 32, 226, 128, 148, 32, 230, 157,
                                           177, 228, 186, 172, 32, 240, 159, 153, 130, 44, 32, 110, 101, 118, 267, 32, 117,
                                           110, 107, 110, 111, 119, 110, 58, 32, 0, 9, 10]),
             "BPETokenizer.encode (UTF-8 bytes, then the merges)")
expect_equal(small.decode(small.encode(text)), text, "BPETokenizer.encode / decode (any Unicode text round-trips)")
expect_equal(small.encode("").shape, (0,), "BPETokenizer.encode (empty text)")
expect_equal(small.decode(small.encode("")), "", "BPETokenizer.encode / decode (empty text)")
expect_equal(small.decode(small.encode("x")), "x", "BPETokenizer.encode / decode (one character)")
expect_equal(small.decode([0xE6]), "\ufffd", "BPETokenizer.decode (a lone byte of a multi-byte character is U+FFFD)")
expect_equal(small.decode([299, 32]), "ge ", "BPETokenizer.decode (a merged token's bytes)")
with expect_raises(ValueError, "BPETokenizer.decode (an id outside [0, vocab_size))"):
    small.decode([-1])
with expect_raises(ValueError, "BPETokenizer.decode (an id outside [0, vocab_size))"):
    small.decode([300])
with expect_raises(ValueError, "BPETokenizer.decode (an id outside [0, vocab_size))"):
    small.decode([0, 300])

# %% [markdown]
# ### Compression, and speed
#
# The point of BPE: fewer tokens for the same text. With 768 tokens trained on 100,000
# characters, the held-out rest of the corpus should need far fewer tokens than characters.
# Training must also be fast: the vectorised steps make 512 merges on 100 KB take well under
# a second on a laptop (speed is not graded: the tests check results).

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-bpe-compression", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
bpe = BPETokenizer(vocab_size=768).train(docs[:100_000])
expect_equal(bpe.vocab_size, 768, "BPETokenizer.train (merges until vocab_size is reached)")
expect_equal(bpe.merges[:6], [(32, 32), (101, 32), (115, 32), (116, 104), (105, 110), (97, 116)],
             "BPETokenizer.train (the first merges on 100,000 characters)")
expect_equal(bpe.merges[-3:], [(100, 292), (104, 494), (111, 459)], "BPETokenizer.train (the last merges on 100,000 characters)")
held_out = docs[100_000:200_000]
ratio = bpe.compression_ratio(held_out)
expect_equal(type(ratio).__name__, "float", "BPETokenizer.compression_ratio (returns a float)")
expect_agree(ratio, len(held_out) / len(bpe.encode(held_out)), "BPETokenizer.compression_ratio (characters per token)")
expect_equal(ratio, 2.4539877300613497, "BPETokenizer.compression_ratio (768 tokens on held-out prose)", rtol=1e-12)
expect_that(ratio, lambda v: v > 1.8, "BPETokenizer.train / compression_ratio",
            "768 BPE tokens should compress held-out prose by more than 1.8x")
expect_equal(BPETokenizer(vocab_size=300).train("abab").compression_ratio("abab"), 2.0,
             "BPETokenizer.compression_ratio (4 characters in 2 tokens)")
expect_equal(BPETokenizer(vocab_size=300).train("abab").compression_ratio("ab"), 2.0,
             "BPETokenizer.compression_ratio (2 characters in 1 token)")
print(f"held-out: {ratio:.2f} characters per token")
### BEGIN HIDDEN TESTS
expect_equal(bpe.decode(bpe.encode(held_out)), held_out, "BPETokenizer.encode / decode (held-out text round-trips)")
tiny = BPETokenizer(vocab_size=1000).train("abcd")
expect_equal(tiny.vocab_size, 256, "BPETokenizer.train (no pair occurs twice in 'abcd': nothing is worth merging)")
expect_equal(BPETokenizer(vocab_size=1000).train("abcab").merges, [(97, 98)],
             "BPETokenizer.train (stops when no pair occurs twice)")
expect_equal(BPETokenizer(vocab_size=300).train("a").vocab_size, 256, "BPETokenizer.train (a one-byte text)")
expect_equal(BPETokenizer(vocab_size=300).train("").vocab_size, 256, "BPETokenizer.train (an empty text)")
### END HIDDEN TESTS

# %% [markdown]
# ### Saving a BPE tokenizer
#
# The merges are the whole tokenizer (the byte strings follow from them), so the file is the
# list of merges, in order.

# %% nbgrader={"grade": false, "grade_id": "10-tokenization-bpe-save", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
@patch
def save(self: BPETokenizer, path):
    "Write the merges (in order) to `path` as JSON."
    ### BEGIN SOLUTION
    Path(path).write_text(json.dumps({"type": "bpe", "vocab_size": self.target_size, "merges": self.merges}))
    ### END SOLUTION

@patch(cls_method=True)
def load(cls: BPETokenizer, path):
    "A BPETokenizer read back from a JSON file written by `save`."
    ### BEGIN SOLUTION
    d = json.loads(Path(path).read_text())
    if d.get("type") != "bpe":
        raise ValueError(f"{path} does not hold a BPE tokenizer (type {d.get('type')!r})")
    tok = cls(d["vocab_size"])
    for pair in d["merges"]:
        tok._add_merge(pair)
    return tok
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "10-tokenization-bpe-save-load", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import tempfile
small = BPETokenizer(vocab_size=300).train(docs[:20_000])
held_out = docs[100_000:110_000]
with tempfile.TemporaryDirectory() as tmp:
    small.save(Path(tmp) / "bpe.json")
    expect_that(json.loads((Path(tmp) / "bpe.json").read_text()), lambda v: bool(v), "BPETokenizer.save",
                "the file holds JSON")
    back = BPETokenizer.load(Path(tmp) / "bpe.json")
expect_equal(type(back).__name__, "BPETokenizer", "BPETokenizer.load (returns a BPETokenizer)")
expect_equal(len(back.merges), 44, "BPETokenizer.save / load (all 44 merges come back)")
expect_agree(back.merges, small.merges, "BPETokenizer.save / load (the same merges, in order)")
expect_agree(back.vocab, small.vocab, "BPETokenizer.load (the same bytes for every token)")
expect_agree(back.encode(held_out), small.encode(held_out), "BPETokenizer.load (the loaded tokenizer encodes the same)")
expect_equal(back.decode(back.encode(held_out)), held_out, "BPETokenizer.load (decode(encode(text)) is the text)")

# %% [markdown]
# ## 3. Shakespeare, both ways
#
# Module 16 trains on tiny-shakespeare (1.1 million characters) at the character level.
# Here is what BPE would do to it. The cell reads the file from your data folder
# (`$TINYTORCH_DATA/tinyshakespeare/input.txt`; `tito data fetch shakespeare` downloads
# it) and falls back to the pydoc corpus when it is not there.

# %%
root = Path(os.environ.get("TINYTORCH_DATA", Path.home() / ".cache" / "tinytorch"))
path = root / "tinyshakespeare" / "input.txt"
if path.is_file():
    corpus, name = path.read_text(encoding="utf-8"), "tiny-shakespeare"
else:
    corpus, name = docs, "the pydoc corpus (tiny-shakespeare not found at " + str(path) + ")"
cut = int(0.9 * len(corpus))
chars = CharTokenizer(corpus[:cut], unknown="unk")
start = time.perf_counter()
bpe = BPETokenizer(vocab_size=1024).train(corpus[:100_000])
seconds = time.perf_counter() - start
held = corpus[cut:]
print(f"{name}: {len(corpus):,} characters, {chars.vocab_size - 1} distinct")
print(f"BPE with 1024 tokens trained on the first 100,000 characters in {seconds:.2f} s")
print(f"held-out last 10%: {len(held):,} characters -> {len(bpe.encode(held)):,} BPE tokens "
      f"({bpe.compression_ratio(held):.2f} characters per token)")
print("first merges:", [bpe.vocab[256 + k].decode("utf-8", "replace") for k in range(12)])
print("last merges: ", [bpe.vocab[-k].decode("utf-8", "replace") for k in range(8, 0, -1)])

# %% [markdown]
# On tiny-shakespeare this gives a little over 2 characters per token: the first merges are
# `"e "`, `"th"`, `"t "`, `"s "`, `"ou"` ...; the last are whole words and word pieces
# (`"heart"`, `"well "`). A GPT reading BPE
# tokens sees twice the text in the same context window, and its attention does a quarter of
# the work per character. The price: 1024 embedding rows instead of 65, each trained on fewer
# examples — with one megabyte of text, characters win, which is why TinyGPT uses them.

# %% [markdown]
# ## Reflection

# %% [markdown] nbgrader={"grade": false, "grade_id": "10-tokenization-reflect-vocab-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Vocabulary size.** A GPT with `d_model = 256` has an embedding table of `vocab_size × 256`
# and an output layer of the same size. Compare the parameter counts for a 65-character
# vocabulary and a 50,257-token BPE vocabulary. What do you gain from the larger one, and
# why can it be a bad trade on a 1 MB corpus?

# %% [markdown] nbgrader={"grade": true, "grade_id": "10-tokenization-reflect-vocab", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 65×256 ≈ 17k vs 50257×256 ≈ 12.9M per table (×2 untied): the BPE model is mostly embedding.
# Gain: ~3-4× shorter sequences (more text per context, attention cost quadratic in length is
# lower per character). Cost: rare tokens get few training examples on 1 MB, so their
# embeddings stay poor and the model overfits; the output softmax over 50k is expensive.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "10-tokenization-reflect-unknown-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Unknowns.** Why does a byte-level BPE never need an `<unk>` token, while a character
# tokenizer does? Give one situation where raising an error on an unknown character is the
# better policy, and one where mapping it to `<unk>` is.

# %% [markdown] nbgrader={"grade": true, "grade_id": "10-tokenization-reflect-unknown", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Byte level: every text is a sequence of the 256 byte values, all in the base vocabulary.
# Characters: only those seen in the corpus have ids. Error: building training data or a
# checkpoint's vocabulary (a silent <unk> hides a data bug / mismatched vocab). <unk>: serving
# user prompts, where a stray emoji should not crash generation.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "10-tokenization-reflect-cost-question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Cost of training.** Each BPE merge recounts all pairs (O(N) for N tokens). What is the
# total cost of learning M merges, and how would you make it cheaper for a 1 GB corpus?

# %% [markdown] nbgrader={"grade": true, "grade_id": "10-tokenization-reflect-cost", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# O(M·N) (N shrinks slowly). Cheaper: pre-split into words and count distinct words once
# (work on word types weighted by frequency, far fewer than N); update pair counts
# incrementally around each merged position with a priority queue instead of recounting;
# train on a sample.
# === END MARK SCHEME ===
#
# YOUR ANSWER HERE
