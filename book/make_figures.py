"""Figures for the book, computed with tinytorch or read from recorded milestone runs (never made up).

    python book/make_figures.py [--out DIR] [--checkpoint PATH] [--results DIR]

Writes PNGs into book/figures/ (`tito book build` copies that folder into the book) and prints each file
it wrote and each file it read:

  autograd_graph.png      the graph tinytorch records for `h = x @ w + b; loss = (h * h).mean()`, walked with
                          `topo_sort` and each node's `_parents` / `_backward` (chapter 02)
  attention_mha.png       causal attention weights of module 12's `MultiHeadAttention`, untrained, on a short
                          text (chapter 12)
  attention_tinygpt.png   attention weights of a trained TinyGPT checkpoint on a Shakespeare line (chapters 12
                          and 16); only when a checkpoint exists: --checkpoint, or milestones/runs/tinygpt/last.ckpt
  milestones_vision.png   training loss and validation accuracy per epoch of the recorded vision milestone runs
  milestones_tinygpt.png  the loss curve of the recorded TinyGPT milestone run

The milestone figures come only from milestones/results/*.json (written by `--full` milestone runs); the
TinyGPT training loss is added from the run's checkpoint only when that checkpoint is the recorded run's
(same number of steps, same validation curve). Without recorded runs those figures are not written.
Output is deterministic (Agg backend, fixed seeds, no timestamps in the PNGs).
"""
import argparse
import json
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "book" / "figures"
RESULTS = ROOT / "milestones" / "results"
CHECKPOINT = ROOT / "milestones" / "runs" / "tinygpt" / "last.ckpt"
SHAKESPEARE_LINE = "ROMEO:\nBut, soft! what light through"
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: same inputs, same bytes


def rel(path):
    "`path` relative to the repository when it lies inside it (for messages)."
    path = Path(path).resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def save(fig, path, dpi=110):
    fig.savefig(path, dpi=dpi, metadata=PNG_METADATA)
    print(f"wrote {rel(path)} ({Path(path).stat().st_size // 1024} KB)")
    return Path(path)


# ---------------------------------------------------------------- 02: the computation graph

def example_graph():
    "A small real graph: (loss, names of some of its tensors). `h` is used twice, so its gradient is a sum."
    from tinytorch.core.autograd import Tensor
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = Tensor(np.zeros(2), requires_grad=True)
    h = x @ w + b
    loss = (h * h).mean()
    return loss, {id(x): "x", id(w): "w", id(b): "b", id(h): "h", id(loss): "loss"}


def op_name(node):
    "The op that made `node`, from its backward function (`__mul__.<locals>.<lambda>` -> `mul`)."
    return node._backward.__qualname__.split(".")[0].strip("_")


def graph_nodes(root, names):
    """The graph of `root` as tinytorch recorded it, in topological order (what `backward()` walks reversed):
    a list of dicts with `label` (leaf: its name; op result: the op), `name` (from `names`, or None), `shape`,
    `leaf`, `backward` (the qualified name of the backward function) and `parents` (indices, one per edge)."""
    from tinytorch.core.autograd import topo_sort
    order = topo_sort(root)
    index = {id(n): i for i, n in enumerate(order)}
    nodes = []
    for n in order:
        leaf = not n._parents
        nodes.append({"label": names.get(id(n), "?") if leaf else op_name(n), "name": names.get(id(n)), "shape": tuple(n.shape), "leaf": leaf,
                      "backward": None if leaf else n._backward.__qualname__,
                      "parents": [index[id(p)] for p in n._parents if id(p) in index]})
    return nodes


def layout(nodes):
    "Column of each node: ops one right of their deepest parent, leaves one left of their first consumer."
    col = {}
    for i, n in enumerate(nodes):
        if not n["leaf"]:
            col[i] = 1 + max((col.get(p, 0) for p in n["parents"]), default=0)
    for i, n in enumerate(nodes):
        if n["leaf"]:
            consumers = [col[j] for j, m in enumerate(nodes) if i in m["parents"]]
            col[i] = min(consumers, default=1) - 1
    for i, n in enumerate(nodes):  # ops that only had leaves as parents were placed assuming leaves at 0
        if not n["leaf"]:
            col[i] = max(col[i], 1 + max((col[p] for p in n["parents"]), default=0))
    rows, pos = {}, {}
    for i in range(len(nodes)):
        rows.setdefault(col[i], []).append(i)
    for c, members in rows.items():
        for r, i in enumerate(members):
            pos[i] = (c * 2.1, 0.85 * ((len(members) - 1) / 2 - r))
    return pos


