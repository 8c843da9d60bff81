"""`course similarity`: pairs of submissions ranked by how alike their answer code is.

One temporary course (a copy of this one) with ps1_perceptron submissions
written here:

- ``author``: correct answers in a style of their own (``AUTHOR``), with a
  helper function before ``train_perceptron``;
- ``copier``: the author's answers with every local variable renamed, the
  helper moved after the function that calls it, ``sign`` before
  ``heaviside``, comments added and blank lines changed;
- ``solution`` and ``loops``: the solution's answers and the plain-loop
  answers of ``tests/submissions/loops.py``, written independently of the
  author's and of each other;
- ``blank`` and ``blank2``: the released notebook as it was handed out.

The copy must be the top pair and the only one flagged; independent
answers and the blank release must not be.
"""

import contextlib
import io
import re
import shutil

import nbformat
import numpy as np
import pytest

from course import autograde, similarity
from course.cli import main
from tests.notebook_tools import copy_course, fill_answers, solution_answers
from tests.submissions.loops import PS1 as LOOPS

NAME = "ps1_perceptron"
NOTEBOOK = f"{NAME}.ipynb"

AUTHOR = {
    "step_functions": '''
def heaviside(z):
    """Heaviside step, elementwise: 0 where z < 0, 1 where z >= 0.

    z: array of any shape (or a number). Returns a float array of z's shape.
    """
    arr = np.array(z, dtype=np.float64)
    return (arr >= 0).astype(np.float64)


def sign(z):
    """Sign function, elementwise: -1 where z < 0, 0 where z == 0, +1 where z > 0.

    z: array of any shape (or a number). Returns a float array of z's shape.
    """
    arr = np.array(z, dtype=np.float64)
    return (arr > 0).astype(np.float64) - (arr < 0).astype(np.float64)
''',
    "mp_neuron": '''
def mp_neuron(X, w, theta):
    """Outputs of an M-P neuron for N input vectors.

    X: (N, d) inputs; w: (d,) weights; theta: the threshold (a number).
    Returns (N,) floats in {0, 1}: heaviside(X @ w - theta).
    """
    weighted_sums = np.dot(np.array(X, dtype=np.float64), w)
    fires = weighted_sums >= theta
    return fires.astype(np.float64)
''',
    "perceptron_predict": '''
def perceptron_predict(X, w, b):
    """Predictions of a perceptron.

    X: (N, d) inputs; w: (d,) weights; b: bias (a number).
    Returns (N,) floats in {0, 1}.
    """
    scores = np.einsum("nd,d->n", np.array(X, dtype=np.float64),
                       np.array(w, dtype=np.float64))
    return np.array([1.0 if s + b >= 0 else 0.0 for s in scores])
''',
    "perceptron_update": '''
def perceptron_update(w, b, x, y, lr):
    """One step of the perceptron learning rule."""
    prediction = 1.0 if float(np.dot(w, x)) + b >= 0 else 0.0
    step = lr * (y - prediction)
    new_weights = np.array(w, dtype=np.float64) + step * np.array(x, dtype=np.float64)
    return new_weights, b + step
''',
    "train_perceptron": '''
def _fires(row, weights, bias):
    """1.0 if the perceptron with these weights fires on one input row, else 0.0."""
    return 1.0 if float(row.dot(weights)) + bias >= 0 else 0.0


def train_perceptron(X, y, lr=1.0, max_epochs=100, w0=None, b0=0.0):
    """Train a perceptron with the learning rule, one example at a time."""
    data = np.array(X, dtype=np.float64)
    if w0 is None:
        weights = np.zeros(data.shape[1])
    else:
        weights = np.copy(np.array(w0, dtype=np.float64))
    bias = float(b0)
    history = []
    epoch = 0
    while epoch < max_epochs:
        wrong = 0
        for row, label in zip(data, y):
            wrong += int(_fires(row, weights, bias) != label)
            weights, bias = perceptron_update(weights, bias, row, label, lr)
        history.append(wrong)
        epoch += 1
        if not wrong:
            break
    return weights, bias, history
''',
    "find_weight_cycle": '''
def find_weight_cycle(X, y, lr=1.0, max_epochs=1000):
    """Detect that perceptron training loops forever."""
    first_seen = dict()
    weights, bias = np.zeros(np.shape(X)[1]), 0.0
    epoch = 0
    while epoch < max_epochs:
        key = tuple(weights.tolist()) + (float(bias),)
        if key in first_seen:
            return first_seen[key], epoch
        first_seen[key] = epoch
        weights, bias, counts = train_perceptron(X, y, lr, 1, weights, bias)
        if counts[0] == 0:
            return None
        epoch += 1
    raise RuntimeError("neither a cycle nor convergence")
''',
}

