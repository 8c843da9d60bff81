"""``course mutants``: the operators, the equivalence check, and a whole run on a
tiny assignment with known mutants (one the hidden tests kill, one that
survives, one equivalent)."""

import csv
import shutil

import nbformat
import pytest

from course import cli, mutants
from course.grader.answers import answer_cells
from course.mutants import equivalence
from course.mutants.operators import OPERATORS
from course.mutants.operators import mutants as make_mutants
from tests.notebook_tools import REPO, make_cell, nbgrader

ANSWER = '''def capped_total(x, cap=1.0):
    """The sum of x (a float array), but never more than cap: a float."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    total = x.sum()
    return float(min(total, cap))
    ### END SOLUTION
'''
# The hidden test never passes `cap`, so ignoring it goes unnoticed.
TEST = '''check_scalar("capped_total([0.25, 0.5])", capped_total(np.array([0.25, 0.5])), 0.75)
### BEGIN HIDDEN TESTS
check_scalar("capped_total([2, 3])", capped_total(np.array([2.0, 3.0])), 1.0)
check_scalar("capped_total([0.1, 0.2, 0.3])", capped_total(np.array([0.1, 0.2, 0.3])))
### END HIDDEN TESTS
'''


def _tiny_course(root):
    course = root / "course"
    (course / "solutions" / "tiny").mkdir(parents=True)
    shutil.copy2(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        make_cell("import numpy as np\nfrom course.checks import check_scalar",
                  grade_id="setup", locked=True),
        make_cell(ANSWER, grade_id="capped_total", solution=True),
        make_cell(TEST, grade_id="test_capped_total", grade=True, points=2, locked=True),
    ]
    nbformat.write(nb, course / "solutions" / "tiny" / "tiny.ipynb")
    nbgrader("generate_assignment", "tiny", "--force", cwd=course)
    return course


def _one(source, operator, after):
    found = [m for m in make_mutants("cell", source, [(1, source.count("\n") + 1)])
             if m.operator == operator and m.after == after]
    assert found, (operator, after)
    return found[0]


# --- the operators --------------------------------------------------------------

@pytest.mark.parametrize("operator, code, after", [
    ("operator", "def f(a, b):\n    return a + b\n", "return a - b"),
    ("operator", "def f(a, b):\n    return a ** b\n", "return a * b"),
    ("comparison", "def f(a):\n    return a >= 0\n", "return a > 0"),
    ("boolean", "def f(a, b):\n    return a and b\n", "return a or b"),
    ("number", "def f(a):\n    return a[1]\n", "return a[2]"),
    ("axis", "def f(a):\n    return a.sum(axis=1)\n", "return a.sum(axis=0)"),
    ("keyword", "def f(a):\n    return a.sum(axis=1, keepdims=True)\n",
     "return a.sum(axis=1)"),
    ("arguments", "def f(a, b):\n    return g(a, b)\n", "return g(b, a)"),
    ("transpose", "def f(a, b):\n    return a.T @ b\n", "return a @ b"),
    ("transpose", "def f(a, b):\n    return a @ b\n", "return a @ b.T"),
    ("term", "def f(a, b, c):\n    return a + b * c\n", "return a"),
    ("slice", "def f(a, n):\n    return a[:n]\n", "return a[:n - 1]"),
    ("inplace", "def f(w, g):\n    w = w - g\n    return w\n", "w -= g"),
    ("inplace", "def f(w):\n    w = w.copy()\n    return w\n", "w = w"),
    ("inplace", "def f(w):\n    w = np.array(w)\n    return w\n", "w = np.asarray(w)"),
    ("statement", "def f(v, g):\n    v += g\n    return v\n", "pass"),
    ("loop", "def f(a):\n    for x in a:\n        g(x)\n    return a\n", "break"),
    ("return", "def f(a):\n    a = g(a)\n    return a\n", "return a"),
    ("parameter", "def f(a, lr=0.5):\n    return a * lr\n", "lr = 0.5"),
    ("function", "def f(a):\n    return np.argmax(a)\n", "return np.argmin(a)"),
    ("unary", "def f(a):\n    return -a\n", "return a"),
])
def test_each_operator_makes_its_slip(operator, code, after):
    mutant = _one(code, operator, after)
    assert mutant.source != code
    compile(mutant.source, "<mutant>", "exec")


