"Where the course lives: its root, its modules and its settings."
import configparser
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

MODULE_DIR_RE = re.compile(r"^(\d\d)_([a-z0-9_]+)$")


class CourseError(Exception):
    "A problem the user can fix; the message says how."


def find_root(start=None):
    "The course root: `$TITO_ROOT`, or the nearest folder above `start` holding settings.ini and modules/."
    if os.environ.get("TITO_ROOT"):
        return Path(os.environ["TITO_ROOT"]).resolve()
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "settings.ini").is_file() and (d / "modules").is_dir():
            return d
    raise CourseError(f"no TinyTorch course found at or above {here}: run tito inside the course folder "
                      "(the one with settings.ini and modules/) or set TITO_ROOT")


def settings(root):
    "The course settings from settings.ini as a ConfigParser."
    cfg = configparser.ConfigParser()
    cfg.read(Path(root) / "settings.ini")
    return cfg


@dataclass(frozen=True)
class Module:
    "One module folder: `modules/source/NN_name` in the maintainers' repo, `modules/NN_name` in the student edition."
    dir: Path

    @property
    def number(self): return self.dir.name[:2]
    @property
    def name(self): return self.dir.name[3:]
    @property
    def slug(self): return self.dir.name
    @property
    def source(self):
        "The percent-format source (maintainers) if present."
        p = self.dir / f"{self.name}_dev.py"
        return p if p.is_file() else None
    @property
    def notebook(self):
        "The notebook path: generated from the source, or the student's own."
        return self.dir / f"{self.name}_dev.ipynb"
    @cached_property
    def meta(self):
        "module.yaml as a dict ({} when missing)."
        p = self.dir / "module.yaml"
        return yaml.safe_load(p.read_text()) if p.is_file() else {}
    @property
    def title(self): return self.meta.get("title", self.name)
    @property
    def export_to(self):
        "Dotted package module this exports to, e.g. 'core.tensor' (from module.yaml)."
        return self.meta.get("exports")

    def package_file(self, root):
        return Path(root) / "tinytorch" / Path(*self.export_to.split(".")).with_suffix(".py") if self.export_to else None

    def tests_dir(self, root):
        return Path(root) / "tests" / self.slug


def modules_dir(root):
    "The folder holding module folders: modules/source in the repo, modules/ in the student edition."
    root = Path(root)
    return root / "modules" / "source" if (root / "modules" / "source").is_dir() else root / "modules"


def all_modules(root):
    "Every module of the course, in order."
    return [Module(d) for d in sorted(modules_dir(root).iterdir()) if d.is_dir() and MODULE_DIR_RE.match(d.name)]


def select(root, number=None, every=False):
    "The modules a command acts on: one by number (1, 01, or 01_tensor) or all of them."
    mods = all_modules(root)
    if every or number is None:
        if not every:
            raise CourseError("name a module (e.g. `01`) or pass --all")
        return mods
    key = str(number)
    for m in mods:
        if key in (m.slug, m.number, m.number.lstrip("0"), m.name):
            return [m]
    raise CourseError(f"no module {number!r}; the course has: {', '.join(m.slug for m in mods)}")