RENAMED = {"arr": "values", "weighted_sums": "totals", "fires": "active",
           "scores": "raw", "prediction": "guess", "step": "delta",
           "new_weights": "w_next", "_fires": "_on", "row": "sample",
           "weights": "w_vec", "bias": "offset", "data": "inputs",
           "history": "n_errors", "epoch": "ep", "wrong": "bad", "label": "target",
           "first_seen": "visited", "key": "signature", "counts": "errs"}


def _copy(answers):
    """The answers disguised: names renamed, helpers reordered, comments, blank lines."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, RENAMED)) + r")\b")
    out = {gid: pattern.sub(lambda m: RENAMED[m.group(1)], code)
           for gid, code in answers.items()}
    heaviside, sign = out["step_functions"].strip("\n").split("\n\n\ndef sign")
    out["step_functions"] = "def sign" + sign + "\n\n# the step itself\n" + heaviside
    helper, train = out["train_perceptron"].strip("\n").split("\n\n\ndef train_perceptron")
    out["train_perceptron"] = "def train_perceptron" + train + "\n\n\n\n" + helper + "\n"
    out["mp_neuron"] = out["mp_neuron"].replace("    return", "    # threshold\n\n    return")
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course copy with the six submissions of the module docstring."""
    root = copy_course(tmp_path_factory.mktemp("similarity") / "course")
    release = nbformat.read(root / "assignments" / NAME / NOTEBOOK, as_version=4)
    solution = solution_answers(root / "solutions" / NAME / NOTEBOOK)
    solution.pop("xor_explanation")
    subs = {"author": AUTHOR, "copier": _copy(AUTHOR), "solution": solution,
            "loops": LOOPS, "blank": {}, "blank2": {}}
    for student, answers in subs.items():
        _submit(root, student, fill_answers(release, answers))
    return root


def _submit(root, student, nb):
    folder = root / "submitted" / student / NAME
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        (folder / NOTEBOOK).write_bytes(nb)
    else:
        nbformat.write(nb, folder / NOTEBOOK)


@pytest.fixture(scope="module")
def report(course):
    return similarity.compare(NAME, course)


def _pair(report, a, b):
    (pair,) = [p for p in report.pairs if {p.a, p.b} == {a, b}]
    return pair


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["similarity", NAME, *map(str, args)])
    return status, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------
# the fixtures are what they claim


@pytest.mark.parametrize("answers", [AUTHOR, _copy(AUTHOR), LOOPS], ids=["author", "copier", "loops"])
def test_the_hand_written_answers_are_correct(answers):
    """Each answer set computes what the solution computes (they are honest work)."""
    from tests.notebook_tools import REPO

    def load(cells):
        namespace = {"np": np}
        for gid in ["step_functions", "mp_neuron", "perceptron_predict",
                    "perceptron_update", "train_perceptron", "find_weight_cycle"]:
            exec(cells[gid], namespace)
        return namespace

    mine = load(answers)
    ref = load(solution_answers(REPO / "solutions" / NAME / NOTEBOOK))
    rng = np.random.default_rng(0)
    z = np.array([[-1.0, 0.0, 2.0], [0.5, -0.0, -3.0]])
    X = rng.normal(size=(12, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 >= 0).astype(float)
    w = rng.normal(size=3)
    xor_X, xor_y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 1, 1, 0])
    for name, args in [("heaviside", (z,)), ("sign", (z,)), ("mp_neuron", (X, w, 0.2)),
                       ("perceptron_predict", (X, w, -0.1)),
                       ("perceptron_update", (w, 0.5, X[0], 1.0, 0.1)),
                       ("train_perceptron", (X, y, 0.5, 50)),
                       ("find_weight_cycle", (xor_X, xor_y, 1.0, 100))]:
        got, want = mine[name](*args), ref[name](*args)
        for g, r in zip(got if isinstance(got, tuple) else [got],
                        want if isinstance(want, tuple) else [want]):
            np.testing.assert_allclose(np.asarray(g, dtype=float),
                                       np.asarray(r, dtype=float), err_msg=name)


# ---------------------------------------------------------------------------
# what is flagged, what is not


