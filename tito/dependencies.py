"""The course's dependencies as pyproject.toml states them (the one list every install path uses: `pip install -e .`
on a laptop, in Binder's postBuild and in the Colab setup cell), and whether this Python has them."""
import importlib.metadata
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest, a course dependency, brings tomli
    import tomli as tomllib


@dataclass
class Missing:
    requirement: str   # as pyproject.toml states it, e.g. "hypothesis>=6"
    problem: str       # "not installed" or "1.2 installed"


def requirements(root, extra=None):
    "The requirements of the course's install (`extra=None`) or of one extra, e.g. 'instructor', from pyproject.toml."
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] if extra is None else project.get("optional-dependencies", {}).get(extra, [])
    return [Requirement(r) for r in listed]


def missing(reqs):
    "The requirements that this Python lacks or has in a version outside the stated range."
    out = []
    for req in reqs:
        if req.marker and not req.marker.evaluate():
            continue
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            out.append(Missing(str(req), "not installed"))
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(Missing(str(req), f"{version} installed"))
    return out
