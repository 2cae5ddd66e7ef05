"""Run one notebook in an isolated, resource-limited kernel, cell by cell, and record exactly what happened.

The kernel runs under bubblewrap (`bwrap`, Debian package `bubblewrap`): new user, pid, network, ipc and
mount namespaces, an unprivileged uid, a read-only view of only the Python install, the reference `tinytorch`
and the data folder, a writable working copy (its current folder), a small private /tmp, and nothing else:
no other submission, no course folder (source and release notebooks, gradebook), no network. The grader
talks to it over ZeroMQ unix sockets in a folder shared with that one kernel. Resource limits (address
space, file size, core dumps, CPU) are set inside the sandbox before ipykernel starts.

Without bwrap (`sandbox = none`, or `auto` where bwrap cannot run) the kernel still runs in its own working
copy with the same resource limits, but NOT isolated: every result says so (`isolated: false` and a warning).

The grader (not the kernel) decides how each cell went: the execute reply's status, error outputs, the
per-cell and per-notebook wall-clock limits (the kernel is interrupted, then killed), the output-size limit,
and how the kernel process ended (exit code, signal). Before each graded cell the grader restores what the
tests rely on (see kernel_guard.py); after the last cell a canary checks that errors are still reported.

Used by autograde.py: `python -m tito.grading.sandbox JOB.json ...` runs each job (what the notebook is, where its
working copy is, the limits) and writes its RESULT.json; the grading process never shares a process with a kernel.
"""
import ast
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .notebooks import cell_name, source

HERE = Path(__file__).resolve().parent
SANDBOX_UID = 1000
MARK = "__tito_guard__:"


@dataclass
class Limits:
    "Per-kernel limits (settings.ini [grading]); 0 disables a limit."
    cell_timeout: int = 60          # seconds one cell may run (then it is interrupted and graded 0)
    notebook_timeout: int = 600     # seconds the whole notebook may run (then the kernel is stopped)
    memory_mb: int = 2048           # address space of the kernel (RLIMIT_AS)
    output_kb: int = 1024           # output a cell may produce (stream text, results, tracebacks)
    file_mb: int = 64               # largest file the kernel may write (RLIMIT_FSIZE); also the /tmp size
    threads: int = 1                # BLAS threads per kernel (OPENBLAS/OMP/MKL_NUM_THREADS)
    interrupt_grace: int = 5        # seconds to wait for an interrupted cell before killing the kernel
    startup_timeout: int = 60       # seconds for the kernel to start


# ---------------------------------------------------------------------------------------------- the sandbox

_STATUS = {}


