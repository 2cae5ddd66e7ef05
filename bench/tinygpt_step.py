"""TinyGPT: one training step of tinytorch against the same model in PyTorch eager, side by side in one
process; and generation speed with and without the KV cache.

    python bench/tinygpt_step.py [--repeats 7] [--threads N] [--json PATH] [--profile]

Step: the seed configuration (vocab 65, d_model 256, 4 layers, 4 heads, d_ff 1024, context 128, batch
32, dropout 0): forward, next-token cross-entropy, zero_grad, backward, AdamW update. Both frameworks
start from the same weights and see the same batch; PyTorch is written as a PyTorch user would
(nn.Linear, F.layer_norm, F.scaled_dot_product_attention with is_causal, F.gelu(tanh), F.cross_entropy).
Rounds alternate between the frameworks (module 15's `compare`), so load on a shared machine hits both
alike; medians over `--repeats` rounds, ratio tinytorch / PyTorch (target <= 1.2 at one thread, stretch
<= 1.0; <= 1.3 with two threads), and the ratio of every round.

Generation: the same model (untrained: speed does not depend on the weights) extends an 8-token prompt
by 256 tokens (temperature 1, a fixed seed) with `generate(..., use_cache=True)` and with
`use_cache=False`, alternating (3 cached runs, 2 uncached); tokens/s of the fastest run of each and the
speed-up (target >= 10). Both must produce the same tokens.

`--profile` adds module 14's op table for one tinytorch step, and a memory table: each op's time against
`np.copyto` moving the same bytes (its inputs read plus its output written) on this machine, and the
optimiser's update against a copy of its state (parameters, gradients, both moments).

The first lines printed say where the figures come from (CPU model, BLAS library and the kernel OpenBLAS
picked, per threadpoolctl): compare ratios only between runs of the same machine kind.
"""
import argparse
import os
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per framework (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS / torch threads (default: the libraries' own default, all cores)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--json", default=None, help="write the results as JSON here")
    p.add_argument("--profile", action="store_true", help="print module 14's profile of one tinytorch step")
    p.add_argument("--skip-generation", action="store_true")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: time each step by this thread's CPU time (needs --threads 1; steadier on a shared machine)")
    args = p.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        p.error("--clock cpu measures one thread's CPU time: use it with --threads 1")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads:  # before numpy loads OpenBLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.core.benchmarking import compare, env_line, environment, fmt_time  # noqa: E402
from tinytorch.core.optimizers import AdamW  # noqa: E402
from tinytorch.core.profiling import keep_freed_memory  # noqa: E402
from tinytorch.models.tinygpt import LanguageModelLoss, TinyGPT, generate  # noqa: E402

SEED_CONFIG = dict(vocab_size=65, d_model=256, n_layers=4, n_heads=4, d_ff=1024, dropout=0.0)
STEP_TARGET, STEP_STRETCH, STEP_TARGET_2_THREADS, CACHE_TARGET = 1.2, 1.0, 1.3, 10.0


def torch_gpt(tiny):
    "The same model in PyTorch, idiomatic eager code, initialised from `tiny`'s weights."
    import torch
    import torch.nn.functional as F
    from torch import nn

    cfg = tiny.config
    D, H = cfg["d_model"], cfg["n_heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc1, self.fc2 = nn.Linear(D, cfg["d_ff"]), nn.Linear(cfg["d_ff"], D)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, D))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(cfg["vocab_size"], D)
            self.pos = nn.Embedding(cfg["max_len"], D)
            self.blocks = nn.ModuleList(Block() for _ in range(cfg["n_layers"]))
            self.ln_f = nn.LayerNorm(D)

        def forward(self, ids):
            x = self.tok(ids) + self.pos.weight[: ids.shape[1]]
            for b in self.blocks:
                x = b(x)
            return self.ln_f(x) @ self.tok.weight.T  # tied output

    model = GPT()
    sd = tiny.state_dict()
    t = lambda a: torch.tensor(a)
    with torch.no_grad():
        model.tok.weight.copy_(t(sd["tok_emb.weight"]))
        model.pos.weight.copy_(t(sd["pos_emb.weight"]))
        for i, b in enumerate(model.blocks):
            p = f"blocks.{i}."
            for ln, name in ((b.ln1, "ln1"), (b.ln2, "ln2")):
                ln.weight.copy_(t(sd[p + name + ".gamma"]))
                ln.bias.copy_(t(sd[p + name + ".beta"]))
            for lin, name in ((b.qkv, "attn.qkv"), (b.proj, "attn.proj"), (b.fc1, "ffn.fc1"), (b.fc2, "ffn.fc2")):
                lin.weight.copy_(t(sd[p + name + ".weight"]).T)  # tinytorch stores (in, out), torch (out, in)
                lin.bias.copy_(t(sd[p + name + ".bias"]))
        model.ln_f.weight.copy_(t(sd["ln_f.gamma"]))
        model.ln_f.bias.copy_(t(sd["ln_f.beta"]))
    return model


def step_functions(batch, context, seed=0):
    "(tinytorch step, torch step, the first losses of each) for the seed configuration."
    import torch
    import torch.nn.functional as F
    tiny = TinyGPT(**SEED_CONFIG, max_len=context, seed=seed)
    ref = torch_gpt(tiny)
    ids = np.random.default_rng(seed).integers(0, SEED_CONFIG["vocab_size"], (batch, context))
    tids = torch.tensor(ids)
    loss_fn = LanguageModelLoss()
    opt = AdamW(tiny.parameters(), lr=1e-4)
    topt = torch.optim.AdamW(ref.parameters(), lr=1e-4, foreach=True)
    losses = {}

    def tiny_step():
        opt.zero_grad()
        loss = loss_fn(tiny(ids), ids)
        loss.backward()
        opt.step()
        losses.setdefault("tinytorch", float(loss.item()))

    def torch_step():
        topt.zero_grad(set_to_none=True)
        logits = ref(tids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tids[:, 1:].reshape(-1))
        loss.backward()
        topt.step()
        losses.setdefault("pytorch", float(loss.item()))

    return tiny, ids, tiny_step, torch_step, losses


def generation(new_tokens, seed=0):
    "tokens/s with and without the KV cache for the seed model (max_len 512), and whether the tokens agree."
    model = TinyGPT(**SEED_CONFIG, max_len=512, seed=seed)
    prompt = np.random.default_rng(seed).integers(0, SEED_CONFIG["vocab_size"], 8)
    out, secs = {}, {True: [], False: []}
    generate(model, prompt, 8, temperature=1.0, seed=1)  # pays one-off costs
    for cached in (True, False, True, False, True):      # alternating, fastest run of each (load hits both alike)
        t0 = time.perf_counter()
        out[cached] = generate(model, prompt, new_tokens, temperature=1.0, seed=1, use_cache=cached)
        secs[cached].append(time.perf_counter() - t0)
    secs = {k: min(v) for k, v in secs.items()}
    return {"new_tokens": new_tokens, "prompt_tokens": len(prompt),
            "cached_tokens_per_s": new_tokens / secs[True], "uncached_tokens_per_s": new_tokens / secs[False],
            "speedup": secs[False] / secs[True], "same_tokens": bool(np.array_equal(out[True], out[False]))}


def copy_ms(nbytes, repeats=5):
    "Fastest time in ms of np.copyto moving `nbytes` (half read, half written), as float32 arrays."
    n = max(int(nbytes) // 8, 1)
    src, dst = np.ones(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def memory_table(prof, opt_ms, opt_bytes):
    "Each op's forward and backward time per call against np.copyto of the bytes it must move at least."
    lines = [f"{'op':24}{'MB moved/call':>14}{'copy ms':>9}{'fwd ms':>9}{'x copy':>8}{'bwd ms':>9}{'x copy':>8}",
             "-" * 81]
    for st in sorted(prof.stats.values(), key=lambda s: s.time, reverse=True):
        if not st.calls or st.bytes_in + st.bytes_out == 0:
            continue
        moved = (st.bytes_in + st.bytes_out) / st.calls
        ref = copy_ms(moved)
        fwd = st.fwd_time * 1e3 / st.calls
        bwd = st.bwd_time * 1e3 / st.bwd_calls if st.bwd_calls else None
        lines.append(f"{st.name[:23]:24}{moved / 1e6:>14.2f}{ref:>9.3f}{fwd:>9.3f}{fwd / ref:>8.1f}"
                     + (f"{bwd:>9.3f}{bwd / ref:>8.1f}" if bwd is not None else f"{'-':>9}{'-':>8}"))
    ref = copy_ms(opt_bytes)
    lines.append(f"{'AdamW.step (all params)':24}{opt_bytes / 1e6:>14.2f}{ref:>9.3f}{opt_ms:>9.3f}{opt_ms / ref:>8.1f}"
                 f"{'-':>9}{'-':>8}")
    lines.append("x copy: the op's time over np.copyto's for the same bytes (1 = as fast as memory allows for an "
                 "element-wise op;\n"
                 "matrix products and attention are compute-bound, see GFLOP/s above)")
    return "\n".join(lines)


def main(args):
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    kept = keep_freed_memory()  # as the milestones do; PyTorch has its own caching allocator
    env = environment()
    print(f"TinyGPT training step, seed configuration: d_model 256, 4 layers, 4 heads, d_ff 1024, "
          f"context {args.context}, batch {args.batch}, vocab 65")
    print(env_line(env) + f"; torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"freed memory kept by glibc: {kept}")
    tiny, ids, tiny_step, torch_step, losses = step_functions(args.batch, args.context)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock} time")
    cmp = compare({"tinytorch": tiny_step, "pytorch": torch_step}, baseline="pytorch",
                  warmup=args.warmup, repeats=args.repeats, number=1, clock=clock)
    ratio = cmp.ratio("tinytorch")
    paired = np.percentile(cmp.paired_ratios("tinytorch"), [25, 50, 75])
    print(cmp.table())
    rounds = cmp.paired_ratios("tinytorch")
    threads = args.threads or torch.get_num_threads()
    target = STEP_TARGET if threads == 1 else STEP_TARGET_2_THREADS
    print(f"first-step loss: tinytorch {losses['tinytorch']:.6f}, pytorch {losses['pytorch']:.6f}")
    print("ratio of each round (tinytorch / pytorch): " + " ".join(f"{r:.3f}" for r in rounds))
    print(f"step: tinytorch {fmt_time(cmp['tinytorch'].median)}, pytorch {fmt_time(cmp['pytorch'].median)}: "
          f"ratio {ratio:.2f}x (paired rounds: median {paired[1]:.2f}, q1-q3 {paired[0]:.2f}-{paired[2]:.2f}); "
          f"target <= {target} at {threads} thread(s): {'met' if ratio <= target else 'MISSED'}"
          + (f"; stretch <= {STEP_STRETCH}: {'met' if ratio <= STEP_STRETCH else 'not met'}" if threads == 1 else ""))
    result = {"step": {"config": dict(SEED_CONFIG, context=args.context, batch=args.batch),
                       "tinytorch_median_s": cmp["tinytorch"].median, "pytorch_median_s": cmp["pytorch"].median,
                       "tinytorch_times": cmp["tinytorch"].times, "pytorch_times": cmp["pytorch"].times,
                       "ratio": ratio, "paired_ratio_quartiles": paired.tolist(), "round_ratios": rounds,
                       "target": target,
                       "first_losses": losses},
              "environment": env, "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "load_average": os.getloadavg(), "command": "python bench/tinygpt_step.py " + " ".join(sys.argv[1:])}
    if args.profile:
        from tinytorch.core.profiling import Profiler
        from tinytorch.models.tinygpt import LanguageModelLoss as LML
        with Profiler() as prof:
            tiny.zero_grad()
            LML()(tiny(ids), ids).backward()
        print(prof.table())
        opt = AdamW(tiny.parameters(), lr=1e-4)
        opt.step()                                             # creates the moments
        t0 = time.perf_counter()
        opt.step()
        opt_ms = (time.perf_counter() - t0) * 1e3
        # AdamW reads parameter, gradient and both moments and writes parameter and both moments
        opt_bytes = sum(7 * p.data.nbytes for p in tiny.parameters())
        print(memory_table(prof, opt_ms, opt_bytes))
    if not args.skip_generation:
        g = generation(args.new_tokens)
        print(f"generation, {g['new_tokens']} new tokens after a {g['prompt_tokens']}-token prompt: "
              f"{g['cached_tokens_per_s']:.0f} tokens/s with the KV cache, {g['uncached_tokens_per_s']:.0f} without: "
              f"{g['speedup']:.1f}x (target >= {CACHE_TARGET}: {'met' if g['speedup'] >= CACHE_TARGET else 'MISSED'}); "
              f"same tokens: {g['same_tokens']}")
        result["generation"] = dict(g, target=CACHE_TARGET)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    ok = ratio <= target and (args.skip_generation or result["generation"]["speedup"] >= CACHE_TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(ARGS))