def test_a_disguised_copy_is_the_top_pair_and_the_only_one_flagged(report):
    top = report.pairs[0]
    assert {top.a, top.b} == {"author", "copier"}
    assert top.score >= 0.9 > report.threshold
    assert set(top.cells) == set(report.labels)  # every answer cell was copied
    assert all(min(shares) >= 0.8 for shares in top.cells.values()), top.cells
    assert report.flagged() == [top]


@pytest.mark.parametrize("a, b", [("solution", "loops"), ("solution", "author"),
                                  ("loops", "author"), ("loops", "copier")])
def test_independent_correct_answers_are_not_flagged(report, a, b):
    pair = _pair(report, a, b)
    assert pair.score < 0.25 <= report.threshold, (pair.score, pair.cells)


def test_the_released_notebook_scores_zero_against_everyone(report):
    for other in report.submissions:
        if other != "blank":
            assert _pair(report, "blank", other).score == 0, other
    # Every line of a released answer cell is given code: nothing left to compare.
    for label, cell in report.submissions["blank"].cells.items():
        assert cell.code.strip() == "" and cell.fingerprint.token_coverage == 0, label
    assert set(report.submissions["blank"].cells) == set(report.labels)


def test_given_code_is_not_the_students_but_their_own_docstrings_are(report):
    cells = report.submissions["author"].cells
    assert "def heaviside" not in cells["step_functions"].code
    assert "Heaviside step" not in cells["step_functions"].code
    assert "arr = np.array(z" in cells["step_functions"].code
    # the helper's own def line and docstring are the student's code
    assert '"""1.0 if the perceptron' in cells["train_perceptron"].code
    # swapped functions: sign's def line is given all the same
    assert "def sign" not in report.submissions["copier"].cells["step_functions"].code


def test_a_lone_closing_quote_line_of_the_students_own_docstring_stays():
    given = 'def f(x):\n    """Given.\n    """\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    lines = ["def helper(v):", '    """', "    Mine.", '    """', "    return v", "",
             "def f(x):", '    """Given.', '    """', "    return helper(x)"]
    dropped = similarity._given_lines(given, lines)
    assert dropped == {6, 7, 8}


def test_normalisation_is_copydetects(report):
    from copydetect.utils import filter_code

    for answers in (AUTHOR, LOOPS, _copy(AUTHOR)):
        for code in answers.values():
            assert similarity._normalise(code)[0] == filter_code(code, "a.py", "python")[0]


def test_all_pairs_scores_equal_copydetects_compare_files(report):
    """The vectorised scores are copydetect's token overlap, pair by pair."""
    for pair in report.pairs:
        for label in report.labels:
            have = (label in report.submissions[pair.a].cells
                    and label in report.submissions[pair.b].cells)
            if not have:
                continue
            share_a, share_b, _, _ = similarity.matches(report, pair, label)
            expected = pair.cells.get(label, (0.0, 0.0))
            assert (share_a, share_b) == pytest.approx(expected), (pair.a, pair.b, label)


# ---------------------------------------------------------------------------
# the command: terminal and HTML


def test_command_prints_ranked_pairs_and_writes_a_self_contained_html(course, tmp_path):
    out_file = tmp_path / "report.html"
    status, out, err = _run("--course-dir", course, "--out", out_file, "--top", 3)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{NAME}: 6 submissions compared (15 pairs)")
    ranked = [line for line in lines if re.match(r"\s+\d+\. ", line)]
    assert len(ranked) == 3
    assert re.match(r"\s+1\. ! \d\.\d\d  author ~ copier\s+cells: ", ranked[0])
    assert "train_perceptron" in ranked[0] and "!" not in ranked[1]
    assert lines[-1] == f"report: {out_file.resolve()}"

    page = out_file.read_text(encoding="utf-8")
    for external in ("http://", "https://", "<script", "<link", "src="):
        assert external not in page
    section = page[page.index('<div class="pair" id="pair1">'):]
    columns = re.findall(r"<div><b>(\w+)</b>.*?<pre>(.*?)</pre>", section, re.S)
    assert {student for student, _ in columns} == {"author", "copier"}
    marked = {s: " ".join(re.findall(r"<mark>(.*?)</mark>", pre, re.S)) for s, pre in columns}
    assert "w_vec" in marked["copier"] and "weights" in marked["author"]
    assert "w_vec" not in marked["author"]
    # the given lines are shown, greyed, and never marked
    assert '<span class="given">def heaviside(z):</span>' in section
    assert "def heaviside" not in marked["author"]


