"""The course website (``course.site``, ``make site``).

The whole site is built once for this module, as ``make site`` builds it:
every lecture executed, the released assignments, the quick MNIST
comparison, the guides. Then:

- the build's own checks hold (no broken link or image, nothing loaded from
  the network) and every expected page is there;
- no file of the site holds a line of solution code, a hidden test or a mark
  scheme (the release leak scan of ``tests/test_release_leaks.py``);
- in Chromium, the home page and every lecture show their figures and
  typeset maths, search finds "perceptron", and no request leaves the
  machine; screenshots go to ``build/screenshots/site/``.

Two small builds prove that the build fails on a lecture that raises, and on
stderr output, a broken link and a missing image.
"""

import functools
import html
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from course import site
from tests.browser import chromium_page, screenshot_dir
from tests.notebook_tools import REPO, notebooks
from tests.test_release_leaks import MARKERS, _leaked_lines, _solutions

LECTURES = notebooks("lectures")
ASSIGNMENTS = sorted(p.name for p in (REPO / "assignments").iterdir() if p.is_dir())
# Pages made from the README's guides: they document nbgrader's region
# markers ("### BEGIN SOLUTION") for instructors, so only the marker scan
# leaves them out; the solution-line scan reads them like every other file.
GUIDES = {"guides/instructor.html", "guides/student.html", "guides/self-study.html"}
TEXT_SUFFIXES = {".html", ".js", ".json", ".ipynb", ".txt", ".md", ".css", ".inv"}


@pytest.fixture(scope="session")
def npm_dir(tmp_path_factory):
    """One MathJax install for every build of this module."""
    return tmp_path_factory.mktemp("site_npm")


@pytest.fixture(scope="module")
def lectures_as_built():
    """The lecture notebooks as the build reads them (read just before it)."""
    return {path.name: nbformat.read(path, as_version=4) for path in LECTURES}


@pytest.fixture(scope="module")
def built_site(tmp_path_factory, npm_dir, lectures_as_built):
    """The whole site, built as ``make site`` builds it (lectures executed)."""
    out = tmp_path_factory.mktemp("site")
    return site.build_site(out, jobs=2, npm_dir=npm_dir)


# ---------------------------------------------------------------------------
# The built site
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_site_has_every_lecture_assignment_and_guide_page(built_site):
    """Home, 7 lectures, the assignments, the comparison, the guides, search."""
    expected = (["index.html", "search.html", "compare.html"]
                + [f"lectures/{p.stem}.html" for p in LECTURES]
                + [f"assignments/{a}.html" for a in ASSIGNMENTS] + sorted(GUIDES))
    missing = [name for name in expected if not (built_site / name).is_file()]
    assert not missing, f"pages missing from the site: {missing}"
    assert len(LECTURES) >= 7 and len(ASSIGNMENTS) >= 5


@pytest.mark.slow
def test_built_site_has_no_broken_link_missing_image_or_network_load(built_site):
    """``check_site``: every internal link and image resolves; nothing from a CDN."""
    assert site.check_site(built_site) == []


@pytest.mark.slow
@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_page_has_executed_figures_and_says_how_to_run_it(
        lectures_as_built, built_site, lecture):
    """Figures from the executed notebook, a download of the notebook itself, and
    how to open it in JupyterLab."""
    page = (built_site / "lectures" / f"{lecture.stem}.html").read_text(encoding="utf-8")
    figures = re.findall(r'<img [^>]*src="(\.\./_images/[^"]+)"', page)
    assert figures, f"{lecture.name}: no figure on its page (was it executed?)"
    notebook = lectures_as_built[lecture.name]
    plots = sum("plt.show()" in c.source for c in notebook.cells if c.cell_type == "code")
    assert len(figures) >= plots, (lecture.name, len(figures), plots)
    link = re.search(rf'href="(\.\./_downloads/[0-9a-f]+/{lecture.name})"', page)
    assert link, f"{lecture.name}: no download link to the notebook"
    downloaded = nbformat.read(built_site / "lectures" / link.group(1), as_version=4)
    assert downloaded == notebook, "the download is not the committed notebook"
    text = site.page_text(built_site / "lectures" / f"{lecture.stem}.html")
    assert f"open lectures/{lecture.name} in the file browser" in " ".join(text.split())
    assert "make lab" in text and "Run All Cells" in text


