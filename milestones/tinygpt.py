"""Milestone tinygpt (the capstone): a character-level GPT on tiny-shakespeare, built only from tinytorch.

    python milestones/tinygpt.py [--quick | --full] [--config default|stretch] [--seed N] [--fallback]

Trains `TinyGPT` (module 16) on the first 90% of tiny-shakespeare and reports the loss in nats per
character on *every* character of the last 10% (target <= 1.70 within 15 minutes on a 2-core CPU;
`--config stretch`: <= 1.55 within 30 minutes). Prints train/validation loss as it goes, writes a
checkpoint (milestones/runs/tinygpt/last.ckpt, stretch.ckpt or quick.ckpt, for `tito generate`) and
prints samples. `--full` also
records the run in milestones/results/tinygpt.json with the samples and the loss curve.

The learning-rate schedule is planned in steps: after a few steps the script measures its speed and
sets the number of steps that fits the time budget (and re-plans at each evaluation if the machine
slows down or speeds up). `--steps N` fixes the number instead (exactly reproducible with `--seed`).

Without tiny-shakespeare in the data folder it says how to fetch it; `--fallback` then trains on the
text every Python install carries (the `pydoc_data` help topics) and says so (never recorded).
"""
import common  # first: sets the BLAS thread count before numpy loads (default 1; --threads N)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.core.dataloader import data_dir  # noqa: E402
from tinytorch.core.tokenization import CharTokenizer  # noqa: E402
from tinytorch.models.tinygpt import (LanguageModelTrainer, TinyGPT, embedded_corpus, generate_text,  # noqa: E402
                                      unigram_entropy)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RUNS = HERE / "runs" / "tinygpt"
NAME = "tinygpt"

# Model and recipe per configuration. `budget` is the wall-clock limit of the whole run (data, training,
# evaluations, the final full validation pass); `target` is the validation loss to reach (nats/char).
CONFIGS = {
    "default": dict(d_model=128, n_layers=4, n_heads=4, d_ff=512, context=64, batch_size=64, lr=2e-3,
                    min_lr=2e-4, warmup_steps=100, weight_decay=0.1, dropout=0.0, grad_clip=1.0,
                    eval_every=250, eval_batches=8, budget=15 * 60, target=1.70),
    "stretch": dict(d_model=192, n_layers=4, n_heads=4, d_ff=768, context=64, batch_size=64, lr=2e-3,
                    min_lr=2e-4, warmup_steps=100, weight_decay=0.1, dropout=0.0, grad_clip=1.0,
                    eval_every=250, eval_batches=8, budget=30 * 60, target=1.55),
    "quick": dict(d_model=64, n_layers=2, n_heads=4, d_ff=256, context=64, batch_size=32, lr=3e-3,
                  min_lr=3e-4, warmup_steps=30, weight_decay=0.1, dropout=0.0, grad_clip=1.0,
                  eval_every=100, eval_batches=4, budget=90, target=2.30),
}
FINAL_EVAL_RESERVE = 0.04   # fraction of the budget kept for the final pass over the validation text
CALIBRATION_STEPS = 20      # steps timed before the number of steps is planned


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Milestone tinygpt: train TinyGPT on tiny-shakespeare, report the "
                                "validation loss (nats/char) against the target, print samples.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="a 1-2 minute run of a small model that ends with generated text; not the milestone")
    mode.add_argument("--full", action="store_true", help="record the run in milestones/results/tinygpt.json")
    p.add_argument("--config", choices=["default", "stretch"], default="default",
                   help="default: <= 1.70 in 15 min; stretch: a bigger model, <= 1.55 in 30 min")
    p.add_argument("--seed", type=int, default=0, help="seed for the initialisation, batches and samples")
    p.add_argument("--threads", type=int, default=common.THREADS, help="BLAS threads (default 1)")
    p.add_argument("--steps", type=int, default=None, help="a fixed number of steps instead of filling the budget")
    p.add_argument("--budget", type=float, default=None, help="seconds for the whole run (default: the config's)")
    p.add_argument("--fallback", action="store_true",
                   help="without tiny-shakespeare, train on the embedded pydoc corpus (said in the output)")
    p.add_argument("--data", type=Path, default=None, help="a text file to train on instead (not the milestone)")
    p.add_argument("--resume", action="store_true",
                   help="continue from this configuration's checkpoint in milestones/runs/tinygpt/")
    p.add_argument("--prompt", default="ROMEO:", help="prompt of the printed samples")
    return p.parse_args(argv)


