"""book/make_figures.py: runs, writes real PNGs, draws the graph tinytorch really records, plots only recorded
runs; the committed figures are current and every figure a README shows exists."""
import importlib.util
import json
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

from tito.course import all_modules, find_root

ROOT = find_root(__file__)
SCRIPT = ROOT / "book" / "make_figures.py"
ALWAYS = ["autograd_graph.png", "attention_mha.png"]  # made from tinytorch alone, whatever has been recorded


def _load_script():
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


figures = _load_script()


def png_size(path):
    "(width, height) of a PNG file; fails on anything that is not one."
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR" and data.endswith(b"IEND\xaeB`\x82"), f"{path.name} is a truncated PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout


@pytest.mark.parametrize("name", ALWAYS)
def test_the_script_writes_real_pngs_of_a_sensible_size(made, name):
    out, stdout = made
    path = out / name
    assert path.is_file() and f"wrote {path}" in stdout, f"{name} was not written (or not reported): {stdout}"
    width, height = png_size(path)
    assert 500 <= width <= 2400 and 250 <= height <= 2400, f"{name} is {width}x{height}"
    assert 10_000 < path.stat().st_size < 200_000, f"{name} is {path.stat().st_size} bytes"
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width) and pixels[..., :3].std() > 0.05, f"{name} is (nearly) blank"


@pytest.mark.parametrize("name", ALWAYS)
def test_the_committed_figures_are_what_the_script_makes_now(made, name):
    out, _ = made
    committed = ROOT / "book" / "figures" / name
    assert committed.is_file(), f"book/figures/{name} is missing: run `python book/make_figures.py`"
    assert committed.read_bytes() == (out / name).read_bytes(), \
        f"book/figures/{name} is stale (or the output is not deterministic): run `python book/make_figures.py`"


def test_the_graph_figure_shows_the_graph_tinytorch_recorded():
    from tinytorch.core.autograd import topo_sort
    root, names = figures.example_graph()
    nodes = figures.graph_nodes(root, names)
    real = topo_sort(root)
    assert len(nodes) == len(real) == 7
    assert [n["shape"] for n in nodes] == [tuple(t.shape) for t in real]
    assert sorted(n["label"] for n in nodes if n["leaf"]) == ["b", "w", "x"]
    assert sorted(n["label"] for n in nodes if not n["leaf"]) == ["add", "matmul", "mean", "mul"]
    for n, t in zip(nodes, real):  # every edge is one of the tensor's recorded parents, and every parent an edge
        assert [real[p] for p in n["parents"]] == list(t._parents)
        if not n["leaf"]:
            assert n["backward"] == t._backward.__qualname__ and n["label"] in n["backward"]
        assert all(p < nodes.index(n) for p in n["parents"]), "parents come before children"
    assert nodes[-1]["label"] == "mean" and nodes[-1]["name"] == "loss" and nodes[-1]["shape"] == ()
    mul = next(n for n in nodes if n["label"] == "mul")
    assert len(mul["parents"]) == 2 and mul["parents"][0] == mul["parents"][1], "h * h: h is used twice"
    assert nodes[mul["parents"][0]]["label"] == "add" and nodes[mul["parents"][0]]["name"] == "h"


def test_the_attention_figure_comes_from_module_12():
    from tinytorch.core.attention import causal_mask
    w = figures.mha_attention("to be or not to be")
    assert w.shape == (4, 18, 18)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[:, ~np.asarray(getattr(causal_mask(18), "data", causal_mask(18)))] == 0), "future weights are 0"
    assert w[:, 5, :6].std() > 0.01, "the heads do not all attend uniformly"


def _vision_run(name, losses, accs):
    return {"name": name, "metric": "test_accuracy", "value": accs[-1], "target": 0.9,
            "history": [{"epoch": i + 1, "loss": l, "val_accuracy": a} for i, (l, a) in enumerate(zip(losses, accs))]}


def test_milestone_curves_are_drawn_only_from_recorded_runs(tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "out"
    results.mkdir()
    figures.main(["--out", str(out), "--results", str(results)])
    assert not (out / "milestones_vision.png").exists() and not (out / "milestones_tinygpt.png").exists()
    assert "milestones_vision.png: not written" in capsys.readouterr().out
    (results / "mlp-mnist.json").write_text(json.dumps(_vision_run("mlp-mnist", [0.5, 0.2, 0.1], [0.9, 0.95, 0.97])))
    written = figures.main(["--out", str(out), "--results", str(results)])
    said = capsys.readouterr().out
    assert out / "milestones_vision.png" in written and f"read {results / 'mlp-mnist.json'}" in said
    assert png_size(out / "milestones_vision.png")[0] > 500
    assert not (out / "milestones_tinygpt.png").exists(), "no TinyGPT run was recorded"


def test_every_figure_a_readme_shows_exists():
    shown = {}
    for m in all_modules(ROOT):
        readme = m.dir / "README.md"
        text = readme.read_text() if readme.is_file() else ""
        for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
            assert ref.startswith("../../../book/figures/"), f"{m.slug} README: figures live in book/figures ({ref})"
            assert (m.dir / ref).resolve().is_file(), f"{m.slug} README shows {ref}, which does not exist"
            shown[m.slug] = shown.get(m.slug, []) + [ref.rsplit("/", 1)[1]]
    assert "autograd_graph.png" in shown.get("02_autograd", []) and "attention_mha.png" in shown.get("12_attention", [])


def test_tinygpt_figures_come_from_the_checkpoint_and_the_recorded_run(tmp_path, capsys):
    from tinytorch.core.tokenization import CharTokenizer
    from tinytorch.models.tinygpt import LanguageModelTrainer, TinyGPT
    text = (figures.SHAKESPEARE_LINE + "\nJULIET:\nO Romeo, Romeo!\n") * 12
    tok = CharTokenizer(text)
    model = TinyGPT(tok.vocab_size, d_model=16, n_layers=2, n_heads=2, d_ff=32, max_len=48, dropout=0.0, seed=0)
    trainer = LanguageModelTrainer(model, tok.encode(text), context=48, batch_size=4, lr=1e-2, warmup_steps=1,
                                   total_steps=4, eval_every=2, eval_batches=1, log_every=0, tokenizer=tok, log=None)
    trainer.fit()
    ckpt = trainer.save(tmp_path / "last.ckpt")
    layers, state, cfg = figures.tinygpt_attention(ckpt, figures.SHAKESPEARE_LINE)
    T = len(figures.SHAKESPEARE_LINE)
    assert len(layers) == 2 and layers[0].shape == (2, T, T) and state["step"] == 4 and cfg["d_model"] == 16
    np.testing.assert_allclose(layers[1].sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(layers[0], k=1) == 0), "causal: no weight on later characters"
    path = figures.tinygpt_figure(tmp_path, ckpt)
    assert path.name == "attention_tinygpt.png" and png_size(path)[0] > 500

    results = tmp_path / "results"
    results.mkdir()
    h = trainer.history
    run = {"name": "tinygpt", "metric": "val_loss", "value": h["val_loss"][-1], "target": 1.7, "steps": 4,
           "val_curve": [[s, round(v, 4)] for s, v in zip(h["val_step"], h["val_loss"])], "checkpoint": str(ckpt)}
    (results / "tinygpt.json").write_text(json.dumps(run))
    capsys.readouterr()
    assert figures.tinygpt_loss_figure(tmp_path, figures.load_runs(results)).is_file()
    assert "the recorded run's training-loss history" in capsys.readouterr().out
    (results / "tinygpt.json").write_text(json.dumps(run | {"steps": 99}))
    figures.tinygpt_loss_figure(tmp_path, figures.load_runs(results))
    assert f"not using {ckpt}" in capsys.readouterr().out, "another run's checkpoint is not mixed in"