def test_threshold_and_top_options(course, tmp_path):
    status, out, _ = _run("--course-dir", course, "--out", tmp_path / "r.html",
                          "--threshold", "0.01", "--top", "15")
    assert status == 0
    flagged = [line for line in out.splitlines() if re.match(r"\s+\d+\. ! ", line)]
    expected = sum(1 for p in similarity.compare(NAME, course).pairs if p.score >= 0.01)
    assert len(flagged) == expected > 1


# ---------------------------------------------------------------------------
# bad input: one clear line


def test_unknown_assignment_is_one_line(course):
    status, out, err = _run_for("nope", course)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: no assignment 'nope'") and "ps1_perceptron" in err


def _run_for(assignment, course):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["similarity", assignment, "--course-dir", str(course)])
    return status, out.getvalue(), err.getvalue()


def test_no_submissions_is_one_line(tmp_path):
    root = copy_course(tmp_path / "course")
    status, out, err = _run("--course-dir", root)
    assert status == 1 and out == ""
    assert err == (f"error: no submissions of {NAME}: expected folders "
                   f"submitted/<student>/{NAME}/ in {root.resolve()}\n")


@pytest.mark.parametrize("option, value", [("--threshold", "1.5"), ("--top", "0")])
def test_bad_option_values_are_one_line(course, option, value):
    status, out, err = _run("--course-dir", course, option, value)
    assert status == 1 and out == "" and err.count("\n") == 1 and err.startswith("error: ")


def test_a_submission_that_is_not_json_is_skipped_with_one_line(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course, root)
    _submit(root, "mallory", b"this is not a notebook {")
    _submit(root, "latin1", '{"cells": "caf\xe9"}'.encode("latin-1"))
    _submit(root, "a_list", b"[1, 2]")
    status, out, err = _run("--course-dir", root, "--out", tmp_path / "r.html")
    assert status == 0 and err == ""
    skipped = [line for line in out.splitlines() if line.startswith("  skipped")]
    assert skipped == [
        f"  skipped a_list: {NOTEBOOK} is not a notebook (no list of cells)",
        f"  skipped latin1: {NOTEBOOK} is not UTF-8 text",
        f"  skipped mallory: {NOTEBOOK} is not a notebook (not JSON: Expecting value: "
        "line 1 column 1 (char 0))",
    ]
    assert "6 submissions compared (15 pairs)" in out and "Traceback" not in out


# ---------------------------------------------------------------------------
# course grade's summary


def test_summary_section_names_the_pair_and_writes_the_report(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course, root)
    lines = similarity.summary_section(NAME, root)
    assert lines[0] == ("Most similar submissions (answer code, given code ignored; "
                        "1 pair at or above 0.5):")
    assert re.match(r"  \d\.\d\d  author ~ copier  \(.*train_perceptron", lines[1])
    path = root / f"similarity_{NAME}.html"
    assert lines[-1] == f"  side by side: {path}" and path.is_file()


def test_summary_section_says_nothing_below_two_submissions(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course, root)
    for student in ["copier", "solution", "loops", "blank", "blank2"]:
        shutil.rmtree(root / "submitted" / student)
    assert similarity.summary_section(NAME, root) == []
    assert not (root / f"similarity_{NAME}.html").exists()


