"""`tito student-edition`: what students get holds no solution, hidden test or mark scheme; its package is
stubs; (f) `tito export` there puts the student's own (different, correct) code into the package; a student's
edited notebook survives a re-run; a folder that is not an edition is refused."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from tito import course as course_lib
from tito import edition, testing
from tito import export as export_lib
from tito.cli import app
from tito.course import CourseError

ROOT = Path(__file__).resolve().parents[2]
BEGIN = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")

# (f) a correct implementation that differs from the reference (it replaces the body of the first function of
# the cell), with a first line found nowhere else
STUDENT_CODE = {
    "01_tensor": ("01-tensor-creation",
                  ["student_zeros = np.full(shape, 0, dtype=dtype)  # my own zeros",
                   "return Tensor(student_zeros, dtype=dtype, requires_grad=requires_grad)"]),
    "02_autograd": ("02-autograd-exp-log",
                    ["student_out = np.power(np.e, self.data, dtype=self.data.dtype)  # my own exp",
                     "return Tensor.from_op(student_out, (self,), lambda g: (g * student_out,))"]),
}


def first_block(src):
    "(start, end) line indexes of the markers around the first solution block of `src`."
    lines = src.splitlines()
    begin = next(i for i, l in enumerate(lines) if BEGIN.search(l))
    return begin, next(i for i in range(begin + 1, len(lines)) if BEGIN.search(lines[i]))


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    "The student edition, written once (tests that change it work on a copy)."
    out = tmp_path_factory.mktemp("edition") / "student"
    return out, edition.student_edition(ROOT, out)


def reference_lines():
    """Every line inside a solution, hidden-test or mark-scheme block of the sources that appears nowhere
    outside such blocks (so it identifies reference material), stripped."""
    secret, public = set(), set()
    for m in course_lib.all_modules(ROOT):
        if not m.source:
            continue
        inside = False
        for line in m.source.read_text().splitlines():
            text = re.sub(r"^#\s?", "", line.strip()).strip()  # markdown cells are comments in the percent format
            if BEGIN.search(line):
                inside = "BEGIN" in BEGIN.search(line).group(1)
            elif inside:
                secret.add(text)
            else:
                public.add(text)
    return {l for l in secret - public if len(l) >= 12}


def _texts(out):
    "(relative path, text) of every notebook's cells and every package file in the edition."
    for p in sorted(out.rglob("*")):
        if p.suffix == ".ipynb":
            yield p.relative_to(out), "\n".join(c.source for c in nbformat.read(p, as_version=4).cells)
        elif p.suffix == ".py" and p.relative_to(out).parts[0] == "tinytorch":
            yield p.relative_to(out), p.read_text()


def test_edition_layout(student_edition):
    out, report = student_edition
    mods = [m for m in course_lib.all_modules(ROOT) if m.source]
    assert report.modules == [m.slug for m in mods]
    for name in ("pyproject.toml", "settings.ini"):
        assert (out / name).read_bytes() == (ROOT / name).read_bytes()
    for m in mods:
        d = out / "modules" / m.slug
        assert (d / m.notebook.name).is_file() and not (d / m.source.name).exists()
        assert (d / "module.yaml").is_file() == (m.dir / "module.yaml").is_file()
        assert (out / "tests" / m.slug).is_dir() == (ROOT / "tests" / m.slug).is_dir()
        if m.export_to:  # (a module without module.yaml is caught by `tito check`)
            assert m.package_file(out).is_file()
    assert (out / "tito" / "cli.py").is_file() and not (out / "tests" / "pipeline").exists()
    assert [m.slug for m in course_lib.all_modules(out)] == report.modules
    assert (ROOT / "tito" / "grading").is_dir() and not (out / "tito" / "grading").exists()   # the grader stays behind


def test_edition_tito_has_the_students_commands_not_the_grader(student_edition):
    out, _ = student_edition
    tito = [sys.executable, "-c", "from tito.cli import app; app()"]   # run in OUT: its own tito comes first
    env = {k: v for k, v in os.environ.items() if k != "TITO_ROOT"}
    r = subprocess.run(tito + ["--help"], cwd=out, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    for command in ("export", "test", "status", "doctor"):
        assert command in r.stdout
    r = subprocess.run(tito + ["nbgrader", "autograde", "01"], cwd=out, capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 2 and "full course repository" in " ".join(r.stdout.split()), r.stdout + r.stderr


def test_edition_readme_is_the_students(student_edition):
    out, _ = student_edition
    readme = (out / "README.md").read_text()
    assert readme == edition.student_readme(ROOT) and readme != (ROOT / "README.md").read_text()
    assert "{{" not in readme, "every placeholder is filled from settings.ini"
    cfg = course_lib.settings(ROOT)["course"]
    for must in ("Colab", "Binder", "JupyterHub", "tito export", "tito test", "tito submit", "tito doctor",
                 cfg["binder_url"], cfg["colab_url"], f"git clone -b {cfg['student_branch']} {cfg['repository']}"):
        assert must in readme, f"the student README says nothing of {must!r}"
    assert "nbgrader generate" not in readme and "scripts/test.sh" not in readme, "no maintainer or instructor steps"


# a link target or image source in markdown: [text](target), ![alt](target), <img src="target">
MD_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img\b[^>]*?\bsrc=[\"']([^\"']+)")


def _markdown_texts(out):
    "(relative path, markdown text) of every markdown file and every notebook's markdown cells in the edition."
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if p.suffix == ".md":
            yield rel, p.read_text()
        elif p.suffix == ".ipynb":
            cells = nbformat.read(p, as_version=4).cells
            yield rel, "\n".join(c.source for c in cells if c.cell_type == "markdown")


def test_every_link_and_image_resolves_inside_the_edition(student_edition):
    out, _ = student_edition
    broken, checked = [], 0
    for rel, text in _markdown_texts(out):
        for match in MD_LINK.finditer(text):
            target = (match.group(1) or match.group(2)).split("#")[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # an anchor on the same page, or a URL
            checked += 1
            path = (out / rel.parent / target).resolve()
            if out.resolve() not in path.parents or not path.exists():
                broken.append(f"{rel}: {target}")
    assert checked >= 4, "the module overviews show their figures (sanity check of the check)"
    assert broken == [], broken


def _repo_paths_named(text, tops):
    "Paths in `text` that start with a top-level folder of the repository, e.g. `bench/tinygpt_step.py`."
    names = "|".join(re.escape(t) for t in sorted(tops, key=len, reverse=True))
    return {m.group(1).rstrip(".,:;)") for m in re.finditer(rf"(?<![\w./~-])((?:{names})/[\w./*-]*)", text)}


# placeholders the guides use for "any module": modules/NN_name/name_dev.ipynb
PLACEHOLDERS = [("NN_name", "[0-9][0-9]_*"), ("name_dev", "*_dev"), ("NAME", "*")]


def _shipped(out, named):
    "Whether `named` (a path, a glob, or a pattern with placeholders) is in the edition, or is written by a run."
    if any(part in edition.SKIP_PARTS for part in Path(named).parts):
        return True  # e.g. milestones/runs/...: what running a milestone writes, not a file to ship
    pattern = named.rstrip("/")
    for placeholder, glob in PLACEHOLDERS:
        pattern = pattern.replace(placeholder, glob)
    return any(out.glob(pattern))


def test_no_shipped_text_names_a_path_that_is_not_shipped(student_edition):
    """What a student reads (markdown, notebooks, the package, the tests, the milestones) names no file of the
    repository that the edition leaves out (bench/, the maintainers' tests, the sources, ...)."""
    out, _ = student_edition
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")} - {"course"}
    missing = []
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if not p.is_file() or rel.parts[0] in ("tito", ".tito") or p.suffix not in (".md", ".ipynb", ".py", ".txt", ".sh"):
            continue
        text = p.read_text(errors="replace")
        if p.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        for named in _repo_paths_named(text, tops):
            if not _shipped(out, named):
                missing.append(f"{rel}: {named}")
    assert missing == [], missing


def test_edition_holds_no_solution_hidden_test_or_mark_scheme(student_edition):
    out, _ = student_edition
    secrets = reference_lines()
    assert len(secrets) > 50, "the sources have solution blocks to compare against"
    leaks = []
    for rel, text in _texts(out):
        if BEGIN.search(text):
            leaks.append(f"{rel}: {BEGIN.search(text).group(0)}")
        leaks.extend(f"{rel}: {line}" for line in {l.strip() for l in text.splitlines()} & secrets)
    assert not leaks, leaks[:20]
    problems, _ = edition.verify_edition(ROOT, out)
    assert problems == []


def test_edition_notebooks_are_the_nbgrader_release(student_edition):
    out, _ = student_edition
    for m in course_lib.all_modules(ROOT)[:2]:
        nb = nbformat.read(out / "modules" / m.slug / m.notebook.name, as_version=4)
        assert nb == edition.release_notebook(m)
        assert "raise NotImplementedError()" in "\n".join(c.source for c in nb.cells)


def test_edition_package_is_stubs(student_edition):
    out, _ = student_edition
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import tinytorch, os\n"
            "assert tinytorch.__file__.startswith(sys.argv[1]), tinytorch.__file__\n"
            "from tinytorch.core.tensor import Tensor, zeros\n"
            "try:\n    zeros(2)\nexcept NotImplementedError:\n    print('stub')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, cwd=out)
    assert proc.stdout.strip() == "stub", proc.stderr


def test_refuses_a_folder_that_is_not_an_edition(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(CourseError, match="not empty"):
        edition.student_edition(ROOT, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def _complete(out, slug):
    """The student completes the module: the reference bodies, except the first function of one cell, done
    their own (correct) way. Returns the module, the student's distinctive line and the reference's line."""
    (m,) = [m for m in course_lib.all_modules(ROOT) if m.slug == slug]
    path = out / "modules" / slug / m.notebook.name
    nb = nbformat.read(path, as_version=4)
    ref = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in export_lib.read_source(m.source).cells}
    grade_id, new = STUDENT_CODE[slug]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = ref[meta["grade_id"]].source.splitlines()
            if meta["grade_id"] == grade_id:
                begin, end = first_block("\n".join(lines))
                reference_line = lines[begin + 1].strip()
                indent = re.match(r"\s*", lines[begin]).group(0)
                lines = lines[:begin + 1] + [indent + l for l in new] + lines[end:]
            cell.source = "\n".join(l for l in lines if not BEGIN.search(l))
        elif cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = cell.source.replace("YOUR ANSWER HERE", "My answer, in my words.")
    nbformat.write(nb, path)
    return m, new[0], reference_line


def test_f_export_puts_the_students_code_in_the_package(student_edition, tmp_path, monkeypatch):
    out = tmp_path / "student"
    shutil.copytree(student_edition[0], out)
    monkeypatch.chdir(out)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    for slug in ("01_tensor", "02_autograd"):  # 02 imports the student's own 01 from their package
        m, line, reference_line = _complete(out, slug)
        r = CliRunner().invoke(app, ["export", slug[:2]])
        assert r.exit_code == 0, r.output
        package = (out / "tinytorch" / Path(*m.export_to.split("."))).with_suffix(".py").read_text()
        assert line in package, "the student's implementation is in their package"
        assert reference_line not in package, "the reference implementation is not"
        assert "NotImplementedError()" not in package
        student = next(s for s in course_lib.all_modules(out) if s.slug == slug)
        assert student.source is None
        result = testing.run_inline(out, student)  # the student's notebook, their package: full marks
        assert not result["failed"] and result["earned"] == result["possible"] > 0, result["failed"]
    # a new edition over the student's folder keeps their notebooks, and their code stays in the package
    report = edition.student_edition(ROOT, out)
    assert sorted(report.kept) == ["modules/01_tensor/tensor_dev.ipynb", "modules/02_autograd/autograd_dev.ipynb"]
    assert STUDENT_CODE["01_tensor"][1][0] in (out / "modules/01_tensor/tensor_dev.ipynb").read_text()
    assert STUDENT_CODE["01_tensor"][1][0] in (out / "tinytorch/core/tensor.py").read_text()
    # replacing them on request backs them up first
    report = edition.student_edition(ROOT, out, replace_edited=True)
    backed = dict(report.backed_up)
    assert "modules/01_tensor/tensor_dev.ipynb" in backed
    assert STUDENT_CODE["01_tensor"][1][0] in Path(backed["modules/01_tensor/tensor_dev.ipynb"]).read_text()
    assert STUDENT_CODE["01_tensor"][1][0] not in (out / "modules/01_tensor/tensor_dev.ipynb").read_text()
