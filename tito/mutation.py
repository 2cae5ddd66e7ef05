"""Mutation testing of a module's graded cells: do the tests notice when a solution is wrong?

    python -m tito.mutation 01 02 16 [--jobs 2] [--json OUT]

Cosmic Ray's mutation operators (the maintained tool, used as a library) make one small change at a
time — `+` to `-`, `<` to `<=`, a number plus one, a loop that never runs, ... — inside the
`### BEGIN SOLUTION` / `### END SOLUTION` blocks of a module source only. For each mutant the module's
cells run in order, as the grader runs them (inline tests and hidden tests, see tito/cellrunner.py), with
the earlier modules' reference code coming from the installed package. A mutant is *killed* when a graded
cell that passes on the reference loses its points (fails, crashes or times out); otherwise it *survived*.

Speed: the cells before the mutated one are the same for every mutant of that cell, so they run once; the
run forks there (copy-on-write) and each child runs only the mutated cell and those after it, stopping at
the first graded cell that loses points. Each mutant runs in its own process, so no state leaks between them.

Equivalent mutants (a change that cannot alter behaviour, e.g. `>` vs `>=` where equality cannot happen)
are listed with a one-line reason in `bench/mutation_equivalent.yaml`; they count in neither column.
"""
import argparse
import contextlib
import copy
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# One BLAS thread per mutant process: forked children must not share a thread pool, and the machine is shared.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = ROOT / "bench" / "mutation_equivalent.yaml"

# Cosmic Ray operators used. Its full set replaces each binary operator by eleven others (mostly bit
# operations no student writes by mistake); these are the slips a student makes: a wrong arithmetic or
# comparison operator, an off-by-one number, a flipped flag or condition, a loop that does nothing.
OPERATORS = [
    "core/ReplaceBinaryOperator_Add_Sub", "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_Add", "core/ReplaceBinaryOperator_Mul_Div",
    "core/ReplaceBinaryOperator_Div_Mul", "core/ReplaceBinaryOperator_Pow_Mul",
    "core/ReplaceBinaryOperator_FloorDiv_Div", "core/ReplaceBinaryOperator_Mod_FloorDiv",
    "core/ReplaceComparisonOperator_Eq_NotEq", "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceComparisonOperator_Lt_LtE", "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_Gt_GtE", "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_Is_IsNot", "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceUnaryOperator_Delete_USub", "core/ReplaceUnaryOperator_Delete_Not",
    "core/ReplaceAndWithOr", "core/ReplaceOrWithAnd",
    "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue",
    "core/NumberReplacer", "core/AddNot", "core/ZeroIterationForLoop",
    "core/ReplaceBreakWithContinue", "core/ReplaceContinueWithBreak",
]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass
class Mutant:
    "One change to the source: which operator, where, and the mutated text."
    operator: str
    occurrence: int
    line: int                 # 1-based line of the change in the module source
    cell: int                 # index of the changed cell among the code cells
    source: str               # the changed cell's mutated source
    original_line: str
    mutated_line: str
    status: str = "pending"   # killed | survived | equivalent
    lost: list = field(default_factory=list)  # graded cells that lost points
    message: str = ""         # the error of the first graded cell that lost its points
    function: str = ""        # the function the change is in
    reason: str = ""          # why it is equivalent

    @property
    def key(self):
        "How bench/mutation_equivalent.yaml names this mutant: operator and the line before and after."
        return (self.operator, self.original_line.strip(), self.mutated_line.strip())

    @property
    def points_at_function(self):
        """Whether the failure a killed mutant causes leads the student to the function it changed: an assertion
        whose message names it, or an error raised while running it (its traceback shows the function)."""
        if self.status != "killed":
            return False
        return not self.message.startswith("AssertionError") or bool(self.function and self.function in self.message)

    def diff(self, name):
        old, new = self.original_line.rstrip("\n"), self.mutated_line.rstrip("\n")
        return f"{name}:{self.line} [{self.operator}]\n  - {old.strip()}\n  + {new.strip()}"