def draw_graph(nodes, path, title):
    pos = layout(nodes)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    fig = Figure(figsize=(1.6 + 1.25 * (max(xs) - min(xs)), 2.9))
    ax = fig.add_subplot(1, 1, 1)
    w, h = 0.75, 0.32
    for i, n in enumerate(nodes):
        seen = {}
        for p in n["parents"]:
            k = seen[p] = seen.get(p, 0) + 1
            twice = n["parents"].count(p) > 1
            rad = (0.35 if k == 1 else -0.35) if twice else 0.0
            (x0, y0), (x1, y1) = pos[p], pos[i]
            ax.annotate("", xy=(x1 - w, y1), xytext=(x0 + w, y0),
                        arrowprops=dict(arrowstyle="-|>", color="#444", lw=1.2, shrinkA=0, shrinkB=0,
                                        connectionstyle=f"arc3,rad={rad}"))
    for i, n in enumerate(nodes):
        x, y = pos[i]
        face, edge = ("#e8f1fb", "#3a6ea5") if n["leaf"] else ("#fdf0e0", "#c0772b")
        ax.add_patch(FancyBboxPatch((x - w, y - h), 2 * w, 2 * h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=face, ec=edge, lw=1.5))
        kind = "leaf" if n["leaf"] else f"backward #{len(nodes) - i}"
        text = n["label"] if n["leaf"] or not n["name"] else f"{n['name']} = {n['label']}"
        ax.text(x, y + 0.08, text, ha="center", va="center", fontsize=12, weight="bold", family="monospace")
        ax.text(x, y - 0.15, f"{n['shape']}  {kind}", ha="center", va="center", fontsize=7.5, color="#333")
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11, family="monospace")
    fig.text(0.5, 0.03, "blue: leaves, orange: op results (as tinytorch recorded them); arrows: _parents; #k: the order "
             "backward() visits the ops; h feeds mul twice, so its gradient is the sum of two terms",
             ha="center", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, path)


def autograd_figure(out):
    root, names = example_graph()
    return draw_graph(graph_nodes(root, names), out / "autograd_graph.png",
                      "h = x @ w + b;   loss = (h * h).mean()")


# ---------------------------------------------------------------- 12 / 16: attention heat maps

def show_char(c):
    return {" ": "␣", "\n": "↵"}.get(c, c)