@pytest.mark.slow
def test_compare_page_shows_the_table_and_four_figures_and_says_where_from(built_site):
    """The comparison page: the table of the run, its four figures, its origin."""
    page = (built_site / "compare.html").read_text(encoding="utf-8")
    for name in site.COMPARE_FILES[1:]:
        assert f'src="_images/{name}"' in page or re.search(
            rf'src="_images/{name[:-4]}[^"]*\.png"', page), name
    text = " ".join(site.page_text(built_site / "compare.html").split())
    assert "course compare --quick" in text and "5,000 training" in text
    # Every row of the table the run wrote, cell by cell, is on the page.
    table = (built_site.parent / "compare" / "results.md").read_text(encoding="utf-8")
    rows = [line.strip("|").split("|") for line in table.splitlines()
            if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 3 * 4 + 1, rows  # header, 3 families x 4 depths, LeNet-5
    for row in rows:
        assert " ".join(cell.strip() for cell in row) in text, row


@pytest.mark.slow
def test_home_page_has_syllabus_with_chinese_terms_and_every_lecture(built_site):
    text = " ".join(site.page_text(built_site / "index.html").split())
    for lecture in LECTURES:
        title = re.search(r"^# (.+)$", nbformat.read(lecture, as_version=4).cells[0].source,
                          re.M).group(1)
        assert " ".join(title.split()) in text, title
    assert "感知机" in text and "反向传播" in text and "卷积神经网络" in text
    for heading in ("Who it is for", "How to start", "Syllabus"):
        assert heading in text
    assert "make lab" in text  # the README's quick start, included


@pytest.mark.slow
def test_no_page_of_the_site_gives_a_solution_or_hidden_test_away(built_site):
    """The release leak scan over every text file of the built site."""
    # The lectures teach some of the same code the assignments ask for (a
    # softmax, a training loop): those lines are public, in lectures/, and are
    # no leak. Every other secret line is looked for.
    lectures = {line.strip() for path in LECTURES
                for cell in nbformat.read(path, as_version=4).cells
                for line in cell.source.split("\n")}
    secret = set(_solutions()[0]) - lectures
    assert secret, "no solution lines to look for"
    problems, scanned = [], 0
    for path in sorted(p for p in built_site.rglob("*") if p.is_file()):
        relative = path.relative_to(built_site).as_posix()
        if path.suffix not in TEXT_SUFFIXES or relative.startswith("_static/"):
            continue
        text = site.page_text(path)
        scanned += 1
        leaked = sorted(set(_leaked_lines(text)) & secret)
        if leaked:
            problems.append(f"{relative}: {leaked[:3]}")
        if relative not in GUIDES and MARKERS.search(text):
            problems.append(f"{relative}: marker {MARKERS.search(text).group(0)!r}")
    assert scanned > len(LECTURES) + len(ASSIGNMENTS)
    assert not problems, "the site gives away:\n" + "\n".join(problems)


def test_the_leak_scan_sees_a_solution_line_inside_highlighted_html(tmp_path):
    """A secret line split into syntax-highlighting spans is still found."""
    secret = sorted(_solutions()[0])[0]
    spans = "".join(f'<span class="n">{html.escape(token)}</span>'
                    for token in re.split(r"(\W)", secret) if token)
    page = tmp_path / "page.html"
    page.write_text(f'<html><body><div class="highlight"><pre>x = 1\n{spans}\n'
                    "</pre></div><script>var a = 1;</script></body></html>")
    assert _leaked_lines(site.page_text(page)) == [secret]


# ---------------------------------------------------------------------------
# check_site on hand-made pages
# ---------------------------------------------------------------------------


def test_check_site_reports_broken_links_missing_images_and_network_loads(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "style.css").write_text(
        "@font-face{src:url(https://fonts.example.org/f.woff2)}"
        ".x{background:url(gone.png)}")
    (tmp_path / "b.html").write_text('<h1 id="top">b</h1>')
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="style.css">'
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<img src="a.png"><img src="missing.png"><img src="empty.png">'
        '<a href="b.html#top">ok</a><a href="b.html#nowhere">anchor</a>'
        '<a href="c.html">broken</a><a href="https://example.org/">external</a>')
    problems = "\n".join(site.check_site(tmp_path))
    for expected in ["loads https://cdn.example.org/mathjax.js from the network",
                     "missing.png is missing", "empty.png is missing or empty",
                     "broken link c.html", "link b.html#nowhere to a missing anchor",
                     "style.css: loads https://fonts.example.org/f.woff2",
                     "style.css: gone.png is missing"]:
        assert expected in problems, (expected, problems)
    assert "a.png" not in problems and "example.org/\n" not in problems
    assert len(problems.splitlines()) == 7, problems


