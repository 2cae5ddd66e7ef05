"""The course on a real JupyterHub: release -> fetch -> submit -> collect -> autograde, through the hub.

A JupyterHub (with configurable-http-proxy) is started on 127.0.0.1 from the instructor guide's own
configuration, book/examples/jupyterhub_config.py, loaded as it is; the test only swaps in loopback ports,
a temporary folder, the dummy login, SimpleLocalProcessSpawner (every "user" is this Unix user, with a home
under the temporary folder) and a service token for itself. Every user's server gets the guide's
book/examples/nbgrader_config.py as its nbgrader settings, and the instructor's home its
book/examples/instructor_nbgrader_config.py. Three single-user servers are spawned through the hub's
REST API, at once: `instructor` (in the group formgrade-tinytorch) and the students `alice` and `bob`.

What goes through the hub: every request below is sent to the hub's public URL (the proxy) with the
test's service token, and is answered by a spawned single-user server:

- instructor: a kernel started in the instructor's server (kernels REST API + its websocket, proxied by
  the hub) runs tito's pipeline (tito.grading) there, as a course notebook would: init the course folder
  in the instructor's home, generate module 01, release it into the shared exchange; later collect and
  autograde, in that same kernel, so grading runs inside the instructor's server with its environment.
- students: nbgrader's assignment-list server extension in each student's server fetches the assignment
  (POST /user/NAME/assignments/fetch) and submits it (.../assignments/submit), exactly what the
  Assignments tab of JupyterLab calls; alice's work is saved through her server's contents API (PUT
  /user/alice/api/contents/...): she completes every exercise with the reference code (read from the
  instructor's course folder through the instructor's contents API); bob submits the release untouched.

Asserted: alice gets full autograded points, bob 0, in tito's report, in the gradebook (read by the
instructor's kernel and from disk) and in nbgrader's formgrader API of the instructor's server (through
the hub); the files are where the servers put them (students' homes, the exchange, the instructor's
course folder), and what was collected for alice is the notebook she saved.

The hub, the proxy, the servers and their kernels are always stopped, even on failure: each gets a
marker in its environment, and whatever still carries it once the hub has shut down is killed.

Skips only when jupyterhub (the `hub` extra) or configurable-http-proxy (npm, cached in .cache/hub/)
cannot be installed.
"""
import datetime
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from tito.course import CourseError
from tito.grading import hub as loopback

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "book" / "examples"
CACHE = ROOT / ".cache" / "hub"           # git-ignored: configurable-http-proxy's npm install
MODULE, ASSIGNMENT = "01", "01_tensor"
COURSE, INSTRUCTOR, (GOOD, BLANK) = loopback.COURSE, loopback.INSTRUCTOR, loopback.STUDENTS
USERS = (INSTRUCTOR, GOOD, BLANK)
SPAWN_TIMEOUT = 60      # s for the servers to be ready (they start together: 10-25 s here)
STEP_TIMEOUT = 60       # s for any one instructor step in the kernel (autograding both: about 12 s)
MARKER = "TINYTORCH_HUB_TEST"


# ---------------------------------------------------------------------------------------------- install

def _hub_requirements():
    "The `hub` extra of pyproject.toml."
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r"^hub\s*=\s*\[([^\]]*)\]", text, re.M)
    assert m, "pyproject.toml [project.optional-dependencies] has no `hub` extra"
    return re.findall(r'"([^"]+)"', m.group(1))


