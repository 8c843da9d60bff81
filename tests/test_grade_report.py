"""``course grade``'s figure and HTML report (course.grader.report), on a made-up class."""

import base64
import re

import matplotlib.image as mpimg

from course.autograde import GradeRun, StudentResult
from course.grader import report


def _run(tmp_path):
    cells = [("test_a", 2, "code"), ("test_b", 1, "code"), ("essay", 3, "markdown")]
    students = [
        StudentResult("ann", "graded", score=3, max_score=6,
                      cells={"test_a": (2, False), "test_b": (1, False),
                             "essay": (0, True)}),
        StudentResult("bob", "graded", score=1, max_score=6,
                      cells={"test_a": (1, False), "test_b": (0, False),
                             "essay": (0, True)}, flags=["imports os"]),
        StudentResult("cyd", "graded", score=0, max_score=6,
                      cells={"test_a": (0, False), "test_b": (0, False),
                             "essay": (0, True)}),
        StudentResult("dan", "failed", problems=["not a notebook"], max_score=6),
    ]
    return GradeRun("ps_demo", tmp_path, 2, 1.0, students, cells,
                    tmp_path / "grades.csv", tmp_path / "grade_report_ps_demo.csv")


def test_scores_per_cell_leave_out_written_answers_and_failed_submissions(tmp_path):
    run = _run(tmp_path)
    assert report.auto_scores(run) == {"test_a": (2.0, [2.0, 1.0, 0.0]),
                                       "test_b": (1.0, [1.0, 0.0, 0.0])}
    assert report.totals(run) == ([3.0, 1.0, 0.0], 3.0)


def test_the_figure_shows_full_some_and_no_points_per_cell(tmp_path):
    run = _run(tmp_path)
    fig = report.figure(run)
    left = fig.axes[0]
    bars = [(round(p.get_y() + p.get_height() / 2), round(p.get_width(), 3))
            for p in left.patches]
    # test_a (top, y=1): 1/3 full, 1/3 some, 1/3 none; test_b (y=0): 1/3 full, 2/3 none.
    assert sorted(bars) == sorted([(1, 0.333), (0, 0.333), (1, 0.333), (0, 0.0),
                                   (1, 0.333), (0, 0.667)])
    # The notebook's first cell on top.
    assert {t.get_text(): t.get_position()[1] for t in left.get_yticklabels()} == {
        "test_a": 1, "test_b": 0}
    hist = fig.axes[1]
    assert sum(p.get_height() for p in hist.patches) == 3


def test_png_and_a_self_contained_html_report_are_written(tmp_path):
    run = _run(tmp_path)
    png, page = report.write(run)
    assert png.name == "grade_plots_ps_demo.png"
    image = mpimg.imread(png)
    assert image.shape[0] > 300 and image.shape[1] > 1000
    text = page.read_text()
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', text).group(1)
    assert base64.b64decode(embedded) == png.read_bytes()
    for name in ("test_a", "test_b", "essay", "ann", "bob", "cyd", "dan",
                 "imports os", "not a notebook"):
        assert name in text
    assert "http" not in text  # nothing fetched from the network