def test_every_operator_is_exercised_by_the_table_above():
    covered = {"operator", "comparison", "boolean", "number", "axis", "keyword",
               "arguments", "transpose", "term", "slice", "inplace", "statement", "loop",
               "return", "parameter", "function", "unary"}
    assert covered == set(OPERATORS)


def test_only_the_students_part_is_mutated_and_docstrings_raise_and_print_are_left(
        tmp_path):
    source = ('def f(x, k=2):\n    """Docs 1 + 1."""\n    ### BEGIN SOLUTION\n'
              '    print(x + 1)\n    if x < 0:\n        raise ValueError("x < 0")\n'
              '    return x * k\n    ### END SOLUTION\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [make_cell(source, grade_id="f", solution=True)]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    cell = answer_cells(tmp_path / "nb.ipynb")["f"]
    found = make_mutants("f", cell.answer, cell.regions)
    assert found
    for m in found:
        assert "Docs 1 + 1" in m.source and 'print(x + 1)' in m.source
        assert 'raise ValueError("x < 0")' in m.source
    assert {m.after for m in found} >= {"return x / k", "if x <= 0:", "k = 2"}


def test_the_diff_shows_the_changed_line():
    code = "def f(a, b):\n    c = a + b\n    return c\n"
    mutant = _one(code, "operator", "c = a - b")
    diff = mutant.diff(code)
    assert "-    c = a + b" in diff and "+    c = a - b" in diff


# --- the equivalence check -----------------------------------------------------

@pytest.mark.slow
def test_equivalence_tells_a_same_result_rewrite_from_a_real_change(tmp_path):
    course = _tiny_course(tmp_path)
    notebook = course / "solutions" / "tiny" / "tiny.ipynb"
    cell = answer_cells(notebook)["capped_total"]
    swap = cell.answer.replace("min(total, cap)", "min(cap, total)")
    ignore_cap = cell.answer.replace("    x = np.asarray", "    cap = 1.0\n    x = np.asarray")
    mean = cell.answer.replace("x.sum()", "x.mean()")
    result = equivalence.check(notebook, {
        "swap": ("capped_total", "capped_total", swap),
        "ignore_cap": ("capped_total", "capped_total", ignore_cap),
        "mean": ("capped_total", "capped_total", mean),
    }, seconds_each=5)
    assert result["swap"]["equivalent"], result["swap"]
    assert result["swap"]["trials"] >= equivalence.MIN_TRIALS
    # The notebook never passes cap; the check varies it anyway (a float default).
    assert not result["ignore_cap"]["equivalent"]
    assert not result["mean"]["equivalent"]


# --- a whole run ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    course = _tiny_course(tmp_path_factory.mktemp("mutants"))
    return course, mutants.run("tiny", course_dir=course, workers=2,
                               equivalence_seconds=5)


def _outcome(run, operator, after):
    found = [o for o in run.outcomes if o.mutant.operator == operator
             and o.mutant.after == after]
    assert len(found) == 1, [(o.mutant.operator, o.mutant.after) for o in run.outcomes]
    return found[0]


@pytest.mark.slow
def test_a_mutant_the_hidden_tests_catch_is_killed(tiny_run):
    _, run = tiny_run
    killed = _outcome(run, "function", "total = x.mean()")
    assert killed.status == "killed"
    assert killed.lost == ["test_capped_total"]


@pytest.mark.slow
def test_a_parameter_the_tests_never_vary_survives_with_its_diff(tiny_run):
    _, run = tiny_run
    survivor = _outcome(run, "parameter", "cap = 1.0")
    assert survivor.status == "survived"
    text = mutants.report(run)
    assert "survivors (bugs the hidden tests let through): 1" in text
    assert "+    cap = 1.0" in text


@pytest.mark.slow
def test_an_equivalent_mutant_is_reported_apart(tiny_run):
    _, run = tiny_run
    assert _outcome(run, "arguments", "return float(min(cap, total))").status == "equivalent"
    killed, survived, equivalent = run.counts()
    assert survived == 1 and equivalent >= 1 and killed == len(run.outcomes) - 1 - equivalent
    assert run.kill_rate() == killed / (killed + 1)


@pytest.mark.slow
def test_the_csv_has_one_row_per_mutant_and_the_gradebook_is_untouched(tiny_run):
    course, run = tiny_run
    with open(run.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [o.id for o in run.outcomes]
    assert {r["status"] for r in rows} == {"killed", "survived", "equivalent"}
    assert not (course / "submitted").exists()  # the class lived in a copy


def test_the_command_names_an_assignment_it_does_not_know(capsys):
    assert cli.main(["mutants", "no_such_assignment", "--course-dir", str(REPO)]) == 1
    err = capsys.readouterr().err
    assert "no assignment 'no_such_assignment'" in err and "ps1_perceptron" in err


@pytest.mark.slow
def test_the_command_prints_the_table_and_fails_under_a_kill_rate(
        tiny_run, monkeypatch, capsys):
    course, run = tiny_run
    asked = {}

    def graded(assignment, **kwargs):  # the run above, not a second grading
        asked.update(kwargs, assignment=assignment)
        return run

    monkeypatch.setattr(mutants, "run", graded)
    argv = ["mutants", "tiny", "--course-dir", str(course), "--no-progress",
            "--equivalence-seconds", "3", "--workers", "1"]
    assert cli.main(argv + ["--fail-under", "0.99"]) == 1
    out = capsys.readouterr()
    assert "capped_total" in out.out and "kill rate" in out.out
    assert "is under 99.0%" in out.err
    assert asked["workers"] == 1 and asked["equivalence_seconds"] == 3
    assert cli.main(argv + ["--fail-under", "0.5"]) == 0


def test_results_differing_only_in_float_width_are_the_same_but_ints_are_not():
    import numpy as np

    x = np.linspace(-1, 1, 7)
    assert equivalence._same(x, x.astype(np.float32))
    assert not equivalence._same(x, x.astype(np.float32) + 1e-3)
    assert not equivalence._same(np.arange(3), np.arange(3.0))
    assert not equivalence._same(1.0, np.float64(1.0))  # a number is not a numpy scalar


def test_a_table_of_the_answer_functions_is_rebound_in_the_mutants_namespace():
    import ast

    table, run = (ast.parse(code).body[0] for code in (
        'TABLE = {"id": lambda z: np.asarray(z), "relu": relu}', "model = train(X)"))
    assert equivalence._plain_assignment(table)
    assert not equivalence._plain_assignment(run)


def test_seeds_are_not_mutated():
    code = ("def f(x):\n    m = Model(random_state=0, depth=2)\n"
            "    g = np.random.default_rng(3)\n    return m.fit(x, g)\n")
    found = make_mutants("cell", code, [(1, 4)])
    changed = {m.after for m in found}
    assert "m = Model(random_state=0, depth=3)" in changed
    assert not any("random_state=1" in a or "default_rng(4)" in a or
                   a == "m = Model(depth=2)" for a in changed), changed


def test_objects_without_equality_compare_by_their_state():
    import numpy as np

    assert equivalence._same(np.random.RandomState(1), np.random.RandomState(1))
    assert not equivalence._same(np.random.RandomState(1), np.random.RandomState(2))


def test_lines_marked_no_mutate_are_left_alone():
    code = ("def f(x):\n    m = Model(width=128,  # pragma: no mutate\n"
            "              epochs=10)  # pragma: no mutate\n    return m.fit(x) + 1\n")
    found = make_mutants("cell", code, [(1, 4)])
    assert found and all(m.line == 4 for m in found), [(m.line, m.after) for m in found]
