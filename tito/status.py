"""`tito status` (per module: exported and in sync, inline points and tests from the last `tito test`) and
`tito doctor` (is this machine ready: Python, packages, kernel, alembic, data, tinytorch from this checkout)."""
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import course as course_lib
from . import dependencies
from .data import data_root
from . import export as export_lib
from . import testing
from .cli_support import grading_available


# ---------------------------------------------------------------------------------------------- status

@dataclass
class ModuleStatus:
    module: str
    title: str
    export: str            # "in sync" | "not exported" | "stale" | "error: ..."
    earned: float = None   # inline points from the last `tito test` (None: never tested)
    possible: float = None
    inline_ok: bool = None
    pytest_ok: bool = None
    pytest_summary: str = ""
    points: float = 0      # module.yaml points (the module's whole grade, reflections included)

    @property
    def complete(self):
        return self.export == "in sync" and bool(self.inline_ok) and bool(self.pytest_ok)


def export_state(root, module):
    "Whether the package holds exactly what exporting the module now would write."
    root = Path(root)
    with tempfile.TemporaryDirectory(prefix="tito-status-") as tmp:
        tmp = Path(tmp)
        nb_rel = module.notebook.relative_to(root)  # mirror the layout: nbdev writes relative paths into the files
        (tmp / nb_rel).parent.mkdir(parents=True)
        try:
            if module.source:
                import nbformat
                (tmp / nb_rel).write_text(nbformat.writes(export_lib.read_source(module.source)) + "\n")
            elif module.notebook.is_file():
                shutil.copy2(module.notebook, tmp / nb_rel)
            else:
                return "no notebook"
            written = export_lib.export_notebook(tmp / nb_rel, tmp / "tinytorch", shown_as=module.source)
        except Exception as err:  # noqa: BLE001 — status reports, it does not crash
            return f"error: {err}"
        if not written:
            return "exports nothing"
        state = "in sync"
        for f in written:
            rel = f.relative_to(tmp)
            if f.name == "__init__.py":
                continue
            if not (root / rel).is_file():
                return "not exported"
            if (root / rel).read_text() != f.read_text():
                state = "stale"
        return state


def course_status(root):
    "One ModuleStatus per module."
    results = testing.load_results(root)
    out = []
    for m in course_lib.all_modules(root):
        r = results.get(m.slug, {})
        try:
            points = float(m.meta.get("points") or 0)
        except (TypeError, ValueError):
            points = 0.0
        out.append(ModuleStatus(m.slug, m.title, export_state(root, m), r.get("earned"), r.get("possible"),
                                r.get("inline_ok"), r.get("pytest_ok"), r.get("pytest_summary", ""), points))
    return out


# ---------------------------------------------------------------------------------------------- doctor

@dataclass
class Finding:
    what: str
    level: str      # ok | warn | fail
    detail: str
    fix: str = ""