def draw_attention(weights, chars, path, title, note, heads=None):
    "One heat map per head of `weights` (H, T, T) with the characters on both axes."
    heads = list(range(len(weights))) if heads is None else heads
    cols = min(len(heads), 2)
    rows = math.ceil(len(heads) / cols)
    T = weights.shape[-1]
    size = 0.11 * T + 1.2
    fig = Figure(figsize=(cols * size + 0.9, rows * size + 0.9))
    labels = [show_char(c) for c in chars]
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#f2f2f2")
    for k, hd in enumerate(heads):
        ax = fig.add_subplot(rows, cols, k + 1)
        future = np.triu(np.ones((T, T), dtype=bool), k=1) & (weights[hd] == 0)  # masked: shown blank
        im = ax.imshow(np.ma.masked_array(weights[hd], future), cmap=cmap, vmin=0.0, vmax=1.0,
                       interpolation="nearest")
        ax.set_xticks(range(T), labels, fontsize=7, family="monospace")
        ax.set_yticks(range(T), labels, fontsize=7, family="monospace")
        ax.tick_params(length=0, pad=1)
        ax.set_title(f"head {hd}", fontsize=9)
        if k % cols == 0:
            ax.set_ylabel("query (reads)", fontsize=8)
        if k // cols == rows - 1:
            ax.set_xlabel("key (is read)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.text(0.5, 0.01, note, ha="center", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 0.93, 0.97))
    cax = fig.add_axes((0.94, 0.25, 0.015, 0.5))
    fig.colorbar(im, cax=cax).ax.tick_params(labelsize=7)
    return save(fig, path, dpi=90)


def mha_attention(text, d_model=32, n_heads=4, seed=0):
    "Causal weights (H, T, T) of an untrained module-12 MultiHeadAttention on `text` (char embeddings + positions)."
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.attention import MultiHeadAttention
    from tinytorch.core.embeddings import Embedding, PositionalEncoding
    from tinytorch.core.tokenization import CharTokenizer
    tok = CharTokenizer(text)
    ids = np.asarray(tok.encode(text))[None]
    emb, pe = Embedding(tok.vocab_size, d_model, std=1.0, seed=seed), PositionalEncoding(len(text), d_model)
    attn = MultiHeadAttention(d_model, n_heads, causal=True, seed=seed + 1).eval()
    with no_grad():
        _, weights = attn(pe(emb(ids)), return_weights=True)
    return np.asarray(weights.data)[0]


def mha_figure(out):
    text = "to be or not to be"
    weights = mha_attention(text)
    return draw_attention(weights, text, out / "attention_mha.png",
                          "Module 12 MultiHeadAttention (4 heads, untrained, causal) on \"to be or not to be\"",
                          "random weights: only the structure means something (grey: masked future positions, "
                          "weight exactly 0; each row sums to 1)")


def tinygpt_attention(checkpoint, text):
    "(weights per layer: list of (H, T, T), step, config) of the TinyGPT in `checkpoint` reading `text`."
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.training import load_checkpoint
    from tinytorch.models.tinygpt import load_model
    model, tok = load_model(checkpoint)
    state = load_checkpoint(checkpoint)
    ids = np.asarray(tok.encode(text))[None]
    layers = []
    with no_grad():
        x = model.pos_emb(model.tok_emb(ids))
        for block in model.blocks:
            _, w = block.attn(block.ln1(x), return_weights=True)
            layers.append(np.asarray(w.data)[0])
            x = block(x)
    return layers, state, model.config


def tinygpt_figure(out, checkpoint):
    layers, state, cfg = tinygpt_attention(checkpoint, SHAKESPEARE_LINE)
    val = state["history"]["val_loss"][-1] if state["history"].get("val_loss") else None
    entropy = [float(-(w * np.log(np.where(w > 0, w, 1))).sum(-1).mean()) for w in layers]
    layer = int(np.argmin(entropy))  # the layer whose attention is most focused
    heads = list(range(min(4, layers[layer].shape[0])))
    title = (f"Trained TinyGPT (checkpoint at step {state['step']}" + (f", last validation loss {val:.2f}" if val else "") +
             f"): layer {layer + 1} of {len(layers)} (the most focused)")
    note = (f"{cfg['n_layers']} layers, {cfg['n_heads']} heads, d_model {cfg['d_model']}; read from {rel(checkpoint)}; "
            "rows: the character being predicted from, columns: characters it attends to")
    return draw_attention(layers[layer], SHAKESPEARE_LINE, out / "attention_tinygpt.png", title, note, heads)


# ---------------------------------------------------------------- milestones: loss curves

def load_runs(results):
    runs = []
    for p in sorted(Path(results).glob("*.json")):
        print(f"read {rel(p)}")
        runs.append(json.loads(p.read_text()))
    return runs


def vision_figure(out, runs):
    runs = [r for r in runs if r.get("metric") == "test_accuracy" and r.get("history")]
    if not runs:
        return None
    fig = Figure(figsize=(9, 3.6))
    loss_ax, acc_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for r in runs:
        ep = [row["epoch"] for row in r["history"]]
        line, = loss_ax.plot(ep, [row["loss"] for row in r["history"]], "o-", ms=3, label=r["name"])
        acc_ax.plot(ep, [row["val_accuracy"] for row in r["history"]], "o-", ms=3, color=line.get_color(),
                    label=f"{r['name']} (test {r['value']:.1%})")
    loss_ax.set(xlabel="epoch", ylabel="training loss (mean over the epoch)", yscale="log",
                title="Training loss")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.text(0.5, 0.01, "from milestones/results/*.json (full runs); regenerate with python book/make_figures.py",
             ha="center", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save(fig, out / "milestones_vision.png")


def matching_history(checkpoint, run):
    "The checkpoint's history if the checkpoint is the recorded run's (same steps and validation curve), else None."
    from tinytorch.core.training import load_checkpoint
    if not Path(checkpoint).is_file():
        return None
    state = load_checkpoint(checkpoint)
    hist = state.get("history", {})
    curve = [[s, round(v, 4)] for s, v in zip(hist.get("val_step", []), hist.get("val_loss", []))]
    if state.get("step") != run.get("steps") or curve != run.get("val_curve"):
        print(f"not using {rel(checkpoint)}: it is not the recorded run (step {state.get('step')} vs "
              f"{run.get('steps')}, or a different validation curve)")
        return None
    print(f"read {rel(checkpoint)} (the recorded run's training-loss history)")
    return hist


def tinygpt_loss_figure(out, runs):
    runs = [r for r in runs if r.get("metric") == "val_loss" and r.get("val_curve")]
    if not runs:
        return None
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    for r in runs:
        hist = matching_history(ROOT / r["checkpoint"], r) if r.get("checkpoint") else None
        if hist and hist.get("train_loss"):
            steps, losses = np.asarray(hist["step"]), np.asarray(hist["train_loss"])
            k = max(1, min(50, len(losses) // 20))
            ax.plot(steps[k - 1:], np.convolve(losses, np.ones(k) / k, mode="valid"), lw=1,
                    label=f"{r['name']}: train (mean of {k} steps)")
        s, v = zip(*r["val_curve"])
        ax.plot(s, v, "o-", ms=3, label=f"{r['name']}: validation (final {r['value']:.3f})")
        ax.axhline(r["target"], ls="--", lw=0.8, color="#888")
        ax.text(s[0], r["target"], f" target {r['target']}", va="bottom", fontsize=7, color="#666")
    ax.set(xlabel="step", ylabel="loss (nats/char)", title="TinyGPT on tiny-shakespeare")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.text(0.5, 0.01, "from milestones/results/tinygpt*.json; regenerate with python book/make_figures.py",
             ha="center", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save(fig, out / "milestones_tinygpt.png")


# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=FIGURES, help="folder to write the PNGs into (default book/figures)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help=f"a TinyGPT checkpoint for the attention figure (default {rel(CHECKPOINT)} if it exists)")
    p.add_argument("--results", type=Path, default=RESULTS, help="recorded milestone runs (default milestones/results)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    written = [autograd_figure(args.out), mha_figure(args.out)]
    checkpoint = args.checkpoint or CHECKPOINT
    if args.checkpoint is not None and not checkpoint.is_file():
        p.error(f"no checkpoint at {checkpoint}")
    if checkpoint.is_file():
        print(f"read {rel(checkpoint)}")
        try:
            written.append(tinygpt_figure(args.out, checkpoint))
        except (ImportError, ValueError, KeyError) as err:
            if args.checkpoint is not None:
                raise
            print(f"attention_tinygpt.png not written: {rel(checkpoint)} could not be used "
                  f"({type(err).__name__}: {err})")
    else:
        print(f"no TinyGPT checkpoint at {rel(checkpoint)}: attention_tinygpt.png not written "
              "(train one with `tito milestone run tinygpt`)")
    runs = load_runs(args.results) if Path(args.results).is_dir() else []
    for name, fig in [("milestones_vision.png", vision_figure(args.out, runs)),
                      ("milestones_tinygpt.png", tinygpt_loss_figure(args.out, runs))]:
        if fig is None:
            print(f"no recorded run in {rel(args.results)} for {name}: not written "
                  "(full milestone runs record them: tito milestone run NAME --full)")
        written.append(fig)
    return [w for w in written if w is not None]


if __name__ == "__main__":
    main()
    sys.exit(0)
