"""A JupyterHub on loopback built from the guide's own configuration (book/examples/jupyterhub_config.py, loaded
as it is): only ports, folders, a test login and a single Unix user are swapped in. `tito nbgrader hub-tryout`
starts it to try the course as an instructor and as students; tests/hub/test_jupyterhub.py runs the same hub."""
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..course import CourseError

COURSE = "tinytorch"
INSTRUCTOR, STUDENTS = "instructor", ("alice", "bob")
PROXY_VERSION = "5.3.0"   # configurable-http-proxy; newer releases may want Node >= 22

LOOPBACK = """\
# The instructor guide's configuration, then what a hub on loopback needs instead.
c = get_config()  # noqa: F821
load_subconfig({example!r})  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}   # a test login: any listed user, this password
c.JupyterHub.spawner_class = "simple"   # every user is this Unix user, with a home under the folder
c.SimpleLocalProcessSpawner.home_dir_template = {homes!r}
c.Spawner.ip = "127.0.0.1"
c.Spawner.args = ["--allow-root"]       # as root (CI, containers) the servers would otherwise exit
c.Spawner.http_timeout = 30
c.Spawner.start_timeout = 60
c.LocalProcessSpawner.interrupt_timeout = 1  # at shutdown, SIGTERM after 1 s (not 10) when SIGINT is not enough
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.Spawner.environment = {{"JUPYTER_CONFIG_PATH": {jupyter_config!r}{extra_env}}}
"""


def free_ports(n):
    "n distinct free TCP ports on 127.0.0.1."
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def ensure_proxy(cache):
    "configurable-http-proxy from npm, installed once into `cache`; raises CourseError saying what is missing."
    exe = Path(cache) / "node_modules" / ".bin" / "configurable-http-proxy"
    if not exe.exists():
        npm = shutil.which("npm")
        if not npm:
            raise CourseError("configurable-http-proxy cannot be installed: npm (Node.js) is not on PATH")
        Path(cache).mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(cache),
                               f"configurable-http-proxy@{PROXY_VERSION}"], capture_output=True, text=True, timeout=600)
        if proc.returncode or not exe.exists():
            raise CourseError(f"configurable-http-proxy@{PROXY_VERSION} could not be installed with npm: "
                              f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    if proc.returncode or PROXY_VERSION not in proc.stdout:
        raise CourseError(f"configurable-http-proxy@{PROXY_VERSION} is installed but does not run here: "
                          f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    return exe


@dataclass
class LoopbackHub:
    "Everything to start the hub: `jupyterhub -f config` with `env`, in `state`; the public URL."
    config: Path
    env: dict
    state: Path
    url: str
    exchange: Path


def loopback_hub(root, folder, proxy, password="tinytorch", extra_config="", extra_env=None):
    """Prepare a hub on loopback in `folder` (state, homes, exchange, Jupyter config): the guide's configuration
    with the instructor `instructor` (group formgrade-tinytorch) and the students alice and bob."""
    examples = Path(root) / "book" / "examples"
    folder = Path(folder)
    state, homes, exchange, jconf = (folder / d for d in ("state", "home", "exchange", "jupyter"))
    for d in (state, homes, exchange, jconf):
        d.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)
    shutil.copy(examples / "nbgrader_config.py", jconf / "nbgrader_config.py")
    (homes / INSTRUCTOR / ".jupyter").mkdir(parents=True, exist_ok=True)   # before the instructor's first start
    shutil.copy(examples / "instructor_nbgrader_config.py", homes / INSTRUCTOR / ".jupyter" / "nbgrader_config.py")
    public, hub_port, proxy_api = free_ports(3)
    server_env = dict(extra_env or {})
    config = state / "jupyterhub_config.py"
    config.write_text(LOOPBACK.format(
        example=str(examples / "jupyterhub_config.py"), public=public, hub=hub_port, proxy_api=proxy_api,
        proxy=str(proxy), password=password, homes=str(homes / "{username}"), jupyter_config=str(jconf),
        extra_env="".join(f", {k!r}: {v!r}" for k, v in server_env.items())) + extra_config)
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_", "TINYTORCH_HUB"))}
    env.update(server_env)
    env.update({
        "PATH": os.pathsep.join([bindir, env.get("PATH", "")]),
        "TINYTORCH_HUB_STATE": str(state),
        "NBGRADER_EXCHANGE": str(exchange),
        "TINYTORCH_COURSE_ID": COURSE,
        "TINYTORCH_INSTRUCTORS": INSTRUCTOR,
        "TINYTORCH_STUDENTS": ",".join(STUDENTS),
        # one environment for both roles here: this one, where the reference course is installed
        "TINYTORCH_GRADER_ENV": sys.prefix,
        "TINYTORCH_STUDENT_ENV": sys.prefix,
    })
    return LoopbackHub(config, env, state, f"http://127.0.0.1:{public}", exchange)


def tryout(root, folder, proxy_cache):
    "Start the loopback hub in the foreground (Ctrl-C stops it and its servers); returns its exit code."
    if not (Path(sys.executable).parent / "jupyterhub-singleuser").exists():
        raise CourseError(f"jupyterhub is not installed in {sys.prefix}: pip install -e '{root}[hub]'")
    hub = loopback_hub(root, folder, ensure_proxy(proxy_cache))
    print(f"JupyterHub on {hub.url}  (state in {Path(folder).resolve()})\n"
          f"  log in as {INSTRUCTOR} (instructor) or {' / '.join(STUDENTS)} (students), password: tinytorch\n"
          f"  the instructor's terminal: cd {root} && tito nbgrader init --course-dir ~/course --exchange "
          f"{hub.exchange}\n  Ctrl-C stops the hub and every server it started", flush=True)
    return subprocess.call([sys.executable, "-m", "jupyterhub", "-f", str(hub.config)], cwd=hub.state, env=hub.env)