def shakespeare_path():
    return data_dir() / "tinyshakespeare" / "input.txt"


def load_text(args, log):
    "(text, corpus name, is the milestone's data) per the arguments; None when there is nothing to train on."
    if args.data is not None:
        return args.data.read_text(encoding="utf-8"), str(args.data), False
    path = shakespeare_path()
    if path.is_file():
        return path.read_text(encoding="utf-8"), "tiny-shakespeare", True
    log(f"tiny-shakespeare not found at {path}.\n"
        f"  fetch it with:  tito data fetch shakespeare   (or set TINYTORCH_DATA to the folder holding tinyshakespeare/)")
    if not args.fallback:
        log("  or rerun with --fallback to train on the embedded corpus (Python's help text) instead.")
        return None
    log("--fallback: training on the embedded corpus (pydoc_data topics, ~460k characters of Python's help text), "
        "NOT on Shakespeare; the result is not the milestone and is not recorded.")
    return embedded_corpus(), "pydoc_data topics (fallback)", False


def plan_steps(trainer, elapsed_run, budget, per_step, per_eval):
    "How many steps in total fit the remaining budget at `per_step` seconds a step (+ evaluations)."
    remaining = budget * (1 - FINAL_EVAL_RESERVE) - elapsed_run
    evals_per_step = 1 / trainer.eval_every if trainer.eval_every else 0
    more = remaining / (per_step + per_eval * evals_per_step)
    return max(trainer.step + 1, trainer.step + int(more))


def set_total_steps(trainer, total):
    "Re-plan the cosine schedule for `total` steps (the warm-up is unaffected)."
    total = max(total, trainer.scheduler.warmup_steps)
    trainer.total_steps = total
    trainer.scheduler.total_steps = total


def train(trainer, cfg, args, budget, run_start, log):
    "Fill the budget (or run --steps): calibrate, plan, and re-plan at each evaluation; returns steps run."
    if args.steps:
        set_total_steps(trainer, args.steps)
        trainer.fit(steps=max(0, args.steps - trainer.step), time_budget=budget * (1 - FINAL_EVAL_RESERVE) -
                    (time.perf_counter() - run_start))
        return
    if trainer.step == 0:
        trainer.eval_every, every = 0, trainer.eval_every      # no evaluation and no progress line while calibrating
        trainer.log, log_fn = None, trainer.log
        t0 = time.perf_counter()
        trainer.fit(steps=CALIBRATION_STEPS)
        per_step = (time.perf_counter() - t0) / CALIBRATION_STEPS
        trainer.eval_every, trainer.log = every, log_fn
    else:
        t0 = time.perf_counter()
        trainer.fit(steps=5)
        per_step = (time.perf_counter() - t0) / 5
    t0 = time.perf_counter()
    trainer.history["val_step"].append(trainer.step)
    trainer.history["val_loss"].append(trainer.evaluate())
    per_eval = time.perf_counter() - t0
    total = plan_steps(trainer, time.perf_counter() - run_start, budget, per_step, per_eval)
    set_total_steps(trainer, total)
    log(f"measured {per_step:.3f} s/step and {per_eval:.1f} s per evaluation: planning {total} steps "
        f"({total * cfg['batch_size'] * cfg['context'] / 1e6:.1f} M tokens) for the {budget / 60:.1f}-minute budget")
    while trainer.step < trainer.total_steps:
        chunk_start, chunk_step = time.perf_counter(), trainer.step
        deadline = budget * (1 - FINAL_EVAL_RESERVE) - (chunk_start - run_start)
        if deadline <= 1:
            log(f"time budget used up at step {trainer.step} of {trainer.total_steps}")
            break
        n = min(trainer.eval_every or trainer.total_steps, trainer.total_steps - trainer.step)
        trainer.fit(steps=n, time_budget=deadline)
        done = trainer.step - chunk_step
        if trainer.step >= trainer.total_steps or done < n:
            break
        per_step = (time.perf_counter() - chunk_start - per_eval) / max(done, 1)
        progress = (trainer.step - trainer.scheduler.warmup_steps) / max(trainer.total_steps - trainer.scheduler.warmup_steps, 1)
        if progress < 0.8:  # re-plan to the measured speed; late changes would jolt the schedule
            new_total = plan_steps(trainer, time.perf_counter() - run_start, budget, per_step, per_eval)
            if abs(new_total - trainer.total_steps) > 0.02 * trainer.total_steps:
                log(f"re-planning: {per_step:.3f} s/step now, {new_total} steps in total (was {trainer.total_steps})")
                set_total_steps(trainer, new_total)


