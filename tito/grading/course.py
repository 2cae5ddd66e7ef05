"""The course folder and its gradebook: where grading happens, and the settings it runs with.

The course folder (settings.ini [grading] course_dir, `course/` by default, never committed) holds nbgrader's
own layout: source/ release/ submitted/ autograded/ feedback/ gradebook.db, and exchange/ unless configured.
One assignment per module: assignment `NN_name` with one notebook `NN_name.ipynb`.
"""
import contextlib
import datetime
import io
import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import course as course_lib
from ..course import CourseError
from .sandbox import Limits

CONFIG_NAME = "nbgrader_config.py"
CONFIG_MARK = "# Written by `tito nbgrader init`"


def ensure_tools_on_path():
    "nbgrader shells out to `alembic`: put this interpreter's bin folder (the venv's) first on PATH."
    bindir = os.path.dirname(sys.executable)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p])
    return shutil.which("alembic")


def settings(root):
    "settings.ini [grading] (and [course] id), defaults filled in: the one reader of the grading settings."
    cfg = course_lib.settings(root)
    sec = cfg["grading"] if cfg.has_section("grading") else {}
    d = Limits()

    def num(key, default):
        try:
            return int(sec.get(key, default))
        except (TypeError, ValueError):
            raise CourseError(f"settings.ini [grading] {key} must be a whole number, not {sec.get(key)!r}")

    return {
        "course_id": cfg.get("course", "id", fallback="tinytorch"),
        "course_dir": sec.get("course_dir", "course"),
        "exchange_dir": sec.get("exchange_dir", "") or "",
        "kernel_name": sec.get("kernel_name", "python3"),
        "sandbox": sec.get("sandbox", "auto"),
        "jobs": num("jobs", 1),
        "reference_modules": sec.get("reference_modules", "earlier"),
        "limits": Limits(cell_timeout=num("cell_timeout", d.cell_timeout),
                         notebook_timeout=num("notebook_timeout", d.notebook_timeout),
                         memory_mb=num("memory_mb", d.memory_mb), output_kb=num("output_kb", d.output_kb),
                         file_mb=num("file_mb", d.file_mb), threads=num("threads_per_kernel", d.threads)),
    }


def course_dir(root, override=None):
    "The course folder: `override` (relative to the current folder) or settings.ini's, relative to the repo."
    if override:
        return Path(override).resolve()
    return (Path(root) / settings(root)["course_dir"]).resolve()


def config_text(root, cdir, exchange=None):
    """The nbgrader_config.py `init` writes (usable by the plain `nbgrader` command inside the folder too).
    The exchange: `exchange` if given, else settings.ini [grading] exchange_dir, else course/exchange."""
    s = settings(root)
    where = Path(exchange).resolve() if exchange else (Path(root) / s["exchange_dir"]).resolve() if s["exchange_dir"] else None
    exchange = f"r{str(where)!r}" if where else 'os.path.join(here, "exchange")'
    return f'''{CONFIG_MARK} from settings.ini [course] and [grading].
# Edit freely: `tito nbgrader init` never overwrites an edited file without --force (and then backs it up).
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
# nbgrader runs `alembic` for its gradebook: use the one next to this Python (the venv's bin).
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

c = get_config()  # noqa: F821 (provided by traitlets)
c.CourseDirectory.root = here
c.CourseDirectory.course_id = {s["course_id"]!r}
c.Exchange.root = {exchange}
# Every submission runs in a fresh kernel; a cell running longer than this is stopped and graded 0.
c.ExecutePreprocessor.timeout = {s["limits"].cell_timeout}
c.ExecutePreprocessor.kernel_name = {s["kernel_name"]!r}
c.Execute.timeout = {s["limits"].cell_timeout}
c.Execute.kernel_name = {s["kernel_name"]!r}
# quiet kernels: ipykernel's start-up warnings would repeat once per graded notebook
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# Hidden tests are restored for grading; keep them out of the HTML feedback students receive (nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
'''