def test_inline_maths_broken_over_lines_is_joined_but_nothing_else():
    """A formula whose second line starts like a list item stays one formula."""
    source = ("the Jacobian $\\mathrm{diag}(\\hat{y})\n- \\hat{y}\\hat{y}^\\top$, "
              "a price of $5\n\nand `code $x\n` and $$a\n- b$$ and $x$")
    assert site.join_inline_math(source) == (
        "the Jacobian $\\mathrm{diag}(\\hat{y}) - \\hat{y}\\hat{y}^\\top$, "
        "a price of $5\n\nand `code $x\n` and $$a\n- b$$ and $x$")


def test_html_anchors_become_myst_targets_that_the_contents_links_reach():
    """``<a id="section-1"></a>`` and ``[...](#section-1)`` as the lectures write
    them become a MyST target and a link to it, named for the page."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("1. [Neurons](#section-1)\n2. [Other](#elsewhere)"),
        nbformat.v4.new_markdown_cell('<a id="section-1"></a>\n\n## 1. Neurons'),
        nbformat.v4.new_code_cell('html = \'<a id="section-1"></a>\'')])
    site.anchors_to_targets(notebook, "01_neurons")
    assert notebook.cells[0].source == (
        "1. [Neurons](#01_neurons-section-1)\n2. [Other](#elsewhere)")
    assert notebook.cells[1].source == "(01_neurons-section-1)=\n\n## 1. Neurons"
    assert notebook.cells[2].source == 'html = \'<a id="section-1"></a>\''


def test_comparison_folder_without_results_is_a_one_line_error(tmp_path):
    with pytest.raises(site.SiteBuildError, match=r"lacks results\.md.*course compare"):
        site.comparison_results(tmp_path, tmp_path / "work")


# ---------------------------------------------------------------------------
# The build fails on a broken lecture
# ---------------------------------------------------------------------------


def _lecture(folder, name, *cells):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# Lecture · {name}"), *cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory):
    """A comparison folder for the small builds (their compare page is not tested)."""
    from matplotlib.figure import Figure

    folder = tmp_path_factory.mktemp("compare")
    (folder / "results.md").write_text("# MNIST comparison\n\nno run: a test fixture\n")
    for name in site.COMPARE_FILES[1:]:
        Figure(figsize=(1, 1)).savefig(folder / name)
    return folder


@pytest.mark.slow
def test_build_fails_on_a_lecture_that_raises(tmp_path, npm_dir, compare_dir):
    _lecture(tmp_path / "lectures", "raises",
             nbformat.v4.new_code_cell("raise ValueError('the lecture is broken')"))
    with pytest.raises(site.SiteBuildError) as failure:
        site.build_site(tmp_path / "out", jobs=1, npm_dir=npm_dir,
                        compare_dir=compare_dir, lectures_dir=tmp_path / "lectures")
    message = str(failure.value)
    assert "lectures/raises.ipynb" in message, message
    assert "ValueError: the lecture is broken" in message, message


@pytest.mark.slow
def test_build_fails_on_stderr_a_broken_link_and_a_missing_image(
        tmp_path, npm_dir, compare_dir):
    """One build, three faults, each reported (sphinx-build --keep-going -W)."""
    lectures = tmp_path / "lectures"
    _lecture(lectures, "a_warns", nbformat.v4.new_code_cell(
        "import warnings\nwarnings.warn('overflow in exp')"))
    _lecture(lectures, "b_links",
             nbformat.v4.new_markdown_cell("See [the next lecture](no_such_lecture.ipynb)."))
    _lecture(lectures, "c_image", nbformat.v4.new_markdown_cell("![a plot](no_such.png)"))
    with pytest.raises(site.SiteBuildError) as failure:
        site.build_site(tmp_path / "out", jobs=1, npm_dir=npm_dir,
                        compare_dir=compare_dir, lectures_dir=lectures)
    message = str(failure.value)
    assert "lectures/a_warns.ipynb: ERROR: stderr was found" in message, message
    assert "b_links" in message and "no_such_lecture" in message, message
    assert "c_image" in message and "no_such.png" in message, message


@pytest.mark.slow
def test_interactive_figure_shows_its_static_picture_and_no_widget_text(
        tmp_path, npm_dir, compare_dir):
    """A course.widgets figure: its PNG on the page, the sliders' place marked,
    no "VBox(children=..." text and no widget JavaScript from the network."""
    _lecture(tmp_path / "lectures", "widget", nbformat.v4.new_code_cell(
        "import matplotlib.pyplot as plt\n"
        "from course.widgets import interactive_figure, slider\n\n"
        "def draw(slope):\n"
        "    fig, ax = plt.subplots(figsize=(3, 2))\n"
        "    ax.plot([0, 1], [0, slope])\n"
        "    return fig\n\n"
        "figure = interactive_figure(draw, slope=slider(1.0, 0.0, 2.0, 0.1, 'slope'))"))
    built = site.build_site(tmp_path / "out", jobs=1, npm_dir=npm_dir,
                            compare_dir=compare_dir, lectures_dir=tmp_path / "lectures")
    page = built / "lectures" / "widget.html"
    assert "VBox(" not in site.page_text(page)
    with chromium_page() as browser:
        browser.goto(page.as_uri())
        output = browser.locator(".cell_output").last
        size = output.locator("img").evaluate("img => img.naturalWidth")
        note = output.evaluate(
            "node => getComputedStyle(node, '::after').getPropertyValue('content')")
        browser.screenshot(path=screenshot_dir("site_widget") / "widget.png")
    assert size > 0, "the static picture did not load"
    assert "move its sliders" in note, note


# ---------------------------------------------------------------------------
# In a browser
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served_site(built_site):
    """The built site over HTTP on a free local port (as a static host serves it)."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


