"""The Jupyter settings ``make`` installs (``jupyter/install.py``), and ``make test``'s
first check.

What the browser tests (``tests/test_jupyterlab_browser.py``) show working,
checked here file by file against what JupyterLab, Jupyter Server, IPython
and nbconvert read: every plugin id and value against JupyterLab's own
schemas, figures as HiDPI PNGs in a real kernel, the MathJax template in
nbgrader's feedback template with no CDN left; and ``make test`` stopping
with one line where bubblewrap is missing.
"""

import base64
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook_tools import REPO

spec = importlib.util.spec_from_file_location("jupyter_install",
                                              REPO / "jupyter" / "install.py")
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)

SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    install.install(prefix)
    return prefix


def _schema(plugin_id):
    package, plugin = plugin_id.split(":")
    return json.loads((SCHEMAS / package / f"{plugin}.json").read_text())


def test_lab_overrides_name_real_plugins_and_valid_values(prefix):
    overrides = json.loads((prefix / install.LAB_OVERRIDES).read_text())
    for plugin_id, settings in overrides.items():
        properties = _schema(plugin_id)["properties"]
        assert set(settings) <= set(properties), plugin_id
    news = _schema("@jupyterlab/apputils-extension:notification")["properties"]["fetchNews"]
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert {"const": "false", "title": "Never"} in news["oneOf"]
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Markdown Preview"}


def test_lab_opens_on_the_start_page_and_hides_build_clutter(prefix):
    from jupyter_server.services.contents.manager import ContentsManager

    lab = json.loads((prefix / install.LAB_CONFIG).read_text())
    assert lab["LabApp"]["default_url"] == "/lab/tree/START.md"
    assert (REPO / "START.md").is_file()
    globs = json.loads((prefix / install.SERVER_CONFIG).read_text())[
        "ContentsManager"]["hide_globs"]
    defaults = ContentsManager().hide_globs
    assert set(defaults) <= set(globs)  # Jupyter's own hidden files stay hidden
    manager = ContentsManager(hide_globs=globs)
    assert not manager.should_list("ann_course.egg-info")
    assert not manager.should_list("build")
    assert manager.should_list("lectures") and manager.should_list("START.md")


def _png_size(data):
    raw = base64.b64decode(data)
    return struct.unpack(">II", raw[16:24])


@pytest.mark.slow
def test_figures_are_hidpi_in_a_kernel_with_the_installed_configuration(prefix, tmp_path):
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    shutil.copy(prefix / install.KERNEL_CONFIG, profile / "ipython_kernel_config.py")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(4, 3), dpi=100)\nax.plot([0, 1], [0, 1])\n"
        "ax.set_title('感知机 perceptron')\nplt.show()")])
    env = {"IPYTHONDIR": str(tmp_path / "ipython")}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    os.environ.pop("MPLBACKEND", None)
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    outputs = nb.cells[0].outputs
    image = next(o for o in outputs if "image/png" in o.get("data", {}))
    width, height = _png_size(image["data"]["image/png"])
    shown = image["metadata"]["image/png"]
    assert (width, height) == (2 * shown["width"], 2 * shown["height"])  # retina
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "missing from font" not in stderr and "Glyph" not in stderr, stderr


def test_kernel_configuration_names_a_cjk_font_only_when_one_is_installed():
    assert "Noto Sans CJK SC" in install.kernel_config("Noto Sans CJK SC")
    assert "font.family" not in install.kernel_config(None)
    assert 'figure_formats = {"retina"}' in install.kernel_config(None)


def test_feedback_html_carries_mathjax_inline_and_no_cdn(prefix, tmp_path):
    import nbgrader
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    template = (prefix / "share/jupyter/nbconvert/templates/feedback" /
                install.MATHJAX_FILE).read_text()
    assert "MathJax" in template and "cdnjs" not in template
    # nbgrader's feedback template, with the course's macro found first
    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.extra_template_basedirs = [
        str(prefix / "share/jupyter/nbconvert/templates"), str(formgrader / "templates")]
    c.HTMLExporter.extra_template_paths = [
        str(formgrader / "static/node_modules/bootstrap/dist/css")]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$w^\\top x + b$")])
    html, _ = HTMLExporter(config=c).from_notebook_node(
        nb, resources={"nbgrader": {"notebook": "n", "score": 1, "max_score": 1,
                                    "late_penalty": 0}})
    assert "cdnjs" not in html and "window.MathJax = " in html


def test_make_test_stops_in_one_line_without_bubblewrap(tmp_path):
    makefile = (REPO / "Makefile").read_text()
    assert "\ntest: check-bwrap " in makefile
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh", "env", "mkdir"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    stamp = Path(sys.prefix) / ".installed"  # held old: no reinstall from this test
    result = subprocess.run(["make", "--no-print-directory", "-s", "-o", str(stamp),
                             f"VENV={sys.prefix}", "check-bwrap"],
                            cwd=REPO, env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("make test: ")
    assert "sudo apt-get install bubblewrap" in lines[0]
