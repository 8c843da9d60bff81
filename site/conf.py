"""Sphinx configuration of the course website (built by ``python -m course.site``).

``course.site`` lays the pages out in a staging folder (this file, the pages
of ``site/``, the lectures, the released assignments, the comparison, the
syllabus) and runs ``sphinx-build -W`` on it: every warning fails the build.
MyST-NB executes each lecture during the build; the assignments are shown as
released, never executed.
"""

import os

project = "Artificial Neural Networks"
author = "the ANN course authors"
copyright = "the ANN course authors, MIT licence"

extensions = ["myst_nb"]
html_theme = "sphinx_book_theme"
html_title = "Artificial Neural Networks (人工神经网络)"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_copy_source = False  # the notebooks are offered as downloads instead
html_show_sourcelink = False
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
repository = os.environ.get("SITE_REPOSITORY_URL", "")
if repository:
    html_theme_options.update(repository_url=repository, use_repository_button=True,
                              repository_branch=os.environ.get("SITE_BRANCH", "main"))

exclude_patterns = ["_build", "_notebooks", "README.md", "syllabus.md",
                    "**/.ipynb_checkpoints"]

# Maths: MathJax 3 from the npm package that course.site copies into
# _static/mathjax, never from a CDN.
mathjax_path = "mathjax/tex-chtml-full.js"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
# `$$...$$` inside a paragraph (as the lectures write it) is display maths.
myst_dmath_double_inline = True
myst_heading_anchors = 3
# README sections are included as the guides: their headings start at ###
# under the page's title, which MyST would report as a skipped level.
suppress_warnings = ["myst.header"]
# Quotes as written: smart quotes would also eat a backslash before a quote
# (lecture 6 draws a "\\" stroke).
smartquotes = False

# Execution: every lecture, from a clean kernel, during the build; an error or
# anything on stderr (a warning) fails the build. Assignments are shown as
# students get them and never run (they would stop at NotImplementedError).
nb_execution_mode = "force"
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_excludepatterns = ["assignments/*"]
nb_output_stderr = "error"
nb_merge_streams = True
# Interactive figures (course.widgets): their static picture is an ordinary
# PNG output. The widget itself stays an inert placeholder: no widget
# JavaScript (it would come from a CDN), and _static/course.css says that the
# sliders move in JupyterLab (its text/plain form, "VBox(children=...", is
# not shown).
nb_ipywidgets_js = {}
