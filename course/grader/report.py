"""The class at a glance: a figure and an HTML report written by ``course grade``.

``write(run)`` writes, next to ``grades.csv``:

- ``grade_plots_<assignment>.png``: for every auto-graded cell, the share of
  the class with full points, some points and none (so the question the
  class failed stands out), and a histogram of the automatic totals;
- ``grade_report_<assignment>.html``: the same figure (embedded: the file
  stands alone, no network), the statistics per cell, and one row per
  student with score, problems and what the scan flagged for review.

Written answers waiting for a person are left out of the figure and counted
in the table.
"""

import base64
import html
import io
from pathlib import Path

FULL, SOME, NONE = "#009E73", "#E69F00", "#D55E00"  # Okabe-Ito: colour-blind safe


def auto_scores(run):
    """grade_id -> (max_score, [scores]) of the auto-graded cells, in notebook order."""
    cells = {}
    for grade_id, max_score, cell_type in run.cells:
        scores = [s.cells[grade_id][0] for s in run.graded
                  if grade_id in s.cells and not s.cells[grade_id][1]]
        if cell_type == "code" and max_score:
            cells[grade_id] = (float(max_score), [float(x or 0) for x in scores])
    return cells


def totals(run):
    """The automatic total of each graded student (written answers left out)."""
    cells = auto_scores(run)
    return [sum(float(s.cells[g][0] or 0) for g in cells if g in s.cells)
            for s in run.graded], sum(m for m, _ in cells.values())


def figure(run):
    """The matplotlib Figure: shares per cell (left), totals (right)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cells = auto_scores(run)
    names = list(cells)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, max(3.0, 0.38 * len(names) + 1.5)),
        gridspec_kw={"width_ratios": [3, 2]})
    y = range(len(names))[::-1]
    full, some, none = [], [], []
    for name in names:
        max_score, scores = cells[name]
        n = max(len(scores), 1)
        full.append(sum(s >= max_score for s in scores) / n)
        none.append(sum(s <= 0 for s in scores) / n)
        some.append(1 - full[-1] - none[-1])
    left.barh(list(y), full, color=FULL, label="full points")
    left.barh(list(y), some, left=full, color=SOME, label="some points")
    left.barh(list(y), none, left=[f + s for f, s in zip(full, some)], color=NONE,
              label="no points")
    for yy, name in zip(y, names):
        max_score, scores = cells[name]
        mean = sum(scores) / len(scores) if scores else 0.0
        left.text(1.01, yy, f"mean {mean:.2g}/{max_score:g}", va="center", fontsize=8)
    left.set_yticks(list(y), names, fontsize=8)
    left.set_xlim(0, 1)
    left.set_xlabel("share of the class")
    left.set_title(f"{run.assignment}: points per test cell")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8,
                frameon=False)
    scores, best = totals(run)
    # One bar per whole point (up to 40 points), else 20 equal bins.
    bins = ([b - 0.5 for b in range(int(best) + 2)] if best <= 40 else 20)
    right.hist(scores, bins=bins, range=None if best <= 40 else (0, best),
               color="#0072B2", edgecolor="white")
    right.yaxis.get_major_locator().set_params(integer=True)
    right.set_xlabel(f"automatic total (of {best:g})")
    right.set_ylabel("students")
    right.set_title(f"{len(scores)} graded submissions")
    fig.tight_layout()
    return fig


def write(run):
    """Write the PNG and the HTML report; returns their paths."""
    import matplotlib.pyplot as plt

    course = Path(run.course)
    png = course / f"grade_plots_{run.assignment}.png"
    page = course / f"grade_report_{run.assignment}.html"
    fig = figure(run)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    plt.close(fig)
    png.write_bytes(buffer.getvalue())
    page.write_text(_html(run, base64.b64encode(buffer.getvalue()).decode("ascii")),
                    encoding="utf-8")
    return png, page


def _html(run, image):
    from course.autograde import cell_statistics

    esc = html.escape
    rows = []
    for grade_id, (max_score, mean, median, manual) in cell_statistics(run).items():
        stats = ("&mdash;" if mean is None
                 else f"{mean:.2f}</td><td>{median:.2f}")
        if mean is None:
            stats += "</td><td>&mdash;"
        rows.append(f"<tr><td>{esc(grade_id)}</td><td>{max_score:g}</td><td>{stats}"
                    f"</td><td>{manual}</td></tr>")
    students = []
    for s in run.students:
        students.append(
            f"<tr><td>{esc(s.student)}</td><td>{esc(s.status)}</td>"
            f"<td>{s.score:g} / {s.max_score:g}</td>"
            f"<td>{'<br>'.join(esc(p) for p in s.problems)}</td>"
            f"<td>{'<br>'.join(esc(f) for f in s.flags)}</td></tr>")
    similarity = Path(run.course) / f"similarity_{run.assignment}.html"
    link = (f'<p>Similar submissions: <a href="{esc(similarity.name)}">'
            f"{esc(similarity.name)}</a></p>" if similarity.exists() else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(run.assignment)}: grade report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{esc(run.assignment)}</h1>
<p>{len(run.students)} submissions: {len(run.graded)} graded, {len(run.failed)} failed,
{len(run.flagged)} flagged for review.</p>
<img alt="points per test cell and the distribution of totals"
 src="data:image/png;base64,{image}">
{link}
<h2>Per graded cell</h2>
<table><tr><th>cell</th><th>points</th><th>mean</th><th>median</th>
<th>left for manual grading</th></tr>
{''.join(rows)}</table>
<h2>Per student</h2>
<table><tr><th>student</th><th>status</th><th>score</th><th>problems</th>
<th>flagged for review</th></tr>
{''.join(students)}</table>
</body></html>
"""
