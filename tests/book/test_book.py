"""The book builds offline, leaks nothing, loads nothing from other sites, links to student notebooks,
and renders (math included) in a real browser."""
import functools
import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tito import book as book_lib
from tito.check import MARKERS, secret_lines
from tito.course import all_modules, find_root

ROOT = find_root(__file__)
ARTIFACTS = ROOT / "artifacts" / "book"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return book_lib.build(ROOT, tmp_path_factory.mktemp("book"))


def _pages(site):
    return {p.relative_to(site): p.read_text(errors="replace") for p in site.rglob("*.html")}


def test_every_module_has_a_chapter(site):
    for m in all_modules(ROOT):
        assert (site / "chapters" / f"{m.slug}.html").is_file(), f"no chapter for {m.slug}"
    assert (site / "index.html").is_file()


def test_no_page_holds_a_solution_marker_or_a_reference_line(site):
    secrets = secret_lines(ROOT)
    assert len(secrets) > 100, "the reference solutions were found (sanity check of the check itself)"
    for rel, html in _pages(site).items():
        text = book_lib.page_text(html)  # code is split into highlighted spans: compare the text
        for marker in MARKERS:
            assert marker not in text, f"{rel} shows `{marker}`"
        lines = {l.strip() for l in text.splitlines()}
        leaked = lines & set(secrets)
        assert not leaked, f"{rel} shows reference solution lines: {sorted(leaked)[:3]}"


def test_nothing_is_loaded_from_another_site(site):
    for rel, html in _pages(site).items():
        assert book_lib.external_references(html) == [], f"{rel} loads resources from another site"
    assert (site / "mathjax" / "tex-chtml.js").is_file(), "MathJax is served by the site itself"
    assert not (site / "_static" / "mathjax").exists(), "MathJax is not copied under _static/"


def test_no_chapter_shows_the_colab_setup_code(site):
    for m in all_modules(ROOT):
        text = book_lib.page_text((site / "chapters" / f"{m.slug}.html").read_text())
        assert "google.colab" not in text and "/content/" not in text, f"{m.slug}: the book shows the Colab setup cell"


def test_launch_links_open_the_student_notebooks(site):
    m = all_modules(ROOT)[0]
    html = (site / "chapters" / f"{m.slug}.html").read_text()
    links = re.findall(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)[^"]+)"', html)
    assert len(links) == 2, f"a Binder and a Colab link in {m.slug}, found {links}"
    for url in links:
        assert url.endswith(f"modules/{m.slug}/{m.notebook.name}"), url


def test_chapters_and_milestones_show_the_figures(site):
    figs = ROOT / "book" / "figures"
    readmes = {m.slug: m.dir / "README.md" for m in all_modules(ROOT) if (m.dir / "README.md").is_file()}
    shown = {f"chapters/{slug}.html": re.findall(r"\]\(\.\./\.\./\.\./book/figures/([^)]+)\)", p.read_text())
             for slug, p in readmes.items()}
    shown["milestones.html"] = [p.name for p in figs.glob("milestones_*.png")]
    assert "autograd_graph.png" in shown["chapters/02_autograd.html"], "the autograd chapter shows its graph"
    for page, names in ((p, n) for p, n in shown.items() if n):
        html = (site / page).read_text()
        srcs = re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', html)
        for name in names:
            src = next((s for s in srcs if s.rsplit("/", 1)[-1] == name), None)
            assert src, f"{page} does not show {name} (images: {srcs})"
            assert (site / page).parent.joinpath(src).read_bytes() == (figs / name).read_bytes(), f"{page}: {src}"


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _browse(url, screenshot, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000"]
    subprocess.run([_chromium(), *flags, f"--screenshot={screenshot}", "--window-size=1200,900", url],
                   capture_output=True, timeout=120)
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    return dom.stdout


@pytest.mark.skipif(_chromium() is None, reason="Chromium could not be installed here "
                    "(`apt-get install -y chromium`); the browser check needs it")
def test_pages_render_in_chromium(site, server, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slugs = [m.slug for m in all_modules(ROOT)]
    pages = {"index": "intro.html", "first-chapter": f"chapters/{slugs[0]}.html",
             "capstone": f"chapters/{slugs[-1]}.html"}
    for name, page in pages.items():
        shot = ARTIFACTS / f"{name}.png"
        dom = _browse(f"{server}/{page}", shot, tmp_path)
        assert "<title>" in dom and "TinyTorch" in re.search(r"<title>(.*?)</title>", dom, re.S).group(1), \
            f"{page}: page title"
        assert shot.is_file() and shot.stat().st_size > 10_000, f"{page}: screenshot"
        visible = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)
        visible = re.sub(r"<[^>]+>", "", visible)
        assert "\\(" not in visible and "$$" not in visible, f"{page}: raw TeX left unrendered"
        if name == "index":
            assert "mjx-container" in dom, "MathJax rendered the chain rule on the index page"
