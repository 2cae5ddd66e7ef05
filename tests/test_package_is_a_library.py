"The exported tinytorch package reads and installs as a library: no assignment markers, no course tools at import."
import re
import subprocess
import sys
import zipfile

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser as the tomli package (which nbdev requires there)
    import tomli as tomllib

import pytest

from tito.course import find_root
from tito.export import strip_solution_markers

ROOT = find_root(__file__)
PACKAGE_FILES = sorted((ROOT / "tinytorch").rglob("*.py"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LIBRARY_DEPENDENCIES = PYPROJECT["tool"]["tinytorch"]["library-dependencies"]


def requirement_name(spec):
    return re.match(r"[A-Za-z0-9_.-]+", spec).group(0).lower()


# What `import tinytorch.<anything>` may load besides the standard library: the package's own requirements.
RUNTIME_REQUIREMENTS = {requirement_name(d) for d in LIBRARY_DEPENDENCIES}


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
    "tinytorch.core.tensor": ["data_of", "wrap", "index_of"],
    "tinytorch.core.autograd": ["lift", "broadcast_data", "expand_reduced"],
    "tinytorch.core.activations": ["ERFC_COEFFS", "erfc_nonneg", "GELU_K", "GELU_C", "BLOCK", "blocks"],
    "tinytorch.core.layers": ["npz_path"],
    "tinytorch.core.losses": ["check_same_shape", "class_targets"],
    "tinytorch.core.optimizers": ["copy_state"],
    "tinytorch.core.spatial": ["pair", "pad_channels_first", "MATMUL_BLOCK", "matmul_blocks", "matmul_t_blocks",
                               "window_views", "check_pool_input"],
    "tinytorch.core.training": ["deterministic"],
    "tinytorch.core.dataloader": ["as_array", "generators", "fetch_hint", "IDX_TYPES", "MNIST_FILES", "find_file",
                                  "CIFAR10_FILES"],
    "tinytorch.core.attention": ["mask_data", "softmax_rows", "softmax_rows_backward", "swap", "attention_forward",
                                 "attention_backward", "dropout_keep", "combine_masks"],
    "tinytorch.core.profiling": ["ELEMENTWISE", "REDUCTIONS", "MOVEMENT", "PER_ELEMENT", "RENAMES", "clean_name",
                                 "flop_key", "COLUMNS", "M_TRIM_THRESHOLD", "M_MMAP_THRESHOLD"],
    "tinytorch.core.benchmarking": ["THREAD_VARS", "blas_info", "threadpools", "cpu_model", "package_version",
                                    "MAX_NUMBER", "KIND_BENCH", "KIND_COMPARE", "fmt_time"],
    "tinytorch.models.tinygpt": ["RESIDUAL_OUTPUTS", "init_gpt_weights", "cache_length"],
}


def test_internal_helpers_stay_out_of_all():
    import importlib
    for name, helpers in INTERNAL.items():
        module = importlib.import_module(name)
        public = set(module.__all__)
        assert not public & set(helpers), f"{name}.__all__ lists internal helpers {sorted(public & set(helpers))}"
        assert all(hasattr(module, h) for h in helpers), f"{name} no longer defines one of {helpers}"


def test_the_course_install_includes_the_library_requirements():
    course = {requirement_name(d): d for d in PYPROJECT["project"]["dependencies"]}
    missing = [d for d in LIBRARY_DEPENDENCIES if course.get(requirement_name(d)) != d]
    assert not missing, f"[project] dependencies must repeat the library's requirements as declared: {missing}"


@pytest.mark.slow
def test_library_wheel_installs_and_trains_with_only_its_requirements(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_library_wheel
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    wheel = build_library_wheel.build(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as z:
        top = {n.split("/")[0] for n in z.namelist()}
    assert top == {"tinytorch", f"tinytorch-{PYPROJECT['project']['version']}.dist-info"}, "the library alone, no tito"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", str(wheel)], check=True)
    installed = subprocess.run([py, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                               check=True).stdout
    names = {requirement_name(line) for line in installed.split()} - {"pip", "setuptools", "tinytorch"}
    assert RUNTIME_REQUIREMENTS <= names and not names & {"pytest", "nbdev", "typer", "matplotlib", "jupytext"}, names
    train = ("from tinytorch.core.layers import Linear\n"
             "from tinytorch.core.losses import mse_loss\n"
             "from tinytorch.core.optimizers import SGD\n"
             "from tinytorch.core.tensor import Tensor\n"
             "import numpy as np\n"
             "m = Linear(3, 1, seed=0); opt = SGD(m.parameters(), lr=0.1)\n"
             "x = Tensor(np.ones((4, 3), np.float32)); y = Tensor(np.zeros((4, 1), np.float32))\n"
             "losses = []\n"
             "for _ in range(5):\n"
             "    loss = mse_loss(m(x), y); opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())\n"
             "assert losses[-1] < losses[0], losses\n"
             "print('trained')\n")
    out = subprocess.run([py, "-c", train], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "trained", out.stderr
