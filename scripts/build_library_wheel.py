"""Build the tinytorch library on its own as a wheel: the `tinytorch` package, requiring only what it imports.

    python scripts/build_library_wheel.py DIST_DIR

The repository's pyproject.toml is the course: `pip install -e .` installs the package *and* the tito tools
with everything they need (jupytext, nbdev, pytest, typer, matplotlib, ...). Someone who wants only the
framework installs this wheel instead; it requires exactly `[tool.tinytorch] library-dependencies`
(the maintainers' suite checks that importing every module needs nothing more).
"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser as the tomli package (which nbdev requires there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def toml_table(d):
    "A flat dict of strings as a TOML inline table."
    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in d.items()) + " }"


def library_pyproject(root=ROOT):
    "The pyproject.toml of the library-only distribution, from the course's name, version and metadata."
    config = tomllib.loads((root / "pyproject.toml").read_text())
    project, deps = config["project"], config["tool"]["tinytorch"]["library-dependencies"]
    return "\n".join([
        "[build-system]", 'requires = ["setuptools>=77"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", f"name = {json.dumps(project['name'])}", f"version = {json.dumps(project['version'])}",
        f"description = {json.dumps(project['description'])}",
        f"requires-python = {json.dumps(project['requires-python'])}", f"license = {json.dumps(project['license'])}",
        f"authors = [{', '.join(toml_table(a) for a in project['authors'])}]",
        f"dependencies = {json.dumps(deps)}", "",
        "[tool.setuptools.packages.find]", 'include = ["tinytorch*"]', ""])


def build(dist, root=ROOT):
    "Write the library wheel into `dist`; returns its path."
    dist = Path(dist).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(root / "tinytorch", Path(tmp) / "tinytorch", ignore=shutil.ignore_patterns("__pycache__"))
        (Path(tmp) / "pyproject.toml").write_text(library_pyproject(root))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), tmp], check=True)
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    return dist / f"tinytorch-{version}-py3-none-any.whl"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(build(sys.argv[1]))
