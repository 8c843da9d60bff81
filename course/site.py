"""The course website: every lecture with its outputs, readable in a browser.

Built with Sphinx, MyST-NB and the Sphinx Book Theme (``site/conf.py``)::

    python -m course.site                 # or `make site`; opens nothing
    python -m course.site --out DIR --compare-dir results/compare --jobs 2

``build_site`` lays out a Sphinx source folder in ``<out>/src``:

- ``site/``: the configuration, the home page and the guides (which include
  the README's sections), and ``package.json`` for MathJax;
- ``lectures/*.ipynb``: executed by MyST-NB during the build, with a note on
  where the notebook is and how to open it in JupyterLab (and inline maths
  kept on one line, see ``join_inline_math``);
- ``assignments/<name>.ipynb``: the released notebook of every assignment
  (from ``assignments/``, never ``solutions/``), shown as students get it;
- ``compare.md``: the MNIST comparison's table and figures, read from a
  folder written by ``course compare`` or, when there is none, from a
  ``course compare --quick`` run made during the build (the page says which);
- ``syllabus.md``: the lectures' titles and sections, Chinese terms included.

It then runs ``sphinx-build -W --keep-going -n`` into ``<out>/html``, so a
notebook error, anything a lecture writes to stderr, a broken reference or a
missing image fails the build, and checks the result with ``check_site``:
every link and image inside the site resolves, and nothing a page needs
(script, style sheet, font, image) comes from the network. MathJax comes from
the npm package ``mathjax`` (``npm ci`` in ``<out>/npm``), not from a CDN.
"""

import argparse
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

REPO = Path(__file__).resolve().parents[1]
SITE_SOURCE = REPO / "site"
COMPARE_FILES = ("results.md", "accuracy_vs_depth.png", "training_curves.png",
                 "confusion_matrix.png", "misclassified.png")
FIGURE_TITLES = {
    "accuracy_vs_depth.png": "Test accuracy against the number of hidden layers",
    "training_curves.png": "Training curves",
    "confusion_matrix.png": "Confusion matrix of the best model",
    "misclassified.png": "Digits the best model gets wrong",
}
# MathJax files the pages load: one combined TeX build and what it loads itself.
MATHJAX_ENTRY = "tex-chtml-full.js"
MATHJAX_SKIP = re.compile(r"^[^/]+\.js$|^output/svg/")


class SiteBuildError(RuntimeError):
    """The site could not be built, or the built site has problems."""


# ---------------------------------------------------------------------------
# Staging the sources
# ---------------------------------------------------------------------------


def _title(notebook):
    """The first ``# `` heading of a notebook, without the hashes."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# (.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    raise SiteBuildError("a notebook has no '# Title' heading in a markdown cell")


def _sections(notebook):
    """The ``## `` headings of a notebook, in order."""
    return [m.group(1).strip() for cell in notebook.cells if cell.cell_type == "markdown"
            for m in re.finditer(r"^## (.+)$", cell.source, re.M)]


_CODE_OR_DISPLAY_MATH = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<!\\)\$(?!\$)((?:(?!\n[ \t]*\n)[^$])+?)(?<!\\)\$")


def join_inline_math(markdown):
    """``markdown`` with each line break inside an inline ``$...$`` made a space.

    JupyterLab takes the maths out before it parses the Markdown; MyST parses
    the Markdown first, so a formula broken over lines where the next line
    starts like a list item (``- \\hat{y}``) would become a list. Joining the
    formula's lines gives the page what the notebook shows. Code and
    ``$$...$$`` are left as they are; a ``$`` never pairs across a blank line.
    """
    def join(text):
        return _INLINE_MATH.sub(lambda m: "$" + m.group(1).replace("\n", " ") + "$", text)

    parts, last = [], 0
    for match in _CODE_OR_DISPLAY_MATH.finditer(markdown):
        parts += [join(markdown[last:match.start()]), match.group(0)]
        last = match.end()
    return "".join(parts + [join(markdown[last:])])


_HTML_ANCHOR = re.compile(r'^<a (?:id|name)="([^"]+)"></a>[ \t]*$', re.M)


