"The capstone's entry points: milestones/tinygpt.py without data / on the fallback corpus, and `tito generate`."
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tinytorch.core.tokenization import CharTokenizer
from tinytorch.models.tinygpt import LanguageModelTrainer, TinyGPT, embedded_corpus

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "milestones" / "tinygpt.py"


def run_script(args, data_dir, timeout=300):
    env = dict(os.environ, TINYTORCH_DATA=str(data_dir), PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_without_data_it_says_how_to_fetch_and_stops(tmp_path):
    proc = run_script([], tmp_path)
    assert proc.returncode == 2
    assert "tito data fetch shakespeare" in proc.stdout and "--fallback" in proc.stdout


def test_fallback_trains_on_the_embedded_corpus_and_says_so(tmp_path):
    proc = run_script(["--quick", "--fallback", "--steps", "40", "--budget", "120"], tmp_path)
    out = proc.stdout
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "training on the embedded corpus" in out and "NOT on Shakespeare" in out
    assert "validation loss on all" in out and "--- sample" in out
    assert "not the milestone" in out
    assert not (ROOT / "milestones" / "results" / "tinygpt-quick.json").exists(), "a quick run is never recorded"


def test_tito_generate_samples_from_a_checkpoint(tmp_path, capsys):
    from tito.generate import main
    text = embedded_corpus()[:5000]
    tok = CharTokenizer(text)
    model = TinyGPT(tok.vocab_size, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_len=32, dropout=0.0, seed=0)
    trainer = LanguageModelTrainer(model, tok.encode(text), context=16, batch_size=4, total_steps=3, warmup_steps=1,
                                   log=None, tokenizer=tok)
    trainer.fit()
    ckpt = trainer.save(tmp_path / "m.ckpt")
    assert main(["--checkpoint", str(ckpt), "--prompt", "The ", "--length", "50", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("The ") and len(first.rstrip("\n")) == 54
    assert main(["--checkpoint", str(ckpt), "--prompt", "The ", "--length", "50", "--seed", "3", "--no-cache"]) == 0
    assert capsys.readouterr().out == first, "the same seed gives the same text, with or without the cache"
    assert main(["--checkpoint", str(ckpt), "--prompt", "\u20ac"]) == 2
    assert "never saw" in capsys.readouterr().out
