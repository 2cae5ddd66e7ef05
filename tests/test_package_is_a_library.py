"The exported tinytorch package reads and installs as a library: no assignment markers, no course tools at import."
import subprocess
import sys

from tito.course import find_root
from tito.export import strip_solution_markers

ROOT = find_root(__file__)
PACKAGE_FILES = sorted((ROOT / "tinytorch").rglob("*.py"))

# What `import tinytorch.<anything>` may load besides the standard library: the package's own requirements.
RUNTIME_REQUIREMENTS = {"numpy", "fastcore"}


def test_no_solution_markers_in_the_package():
    marked = [str(p.relative_to(ROOT)) for p in PACKAGE_FILES if "### BEGIN SOLUTION" in p.read_text()
              or "### END SOLUTION" in p.read_text()]
    assert not marked, f"nbgrader's solution markers were exported into {marked}"


def test_strip_solution_markers_keeps_the_code_between():
    cell = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert strip_solution_markers(cell) == "def f(x):\n    return x + 1\n"


def test_importing_every_module_needs_only_the_runtime_requirements():
    probe = ("import importlib, pkgutil, sys, tinytorch\n"
             "for m in pkgutil.walk_packages(tinytorch.__path__, 'tinytorch.'): importlib.import_module(m.name)\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    third_party = {m for m in loaded.stdout.split() if not m.startswith("_") and m not in ("tinytorch", "__main__")}
    assert third_party <= RUNTIME_REQUIREMENTS, (
        f"importing tinytorch loads {sorted(third_party - RUNTIME_REQUIREMENTS)}: import course tools "
        f"(pytest, nbdev, matplotlib, ...) inside the function that needs them, not at module level")


# Helpers a module exports for its own (and later modules') use, via nbdev's `#| exporti`: importable by name,
# but not what `from tinytorch... import *` hands a user.
INTERNAL = {
    "tinytorch.core.dataloader": ["as_array", "generators", "fetch_hint", "IDX_TYPES", "MNIST_FILES", "find_file",
                                  "CIFAR10_FILES"],
    "tinytorch.core.profiling": ["ELEMENTWISE", "REDUCTIONS", "MOVEMENT", "PER_ELEMENT", "RENAMES", "clean_name",
                                 "flop_key"],
    "tinytorch.core.benchmarking": ["THREAD_VARS", "blas_info", "threadpools", "cpu_model", "package_version"],
    "tinytorch.models.tinygpt": ["RESIDUAL_OUTPUTS", "init_gpt_weights", "cache_length"],
}


def test_internal_helpers_stay_out_of_all():
    import importlib
    for name, helpers in INTERNAL.items():
        module = importlib.import_module(name)
        public = set(module.__all__)
        assert not public & set(helpers), f"{name}.__all__ lists internal helpers {sorted(public & set(helpers))}"
        assert all(hasattr(module, h) for h in helpers), f"{name} no longer defines one of {helpers}"
