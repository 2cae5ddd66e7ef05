"""Autograding throughput: N generated submissions of one module graded with 1 job and with 2, side by side.

    python bench/grading.py                 # 100 submissions of module 01, jobs 1 and 2
    python bench/grading.py --n 40 --jobs 1 2 4 --module 01

Each submission is graded as `tito nbgrader autograde` does it: its own runner process, its own sandboxed
kernel (bubblewrap where available) and working copy, results written to one SQLite gradebook by the grading
process. The submissions are the module's release notebook with a varying number of implementation cells
completed from the reference (so scores spread from 0 to full), a few with a wrong answer. The same
submissions are graded once per job count, each time in a fresh copy of the course.
"""
import argparse
import copy
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tito.grading import autograde as safe, course as course_folder, pipeline, sandbox  # noqa: E402
from tito import course as course_lib  # noqa: E402


def submissions(source, release, n):
    "n notebooks: the first k implementation cells completed, k cycling through 0..all; every 7th one wrong."
    import re
    line = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
    ref = {(c["metadata"].get("nbgrader") or {}).get("grade_id"): c for c in source["cells"]}
    impl = [c["metadata"]["nbgrader"]["grade_id"] for c in release["cells"]
            if c["cell_type"] == "code" and (c["metadata"].get("nbgrader") or {}).get("solution")]
    out = []
    for i in range(n):
        nb = copy.deepcopy(release)
        done = set(impl[: i % (len(impl) + 1)])
        for cell in nb["cells"]:
            gid = (cell["metadata"].get("nbgrader") or {}).get("grade_id")
            if gid in done:
                cell["source"] = "\n".join(l for l in "".join(ref[gid]["source"]).splitlines() if not line.match(l))
                if i % 7 == 3 and gid == impl[len(done) - 1]:
                    cell["source"] += "\n\n# a wrong answer\nraise ValueError('not quite')\n"
        out.append(nb)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="submissions (default 100)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="job counts to compare (default 1 2)")
    ap.add_argument("--module", default="01", help="module number (default 01)")
    args = ap.parse_args(argv)
    mod = course_lib.select(ROOT, args.module)[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        base = tmp / "base"
        course_folder.init_course(ROOT, str(base))
        (gen,) = pipeline.generate(ROOT, str(base), modules=[mod.slug])
        assert gen.ok, gen.detail
        c = course_folder.open_course(ROOT, str(base))
        source, release = (json.loads(p.read_text()) for p in (c.source_nb(mod.slug), c.release_nb(mod.slug)))
        for i, nb in enumerate(submissions(source, release, args.n)):
            d = base / "submitted" / f"student{i:03d}" / mod.slug
            d.mkdir(parents=True)
            (d / f"{mod.slug}.ipynb").write_text(json.dumps(nb))
        mode, warning = sandbox.resolve_mode(course_folder.settings(ROOT)["sandbox"])
        print(f"{args.n} submissions of {mod.slug}, sandbox: {mode}{' (' + warning + ')' if warning else ''}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}")
        results = []
        for jobs in args.jobs:
            cdir = tmp / f"jobs{jobs}"
            shutil.copytree(base, cdir)
            t0 = time.perf_counter()
            report = safe.autograde(ROOT, str(cdir), mod.slug, jobs=jobs)
            seconds = time.perf_counter() - t0
            scores = sorted(o.score for o in report.outcomes)
            graded = sum(o.outcome == safe.GRADED for o in report.outcomes)
            results.append((jobs, seconds, graded, scores))
            print(f"  jobs={jobs}: {seconds:.1f} s, {graded}/{len(report.outcomes)} graded", flush=True)
        assert len({tuple(r[3]) for r in results}) == 1, "the job counts gave different scores"
        base_rate = None
        print(f"\n{'jobs':>4}  {'seconds':>8}  {'submissions/min':>15}  {'speed-up':>8}")
        for jobs, seconds, graded, _ in results:
            rate = args.n / seconds * 60
            base_rate = base_rate or rate
            print(f"{jobs:>4}  {seconds:>8.1f}  {rate:>15.1f}  {rate / base_rate:>7.2f}x")
        print(f"\nscores: min {results[0][3][0]:g}, median {results[0][3][len(results[0][3]) // 2]:g}, "
              f"max {results[0][3][-1]:g} (identical for every job count)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