def samples(model, tok, prompt, seed, n_chars):
    "Two samples: temperature 0.8 with top-k 40, and nucleus (top-p 0.9)."
    if any(c not in tok.stoi for c in prompt):
        prompt = tok.itos[-1]
    return [("temperature 0.8, top-k 40", generate_text(model, tok, prompt, n_chars, temperature=0.8, top_k=40, seed=seed)),
            ("top-p 0.9", generate_text(model, tok, prompt, n_chars, temperature=1.0, top_p=0.9, seed=seed + 1))]


def run(args, log=print):
    run_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    loaded = load_text(args, log)
    if loaded is None:
        return None
    text, corpus, is_milestone = loaded
    name = "quick" if args.quick else args.config
    cfg = dict(CONFIGS[name])
    budget = args.budget if args.budget is not None else cfg["budget"]
    tok = CharTokenizer(text)
    ids = tok.encode(text)
    n_train = int(round(0.9 * len(ids)))
    log(f"{NAME} [{name}]: {corpus}, {len(text):,} characters, vocabulary {tok.vocab_size}; "
        f"train on the first {n_train:,}, validate on the last {len(ids) - n_train:,} "
        f"(unigram entropy of the training part: {unigram_entropy(ids[:n_train]):.3f} nats/char)")
    model = TinyGPT(tok.vocab_size, d_model=cfg["d_model"], n_layers=cfg["n_layers"], n_heads=cfg["n_heads"],
                    d_ff=cfg["d_ff"], max_len=cfg["context"], dropout=cfg["dropout"], seed=args.seed)
    log(f"TinyGPT: d_model {cfg['d_model']}, {cfg['n_layers']} layers, {cfg['n_heads']} heads, d_ff {cfg['d_ff']}, "
        f"context {cfg['context']}, {model.num_parameters():,} parameters; batch {cfg['batch_size']}, "
        f"AdamW lr {cfg['lr']} (warm-up {cfg['warmup_steps']}, cosine to {cfg['min_lr']}), "
        f"seed {args.seed}, {common.THREADS} BLAS thread(s), budget {budget / 60:.1f} min"
        + ("  [--quick: not the milestone]" if args.quick else ""))
    RUNS.mkdir(parents=True, exist_ok=True)
    ckpt = RUNS / {"quick": "quick.ckpt", "default": "last.ckpt", "stretch": "stretch.ckpt"}[name]
    trainer = LanguageModelTrainer(model, ids, context=cfg["context"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                                   min_lr=cfg["min_lr"], warmup_steps=cfg["warmup_steps"],
                                   total_steps=args.steps or 10 ** 6, weight_decay=cfg["weight_decay"],
                                   grad_clip=cfg["grad_clip"], eval_every=cfg["eval_every"],
                                   eval_batches=cfg["eval_batches"], log_every=50, checkpoint=ckpt,
                                   tokenizer=tok, seed=args.seed, log=log)
    if args.resume:
        trainer.resume(ckpt)
        log(f"resumed from {ckpt} at step {trainer.step}")
    train(trainer, cfg, args, budget, run_start, log)
    trainer.save(ckpt)
    t0 = time.perf_counter()
    val = trainer.evaluate_full()
    log(f"validation loss on all {len(trainer.val_ids) - 1:,} held-out characters: {val:.4f} nats/char "
        f"(perplexity {math.exp(val):.2f}; {time.perf_counter() - t0:.1f}s)")
    wall = time.perf_counter() - run_start
    texts = samples(model, tok, args.prompt, args.seed, 300 if args.quick else 500)
    for label, sample in texts:
        log(f"\n--- sample ({label}) ---\n{sample}")
    target = cfg["target"]
    reached = bool(val <= target and wall <= budget * 1.02)
    train_tokens = trainer.step * cfg["batch_size"] * cfg["context"]
    summary = {
        "name": NAME if name == "default" else f"{NAME}-{name}", "metric": "val_loss", "unit": "nats/char",
        "value": round(val, 4), "target": target, "reached": reached, "config": name,
        "corpus": corpus, "milestone_data": is_milestone, "seed": args.seed,
        "wall_seconds": round(wall, 1), "budget_seconds": budget, "train_seconds": round(trainer.seconds, 1),
        "steps": trainer.step, "train_tokens": train_tokens,
        "tokens_per_second": round(train_tokens / max(trainer.seconds, 1e-9), 1),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python " + " ".join(shlex.quote(a) for a in ["milestones/tinygpt.py"] + sys.argv[1:]),
        "numpy": np.__version__, "blas": common.blas_info(), "threads": common.THREADS, "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "model": {k: cfg[k] for k in ("d_model", "n_layers", "n_heads", "d_ff", "dropout")} | {
            "context": cfg["context"], "vocab_size": tok.vocab_size, "parameters": model.num_parameters()},
        "recipe": {k: cfg[k] for k in ("batch_size", "lr", "min_lr", "warmup_steps", "weight_decay", "grad_clip",
                                       "eval_every", "eval_batches")},
        "val_curve": [[s, round(v, 4)] for s, v in zip(trainer.history["val_step"], trainer.history["val_loss"])],
        "samples": [{"kind": label, "prompt": args.prompt, "text": s} for label, s in texts],
        "checkpoint": str(ckpt.relative_to(HERE.parent)),
    }
    status = "reached" if reached else "NOT reached"
    log(f"\n{summary['name']}: validation loss {val:.4f} nats/char (target <= {target}: {status}) in "
        f"{wall:.0f}s ({wall / 60:.1f} min, budget {budget / 60:.1f} min), {trainer.step} steps, "
        f"{summary['tokens_per_second']:,.0f} tokens/s, seed {args.seed}"
        + ("  [--quick: a smoke run, not the milestone]" if args.quick else "")
        + ("" if is_milestone else f"  [trained on {corpus}: not the milestone]"))
    log(f"checkpoint: {ckpt}  (sample more: tito generate --checkpoint {ckpt} --prompt \"ROMEO:\")")
    return summary, trainer


def main(argv=None):
    args = parse_args(argv)
    out = run(args)
    if out is None:
        return 2
    summary, trainer = out
    if args.full:
        if not summary["milestone_data"]:
            print("not recorded: --full records only runs on tiny-shakespeare")
            return 1
        RESULTS.mkdir(exist_ok=True)
        stem = summary["name"]
        (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
        (RESULTS / f"{stem}_samples.txt").write_text(
            "".join(f"--- {s['kind']} (prompt {s['prompt']!r}, seed {summary['seed']}) ---\n{s['text']}\n\n"
                    for s in summary["samples"]))
        trainer.plot(RESULTS / f"{stem}_loss.png",
                     title=f"TinyGPT on tiny-shakespeare: val {summary['value']:.3f} in {summary['wall_seconds'] / 60:.1f} min")
        print(f"wrote milestones/results/{stem}.json, {stem}_samples.txt and {stem}_loss.png")
    return 0 if summary["reached"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
