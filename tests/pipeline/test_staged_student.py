"""Each module tests only what came before: a student who has solved 01..N and nothing after passes `tito test N`,
for every N. One student edition, installed into a fresh venv by its own install file (Binder's postBuild, the
same `pip install -e .` as a laptop and the Colab cell), is solved one module at a time in course order: the
solved notebook of module N is put in place, `tito export N`, `tito test N` — while 02..16 after N are still stubs."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tito import course as course_lib
from tito import edition
from tito import export as export_lib

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd, cwd, env, timeout):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _student_env(venv):
    "The environment of a student who activated the edition's venv: nothing of the maintainers' checkout."
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv)
    return env


@pytest.fixture(scope="module")
def installed_edition(tmp_path_factory):
    "(edition folder, student environment): the edition installed by its own binder/postBuild into a new venv."
    base = tmp_path_factory.mktemp("staged")
    out = edition.student_edition(ROOT, base / "student").out
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = _student_env(venv)
    install = _run(["bash", "binder/postBuild"], cwd=out, env=env, timeout=1200)
    assert install.returncode == 0, f"binder/postBuild failed in a fresh venv:\n{install.stdout[-3000:]}\n{install.stderr[-3000:]}"
    return out, env


@pytest.mark.slow
def test_each_module_passes_with_only_the_modules_before_it_solved(installed_edition):
    out, env = installed_edition
    tito = str(Path(env["VIRTUAL_ENV"]) / "bin" / "tito")
    failed = []
    for m in course_lib.all_modules(ROOT):
        if not m.source:
            continue
        number = m.slug[:2]
        solved = out / "modules" / m.slug / m.notebook.name  # what a student who solved the module has
        solved.write_text(nbformat.writes(export_lib.read_source(m.source)) + "\n")
        export = _run([tito, "export", number], cwd=out, env=env, timeout=300)
        assert export.returncode == 0, f"tito export {number}:\n{export.stdout}\n{export.stderr}"
        test = _run([tito, "test", number], cwd=out, env=env, timeout=1800)
        if test.returncode != 0:
            failed.append(f"tito test {number} with 01..{number} solved, later modules stubs:\n"
                          f"{test.stdout[-3000:]}\n{test.stderr[-2000:]}")
    assert not failed, "\n\n".join(failed)