def anchors_to_targets(notebook, prefix):
    """Turn a notebook's HTML anchors into MyST targets, and its links to them.

    A lecture marks its sections with ``<a id="section-1"></a>`` and links to
    them from its contents (``[...](#section-1)``): JupyterLab follows such
    links, MyST cannot resolve them. Each anchor becomes a MyST target
    ``(prefix-section-1)=`` (Sphinx's labels are global, hence the prefix) and
    each link ``(#section-1)`` points at it, so Sphinx checks every one.
    Changes the markdown cells of ``notebook`` in place.
    """
    cells = [c for c in notebook.cells if c.cell_type == "markdown"]
    names = {name for c in cells for name in _HTML_ANCHOR.findall(c.source)}
    for cell in cells:
        source = _HTML_ANCHOR.sub(lambda m: f"({prefix}-{m.group(1)})=", cell.source)
        for name in names:
            source = source.replace(f"](#{name})", f"](#{prefix}-{name})")
        cell.source = source


def _source_link(relative, repository_url, branch):
    if not repository_url:
        return ""
    return f" · [view it in the repository]({repository_url}/blob/{branch}/{relative})"


def _note_cell(text):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = ["site-note"]
    return cell


def _stage_notebook(path, relative, target, note):
    """Copy a notebook into the staging folder with ``note`` after its title cell,
    and the untouched notebook into ``_notebooks/`` for download."""
    notebook = nbformat.read(path, as_version=4)
    _title(notebook)  # a page needs a title
    pristine = target.parent.parent / "_notebooks" / relative
    pristine.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, pristine)
    download = os.path.relpath(pristine, target.parent).replace(os.sep, "/")
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = join_inline_math(cell.source)
    anchors_to_targets(notebook, Path(relative).stem)
    notebook.cells.insert(1, _note_cell(note.format(download=download)))
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return notebook


def stage_lectures(lectures_dir, src, repository_url="", branch="main"):
    """Stage every ``lectures_dir/*.ipynb``; returns [(page name, notebook)]."""
    paths = sorted(Path(lectures_dir).glob("*.ipynb"))
    if not paths:
        raise SiteBuildError(f"no lecture notebooks in {lectures_dir}")
    staged = []
    for path in paths:
        relative = f"lectures/{path.name}"
        note = (
            ":::{{admonition}} Run this lecture yourself\n:class: tip\n"
            f"This page is `{relative}`, executed while the site was built "
            "(with the notebook's own fixed seeds). The notebook itself is "
            "committed without outputs: {{download}}`download it <{download}>`"
            f"{_source_link(relative, repository_url, branch)}.\n\n"
            "To open it in JupyterLab: clone the course, run `make lab` in its "
            f"folder, open `{relative}` in the file browser on the left and "
            "choose *Run → Run All Cells*. It runs in under a minute on a "
            "laptop CPU.\n:::"
        )
        staged.append((f"lectures/{path.stem}",
                       _stage_notebook(path, relative, src / relative, note)))
    return staged


def stage_assignments(assignments_dir, src, repository_url="", branch="main"):
    """Stage the released notebook of every assignment; returns [(page, notebook)].

    ``assignments_dir`` is nbgrader's release folder (``assignments/``): one
    folder per assignment with ``<name>.ipynb`` in it.
    """
    folders = sorted(p for p in Path(assignments_dir).iterdir() if p.is_dir())
    staged = []
    for folder in folders:
        path = folder / f"{folder.name}.ipynb"
        if not path.is_file():
            raise SiteBuildError(f"{folder} has no {folder.name}.ipynb")
        relative = f"assignments/{folder.name}/{path.name}"
        note = (
            ":::{{admonition}} The student version\n:class: note\n"
            f"This is `{relative}` as nbgrader releases it: the text and the "
            "visible tests, without solutions or hidden tests. "
            "{{download}}`Download the notebook <{download}>`"
            f"{_source_link(relative, repository_url, branch)}.\n\n"
            "To work on it: run `make lab`, open it in JupyterLab, write your "
            "code where it says `# YOUR CODE HERE`, run the test cells, then "
            f"`course check {relative}` grades it with the hidden tests "
            "(see the [student guide](../guides/student.md)).\n:::"
        )
        target = src / "assignments" / path.name
        staged.append((f"assignments/{folder.name}",
                       _stage_notebook(path, relative, target, note)))
    if not staged:
        raise SiteBuildError(f"no released assignments in {assignments_dir}")
    return staged