_FIGURES_JS = """async () => {
    const images = [...document.querySelectorAll('article img')];
    for (const img of images) {
        img.loading = 'eager';
        if (!img.complete) {
            await new Promise(done => { img.onload = done; img.onerror = done; });
        }
    }
    return images.map(img => {
        const box = img.getBoundingClientRect();
        return {src: img.getAttribute('src'), natural: img.naturalWidth,
                width: box.width, height: box.height};
    });
}"""

# The article's text without code, outputs and typeset maths: what is left
# must hold no TeX (a `$` or a `\\command` shows maths that was not typeset).
_PROSE_JS = """() => {
    const article = document.querySelector('article').cloneNode(true);
    article.querySelectorAll('pre, code, mjx-container, script, style, .cell_output')
        .forEach(node => node.remove());
    return article.textContent;
}"""


def _mathjax_done(page):
    page.wait_for_function("() => window.MathJax && MathJax.startup"
                           " && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")


@pytest.mark.slow
def test_browser_shows_every_lecture_with_figures_and_maths_and_search_works(
        served_site, built_site):
    shots = screenshot_dir("site")
    remote = []
    with chromium_page() as page:
        def offline(route):
            host = urlsplit(route.request.url).hostname
            if host not in ("127.0.0.1", "localhost"):
                remote.append(route.request.url)
                return route.abort()
            return route.continue_()

        page.route("**/*", offline)
        failed = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)

        page.goto(f"{served_site}/index.html")
        assert "Syllabus" in page.inner_text("article")
        page.screenshot(path=shots / "home.png")

        for lecture in LECTURES:
            page.goto(f"{served_site}/lectures/{lecture.stem}.html")
            _mathjax_done(page)
            figures = page.evaluate(_FIGURES_JS)
            assert figures, f"{lecture.stem}: no figure"
            broken = [f for f in figures
                      if not (f["natural"] > 0 and f["width"] > 0 and f["height"] > 0)]
            assert not broken, f"{lecture.stem}: figures not shown: {broken}"
            assert page.locator("article mjx-container").count() > 0, (
                f"{lecture.stem}: no typeset maths")
            assert "VBox(" not in page.inner_text("article"), (
                f"{lecture.stem}: an interactive figure shows widget text")
            prose = page.evaluate(_PROSE_JS)
            raw = re.findall(r"\$[^$]{0,40}|\\(?:frac|sum|mathbf|begin|sigma)\b", prose)
            assert not raw, f"{lecture.stem}: maths left as raw TeX: {raw[:3]}"
            assert page.locator("a.right-next").count() + page.locator(
                "a.left-prev").count() >= 1, f"{lecture.stem}: no previous/next link"
            page.screenshot(path=shots / f"{lecture.stem}.png")
            page.locator("article img").first.scroll_into_view_if_needed()
            page.screenshot(path=shots / f"{lecture.stem}_figure.png")

        for other in ("compare", f"assignments/{ASSIGNMENTS[0]}", "guides/instructor"):
            page.goto(f"{served_site}/{other}.html")
            page.screenshot(path=shots / f"{other.replace('/', '_')}.png", full_page=True)

        page.goto(f"{served_site}/search.html?q=perceptron")
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a",
                                         "links => links.map(a => a.href)")
        page.screenshot(path=shots / "search_perceptron.png")
    assert any("lectures/01_neurons_and_perceptron" in h for h in hits), hits
    assert not remote, f"pages asked the network for {remote[:5]}"
    assert not failed, f"requests that failed: {failed[:5]}"
