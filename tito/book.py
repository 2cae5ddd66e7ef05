"""`tito book build`: the Jupyter Book (1.x, offline) made from the student edition of every module.

Chapters are the modules' *release* notebooks (solutions, hidden tests and mark schemes stripped by
nbgrader's preprocessors), each opened by its README and Binder/Colab launch links. MathJax comes
from the npm package and is served by the site itself. The built site is checked for leaks: no
nbgrader marker, no line of a reference solution, no external script or stylesheet.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from . import course as course_lib
from .course import CourseError

MATHJAX = "mathjax@3.2.2"
MATHJAX_PARTS = ["tex-chtml.js", "output", "input", "a11y", "ui", "adaptors"]


def launch_links(root, module):
    "Markdown badges opening this module's student notebook in Binder and Colab (URLs from settings.ini)."
    cfg = course_lib.settings(root)["course"]
    path = f"modules/{module.slug}/{module.notebook.name}"
    binder = f"{cfg['binder_url']}?labpath={path}"
    colab = f"{cfg['colab_url']}/{path}"
    return (f"[Open in Binder]({binder}) · [Open in Colab]({colab}) · "
            f"time: {module.meta.get('time_estimate', '?')} · points: {module.meta.get('points', '?')}")


def chapter_notebook(root, module):
    """The module's student notebook with its README overview and launch links after the title; without the
    Colab setup cell the notebook opens with (it belongs to notebooks opened in Colab, not to a page)."""
    from .edition import strip_notebook
    from .export import read_source
    nb = strip_notebook(read_source(module.source), module.slug)
    readme = module.dir / "README.md"
    overview = readme.read_text() if readme.is_file() else ""
    overview = re.sub(r"\A#[^\n]*\n", "", overview.lstrip())  # the notebook has its own title
    overview = overview.replace("](../../../book/figures/", "](../figures/")  # repo path -> book path
    cell = nbformat.v4.new_markdown_cell(launch_links(root, module) + "\n\n" + overview.strip())
    cell["id"] = "book-overview"
    title = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
    nb.cells.insert(title + 1, cell)
    return nb


def module_map(root, modules):
    "A markdown page: each module, what it builds on, what it exports."
    rows = ["# Module map", "", "| module | builds on | exports to | time |", "|---|---|---|---|"]
    for m in modules:
        pre = ", ".join(str(p) for p in m.meta.get("prerequisites", [])) or "—"
        rows.append(f"| [{m.number} {m.title}](chapters/{m.slug}.ipynb) | {pre} | "
                    f"`tinytorch.{m.export_to}` | {m.meta.get('time_estimate', '')} |")
    return "\n".join(rows) + "\n"


def vendor_mathjax(root, dest):
    "Copy MathJax 3 from the npm package into `dest` (installed once into book/_build/npm)."
    npm_dir = Path(root) / "book" / "_build" / "npm"
    es5 = npm_dir / "node_modules" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        if not shutil.which("npm"):
            raise CourseError("npm is needed once to vendor MathJax for the offline book: install Node.js/npm "
                              "(e.g. `apt-get install -y npm`) and run `tito book build` again")
        npm_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(npm_dir), MATHJAX],
                       check=True, capture_output=True, text=True)
    Path(dest).mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        src = es5 / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, Path(dest) / part)


def assemble(root, src):
    "Write the book's sources into `src`: static pages, the module map, one chapter per module."
    root, src = Path(root), Path(src)
    if src.exists():
        shutil.rmtree(src)
    (src / "chapters").mkdir(parents=True)
    book = root / "book"
    for page in ["_config.yml", "intro.md", "faq.md", "instructor.md", "jupyterhub.md"]:
        shutil.copy(book / page, src / page)
    if (book / "figures").is_dir():
        shutil.copytree(book / "figures", src / "figures")
    modules = [m for m in course_lib.all_modules(root) if m.source]
    (src / "modules.md").write_text(module_map(root, modules))
    for m in modules:
        nbformat.write(chapter_notebook(root, m), src / "chapters" / f"{m.slug}.ipynb")
    pages = ["modules", *[f"chapters/{m.slug}" for m in modules]]
    milestones = root / "milestones" / "README.md"
    if milestones.is_file():
        text = milestones.read_text()
        # links to files of the repository do not exist in the site: keep their text
        text = re.sub(r"\]\((?!https?://|#)[^)]*\)", "]", text)
        figs = sorted((book / "figures").glob("milestones_*.png"))  # written by book/make_figures.py
        text += "\n## Figures\n" * bool(figs) + "".join(
            f"\n![{p.stem}](figures/{p.name})\n\n*From the recorded full runs (`milestones/results/*.json`); "
            "regenerate with `python book/make_figures.py`.*\n" for p in figs)
        (src / "milestones.md").write_text(text)
        pages.append("milestones")
    pages += ["instructor", "jupyterhub", "faq"]
    toc = ["format: jb-book", "root: intro", "chapters:"] + [f"- file: {p}" for p in pages]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n")
    vendor_mathjax(root, src / "_extra" / "mathjax")
    return src


def external_references(html):
    "src/href URLs of scripts, stylesheets, images and fonts that point off the site."
    return re.findall(r'<(?:script|link|img)\b[^>]*?(?:src|href)="((?:https?:)?//[^"]+)"', html)


def page_text(html):
    "The text of an HTML page as a reader sees it (tags removed, entities decoded), code blocks included."
    import html as html_lib
    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


def check_site(root, html_dir):
    "Problems in the built site: solution markers or reference lines in any page, external resources."
    from .check import MARKERS, secret_lines
    secrets = set(secret_lines(root))
    problems = []
    for page in sorted(Path(html_dir).rglob("*")):
        if page.suffix not in (".html", ".js", ".txt", ".ipynb", ".md") or "mathjax" in page.parts:
            continue
        raw = page.read_text(errors="replace")
        text = page_text(raw) if page.suffix == ".html" else raw
        rel = page.relative_to(html_dir)
        problems += [f"{rel}: shows the marker `{m}`" for m in MARKERS if m in text]
        problems += [f"{rel}: shows a reference line: {l[:80]}" for l in sorted({l.strip() for l in text.splitlines()} & secrets)]
        if page.suffix == ".html":
            problems += [f"{rel}: loads {url} from another site" for url in external_references(raw)]
    return problems


def build(root, out=None):
    "Build the book offline into book/_build/html (or `out`); returns the html folder."
    root = Path(root)
    build_dir = Path(out) if out else root / "book" / "_build"
    src = assemble(root, build_dir / "src")
    html = build_dir / "_build" / "html"
    if html.exists():
        shutil.rmtree(html)
    jb = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
          "build", str(src), "--path-output", str(build_dir)]
    proc = subprocess.run(jb, capture_output=True, text=True)
    if proc.returncode != 0 or not (html / "index.html").is_file():
        log = (proc.stdout + proc.stderr)[-4000:]
        raise CourseError(f"jupyter-book failed (exit {proc.returncode}); its last output:\n{log}")
    target = build_dir / "html"
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(html), str(target))
    problems = check_site(root, target)
    if problems:
        raise CourseError("the built book is not safe to publish:\n  " + "\n  ".join(problems[:30]))
    return target
