"""Install the course's Jupyter settings into a Python environment.

    python jupyter/install.py [PREFIX]

``make`` runs this with the course's virtual environment (PREFIX defaults to
the running interpreter's ``sys.prefix``). It writes, all under PREFIX:

- ``share/jupyter/lab/settings/overrides.json``: JupyterLab's defaults for
  this environment (no news pop-up, Markdown opens rendered);
- ``etc/jupyter/jupyter_lab_config.json``: Lab opens on the course start page
  ``START.md``;
- ``etc/jupyter/jupyter_server_config.json``: build clutter
  (``*.egg-info``, ``build``, caches) is hidden from the file browser;
- ``etc/ipython/ipython_kernel_config.py``: figures as HiDPI ("retina") PNGs,
  and, where a Noto CJK font is installed, that font as matplotlib's fallback
  for Chinese text (a one-line note here when it is not);
- ``share/jupyter/nbconvert/templates/{formgrade,feedback}/mathjax.html.j2``:
  the Formgrader and the feedback HTML typeset maths with the MathJax that
  the ``django-static-mathjax`` Python package installs (inlined, so feedback
  files render offline wherever they are opened), instead of a CDN. Only
  where that package is installed: the student edition grades nothing.

Every file is rewritten on each run; nothing outside PREFIX is touched.
"""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Jupyter Server reads its ``.d`` folder only for the list of extensions.
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.json"
LAB_CONFIG = "etc/jupyter/jupyter_lab_config.json"
LAB_OVERRIDES = "share/jupyter/lab/settings/overrides.json"
KERNEL_CONFIG = "etc/ipython/ipython_kernel_config.py"
# nbgrader's templates import the ``mathjax`` macro by file name; a file of
# that name in a template folder of the same name under PREFIX comes first.
MATHJAX_TEMPLATES = ("formgrade", "feedback")
MATHJAX_FILE = "mathjax.html.j2"
MATHJAX_COMPONENT = "static/mathjax/es5/tex-svg-full.js"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC",
                "Noto Serif CJK SC", "Noto Serif CJK JP", "WenQuanYi Zen Hei")

# MathJax 3 reads this before it loads; the delimiters are the notebook's.
MATHJAX_CONFIG = {
    "tex": {"inlineMath": [["$", "$"], ["\\(", "\\)"]],
            "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
            "processEscapes": True, "processEnvironments": True, "tags": "ams"},
    "svg": {"fontCache": "global"},
}
# nbgrader's formgrade.js waits for MathJax 2's startup signal; MathJax 3 has
# a promise instead. This gives formgrade.js the one call it makes.
MATHJAX2_SHIM = """
window.MathJax.Hub = {Startup: {signal: {Interest: function (callback) {
    MathJax.startup.promise.then(function () { callback("End"); });
}}}};
"""


def mathjax_template():
    """The ``mathjax`` macro of nbconvert's base template, with MathJax inlined."""
    import mathjax  # the django-static-mathjax package: MathJax's files, no Django

    script = (Path(mathjax.__file__).parent / MATHJAX_COMPONENT).read_text()
    if "</script" in script.lower() or "endraw" in script:
        raise RuntimeError(f"{MATHJAX_COMPONENT} cannot be inlined as it is")
    return (
        "{#- Written by jupyter/install.py: MathJax 3 inlined (offline). -#}\n"
        '{%- macro mathjax(url="") -%}\n'
        f"<script>window.MathJax = {json.dumps(MATHJAX_CONFIG)};</script>\n"
        "<script>{% raw %}" + script + "{% endraw %}</script>\n"
        f"<script>{MATHJAX2_SHIM}</script>\n"
        "{%- endmacro %}\n"
    )


def cjk_family():
    """The first CJK family that matplotlib (as kernels will) can find, or None.

    matplotlib reads its own font cache: a font installed after the cache was
    built is found by fontconfig (``fc-list``) but not by matplotlib, and
    naming it would print "findfont: Font family ... not found" under every
    figure. Then this says how to refresh the cache instead.
    """
    from matplotlib import font_manager

    known = {font.name for font in font_manager.fontManager.ttflist}
    family = next((name for name in CJK_FAMILIES if name in known), None)
    if family is None and shutil.which("fc-list"):
        listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                                text=True, check=False).stdout
        if any(name in listed for name in CJK_FAMILIES):
            print("note: a CJK font is installed but matplotlib's font cache predates "
                  f"it; delete {font_manager.get_cachedir()}/fontlist-*.json and run "
                  "make again")
    return family


def kernel_config(family):
    """The IPython kernel configuration: retina figures, a CJK fallback font."""
    lines = ["# Written by the course's jupyter/install.py; rewritten by `make`.",
             "c = get_config()  # noqa: F821",
             "# PNGs at twice the resolution, shown at normal size: sharp on HiDPI.",
             'c.InlineBackend.figure_formats = {"retina"}']
    if family:
        lines += ["# Chinese key terms in figures: matplotlib falls back to this font.",
                  "c.InlineBackend.rc = "
                  f'{{"font.family": ["DejaVu Sans", "{family}"]}}']
    return "\n".join(lines) + "\n"


def install(prefix):
    """Write every settings file under ``prefix``; returns the paths written."""
    prefix = Path(prefix)
    family = cjk_family()
    files = {
        LAB_OVERRIDES: (HERE / "lab" / "settings" / "overrides.json").read_text(),
        SERVER_CONFIG: (HERE / "jupyter_server_config.json").read_text(),
        LAB_CONFIG: (HERE / "jupyter_lab_config.json").read_text(),
        KERNEL_CONFIG: kernel_config(family),
    }
    if importlib.util.find_spec("mathjax"):  # the course's; not the student edition's
        template = mathjax_template()
        for name in MATHJAX_TEMPLATES:
            files[f"share/jupyter/nbconvert/templates/{name}/{MATHJAX_FILE}"] = template
    written = []
    for relative, text in files.items():
        path = prefix / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    if family is None:
        print("note: no CJK font for figures: Chinese terms show as boxes; install one "
              "with `sudo apt-get install fonts-noto-cjk`")
    return written


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else sys.prefix
    for path in install(target):
        print(f"installed {path}")