def write_syllabus(lectures, assignments, path):
    """The syllabus page part: each lecture with its sections, then the assignments."""
    lines = ["The lectures, in teaching order, with the sections of each:", ""]
    for page, notebook in lectures:
        lines.append(f"- **[{_title(notebook)}]({page}.ipynb)**: "
                     + "; ".join(s for s in _sections(notebook) if s != "Summary"))
    lines += ["", "The assignments (graded by nbgrader, hidden tests included):", ""]
    for page, notebook in assignments:
        lines.append(f"- [{_title(notebook)}]({page}.ipynb)")
    lines += ["", "And the slides' homework: [the MNIST comparison](compare.md) of "
              "scikit-learn, PyTorch and a from-scratch numpy network.", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


def comparison_results(compare_dir, work_dir):
    """(folder with ``COMPARE_FILES``, sentence saying where they come from).

    ``compare_dir``: a folder written by ``course compare`` (all of
    ``COMPARE_FILES`` must be there), or None to run the comparison's quick
    mode into ``work_dir`` now.
    """
    if compare_dir is not None:
        folder = Path(compare_dir)
        missing = [n for n in COMPARE_FILES if not (folder / n).is_file()]
        if missing:
            raise SiteBuildError(
                f"{folder} lacks {', '.join(missing)}: run `course compare "
                f"--out-dir {folder}` first, or build without --compare-dir")
        when = time.strftime("%Y-%m-%d", time.gmtime((folder / "results.md").stat().st_mtime))
        return folder, (f"These are the results of a run of `course compare`, read from "
                        f"its output folder when the site was built (written {when}).")
    from course.compare import run_comparison

    folder = Path(work_dir)
    run_comparison(quick=True, out_dir=folder, progress=False)
    return folder, (
        "This site was built without the results of a full run, so the build ran "
        "`course compare --quick`: the first 5,000 training and 2,000 test images, "
        "hidden layers of 128 units, 2 epochs per model. Expect lower accuracies "
        "than a full run's. `make compare` runs the full comparison (all 70,000 "
        "images, width 512, 8 epochs: about 12 minutes on 2 cores); "
        "`python -m course.site --compare-dir results/compare` then builds the "
        "site with its results.")


def write_compare_page(results_dir, origin, src):
    """``compare.md`` and its figures (``compare/*.png``) in the staging folder."""
    figures = src / "compare"
    figures.mkdir(parents=True, exist_ok=True)
    table = Path(results_dir, "results.md").read_text(encoding="utf-8")
    table = re.sub(r"\A# .*\n", "", table).strip()
    lines = [
        "# The MNIST comparison", "",
        "The slides' homework: multi-layer perceptrons (多层感知机) with 1 to 4 "
        "hidden layers in scikit-learn, PyTorch and the from-scratch numpy network "
        "of `course.nn`, and LeNet-5, a convolutional network (卷积神经网络), "
        "trained on MNIST and tested on its test images.", "",
        f":::{{admonition}} Where these numbers come from\n:class: note\n{origin}\n:::", "",
        table, "", "## Figures", "",
    ]
    for name in COMPARE_FILES[1:]:
        shutil.copyfile(Path(results_dir, name), figures / name)
        lines += [f"### {FIGURE_TITLES[name]}", "", f"![{FIGURE_TITLES[name]}](compare/{name})", ""]
    (src / "compare.md").write_text("\n".join(lines), encoding="utf-8")


def install_mathjax(npm_dir, static_dir):
    """``npm ci`` the pinned MathJax (``site/package-lock.json``) into ``npm_dir``
    once, and copy what the pages load into ``static_dir/mathjax``."""
    npm_dir = Path(npm_dir)
    lock = (SITE_SOURCE / "package-lock.json").read_bytes()
    stamp = npm_dir / ".lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    es5 = npm_dir / "node_modules" / "mathjax" / "es5"
    if not (stamp.is_file() and stamp.read_text() == digest and es5.is_dir()):
        npm = shutil.which("npm")
        if npm is None:
            raise SiteBuildError("the site needs npm for MathJax: `sudo apt-get install "
                                 "npm` (Debian/Ubuntu) or install Node.js")
        npm_dir.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SITE_SOURCE / name, npm_dir / name)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=npm_dir, capture_output=True, text=True)
        if done.returncode != 0 or not es5.is_dir():
            raise SiteBuildError(f"npm ci (MathJax) failed: {done.stderr.strip()[-500:]}")
        stamp.write_text(digest)
    target = Path(static_dir) / "mathjax"
    for path in es5.rglob("*"):
        relative = path.relative_to(es5).as_posix()
        if path.is_file() and (relative == MATHJAX_ENTRY or not MATHJAX_SKIP.search(relative)):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)