def datasets():
    "dataset name -> the files it installs under the data folder (from `tito data`)."
    try:
        from .data import DATASETS
    except ImportError:  # an older tito without `tito data`
        return {"mnist": [f"mnist/{n}.gz" for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")],
                "cifar10": [f"cifar-10-batches-py/{n}" for n in ("data_batch_1", "test_batch")],
                "shakespeare": ["tinyshakespeare/input.txt"]}
    return {name: [c.path for c in spec.installed] for name, spec in DATASETS.items()}


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def doctor(root):
    "Findings about this machine and checkout, each with its fix."
    root = Path(root)
    out = []
    v = sys.version_info
    out.append(Finding("python", "ok" if v >= (3, 10) else "fail", f"{sys.version.split()[0]} at {sys.executable}",
                       "" if v >= (3, 10) else "install Python 3.10 or newer and create the venv with it"))
    course_deps = dependencies.missing(dependencies.requirements(root))
    out.append(Finding("course dependencies (pyproject.toml)", "fail" if course_deps else "ok",
                       "; ".join(f"{m.requirement}: {m.problem}" for m in course_deps) or "all installed",
                       f"pip install -e {root}" if course_deps else ""))
    instructor = dependencies.missing(dependencies.requirements(root, "instructor"))  # students do not need it
    out.append(Finding("instructor extra", "warn" if instructor else "ok",
                       "; ".join(f"{m.requirement}: {m.problem}" for m in instructor) or "installed",
                       f"instructors grade with nbgrader: pip install -e '{root}[instructor]'" if instructor else ""))
    torch = _version("torch")
    out.append(Finding("torch", "ok" if torch != "?" else "warn", torch if torch != "?" else "not installed",
                       "" if torch != "?" else "optional: tests compare with it when present "
                       "(CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)"))
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        specs = KernelSpecManager().find_kernel_specs()
        ok = "python3" in specs
        out.append(Finding("jupyter kernel python3", "ok" if ok else "fail",
                           specs.get("python3", "missing; have: " + ", ".join(specs) if specs else "no kernels"),
                           "" if ok else f"{sys.executable} -m ipykernel install --sys-prefix --name python3"))
    except Exception as err:  # noqa: BLE001
        out.append(Finding("jupyter kernel python3", "fail", str(err), f"pip install -e {root}"))
    bindir = Path(sys.executable).parent
    on_path = shutil.which("alembic")
    if on_path:
        out.append(Finding("alembic (instructors)", "ok", on_path))
    elif (bindir / "alembic").exists():
        out.append(Finding("alembic (instructors)", "ok", f"{bindir / 'alembic'} (tito puts it on PATH; for plain "
                           "`nbgrader` commands activate the venv)"))
    else:
        out.append(Finding("alembic (instructors)", "warn", "not found",
                           "instructors: pip install -e '.[instructor]' (nbgrader needs alembic for its gradebook)"))
    d = data_root()
    src = "TINYTORCH_DATA" if os.environ.get("TINYTORCH_DATA") else "default"
    if not d.is_dir():
        out.append(Finding("data folder", "warn", f"{d} ({src}) does not exist",
                           "set TINYTORCH_DATA to your data folder, or fetch the datasets: tito data fetch mnist"))
    else:
        out.append(Finding("data folder", "ok", f"{d} ({src}); `tito data status` verifies checksums"))
        for name, files in datasets().items():
            missing = [f for f in files if not (d / f).is_file()]
            out.append(Finding(f"dataset {name}", "warn" if missing else "ok",
                               f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}" if missing else "present",
                               f"tito data fetch {name}" if missing else ""))
    code = "import os, tinytorch; print(os.path.dirname(os.path.abspath(tinytorch.__file__)))"
    here = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, env=testing.course_env(root))
    where = Path(here.stdout.strip()) if here.returncode == 0 else None
    if where == (root / "tinytorch").resolve():
        out.append(Finding("tinytorch from this checkout", "ok", str(where)))
    else:
        detail = here.stderr.strip().splitlines()[-1] if here.returncode else f"imports from {where}"
        out.append(Finding("tinytorch from this checkout", "fail", detail,
                           f"run tito inside {root}; export the modules with `tito export --all`"))
    away = subprocess.run([sys.executable, "-c", code], cwd=tempfile.gettempdir(), capture_output=True, text=True)
    installed = Path(away.stdout.strip()) if away.returncode == 0 else None
    if installed != (root / "tinytorch").resolve():
        out.append(Finding("tinytorch installed", "warn",
                           f"notebooks started elsewhere import {installed}" if installed else "not installed: "
                           "notebooks only find it when started inside this folder",
                           f"pip install -e {root}"))
    else:
        out.append(Finding("tinytorch installed", "ok", f"editable, from {installed}"))
    if grading_available():   # instructors: the grader and its sandbox (not in the student edition)
        from .grading.sandbox import doctor_check
        out.append(Finding("grading sandbox", *doctor_check(root)))
    return out