def solution_lines(text):
    "The 1-based numbers of the lines strictly inside `### BEGIN SOLUTION` / `### END SOLUTION` blocks."
    inside, lines = False, set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
        elif stripped == END:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def find_mutants(text, operators=OPERATORS):
    """Every mutant that an operator makes on a line inside a solution block of `text` (a percent source).

    Each code cell is mutated on its own (a cell is a few dozen lines, so parsing stays fast); a mutant
    records the cell it changes and that cell's mutated source."""
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    instances = [(name, get_operator(name)()) for name in operators]
    mutants, pos = [], 0
    for k, cell in enumerate(code_cells(text)):
        start = text.find(cell.source, pos)
        assert start >= 0, f"cell {k} is not verbatim in the source"
        first_line = text.count("\n", 0, start) + 1  # the file line of the cell's first source line
        pos = start + len(cell.source)
        inside = {n - first_line + 1 for n in solution_lines(text) if 0 <= n - first_line < cell.source.count("\n") + 1}
        if not inside:
            continue
        original = cell.source.splitlines(keepends=True)
        for name, operator in instances:
            positions = [p for node in ast_nodes(get_ast(cell.source)) for p, _ in operator.mutation_positions(node)]
            for occurrence, (line, _col) in enumerate(positions):
                if line not in inside:
                    continue
                mutated = mutate_code(cell.source, operator, occurrence)
                if mutated is None or mutated == cell.source:
                    continue
                changed = mutated.splitlines(keepends=True)
                at = next((i for i, (a, b) in enumerate(zip(original, changed)) if a != b), line - 1)
                mutants.append(Mutant(name, occurrence, first_line + at, k, mutated, original[at],
                                      changed[at] if at < len(changed) else "",
                                      function=enclosing_function(cell.source, at + 1) or ""))
    return sorted(mutants, key=lambda m: (m.line, m.operator, m.occurrence))


def code_cells(text):
    "The code cells of a percent-format source, as the grader sees them."
    import jupytext
    return [c for c in jupytext.reads(text, fmt="py:percent").cells if c.cell_type == "code"]


def _run_from(cells, start, namespace, filename, stop_on_loss, must_pass):
    """Run cells[start:] in `namespace`; {grade_id: error or None} for the graded ones. Stops at the first
    graded cell in `must_pass` that fails when `stop_on_loss` (a mutant is killed by then)."""
    from tito.cellrunner import run_cells
    graded = {}
    for offset, cell in enumerate(cells[start:]):
        (result,) = run_cells([cell], filename, namespace=namespace, first_index=start + offset)
        if result["graded"]:
            graded[result["grade_id"]] = result["error"]
            if stop_on_loss and result["error"] is not None and result["grade_id"] in must_pass:
                break
    return graded


def enclosing_function(cell_source, line):
    "The name of the innermost `def` above 1-based `line` of a cell (the function a mutant changes)."
    import re
    name = None
    for row in cell_source.splitlines()[:line]:
        found = re.match(r"\s*def (\w+)", row)
        if found:
            name = found.group(1)
    return name


def _child(write_fd, work):
    "In a forked child: silence output, run `work()`, send its JSON result, and exit without cleanup."
    status = 0
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        payload = json.dumps(work()).encode()
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:  # noqa: BLE001 — the parent reads a missing result as a crash
        status = 1
    os._exit(status)


class Pool:
    "At most `jobs` forked children at once; each returns a JSON value, or None if it crashed or ran too long."
    def __init__(self, jobs, timeout):
        self.jobs, self.timeout, self.running, self.results = jobs, timeout, {}, {}

    def submit(self, key, work):
        while len(self.running) >= self.jobs:
            self._reap(block=True)
        read_fd, write_fd = os.pipe()
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(write_fd, work)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.running[pid] = (key, read_fd, time.monotonic(), bytearray())

    def _drain(self, fd, buf):
        try:
            while chunk := os.read(fd, 65536):
                buf.extend(chunk)
        except BlockingIOError:
            pass

    def _reap(self, block):
        while True:
            for pid, (key, fd, started, buf) in list(self.running.items()):
                self._drain(fd, buf)
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done and time.monotonic() - started > self.timeout:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    buf.clear()
                    done = pid
                if done:
                    self._drain(fd, buf)
                    os.close(fd)
                    del self.running[pid]
                    self.results[key] = json.loads(buf) if buf else None
                    if block:
                        return
            if not block or not self.running:
                return
            time.sleep(0.02)

    def close(self):
        "Kill the children still running (the run was interrupted)."
        for pid, (_key, fd, _started, _buf) in list(self.running.items()):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        self.running.clear()

    def wait_all(self):
        while self.running:
            self._reap(block=True)
        return self.results