def stage_sources(src, *, lectures_dir=REPO / "lectures",
                  assignments_dir=REPO / "assignments", compare_dir=None,
                  work_dir=None, npm_dir=None, repository_url="", branch="main"):
    """Lay out the whole Sphinx source folder in ``src`` (emptied first).

    ``work_dir`` (default: ``src``'s parent) holds the quick comparison's
    output; ``npm_dir`` (default: ``work_dir/npm``) the MathJax package.
    """
    src = Path(src)
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(SITE_SOURCE, src, ignore=shutil.ignore_patterns(
        "package*.json", "node_modules", "_build", "__pycache__"))
    shutil.copyfile(REPO / "README.md", src / "README.md")
    work_dir = Path(work_dir or src.parent)
    install_mathjax(npm_dir or work_dir / "npm", src / "_static")
    lectures = stage_lectures(lectures_dir, src, repository_url, branch)
    assignments = stage_assignments(assignments_dir, src, repository_url, branch)
    write_syllabus(lectures, assignments, src / "syllabus.md")
    results, origin = comparison_results(compare_dir, work_dir / "compare")
    write_compare_page(results, origin, src)
    return src


# ---------------------------------------------------------------------------
# Building and checking
# ---------------------------------------------------------------------------


def run_sphinx(src, html_dir, jobs=2):
    """``sphinx-build -W --keep-going -n`` (warnings are errors) into ``html_dir``.

    Raises ``SiteBuildError`` listing the warnings when there are any.
    """
    html_dir = Path(html_dir)
    warnings_file = html_dir.parent / "sphinx-warnings.txt"
    shutil.rmtree(html_dir, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
               "-n", "-q", "-E", "-j", str(jobs), "-w", str(warnings_file),
               "-d", str(html_dir.parent / "doctrees"), str(src), str(html_dir)]
    # The lectures' kernels import this checkout's `course`.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p))
    done = subprocess.run(command, cwd=src, env=env, capture_output=True, text=True)
    if done.returncode == 0:
        return html_dir
    warnings = (warnings_file.read_text(encoding="utf-8")
                if warnings_file.is_file() else "")
    # Paths relative to the source folder; MyST-NB's notebook line numbers
    # (cell * 10000 + line) say nothing to a reader.
    warnings = re.sub(r"(\.ipynb):\d+:", r"\1:", warnings.replace(f"{Path(src)}/", ""))
    problems = [line for line in warnings.splitlines()
                if re.search(r": (WARNING|ERROR|CRITICAL): ", line)]
    if not problems:
        # Sphinx stopped: a lecture raised. Say which, and what it raised.
        sys.stderr.write(done.stdout + done.stderr)
        text = done.stdout + done.stderr + warnings
        saved = re.search(r"traceback has been saved in:\s*(\S+)", text)
        if saved and Path(saved.group(1)).is_file():  # it holds the cell's error
            text += Path(saved.group(1)).read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace(f"{Path(src)}/", "")
        text = re.sub(r"(\w+\.)*SphinxParallelError: ", "", text)
        errors = re.findall(r"(?:^|[\s.])(\w*(?:Error|Exception)): ([^\n]+)", text, re.M)
        problems = list(dict.fromkeys(f"{name}: {message.strip()}"
                                      for name, message in errors
                                      if name != "CellExecutionError"))[-4:]
    raise SiteBuildError(
        f"the site did not build (sphinx-build exit status {done.returncode}):\n"
        + ("\n".join(problems) or "see the output above"))


class _Links(HTMLParser):
    """Ids, links and resource loads of one HTML page."""

    LOADS = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"),
             ("embed", "src"), ("video", "src"), ("audio", "src"), ("object", "data")}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.loads = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").lower()
            (self.loads if re.search(r"stylesheet|icon|preload|modulepreload", rel)
             else self.links).append(attrs["href"])
        for name, attr in self.LOADS:
            if tag == name and attrs.get(attr):
                self.loads.append(attrs[attr])