@dataclass
class Course:
    "A course folder and the repository it grades."
    root: Path
    dir: Path
    course_id: str

    @property
    def config_path(self): return self.dir / CONFIG_NAME
    def source_nb(self, slug): return self.dir / "source" / slug / f"{slug}.ipynb"
    def release_nb(self, slug): return self.dir / "release" / slug / f"{slug}.ipynb"
    def submitted(self, student, slug): return self.dir / "submitted" / student / slug
    def autograded(self, student, slug): return self.dir / "autograded" / student / slug
    def feedback_dir(self, student, slug): return self.dir / "feedback" / student / slug
    @property
    def db_url(self): return f"sqlite:///{self.dir / 'gradebook.db'}"
    @property
    def logs(self): return self.dir / "logs"


def open_course(root, override=None, must_exist=True):
    "The course folder as a Course; with must_exist, it must have been set up by `init`."
    cdir = course_dir(root, override)
    c = Course(Path(root), cdir, settings(root)["course_id"])
    if must_exist and not c.config_path.is_file():
        raise CourseError(f"no nbgrader course at {cdir} (missing {CONFIG_NAME}): run `tito nbgrader init` first"
                          + (f" with --course-dir {override}" if override else ""))
    return c


def init_course(root, override=None, force=False, exchange=None):
    """Create the course folder and its nbgrader_config.py; returns messages. Keeps an edited config unless force.
    `exchange`: the exchange folder (on a hub, the shared one) instead of settings.ini's or course/exchange."""
    c = open_course(root, override, must_exist=False)
    msgs = []
    c.dir.mkdir(parents=True, exist_ok=True)
    for sub in ("source", "release", "submitted", "autograded", "feedback"):
        (c.dir / sub).mkdir(exist_ok=True)
    text = config_text(root, c.dir, exchange)
    if not c.config_path.is_file():
        c.config_path.write_text(text)
        msgs.append(f"wrote {c.config_path}")
    elif c.config_path.read_text() == text:
        msgs.append(f"{c.config_path} is up to date")
    elif force:
        backup = _backup_path(c.config_path)
        shutil.copy2(c.config_path, backup)
        c.config_path.write_text(text)
        msgs.append(f"rewrote {c.config_path} (your previous version is in {backup})")
    else:
        msgs.append(f"kept {c.config_path}: it differs from what settings.ini gives (edited by hand?); "
                    "pass --force to rewrite it (the old one is backed up)")
    # the exchange the config in force names (an edited config may point elsewhere, e.g. at a hub's)
    where = Path(load_config(c).Exchange.root)
    if where.is_dir():
        msgs.append(f"exchange folder: {where}")
    elif where.parent.is_dir() and os.access(where.parent, os.W_OK):
        where.mkdir()
        msgs.append(f"exchange folder: {where} (created)")
    else:
        msgs.append(f"warning: the exchange folder {where} does not exist and cannot be created here: create it "
                    "(on a hub, as root: mkdir -m 1777 it), or pass --exchange")
    gi = c.dir / ".gitignore"
    if not gi.exists():
        gi.write_text("# a course folder holds students' work and grades: never commit it\n*\n")
    if not ensure_tools_on_path():
        msgs.append("warning: `alembic` not found next to this Python: install the instructor extra "
                    "(pip install -e '.[instructor]')")
    return msgs


def _backup_path(path):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    p = Path(f"{path}.bak-{stamp}")
    n = 1
    while p.exists():
        p, n = Path(f"{path}.bak-{stamp}-{n}"), n + 1
    return p


def load_config(c, **overrides):
    "The traitlets Config from the course's nbgrader_config.py, plus dotted overrides (e.g. `Execute.timeout`)."
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    cfg = PyFileConfigLoader(CONFIG_NAME, path=str(c.dir)).load_config()
    cfg.CourseDirectory.root = str(c.dir)  # wherever the folder was moved to
    extra = Config()
    for key, value in overrides.items():
        section, name = key.split(".")
        extra[section][name] = value
    cfg.merge(extra)
    return cfg