def bwrap_status():
    "(True, path) when bubblewrap can run a sandbox here, else (False, why). Checked once per process."
    if "bwrap" not in _STATUS:
        path = shutil.which("bwrap")
        if os.environ.get("TITO_NO_BWRAP"):   # to try the unsandboxed path where bwrap does work
            _STATUS["bwrap"] = (False, "bubblewrap is disabled by TITO_NO_BWRAP")
        elif not path:
            _STATUS["bwrap"] = (False, "bubblewrap (`bwrap`) is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
        else:
            argv = [path, *_system_binds(), "--unshare-all", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                    "--die-with-parent", "--remount-ro", "/", "--", "/bin/sh", "-c", "exit 0"]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                ok = proc.returncode == 0
                why = (proc.stderr.strip() or f"exit code {proc.returncode}")
            except (OSError, subprocess.TimeoutExpired) as err:
                ok, why = False, str(err)
            _STATUS["bwrap"] = (True, path) if ok else (False, f"bubblewrap is installed but cannot create a sandbox here: {why}")
    return _STATUS["bwrap"]


def resolve_mode(requested="auto"):
    """The sandbox to use: ('bwrap', None), or ('none', warning) when isolation is off or unavailable.
    `requested`: auto (bwrap when it works), bwrap (required: raise if unavailable), none (explicitly off)."""
    requested = (requested or "auto").lower()
    if requested not in ("auto", "bwrap", "none"):
        raise ValueError(f"sandbox must be auto, bwrap or none, not {requested!r}")
    if requested == "none":
        return "none", ("NOT ISOLATED: settings.ini [grading] sandbox = none, so student code runs with the grader's "
                        "rights and can read or change other submissions and the gradebook")
    ok, info = bwrap_status()
    if ok:
        return "bwrap", None
    if requested == "bwrap":
        raise RuntimeError(f"settings.ini [grading] sandbox = bwrap, but {info}")
    return "none", (f"NOT ISOLATED: {info}. Student code ran with the grader's rights and could read or change "
                    "other submissions and the gradebook; install bubblewrap and grade again with --force")


def _system_binds():
    "Read-only system folders every sandbox needs."
    args = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives",
              "/etc/fonts"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    return args


def python_paths():
    "Folders the kernel's Python needs (the venv and the installation its python links to), resolved."
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    out = []
    for p in sorted(paths, key=lambda p: len(p.parts)):
        if not any(q in p.parents for q in out):
            out.append(p)
    return out


def bwrap_argv(work, conn, limits, ro_binds=(), passwd=None):
    "The bubblewrap command line (without the program to run) for a kernel in working copy `work`."
    # bubblewrap mounts in order, and a mount hides what was mounted under its path before: the private /tmp
    # comes first, so a venv, course or working copy under /tmp (bound after it) stays visible
    tmp_bytes = max(limits.file_mb, 16) * 1024 * 1024
    argv = [shutil.which("bwrap") or "bwrap", *_system_binds(), "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for p in python_paths():
        argv += ["--ro-bind", str(p), str(p)]
    for src, dest in ro_binds:
        argv += ["--ro-bind", str(src), str(dest)]
    if passwd:
        argv += ["--ro-bind", str(passwd), "/etc/passwd"]
    argv += ["--bind", str(work), str(work), "--bind", str(conn), str(conn), "--chdir", str(work),
             "--unshare-all", "--hostname", "grader", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
             "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--remount-ro", "/"]
    return argv


BOOT = """\
import resource, runpy, sys
def limit(kind, value):
    if value > 0:
        try: resource.setrlimit(kind, (value, value))
        except (ValueError, OSError) as err: print("tito sandbox: cannot set limit", kind, err, file=sys.stderr)
limit(resource.RLIMIT_AS, {memory})
limit(resource.RLIMIT_FSIZE, {fsize})
limit(resource.RLIMIT_CPU, {cpu})
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.argv = ["ipykernel_launcher", "-f", {conn!r}, "--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"]
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


def kernel_env(work, limits, extra=None):
    "The kernel's whole environment (nothing is inherited from the grader's)."
    tmp = "/tmp"
    env = {"HOME": str(work), "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": tmp, "IPYTHONDIR": f"{tmp}/ipython",
           "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter", "MPLCONFIGDIR": f"{tmp}/matplotlib", "MPLBACKEND": "Agg",
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "NBGRADER_EXECUTION": "autograde"}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(max(1, limits.threads))
    env.update(extra or {})
    return env


def die_with_parent():
    "preexec_fn: this child gets SIGKILL when the process that started it dies (Linux), so none is left behind."
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------------------------------------- the kernel

@dataclass
class CellRun:
    "How one cell ran."
    index: int
    status: str = "not-run"     # ok | error | timeout | output-limit | dead | not-run
    reply: str = None           # the kernel's execute_reply status (ok / error / aborted), None if none came
    ename: str = None
    evalue: str = None
    seconds: float = 0.0
    output_bytes: int = 0
    outputs: list = field(default_factory=list)


class Kernel:
    "One ipykernel in its working copy, sandboxed (mode 'bwrap') or not ('none')."

    def __init__(self, work, conn, limits, mode="bwrap", ro_binds=(), env=None, log=None):
        self.work, self.conn, self.limits, self.mode = Path(work), Path(conn), limits, mode
        self.ro_binds, self.env, self.log_path = list(ro_binds), env or {}, log
        self.proc = self.kc = None
        self.killed_by_grader = None   # why the grader killed it, if it did

    def argv(self, conn_file):
        L = self.limits
        boot = BOOT.format(memory=L.memory_mb * 1024 * 1024, fsize=L.file_mb * 1024 * 1024,
                           cpu=(L.notebook_timeout * max(1, L.threads) + 60) if L.notebook_timeout else 0,
                           conn=str(conn_file))
        prog = [sys.executable, "-c", boot]
        if self.mode != "bwrap":
            return prog
        passwd = self.conn.parent / "passwd"
        passwd.write_text(f"student:x:{SANDBOX_UID}:{SANDBOX_UID}:student:{self.work}:/bin/sh\n")
        argv = bwrap_argv(self.work, self.conn, self.limits, self.ro_binds, passwd)
        argv += ["--clearenv"]
        for k, v in kernel_env(self.work, self.limits, self.env).items():
            argv += ["--setenv", k, v]
        return argv + ["--", *prog]

    def start(self):
        import zmq
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_client.connect import write_connection_file
        conn_file, _ = write_connection_file(str(self.conn / "kernel.json"), transport="ipc", ip=str(self.conn / "k"))
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        # bubblewrap itself is PID 1 inside the sandbox and its environment is readable at /proc/1/environ:
        # it starts with the kernel's minimal environment too, never the grader's
        env = kernel_env(self.work, self.limits, self.env)
        self.proc = subprocess.Popen(self.argv(conn_file), cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)
        if log is not subprocess.DEVNULL:
            log.close()
        ctx = zmq.Context()
        # a kernel cannot flood the grader with one giant message: bigger ones are dropped by ZeroMQ
        ctx.setsockopt(zmq.MAXMSGSIZE, max(32 * 1024 * 1024, 8 * self.limits.output_kb * 1024))
        self.kc = BlockingKernelClient(connection_file=conn_file, context=ctx)
        self.kc.load_connection_file()
        self.kc.start_channels(hb=False, stdin=False)   # death is seen from the process itself; no input is read
        deadline = time.monotonic() + self.limits.startup_timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"the kernel did not start ({self.exit_description()}): {self.log_tail()}")
            self.kc.kernel_info()
            try:
                msg = self.kc.shell_channel.get_msg(timeout=1)
            except Exception:  # noqa: BLE001 — queue.Empty: ask again
                continue
            if msg["msg_type"] == "kernel_info_reply":
                try:   # the output channel must be connected too, or the first cell's output would be lost
                    self.kc.iopub_channel.get_msg(timeout=0.2)
                except Exception:  # noqa: BLE001
                    continue
                # what is still queued on the output channel belongs to kernel_info: `execute` reads only the
                # messages of its own request, so nothing needs draining here
                return self
        self.kill("it did not start in time")
        raise RuntimeError(f"the kernel did not start within {self.limits.startup_timeout} s: {self.log_tail()}")

    def _drain_iopub_unused(self, seconds=0.2):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.kc.iopub_channel.get_msg(timeout=0.05)
            except Exception:  # noqa: BLE001
                break

    def log_tail(self, n=600):
        try:
            return Path(self.log_path).read_text(errors="replace")[-n:].strip() if self.log_path else ""
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_description(self):
        "How the kernel process ended, in words."
        if self.proc is None:
            return "never started"
        rc = self.proc.poll()
        if rc is None:
            return "still running"
        if self.killed_by_grader:
            return f"stopped by the grader: {self.killed_by_grader}"
        sig = -rc if rc < 0 else (rc - 128 if rc > 128 and self.mode == "bwrap" else None)
        if sig:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            extra = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed: out of memory or a hard limit)",
                     "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)", "SIGABRT": " (aborted)",
                     "SIGBUS": " (bus error)"}.get(name, "")
            return f"killed by {name}{extra}"
        return f"exited with code {rc}"

    def interrupt(self):
        "Interrupt the running cell (KeyboardInterrupt), by message: signals do not cross the sandbox."
        try:
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
        except Exception:  # noqa: BLE001
            pass

    def kill(self, why=None):
        if self.proc is not None and self.proc.poll() is None:
            self.killed_by_grader = self.killed_by_grader or why
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        self.kill()
        if self.kc is not None:
            try:
                self.kc.stop_channels()
                self.kc.context.destroy(linger=0)
            except Exception:  # noqa: BLE001
                pass

    def execute(self, code, timeout, index=-1, silent=False):
        """Run `code`; return a CellRun. `timeout` (s) bounds the cell: then it is interrupted, and killed
        after the grace period if it does not stop."""
        import zmq
        run = CellRun(index)
        if not self.alive():
            run.status = "dead"
            return run
        t0 = time.monotonic()
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False, stop_on_error=False)
        limit = self.limits.output_kb * 1024 if self.limits.output_kb else None
        deadline = t0 + timeout if timeout else None
        interrupted_at, reason, reply, idle, reply_at = None, None, None, False, None
        poller = zmq.Poller()
        iopub, shell = self.kc.iopub_channel.socket, self.kc.shell_channel.socket
        poller.register(iopub, zmq.POLLIN)
        poller.register(shell, zmq.POLLIN)
        while not (reply is not None and idle):
            now = time.monotonic()
            if reply is not None and now - reply_at > 3:
                reason = reason or "output-lost"   # the reply came, the output stream never finished
                break
            if not self.alive():
                run.status, run.seconds = "dead", now - t0
                return run
            if deadline and now > deadline and interrupted_at is None:
                reason = reason or "timeout"
                self.interrupt()
                interrupted_at = now
            if interrupted_at is not None and now - interrupted_at > self.limits.interrupt_grace:
                self.kill(f"the kernel stopped answering: the cell did not finish within {self.limits.interrupt_grace} s "
                          f"of being interrupted ({'time' if reason == 'timeout' else 'output'} limit), or sent a "
                          "message larger than the grader accepts")
                run.status, run.seconds = "dead", now - t0
                return run
            events = dict(poller.poll(50))
            if iopub in events:
                msg = self._get(self.kc.iopub_channel)
                if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status":
                    idle = idle or content.get("execution_state") == "idle"
                elif kind == "clear_output":
                    run.outputs = []
                elif kind in ("stream", "display_data", "execute_result", "error"):
                    size = _size(content)
                    run.output_bytes += size
                    if kind == "error":
                        run.ename, run.evalue = content.get("ename"), content.get("evalue")
                    if limit and run.output_bytes > limit:
                        if reason != "output-limit":
                            reason = "output-limit"
                            run.outputs.append({"output_type": "stream", "name": "stderr", "text":
                                                f"[tito: this cell printed more than {self.limits.output_kb} KB; "
                                                "the rest of its output is not shown and the cell was stopped]\n"})
                            if interrupted_at is None:
                                self.interrupt()
                                interrupted_at = time.monotonic()
                        continue
                    out = _output(kind, content)
                    if (out.get("output_type") == "stream" and run.outputs and run.outputs[-1].get("output_type") == "stream"
                            and run.outputs[-1].get("name") == out.get("name")):
                        run.outputs[-1]["text"] += out["text"]
                    else:
                        run.outputs.append(out)
            if shell in events:
                msg = self._get(self.kc.shell_channel)
                if msg is not None and msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_reply":
                    reply, reply_at = msg["content"].get("status"), time.monotonic()
                    if reply == "error":
                        run.ename = run.ename or msg["content"].get("ename")
                        run.evalue = run.evalue if run.evalue is not None else msg["content"].get("evalue")
        run.reply, run.seconds = reply, time.monotonic() - t0
        run.status = reason or ("ok" if reply == "ok" else "error")
        if run.status == "output-lost":
            self.reconnect_output()
        return run

    def reconnect_output(self):
        "A fresh IOPub connection (ZeroMQ drops the connection that carried an oversized message)."
        try:
            self.kc.iopub_channel.close()
        except Exception:  # noqa: BLE001
            pass
        self.kc._iopub_channel = None
        self.kc.iopub_channel.start()
        time.sleep(0.2)

    @staticmethod
    def _get(channel):
        try:
            return channel.get_msg(timeout=0)
        except Exception:  # noqa: BLE001 — empty, or a message that does not parse
            return None


def _output(kind, content):
    "The notebook output for an IOPub message (nbformat's output_from_msg, without importing nbformat)."
    try:
        if kind == "stream":
            return {"output_type": "stream", "name": str(content["name"]), "text": str(content["text"])}
        if kind == "error":
            return {"output_type": "error", "ename": str(content["ename"]), "evalue": str(content["evalue"]),
                    "traceback": [str(t) for t in content.get("traceback") or []]}
        out = {"output_type": kind, "data": dict(content["data"]), "metadata": dict(content.get("metadata") or {})}
        if kind == "execute_result":
            out["execution_count"] = content.get("execution_count")
        return out
    except (KeyError, TypeError, ValueError):  # a malformed message: keep what it says, as text
        return {"output_type": "stream", "name": "stderr", "text": str(content)[:2000]}


def _size(content):
    "Bytes of user-visible output in a message's content."
    n = 0
    for key in ("text", "evalue", "ename"):
        if isinstance(content.get(key), str):
            n += len(content[key].encode("utf-8", "replace"))
    for line in content.get("traceback") or []:
        n += len(str(line).encode("utf-8", "replace"))
    for value in (content.get("data") or {}).values():
        n += len(value.encode("utf-8", "replace")) if isinstance(value, str) else len(json.dumps(value))
    return n


# ---------------------------------------------------------------------------------------------- a whole notebook

def guard_prelude(key, aliases, output_limit=0):
    "The code that installs the kernel guard (before any student code)."
    src = (HERE / "kernel_guard.py").read_text()
    return ("def __tito_boot(src, key, aliases, limit):\n"
            "    g = {'__name__': '__tito_guard__'}\n"
            "    exec(compile(src, '<tito-guard>', 'exec'), g)\n"
            "    g['install'](key, aliases, limit)\n"
            f"__tito_boot({src!r}, {key!r}, {aliases!r}, {int(output_limit)})\n"
            "del __tito_boot\n")


def guard_restore(key):
    return f"print({MARK!r} + repr(__import__('sys').modules[{key!r}].restore()))"


def _restore_changes(run):
    "The names the restore found changed, from its printed output (None if the restore did not report)."
    for out in run.outputs:
        text = out.get("text") or ""
        for line in text.splitlines():
            if line.startswith(MARK):
                try:
                    return [str(x) for x in ast.literal_eval(line[len(MARK):])]
                except (ValueError, SyntaxError):
                    return None
    return None


@dataclass
class NotebookRun:
    "What happened to a notebook: its outcome, each code cell, and the executed notebook."
    outcome: str = "completed"      # completed | crash | timeout | error
    detail: str = ""
    cells: list = field(default_factory=list)       # CellRun as dicts, one per code cell
    notebook: dict = None
    seconds: float = 0.0
    sandbox: str = "bwrap"
    isolated: bool = True
    warnings: list = field(default_factory=list)
    tampering: list = field(default_factory=list)   # what the guard and the canary found
    startup_seconds: float = 0.0                    # starting the kernel and its guard


def execute_notebook(nb, work, conn, limits, graded=(), mode="bwrap", aliases=None, ro_binds=(), env=None,
                     log=None, warning=None, checks=None):
    """Execute the code cells of notebook dict `nb` in a fresh kernel; `graded` are the indices of graded cells
    (the guard restores the pristine state before each). Returns a NotebookRun; nb's cells get their outputs."""
    t0 = time.monotonic()
    res = NotebookRun(sandbox=mode, isolated=mode == "bwrap", notebook=nb)
    if warning:
        res.warnings.append(warning)
    key = f"__tito_guard_{secrets.token_hex(8)}"
    kernel = Kernel(work, conn, limits, mode, ro_binds, env, log)
    code_cells = [i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
    runs = {i: CellRun(i) for i in code_cells}
    graded = set(graded)
    try:
        try:
            kernel.start()
        except Exception as err:  # noqa: BLE001
            res.outcome, res.detail = "error", f"the grading kernel could not start: {err}"
            return res
        if checks:   # tito.checks from its text (and, for the graded run, the probes) before the guard's snapshot
            from .probes import kernel_prelude
            setup = kernel.execute(kernel_prelude(checks == "graded"), timeout=60, silent=True)
            if setup.status != "ok":
                res.outcome = "error"
                res.detail = f"the grading kernel could not load the checks: {setup.ename}: {setup.evalue} {kernel.log_tail()}"
                return res
        setup = kernel.execute(guard_prelude(key, aliases or {}, limits.output_kb * 1024), timeout=60, silent=True)
        if setup.status != "ok":
            res.outcome = "error"
            res.detail = f"the grading kernel could not be prepared: {setup.ename}: {setup.evalue} {kernel.log_tail()}"
            return res
        res.startup_seconds = time.monotonic() - t0
        t_cells = time.monotonic()   # the notebook's time limit counts from its first cell
        stop = None
        for i in code_cells:
            cell = nb["cells"][i]
            src = source(cell)
            if not src.strip():
                runs[i].status = "ok"
                continue
            remaining = limits.notebook_timeout - (time.monotonic() - t_cells) if limits.notebook_timeout else None
            if remaining is not None and remaining <= 0:
                stop = ("timeout", f"the notebook reached its time limit ({limits.notebook_timeout} s) before cell {i}")
                break
            if i in graded:
                fix = kernel.execute(guard_restore(key), timeout=30, silent=True)
                if fix.status == "output-lost":     # its output went missing with an earlier flood: once more
                    fix = kernel.execute(guard_restore(key), timeout=30, silent=True)
                changes = _restore_changes(fix) if fix.status == "ok" else None
                if changes is None and kernel.alive():
                    res.tampering.append(f"before graded cell {cell_name(cell, i)}: the grader's safeguard was "
                                         f"removed from the kernel ({fix.ename or fix.status}: {fix.evalue or ''})".strip())
                elif changes:
                    res.tampering.append(f"before graded cell {cell_name(cell, i)} the notebook had changed "
                                         f"{', '.join(changes[:8])}{' ...' if len(changes) > 8 else ''} (put back for the test)")
            per_cell = limits.cell_timeout or None
            by_notebook = remaining is not None and (per_cell is None or remaining < per_cell)
            run = kernel.execute(src, timeout=remaining if by_notebook else per_cell, index=i)
            runs[i] = run
            if run.status == "dead":
                how = kernel.exit_description()
                if kernel.killed_by_grader:
                    stop = ("timeout", f"cell {cell_name(cell, i)}: {how}")
                else:
                    stop = ("crash", f"the kernel died in cell {cell_name(cell, i)}: {how}")
                break
            if run.status == "timeout" and by_notebook:
                stop = ("timeout", f"the notebook reached its time limit ({limits.notebook_timeout} s) in cell "
                                   f"{cell_name(cell, i)}")
                break
        if stop:
            res.outcome, res.detail = stop
        else:
            nonce = secrets.token_hex(8)
            canary = kernel.execute(f"raise AssertionError('tito canary {nonce}')", timeout=30, silent=True)
            shown = any(o.get("output_type") == "error" and nonce in str(o.get("evalue")) for o in canary.outputs)
            if canary.status == "dead":
                res.outcome, res.detail = "crash", f"the kernel died after the last cell: {kernel.exit_description()}"
            elif canary.reply != "error" or not shown:
                res.tampering.append("after the last cell, a failing check was not reported as a failure "
                                     f"(reply {canary.reply!r}, error shown: {shown}): the notebook altered how the "
                                     "kernel reports errors")
    finally:
        kernel.close()
        res.seconds = time.monotonic() - t0
        for i in code_cells:
            run = runs[i]
            cell = nb["cells"][i]
            cell["outputs"] = run.outputs
            cell["execution_count"] = None
            res.cells.append({k: v for k, v in asdict(run).items() if k != "outputs"})
    return res


def probe(ro_binds=(), work_root=None, limits=None):
    """Prove the sandbox works here: start a real sandboxed kernel (the grader's venv, `ro_binds` mounted) and run
    one cell that imports what `ro_binds` provides. Returns (ok, detail)."""
    import tempfile
    ok, info = bwrap_status()
    if not ok:
        return False, info
    limits = limits or Limits(cell_timeout=60, notebook_timeout=120)
    base = Path(tempfile.mkdtemp(prefix="tito-sandbox-probe-", dir=work_root))
    try:
        work, conn = base / "work", base / "conn"
        work.mkdir()
        conn.mkdir()
        nonce = secrets.token_hex(4)
        code = "import sys, tinytorch\nprint('sandbox ok', " + repr(nonce) + ", sys.prefix)" if ro_binds else \
               "import sys\nprint('sandbox ok', " + repr(nonce) + ", sys.prefix)"
        nb = {"cells": [{"cell_type": "code", "source": code, "metadata": {}, "outputs": []}]}
        run = execute_notebook(nb, work, conn, limits, mode="bwrap", ro_binds=ro_binds, log=base / "kernel.log")
        shown = "".join(o.get("text", "") for o in nb["cells"][0]["outputs"])
        if run.outcome == "completed" and f"sandbox ok {nonce}" in shown:
            return True, f"a sandboxed kernel ran a cell ({run.seconds:.1f} s, {sys.prefix})"
        cell = run.cells[0] if run.cells else {}
        why = run.detail or f"{cell.get('ename')}: {cell.get('evalue')}"
        return False, f"a sandboxed kernel could not run a cell: {why}"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def doctor_check(root):
    """`tito doctor`'s word on the grading sandbox: (level ok|warn|fail, detail, fix). Starts a real sandboxed
    kernel with the grader's venv and this checkout's tinytorch, wherever they are (/tmp, /home, ...)."""
    ok, info = bwrap_status()
    if not ok and not shutil.which("bwrap"):
        return ("warn", f"instructors only: {info}; grading would run NOT isolated",
                "sudo apt-get install bubblewrap (needed to grade student code safely)")
    if not ok:
        return ("fail", info, "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or "
                "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), or grade on a machine where "
                "`bwrap --unshare-all --ro-bind / / true` works")
    tinytorch = (Path(root) / "tinytorch").resolve()
    ok, detail = probe([(tinytorch, tinytorch)])
    if ok:
        return "ok", detail, ""
    return ("fail", detail, f"see the kernel's error above; check that `{sys.executable} -m ipykernel --version` works "
            f"and that tinytorch imports from {tinytorch} (pip install -e {Path(root).resolve()})")


# ---------------------------------------------------------------------------------------------- runner process

def run_job(job_path):
    "Run the job described in JSON file `job_path`; write its result JSON next to it (atomically)."
    job = json.loads(Path(job_path).read_text())
    nb = json.loads(Path(job["notebook"]).read_text())
    limits = Limits(**job["limits"])
    res = execute_notebook(nb, job["work"], job["conn"], limits, graded=job.get("graded", ()),
                           mode=job.get("mode", "bwrap"), aliases=job.get("aliases"),
                           ro_binds=[tuple(b) for b in job.get("ro_binds", [])], env=job.get("env"),
                           log=job.get("log"), warning=job.get("warning"), checks=job.get("checks"))
    out = Path(job["result"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(res)))
    os.replace(tmp, out)
    return res


def main(argv=None):
    """Run the job files side by side (one kernel each, in its own thread): a kernel spends part of its life
    waiting (starting, between cells), and the other one's work fills that time."""
    import threading
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m tito.grading.sandbox JOB.json [JOB.json ...]", file=sys.stderr)
        return 2
    threads = [threading.Thread(target=run_job, args=(job,)) for job in argv]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