def _is_remote(url):
    return url.startswith("//") or bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url))


def _target(page, url, root):
    """The file an internal ``url`` on ``page`` points to, and its fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    if not path:
        target = page
    if target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def check_site(html_dir):
    """Problems of a built site, as a list of one-line strings (empty: none).

    Every internal link, image, script and style sheet must resolve to a file
    of the site (and a link's ``#anchor`` to an id of its page); no page may
    load anything from the network (scripts, style sheets, images, fonts in
    CSS ``url()`` or ``@import``); every image must be a non-empty file.
    """
    root = Path(html_dir)
    # The theme copies Jinja templates into _static/: they are not pages.
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.parts)
    if not pages:
        return [f"{root} has no HTML pages"]
    parsed = {}
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        parsed[page] = parser
    problems = []
    for page, parser in parsed.items():
        where = page.relative_to(root).as_posix()
        for url in parser.loads:
            if _is_remote(url) and not url.startswith("data:"):
                problems.append(f"{where}: loads {url} from the network")
            elif not _is_remote(url):
                target, _ = _target(page, url, root)
                if not target.is_file() or target.stat().st_size == 0:
                    problems.append(f"{where}: {url} is missing or empty")
        for url in parser.links:
            if _is_remote(url) or url.startswith("javascript:"):
                continue
            target, fragment = _target(page, url, root)
            if not target.exists():
                problems.append(f"{where}: broken link {url}")
            elif fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else set()
                if fragment not in ids:
                    problems.append(f"{where}: link {url} to a missing anchor")
    for sheet in sorted(root.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(
                r"@import\s+['\"]([^'\"]+)", text):
            if url.startswith("data:"):
                continue
            where = sheet.relative_to(root).as_posix()
            if _is_remote(url):
                problems.append(f"{where}: loads {url} from the network")
            elif not (sheet.parent / unquote(urlsplit(url).path)).is_file():
                problems.append(f"{where}: {url} is missing")
    return problems


class _Text(HTMLParser):
    """The text of an HTML page, line breaks kept (code blocks stay line by line)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "pre"):
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path):
    """What a reader sees of a built file: an HTML page's text, another file's text."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if Path(path).suffix != ".html":
        return text
    parser = _Text()
    parser.feed(text)
    return html.unescape("".join(parser.parts))


def build_site(out=REPO / "build" / "site", *, jobs=2, compare_dir=None, **staging):
    """Stage, build and check the site; returns the ``html`` folder.

    ``out``: the build folder (``src``, ``html``, ``npm``, ``compare`` go
    there). ``compare_dir``: ``course compare``'s output folder, or None to run
    the quick comparison. ``staging``: ``lectures_dir``, ``assignments_dir``,
    ``npm_dir``, ``repository_url``, ``branch`` (see ``stage_sources``). Raises
    ``SiteBuildError`` when the build or ``check_site`` fails.
    """
    out = Path(out)
    src = stage_sources(out / "src", compare_dir=compare_dir, work_dir=out, **staging)
    html_dir = run_sphinx(src, out / "html", jobs=jobs)
    problems = check_site(html_dir)
    if problems:
        raise SiteBuildError(f"the built site has {len(problems)} problems:\n"
                             + "\n".join(f"- {p}" for p in problems))
    return html_dir


def main(argv=None):
    """``python -m course.site [options]``; returns the exit status (0, 1 on failure)."""
    parser = argparse.ArgumentParser(
        prog="python -m course.site",
        description="Build the course website (lectures executed, assignments as "
                    "released, the MNIST comparison, the guides) into OUT/html.")
    parser.add_argument("--out", default=str(REPO / "build" / "site"),
                        help="build folder (default: build/site)")
    parser.add_argument("--compare-dir", default=None,
                        help="use the results `course compare` wrote there (default: "
                             "run `course compare --quick` during the build)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="processes that execute lectures (default: 2)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        html_dir = build_site(
            args.out, jobs=args.jobs, compare_dir=args.compare_dir,
            repository_url=os.environ.get("SITE_REPOSITORY_URL", "").rstrip("/"),
            branch=os.environ.get("SITE_BRANCH", "main"))
    except SiteBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"site built in {time.perf_counter() - start:.0f} s: "
          f"{html_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
