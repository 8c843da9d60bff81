"""Chromium for the browser tests, driven by Playwright (Python).

Playwright cannot download its own browser on the machines this course is
tested on, so the tests launch the distribution's Chromium (Debian's
``chromium`` package, which ``.ci/run`` installs) by its path:

    from tests.browser import chromium_page, screenshot_dir

    def test_something(tmp_path):
        shots = screenshot_dir("jupyterlab_start_page")
        with chromium_page() as page:
            page.goto(url)
            page.screenshot(path=shots / "start.png")

``COURSE_CHROMIUM`` names another browser binary. Screenshots go to
``build/screenshots/<name>/`` (``COURSE_SCREENSHOT_DIR`` moves the root), kept
after the run so that a person can look at them.
"""

import contextlib
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path():
    """The Chromium binary to launch; a clear error if there is none."""
    named = os.environ.get("COURSE_CHROMIUM")
    if named:
        if not (shutil.which(named) or Path(named).is_file()):
            raise RuntimeError(f"COURSE_CHROMIUM={named!r}: no such program")
        return shutil.which(named) or named
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "the browser tests need Chromium: `sudo apt-get install chromium` "
        "(Debian/Ubuntu), or set COURSE_CHROMIUM to a Chromium or Chrome binary")


def screenshot_dir(name):
    """An empty folder for one test's screenshots, kept after the run."""
    root = Path(os.environ.get("COURSE_SCREENSHOT_DIR", REPO / "build" / "screenshots"))
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@contextlib.contextmanager
def chromium_page(width=1400, height=900, scale=1, **context_options):
    """A fresh Playwright page in headless Chromium; closes everything after.

    ``scale=2`` renders as a HiDPI screen does (device pixel ratio 2).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: Chromium's own sandbox needs user namespaces that
        # containers (and root) often lack; the pages are the course's own.
        browser = p.chromium.launch(executable_path=chromium_path(),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                device_scale_factor=scale, **context_options)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
            context.close()
        finally:
            browser.close()