def ensure_jupyterhub():
    "jupyterhub and jupyterhub-singleuser for this Python: installed with the `hub` extra, else installed now."
    single = Path(sys.executable).parent / "jupyterhub-singleuser"
    try:
        import jupyterhub  # noqa: F401
        if single.exists():
            return single
    except ImportError:
        pass
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_hub_requirements()],
                          capture_output=True, text=True, timeout=900)
    importlib.invalidate_caches()
    if proc.returncode or not single.exists():
        pytest.skip(f"jupyterhub could not be installed (pip install {' '.join(_hub_requirements())}): "
                    f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return single


def ensure_proxy():
    "configurable-http-proxy from npm, cached in .cache/hub/ (git-ignored), as `tito nbgrader hub-tryout` uses it."
    try:
        return loopback.ensure_proxy(CACHE)
    except CourseError as err:
        pytest.skip(str(err))


# ---------------------------------------------------------------------------------------------- the hub

# the loopback hub of `tito nbgrader hub-tryout` (tito/grading/hub.py), plus a service token for the test
SERVICE = """\
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                             "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
"""


def marked_pids(marker):
    "Processes whose environment carries the marker: the hub's proxy, the servers, their kernels."
    tag = f"{MARKER}={marker}".encode()
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if tag in (d / "environ").read_bytes().split(b"\0"):
                pids.append(int(d.name))
        except OSError:
            continue
    return pids


class Hub:
    "A running hub and a client with the service token (requests to the hub API and to users' servers)."

    def __init__(self, url, token, proc, log, tmp):
        import requests
        self.url, self.token, self.proc, self.log, self.tmp = url, token, proc, log, tmp
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def log_tail(self, n=40):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def api(self, method, path, **kw):
        return self.http.request(method, f"{self.url}/hub/api{path}", timeout=30, **kw)

    def server(self, user, method, path, **kw):
        "A request to USER's single-user server, through the hub's proxy."
        return self.http.request(method, f"{self.url}/user/{user}{path}", timeout=STEP_TIMEOUT, **kw)

    def spawn(self, user):
        r = self.api("POST", f"/users/{user}/server")
        assert r.status_code in (201, 202), f"spawning {user}: {r.status_code} {r.text}\n{self.log_tail()}"

    def wait_ready(self, users, timeout):
        deadline = time.monotonic() + timeout
        waiting = set(users)
        while waiting:
            for user in sorted(waiting):
                model = self.api("GET", f"/users/{user}").json()
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    waiting.discard(user)
                elif not server or not server.get("pending"):
                    pytest.fail(f"{user}'s server failed to start:\n{self.log_tail()}")
            if waiting and time.monotonic() > deadline:
                pytest.fail(f"servers not ready after {timeout} s: {sorted(waiting)}\n{self.log_tail()}")
            if waiting:
                time.sleep(0.3)


@pytest.fixture
def hub(tmp_path):
    single = ensure_jupyterhub()
    proxy = ensure_proxy()
    assert single.parent == Path(sys.executable).parent
    marker, token = uuid.uuid4().hex, uuid.uuid4().hex
    lb = loopback.loopback_hub(ROOT, tmp_path, proxy, extra_config=SERVICE.format(token=token),
                               extra_env={MARKER: marker})
    log = tmp_path / "jupyterhub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(lb.config)], cwd=lb.state, env=lb.env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    h = Hub(lb.url, token, proc, log, tmp_path)
    try:
        deadline = time.monotonic() + 45
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyterhub exited with {proc.returncode}:\n{h.log_tail()}")
            try:
                if h.api("GET", "/").status_code == 200 and h.api("GET", f"/users/{INSTRUCTOR}").status_code == 200:
                    break
            except Exception:  # noqa: BLE001 — not listening yet
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the hub did not answer within 45 s:\n{h.log_tail()}")
            time.sleep(0.3)
        yield h
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy it started
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for pid in marked_pids(marker):       # and whatever it left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while marked_pids(marker) and time.monotonic() < deadline:
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- a kernel

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Kernel:
    "A kernel in a user's server, driven over the kernels websocket through the hub's proxy."

    def __init__(self, hub, user):
        import websocket
        r = hub.server(user, "POST", "/api/kernels", json={"name": "python3"})
        assert r.status_code == 201, f"starting a kernel in {user}'s server: {r.status_code} {r.text}"
        self.hub, self.user = hub, user
        self.id, self.session = r.json()["id"], uuid.uuid4().hex
        url = f"{hub.url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{self.id}/channels"
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {hub.token}"], timeout=STEP_TIMEOUT)

    def run(self, code, timeout=STEP_TIMEOUT):
        "Execute code; returns its printed output; fails with the traceback if it raised."
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": self.session,
                       "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, error, reply, idle = [], "", None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = deadline - time.monotonic()
            assert left > 0, f"no answer from the kernel within {timeout} s; output so far:\n{''.join(out)}"
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                error = ANSI.sub("", "\n".join(content["traceback"]))
            elif kind == "execute_reply":
                reply = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        assert reply["status"] == "ok", f"the code raised in the kernel:\n{error}\noutput:\n{''.join(out)}"
        return "".join(out)

    def result(self, code, timeout=STEP_TIMEOUT):
        "Run code whose last printed line is `RESULT <json>`; returns that value."
        text = self.run(code, timeout)
        lines = [l for l in text.splitlines() if l.startswith("RESULT ")]
        assert lines, f"no result printed:\n{text}"
        return json.loads(lines[-1][len("RESULT "):])

    def close(self):
        "Close the websocket and shut the kernel down (through the hub, as JupyterLab does)."
        self.ws.close()
        self.hub.server(self.user, "DELETE", f"/api/kernels/{self.id}")


# What the instructor runs in a notebook of their server (tito's pipeline, in-process: no CLI start-ups).
SETUP = """
import json, os
from pathlib import Path
from tito.grading import autograde, course as course_folder, pipeline, report
root, course = Path({root!r}), os.path.expanduser("~/course")
# on the hub (book/jupyterhub.md): the shared exchange (`tito nbgrader init --exchange`)
course_folder.init_course(root, course, exchange=os.environ["NBGRADER_EXCHANGE"])
# all servers run as one Unix user here
with open(os.path.join(course, "nbgrader_config.py"), "a") as fh:
    fh.write('c.ExchangeCollect.check_owner = False\\n')
steps = pipeline.generate(root, course, [{module!r}]) + pipeline.release(root, course, [{module!r}])
print("RESULT", json.dumps({{"steps": [[s.assignment, s.status, s.ok, s.detail] for s in steps],
                             "reference_problem": autograde.reference_package_problem(root),
                             "home": os.path.expanduser("~"), "exchange": os.environ["NBGRADER_EXCHANGE"]}}))
"""
GRADE = """
collected = pipeline.collect(root, course, [{module!r}])
batch = autograde.autograde(root, course, {module!r})
print("RESULT", json.dumps({{
    "collected": [[s.status, s.ok, s.detail] for s in collected],
    "graded": {{o.student: [o.outcome, o.score, o.max_score, o.summary(), o.import_errors] for o in batch.outcomes}},
    "rows": report.grade_rows(root, course)}}))
"""


def solution_lines_removed(src):
    from tito.check import DELIMS
    begin, end = DELIMS["solution"]
    return "\n".join(l for l in src.splitlines() if begin not in l and end not in l)


def complete(release, reference):
    "The release notebook with every exercise (code cell with a solution) done as in the reference."
    ref = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in reference["cells"]
           if c["metadata"].get("nbgrader", {}).get("grade_id")}
    done = 0
    for cell in release["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            cell["source"] = solution_lines_removed(ref[meta["grade_id"]])
            done += 1
    assert done, "the release has no exercise to complete"
    return release


def assignment_status(listing):
    "Status of ASSIGNMENT in an assignment-list answer: the set of statuses shown for it."
    assert isinstance(listing, dict) and listing.get("success"), f"the assignment list answered {listing}"
    return {a["status"] for a in listing["value"] if a["assignment_id"] == ASSIGNMENT and a["course_id"] == COURSE}


# ---------------------------------------------------------------------------------------------- the test

def test_release_fetch_submit_collect_autograde_through_the_hub(hub):
    started, times = time.monotonic(), {}

    def lap(name):
        times[name] = round(time.monotonic() - started, 1)

    for user in USERS:
        hub.spawn(user)
    hub.wait_ready([INSTRUCTOR], SPAWN_TIMEOUT)
    lap("instructor's server ready")

    # instructor: course folder, generate, release, in a kernel of the instructor's server
    kernel = Kernel(hub, INSTRUCTOR)
    try:
        setup = kernel.result(SETUP.format(root=str(ROOT), module=MODULE))
        assert [s[:3] for s in setup["steps"]] == [[ASSIGNMENT, "generated", True], [ASSIGNMENT, "released", True]], setup
        assert setup["reference_problem"] is None, setup["reference_problem"]
        home = Path(setup["home"])
        assert home == hub.tmp / "home" / INSTRUCTOR          # it ran in the instructor's spawned server
        assert setup["exchange"] == str(hub.tmp / "exchange")
        assert (hub.tmp / "exchange" / COURSE / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        lap("released")
        hub.wait_ready([GOOD, BLANK], SPAWN_TIMEOUT)
        lap("students' servers ready")

        # students: fetch, work, submit, through their own servers
        r = hub.server(INSTRUCTOR, "GET", f"/api/contents/course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
        assert r.status_code == 200, r.text
        reference = r.json()["content"]
        for student in (GOOD, BLANK):
            listing = hub.server(student, "GET", "/assignments", params={"course_id": COURSE}).json()
            assert assignment_status(listing) == {"released"}, listing
            r = hub.server(student, "POST", "/assignments/fetch",
                           data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
            assert r.status_code == 200, r.text
            assert assignment_status(r.json()) == {"fetched"}, r.text
            path = f"/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
            r = hub.server(student, "GET", path)
            assert r.status_code == 200, f"{student} has no fetched notebook: {r.text}"
            assert (hub.tmp / "home" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
            if student == GOOD:
                nb = complete(r.json()["content"], reference)
                completed = [c["source"] for c in nb["cells"]]
                r = hub.server(student, "PUT", path, json={"type": "notebook", "format": "json", "content": nb})
                assert r.status_code == 200, r.text
            r = hub.server(student, "POST", "/assignments/submit",
                           data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
            assert r.status_code == 200, r.text
            assert "submitted" in assignment_status(r.json()), r.text
        inbound = sorted(p.name.split("+")[0] for p in (hub.tmp / "exchange" / COURSE / "inbound").iterdir())
        assert inbound == [GOOD, BLANK], inbound
        lap("fetched and submitted")

        # instructor: collect and autograde, in the same kernel
        graded = kernel.result(GRADE.format(module=MODULE), timeout=2 * STEP_TIMEOUT)
        lap("collected and autograded")
    finally:
        kernel.close()

    assert [c[:2] for c in graded["collected"]] == [["collected", True]], graded["collected"]
    assert sorted(graded["graded"]) == [GOOD, BLANK], graded
    status, score, max_score, detail, import_errors = graded["graded"][GOOD]
    assert status == "graded" and not import_errors, graded["graded"][GOOD]
    assert max_score > 0 and score == max_score, f"{GOOD} submitted the reference code: {graded['graded'][GOOD]}"
    status, score, max_score, detail, import_errors = graded["graded"][BLANK]
    assert status == "graded" and not import_errors, graded["graded"][BLANK]
    assert score == 0 and max_score > 0, f"{BLANK} submitted the blank release: {graded['graded'][BLANK]}"

    # the gradebook the instructor's kernel read is the one in the instructor's home, and says the same
    from tito.grading import report
    course = hub.tmp / "home" / INSTRUCTOR / "course"
    rows = {r["student"]: r for r in report.grade_rows(ROOT, str(course)) if r["assignment"] == ASSIGNMENT}
    assert rows == {r["student"]: r for r in graded["rows"] if r["assignment"] == ASSIGNMENT}
    assert rows[GOOD]["score"] == graded["graded"][GOOD][1] and rows[BLANK]["score"] == 0, rows
    # and nbgrader's formgrader in the instructor's server (where reflections are graded by hand) shows them
    r = hub.server(INSTRUCTOR, "GET", f"/formgrader/api/submissions/{ASSIGNMENT}")
    assert r.status_code == 200, r.text
    shown = {s["student"]: s for s in r.json()}
    assert sorted(shown) == [GOOD, BLANK] and all(s["autograded"] for s in shown.values()), shown
    assert shown[GOOD]["code_score"] == graded["graded"][GOOD][1] and shown[BLANK]["code_score"] == 0, shown
    submitted = course / "submitted" / GOOD / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert [c.source for c in nbformat.read(submitted, as_version=4).cells] == completed, \
        f"{GOOD}'s collected notebook is not the one she saved"
    assert (course / "autograded" / BLANK / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    lap("checked")
    print(f"\nJupyterHub round trip (s since the hub answered): {times}")
    assert times["checked"] < 120, f"the round trip took {times['checked']} s: {times}"


@pytest.mark.parametrize("name", ["jupyterhub_config.py", "nbgrader_config.py", "instructor_nbgrader_config.py"])
def test_the_guide_shows_the_tested_configuration(name):
    "book/jupyterhub.md shows each example file exactly as committed (and as the hub test loads it)."
    page = (ROOT / "book" / "jupyterhub.md").read_text()
    assert f"```python\n{(EXAMPLES / name).read_text()}```" in page, \
        f"book/jupyterhub.md does not show book/examples/{name} as it is: copy the file into its code block"