def test_course_grade_summary_ends_with_the_similarity_section(course, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(course, root)
    run = autograde.GradeRun(assignment=NAME, course=root, workers=1, seconds=1.0,
                             students=[], cells=[], grades_csv=root / "grades.csv",
                             report_csv=root / f"grade_report_{NAME}.csv")
    run.similarity = similarity.summary_section(NAME, root)  # as grade_assignment does
    text = autograde.summary_text(run)
    section = text[text.index("Most similar submissions"):]
    assert "author ~ copier" in section
    assert section.endswith(f"side by side: {root / f'similarity_{NAME}.html'}")
    assert (root / f"similarity_{NAME}.html").is_file()


# ---------------------------------------------------------------------------
# the course's teaching library, compared like a submission

PS4 = "ps4_convolution"


def _library_copy(name, renames):
    """The teaching library's ``name``, its local names changed, as a student
    would hand it in after reading it in the student edition."""
    module, source = similarity.library_definitions()[name]
    for old, new in renames.items():
        source = re.sub(rf"\b{old}\b", new, source)
    return module, source


def test_an_answer_lifted_from_the_teaching_library_is_flagged_against_it(tmp_path):
    """ps4's conv2d_backward copied from course.nn (which the lectures use and
    students receive) is flagged against the library; the solution's own
    answers, written apart from the library, are not; the reports say where the
    library's code comes from."""
    root = copy_course(tmp_path / "course")
    notebook = f"{PS4}.ipynb"
    release = nbformat.read(root / "assignments" / PS4 / notebook, as_version=4)
    solution = solution_answers(root / "solutions" / PS4 / notebook)
    module, lifted = _library_copy("conv2d_backward",
                                   {"dout_mat": "g", "dcols": "grad_cols", "dxp": "acc"})
    for student, answers in {"honest": solution,
                             "lifted": {**solution, "conv2d_backward": lifted}}.items():
        folder = root / "submitted" / student / PS4
        folder.mkdir(parents=True)
        nbformat.write(fill_answers(release, answers), folder / notebook)

    report = similarity.compare(PS4, root)
    library = report.submissions[similarity.LIBRARY]
    assert {"conv2d_forward", "conv2d_backward", "maxpool2d_forward"} <= set(library.cells)
    assert library.origins["conv2d_backward"] == [module] == ["course.nn.functional"]
    assert report.students() == ["honest", "lifted"]

    caught = _pair(report, "lifted", similarity.LIBRARY)
    assert caught in report.flagged() and caught.score >= 0.99
    assert caught.cells["conv2d_backward"][0] >= 0.9, caught.cells
    assert set(caught.cells) == {"conv2d_backward"}, caught.cells
    assert _pair(report, "honest", similarity.LIBRARY).score < 0.25

    text = similarity.report_text(report)
    assert "2 submissions compared (1 pairs)" in text
    assert f"lifted ~ {similarity.LIBRARY}" in text
    page = similarity.html_report(report)
    assert f"{similarity.LIBRARY}: course.nn.functional" in page
    lines = similarity.summary_section(PS4, root)
    assert any(f"lifted ~ {similarity.LIBRARY}" in line for line in lines), lines


def test_the_solutions_are_not_copies_of_the_teaching_library():
    """No assignment's solution is alike the library that students receive:
    otherwise the student edition would hand out the answers (and every
    honest idiomatic answer would be flagged)."""
    from tests.notebook_tools import REPO

    checked = 0
    for source_path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        answers = solution_answers(source_path)
        given = similarity._given_code(
            source_path, REPO / "assignments" / source_path.parent.name / source_path.name)
        boilerplate = similarity._boilerplate(given.values())
        library = similarity._library_submission(
            {gid: (source_path.name, gid, code) for gid, code in given.items()}, boilerplate)
        for gid, cell in library.cells.items():
            mine = similarity._cell(answers[gid].split("\n"), given[gid], boilerplate)
            matched, coverage = similarity.matched_chars([mine.fingerprint, cell.fingerprint])
            share = matched[0, 1] / coverage[0] if coverage[0] else 0.0
            assert share < similarity.THRESHOLD, (
                f"{source_path.name}:{gid}: {share:.0%} of the solution is in "
                f"{', '.join(library.origins[gid])}")
            checked += 1
    assert checked >= 10, checked


def test_a_student_named_like_the_library_is_still_compared(course, tmp_path):
    """A submission folder called "(course library)" (a student id from an LMS
    download can be anything) neither hides that student nor the library."""
    root = tmp_path / "course"
    shutil.copytree(course, root)
    shutil.move(root / "submitted" / "copier", root / "submitted" / similarity.LIBRARY)
    report = similarity.compare(NAME, root)
    assert similarity.LIBRARY in report.students()
    assert report.library().student == similarity.LIBRARY + "*"
    top = report.pairs[0]
    assert {top.a, top.b} == {"author", similarity.LIBRARY} and top.score >= 0.9
    assert "6 submissions compared (15 pairs)" in similarity.report_text(report)


def test_without_the_notebooks_the_library_is_every_module_but_the_instructors(monkeypatch):
    """An installed package without lectures/ still has a library to compare
    with: every module of course except the grader and the instructors' tools."""
    from course import edition

    monkeypatch.setattr(edition, "student_modules", lambda course: set())
    similarity.library_definitions.cache_clear()
    try:
        definitions = similarity.library_definitions()
    finally:
        similarity.library_definitions.cache_clear()
    modules = {module for module, _ in definitions.values()}
    assert {"course.gradcheck", "course.activations", "course.nn.functional"} <= modules
    assert not any(m.startswith(("course.grader", "course.autograde", "course.similarity"))
                   for m in modules), modules
    assert definitions["conv2d_backward"][0] == "course.nn.functional"