def load_equivalent(path=EQUIVALENT_FILE):
    "{(module, operator, line, mutated line): reason} from the reviewed list of equivalent mutants."
    import yaml
    if not Path(path).is_file():
        return {}
    entries = yaml.safe_load(Path(path).read_text()) or []
    return {(str(e["module"]), e["operator"], e["line"].strip(), e["mutated"].strip()): e["reason"] for e in entries}


def mutate_module(path, jobs=1, timeout=None, equivalent=None, module=None, operators=OPERATORS, functions=None):
    """Run every mutant of the module source at `path` against its graded cells.

    Returns a dict: module, baseline (grade_id -> passed), mutants (list of Mutant), seconds.
    `functions` (names) keeps only the mutants inside those functions, to re-check a fix quickly.
    """
    path = Path(path).resolve()
    module = module or path.parent.name.split("_")[0]
    equivalent = load_equivalent() if equivalent is None else equivalent
    text = path.read_text(encoding="utf-8")
    cells = code_cells(text)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"mutation-{module}-"))
    cwd, sys_path = os.getcwd(), list(sys.path)
    os.chdir(workdir)  # cells that write files write them here, not into the course
    sys.path.insert(0, str(path.parent))  # as a notebook kernel started in the module folder would have it
    try:
        # 1. The reference, in a child so this process starts the mutants from a clean state.
        base_pool = Pool(1, timeout or 3600)
        base_pool.submit("baseline", lambda: _run_from(cells, 0, {"__name__": "__main__"}, path, False, set()))
        baseline = base_pool.wait_all()["baseline"]
        if baseline is None:
            raise RuntimeError(f"{path}: the reference cells crashed or ran longer than the timeout")
        baseline = {gid: error is None for gid, error in baseline.items()}
        must_pass = {gid for gid, ok in baseline.items() if ok}
        limit = timeout or max(60.0, 3 * (time.perf_counter() - started))

        # 2. Mutants, forked at the cell they change.
        mutants = [m for m in find_mutants(text, operators) if not functions or m.function in functions]
        by_cell = {}
        for i, m in enumerate(mutants):
            reason = equivalent.get((module, *m.key))
            if reason:
                m.status, m.reason = "equivalent", reason
                continue
            by_cell.setdefault(m.cell, []).append(i)
        pool = Pool(jobs, limit)
        namespace = {"__name__": "__main__", "__file__": str(path)}
        from tito.cellrunner import run_cells
        try:
            for k, cell in enumerate(cells):
                for i in by_cell.get(k, []):
                    mutated_cells = cells[:k] + [copy.deepcopy(cell)] + cells[k + 1:]
                    mutated_cells[k].source = mutants[i].source
                    pool.submit(i, lambda mc=mutated_cells: _run_from(mc, k, namespace, path, True, must_pass))
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    run_cells([cell], path, namespace=namespace, first_index=k)  # the reference, quietly
            results = pool.wait_all()
        finally:
            pool.close()
        for i, m in enumerate(mutants):
            if m.status == "equivalent":
                continue
            graded = results.get(i)
            if graded is None:
                m.status, m.lost = "killed", ["(crashed or timed out)"]
                continue
            lost = [gid for gid, error in graded.items() if gid in must_pass and error is not None]
            m.lost, m.message = sorted(lost), (graded[lost[0]] if lost else "")
            m.status = "killed" if m.lost else "survived"
    finally:
        os.chdir(cwd)
        sys.path[:] = sys_path
        shutil.rmtree(workdir, ignore_errors=True)
    used = {(module, *m.key) for m in mutants if m.status == "equivalent"}
    stale = [] if functions else sorted(k for k in equivalent if k[0] == module and k not in used)
    return {"module": module, "path": str(path), "baseline": baseline, "mutants": mutants, "stale": stale,
            "seconds": round(time.perf_counter() - started, 1)}


