"""Time one training step of tinytorch against the same model in PyTorch, side by side in one process.

    python bench/train_step.py [--repeats 7] [--steps 10] [--threads N]

A step is forward, cross-entropy, zero_grad, backward and an SGD (momentum 0.9) update. Models:
an MLP 784-256-128-10 on a batch of 128, and LeNet-5 (conv 6@5x5, pool, conv 16@5x5, pool,
120-84-10, ReLU) on a batch of 64 images of 3x32x32. Both frameworks start from the same weights
and see the same batch. Rounds alternate between the frameworks (so load on a shared machine hits
both alike); each round times `--steps` steps and the median over `--repeats` rounds is reported,
with the ratio tinytorch / PyTorch (lower is better; 1.0 = as fast as PyTorch) and the ratio of every round.
Targets at one thread: MLP <= 1.0, LeNet-5 <= 1.5. The first line says where the figures come from (CPU
model, BLAS library and the kernel OpenBLAS picked, per threadpoolctl).
"""
import argparse
import os
import sys
import time

TARGETS = {"mlp": 1.0, "lenet5": 1.5}  # one thread: tinytorch step time at most this many times PyTorch's


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per model and framework (median reported)")
    p.add_argument("--steps", type=int, default=10, help="training steps per round")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS / torch threads (default: the libraries' own default, all cores)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: time by this thread's CPU time (needs --threads 1; steadier on a shared machine)")
    args = p.parse_args(argv)
    if args.clock == "cpu" and args.threads != 1:
        p.error("--clock cpu measures one thread's CPU time: use it with --threads 1")
    return args


ARGS = parse_args()
if ARGS.threads:  # must be set before numpy loads OpenBLAS
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.autograd import Tensor  # noqa: E402
from tinytorch.core.benchmarking import env_line, environment  # noqa: E402
from tinytorch.core.layers import Linear, Sequential  # noqa: E402
from tinytorch.core.losses import cross_entropy  # noqa: E402
from tinytorch.core.optimizers import SGD  # noqa: E402
from tinytorch.core.profiling import keep_freed_memory  # noqa: E402
from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d  # noqa: E402


def tiny_models():
    mlp = Sequential(Linear(784, 256, init="he", seed=0), ReLU(), Linear(256, 128, init="he", seed=1), ReLU(),
                     Linear(128, 10, seed=2))
    lenet = Sequential(Conv2d(3, 6, 5, seed=0), ReLU(), MaxPool2d(2), Conv2d(6, 16, 5, seed=1), ReLU(), MaxPool2d(2),
                       Flatten(), Linear(400, 120, init="he", seed=2), ReLU(), Linear(120, 84, init="he", seed=3),
                       ReLU(), Linear(84, 10, seed=4))
    return {"mlp": mlp, "lenet5": lenet}


def torch_copy(name, tiny):
    "The same architecture in PyTorch with the same initial weights."
    import torch
    from torch import nn
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                              nn.ReLU(), nn.Linear(84, 10))
    ours = [p.data for p in tiny.parameters()]
    with torch.no_grad():
        for p, w in zip(model.parameters(), ours):
            # tinytorch's Linear weight is (in, out), torch's (out, in)
            p.copy_(torch.from_numpy(w.T.copy() if w.ndim == 2 else w))
    return model


def batch(name, rng):
    shape = (128, 784) if name == "mlp" else (64, 3, 32, 32)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0])


def tiny_step_fn(model, x, y):
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt = Tensor(x)

    def step():
        loss = cross_entropy(model(xt), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def torch_step_fn(model, x, y):
    import torch
    import torch.nn.functional as F
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def time_round(step, steps):
    clock = time.thread_time if ARGS.clock == "cpu" else time.perf_counter
    start = clock()
    for _ in range(steps):
        step()
    return (clock() - start) / steps


def main():
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and ARGS.threads:
        torch.set_num_threads(ARGS.threads)
    kept = keep_freed_memory()  # as the milestones do; PyTorch has its own caching allocator
    print(env_line(environment()))
    print(f"torch {torch.__version__ if torch else 'not installed'}, threads: {ARGS.threads or 'default'} "
          f"(torch uses {torch.get_num_threads() if torch else '-'}), clock: {ARGS.clock} time, "
          f"freed memory kept by glibc: {kept}, "
          f"load average at start {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    rows = []
    for name, tiny in tiny_models().items():
        x, y = batch(name, rng)
        steps = {"tinytorch": tiny_step_fn(tiny, x, y)}
        if torch is not None:
            steps["pytorch"] = torch_step_fn(torch_copy(name, tiny), x, y)
            first = {k: s() for k, s in steps.items()}  # one step each from the same weights
            if abs(first["tinytorch"] - first["pytorch"]) > 1e-3 * max(1.0, abs(first["pytorch"])):
                sys.exit(f"{name}: the first losses differ ({first}): the two models are not the same")
        for s in steps.values():  # warm-up
            time_round(s, 3)
        times = {k: [] for k in steps}
        for _ in range(ARGS.repeats):
            for k, s in steps.items():
                times[k].append(time_round(s, ARGS.steps))
        med = {k: float(np.median(v)) for k, v in times.items()}
        rows.append((name, med))
        if "pytorch" in times:
            print(f"{name}: ratio of each round (tinytorch / pytorch): "
                  + " ".join(f"{a / b:.3f}" for a, b in zip(times["tinytorch"], times["pytorch"])))
    print(f"\n{'model':8} {'tinytorch ms':>13} {'pytorch ms':>11} {'ratio':>7} {'target':>7}")
    for name, med in rows:
        ours, theirs = med["tinytorch"] * 1e3, med.get("pytorch")
        ratio = f"{med['tinytorch'] / theirs:7.2f}" if theirs else "    n/a"
        theirs = f"{theirs * 1e3:11.2f}" if theirs else "        n/a"
        print(f"{name:8} {ours:13.2f} {theirs} {ratio} {'<= ' + str(TARGETS[name]):>7}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
