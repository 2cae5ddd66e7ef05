"""`tito generate`: sample text from a TinyGPT checkpoint (module 16, the capstone).

    tito generate --checkpoint milestones/runs/tinygpt/last.ckpt --prompt "ROMEO:" [--length 500]
                  [--temperature 0.8] [--top-k 40] [--top-p P] [--greedy] [--seed N] [--no-cache]

The checkpoint is what `LanguageModelTrainer.save` writes (the milestone writes milestones/runs/tinygpt/
last.ckpt): weights, model configuration and the character vocabulary. Sampling runs in a fresh Python
process with the course's own `tinytorch` (the student's package), like `tito test` and `tito milestone`.
"""
import argparse
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from .cli_support import make_console

console = make_console()


def sample(checkpoint, prompt, length, temperature, top_k, top_p, seed, use_cache, out=print):
    "Load the checkpoint with tinytorch.models.tinygpt and print the prompt's continuation; returns an exit code."
    from tinytorch.models.tinygpt import generate, load_model
    model, tok = load_model(checkpoint)
    if tok is None:
        out(f"error: {checkpoint} holds no tokenizer (it was saved by a trainer without one)")
        return 2
    missing = sorted({c for c in prompt if c not in tok.stoi})
    if missing:
        out(f"error: the prompt has characters the model never saw: {''.join(missing)!r}")
        return 2
    if not prompt:
        out("error: give a prompt of at least one character")
        return 2
    ids = generate(model, tok.encode(prompt), length, temperature=temperature, top_k=top_k, top_p=top_p,
                   seed=seed, use_cache=use_cache)
    out(tok.decode(ids))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="Sample from a TinyGPT checkpoint.")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--prompt", default="ROMEO:")
    p.add_argument("--length", type=int, default=500)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--no-cache", action="store_true")
    a = p.parse_args(argv)
    return sample(a.checkpoint, a.prompt, a.length, a.temperature, a.top_k, a.top_p, a.seed, not a.no_cache)


def generate_command(
        checkpoint: Path = typer.Option(..., "--checkpoint", help="a TinyGPT checkpoint, e.g. milestones/runs/tinygpt/last.ckpt"),
        prompt: str = typer.Option("ROMEO:", "--prompt", help="text to continue"),
        length: int = typer.Option(500, "--length", help="characters to generate"),
        temperature: float = typer.Option(0.8, "--temperature", help="0 is greedy; <1 safer, >1 wilder"),
        top_k: Optional[int] = typer.Option(40, "--top-k", help="sample among the k most likely characters (0: all)"),
        top_p: Optional[float] = typer.Option(None, "--top-p", help="nucleus sampling: the smallest set with probability >= p"),
        greedy: bool = typer.Option(False, "--greedy", help="always the most likely character (same as --temperature 0)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="a seed makes the sample reproducible"),
        no_cache: bool = typer.Option(False, "--no-cache", help="recompute the whole context every step (slow; same text)")):
    "Sample text from a TinyGPT checkpoint (the capstone's model) with your tinytorch."
    from . import course
    from .testing import course_env
    if not checkpoint.is_file():
        console.print(f"[red]error:[/red] no checkpoint at {checkpoint}; train one with "
                      "`tito milestone run tinygpt` (or `--quick`), which writes milestones/runs/tinygpt/")
        raise typer.Exit(2)
    try:
        root = course.find_root()
    except course.CourseError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2)
    cmd = [sys.executable, "-m", "tito.generate", "--checkpoint", str(checkpoint.resolve()), "--prompt", prompt,
           "--length", str(length), "--temperature", str(0.0 if greedy else temperature)]
    cmd += ["--top-k", str(top_k)] if top_k else []
    cmd += ["--top-p", str(top_p)] if top_p is not None else []
    cmd += ["--seed", str(seed)] if seed is not None else []
    cmd += ["--no-cache"] if no_cache else []
    raise typer.Exit(subprocess.run(cmd, cwd=root, env=course_env(root)).returncode)


if __name__ == "__main__":
    sys.exit(main())