def nbgrader_api(c, **overrides):
    "An NbGraderAPI for the course (in this process: no 5 s start-up per command)."
    ensure_tools_on_path()
    warnings.filterwarnings("ignore", module="sqlalchemy")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    cfg = load_config(c, **overrides)
    with contextlib.redirect_stderr(io.StringIO()):
        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
    api.log.setLevel(logging.INFO)
    return api


def write_log(c, name, text):
    "Keep nbgrader's full log of a step in course/logs/; returns the path."
    c.logs.mkdir(parents=True, exist_ok=True)
    path = c.logs / f"{name}.log"
    path.write_text(text or "")
    return path


def select_modules(root, modules=None):
    "The modules to act on (all by default)."
    mods = course_lib.all_modules(root)
    if not modules:
        return mods
    out = []
    for key in modules:
        out.extend(course_lib.select(root, key))
    return out


def assignments(c):
    "Assignment ids present in the course's source folder."
    src = c.dir / "source"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and course_lib.MODULE_DIR_RE.match(p.name)) if src.is_dir() else []


def assignment_ids(c, modules):
    "Assignment ids for the named modules (numbers or names), or every generated one."
    have = assignments(c)
    if not modules:
        if not have:
            raise CourseError(f"no assignments in {c.dir / 'source'}: run `tito nbgrader generate` first")
        return have
    return [m.slug for m in select_modules(c.root, modules)]


def last_error(r):
    "The most telling line of a failed nbgrader step."
    text = (r.get("log") or "") + "\n" + (r.get("error") or "")
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    errs = [l for l in lines if l.startswith("[ERROR]") or "Error" in l]
    return (errs or lines or ["unknown error"])[-1][:400]


@dataclass
class StepResult:
    "What one step did for one assignment."
    assignment: str
    status: str           # e.g. generated, unchanged, released, collected, failed ...
    detail: str = ""
    ok: bool = True
    log: Path = None


def assignment_id(c, assignment):
    "The generated assignment `assignment` names (NN, N, NN_name or name), e.g. 01_tensor."
    have = assignments(c)
    if assignment is None:
        raise CourseError("name the assignment to grade (e.g. `01` or `01_tensor`)")
    key = str(assignment)
    for aid in have:
        if key in (aid, aid[:2], aid[:2].lstrip("0"), aid[3:]):
            return aid
    raise CourseError(f"no generated assignment {assignment!r} in {c.dir / 'source'}"
                      + (f" (have: {', '.join(have)})" if have else ": run `tito nbgrader generate` first"))


@contextlib.contextmanager
def gradebook(c):
    "nbgrader's Gradebook of the course (the one way grading code opens it)."
    warnings.filterwarnings("ignore", message=".*not in session.*")
    warnings.filterwarnings("ignore", module="sqlalchemy")
    from nbgrader.api import Gradebook
    with Gradebook(c.db_url, c.course_id) as gb:
        yield gb


def in_gradebook(c, aid):
    "Whether the gradebook knows the assignment (it may have been deleted since the release was generated)."
    if not (c.dir / "gradebook.db").is_file():
        return False
    from nbgrader.api import MissingEntry
    with gradebook(c) as gb:
        try:
            gb.find_assignment(aid)
            return True
        except MissingEntry:
            return False


def formgrader_problem(c):
    "Why nbgrader's formgrader would show nothing to grade by hand in course `c` (None when it has work)."
    if not (c.dir / "gradebook.db").is_file():
        return (f"no gradebook in {c.dir}: run `tito nbgrader generate` and `tito nbgrader autograde` first "
                "(or pass --course-dir with the course folder you grade in)")
    if not any((c.dir / "autograded").glob("*/*/*.ipynb")):
        return (f"nothing autograded in {c.dir / 'autograded'}: the formgrader lists only autograded submissions; "
                "run `tito nbgrader collect` and `tito nbgrader autograde` first")
    return None