def summary_row(result):
    ms = result["mutants"]
    killed = sum(m.status == "killed" for m in ms)
    survived = sum(m.status == "survived" for m in ms)
    equivalent = sum(m.status == "equivalent" for m in ms)
    score = killed / (killed + survived) if killed + survived else 1.0
    pointed = sum(m.points_at_function for m in ms)
    return {"module": result["module"], "mutants": len(ms), "killed": killed, "survived": survived,
            "equivalent": equivalent, "score": round(score, 3), "pointed": pointed, "seconds": result["seconds"]}


def report(results, out=sys.stdout, show_unpointed=False):
    "The table, then each module's survivors (with their diff) and equivalent mutants (with their reason)."
    rows = [summary_row(r) for r in results]
    print("| module | mutants | killed | survived | equivalent | killed of non-equivalent "
          "| killed, failure points at the function | seconds |", file=out)
    print("|---|---:|---:|---:|---:|---:|---:|---:|", file=out)
    for row in rows:
        print(f"| {row['module']} | {row['mutants']} | {row['killed']} | {row['survived']} | {row['equivalent']} "
              f"| {100 * row['score']:.1f}% | {row['pointed']} | {row['seconds']} |", file=out)
    for r in results:
        name = Path(r["path"]).name
        failing = sorted(gid for gid, ok in r["baseline"].items() if not ok)
        if failing:
            print(f"\n{r['module']}: WARNING the reference solution fails {failing}; these cells cannot kill mutants",
                  file=out)
        survivors = [m for m in r["mutants"] if m.status == "survived"]
        equivalents = [m for m in r["mutants"] if m.status == "equivalent"]
        if survivors:
            print(f"\n{r['module']}: {len(survivors)} survived", file=out)
            for m in survivors:
                print(m.diff(name), file=out)
        for key in r.get("stale", []):
            print(f"\n{r['module']}: stale entry in {EQUIVALENT_FILE.name} (no such mutant now): {key[1]} {key[3]}",
                  file=out)
        unpointed = [m for m in r["mutants"] if m.status == "killed" and not m.points_at_function]
        if show_unpointed and unpointed:
            print(f"\n{r['module']}: {len(unpointed)} killed by an assertion that does not name the function changed",
                  file=out)
            for m in unpointed:
                print(f"{m.diff(name)}\n  in {m.function or '?'}: {m.lost[0]}: {m.message.splitlines()[0][:160]}",
                      file=out)
        if equivalents:
            print(f"\n{r['module']}: {len(equivalents)} equivalent", file=out)
            for m in equivalents:
                print(f"{name}:{m.line} [{m.operator}] {m.mutated_line.strip()}  -- {m.reason}", file=out)
    return rows


def module_source(root, number):
    "modules/source/NN_*/NN's *_dev.py for a module number like '02'."
    matches = sorted((Path(root) / "modules" / "source").glob(f"{int(number):02d}_*/*_dev.py"))
    if not matches:
        raise SystemExit(f"no module {number}: expected modules/source/{int(number):02d}_<name>/<name>_dev.py")
    return matches[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="module numbers, e.g. 01 02 16")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 3x the reference run, >= 60)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--show-unpointed", action="store_true",
                        help="also list killed mutants whose failing assertion does not name the function changed")
    parser.add_argument("--functions", help="only mutants inside these functions (comma-separated names)")
    args = parser.parse_args(argv)
    functions = set(args.functions.split(",")) if args.functions else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `kill` runs the cleanup that ends the children
    results = [mutate_module(module_source(ROOT, n), jobs=args.jobs, timeout=args.timeout, functions=functions)
               for n in args.modules]
    rows = report(results, show_unpointed=args.show_unpointed)
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{**row, "survivors": [m.diff(Path(r["path"]).name) for m in r["mutants"] if m.status == "survived"]}
             for row, r in zip(rows, results)], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
