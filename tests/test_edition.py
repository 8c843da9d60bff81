"""The student edition (``course edition student DIR``, ``course/edition.py``).

Fast: what the edition holds and what it must never hold (no solution code,
hidden test, mark scheme, reference implementation or cache, gradebook,
instructor module or instructor dependency), read with the same secret
lines as the release leak scan (``tests/test_release_leaks.py``).

Slow: the edition installed by its own ``make install`` into a fresh virtual
environment (its own interpreter copy, no system or course site-packages;
pip's configured sources and cache supply the wheels), where lecture 1 runs
and a solved ps1 passes ``nbgrader validate``, and the instructors' modules
cannot be imported.
"""

import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course import edition
from tests.notebook_tools import REPO, fill_answers, solution_answers
from tests.test_release_leaks import CLOSES, MARKERS, MIN_LENGTH

PS1 = "ps1_perceptron"
TOP_LEVEL = {"lectures", "assignments", "course", "jupyter", "START.md", "README.md",
             "Makefile", "nbgrader_config.py", "pyproject.toml", "environment.yml",
             ".gitignore"}


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    return edition.write_student_edition(tmp_path_factory.mktemp("edition") / "student")


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file() and ".venv" not in p.parts)


def _hidden_test_lines():
    """Lines inside the solutions' hidden-test and mark-scheme regions (long enough)."""
    lines = set()
    for path in (REPO / "solutions").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.split("\n"):
                if re.search(r"BEGIN (HIDDEN TESTS|MARK SCHEME)", line):
                    inside = True
                elif CLOSES.search(line):
                    inside = False
                elif inside and len(line.strip()) >= MIN_LENGTH:
                    lines.add(line.strip())
    return lines


def test_the_edition_holds_lectures_assignments_and_the_student_files(student):
    assert {p.name for p in student.iterdir()} == TOP_LEVEL
    for folder, pattern in (("lectures", "*.ipynb"), ("assignments", "*/*.ipynb")):
        ours = sorted(p.relative_to(REPO) for p in (REPO / folder).glob(pattern))
        theirs = sorted(p.relative_to(student)
                        for p in (student / folder).glob(pattern))
        assert theirs == ours


def test_the_package_is_what_the_notebooks_import_and_no_instructor_module(student):
    shipped = {p.relative_to(student).with_suffix("").as_posix().replace("/", ".")
               .removesuffix(".__init__") for p in (student / "course").rglob("*.py")}
    assert shipped == edition.student_modules()
    assert {"course.checks", "course.checkvalues", "course.data"} <= shipped
    for bad in edition.INSTRUCTOR_MODULES:
        assert not any(m == bad or m.startswith(bad + ".") for m in shipped), bad
    assert not (student / "course" / "references.py").exists()
    assert not (student / "course" / "grader").exists()


def test_no_solution_hidden_test_or_grading_state_anywhere(student):
    hidden = _hidden_test_lines()
    assert hidden  # the scan has something to look for
    for path in _files(student):
        text = path.read_text(encoding="utf-8")
        assert not MARKERS.search(text), f"{path}: an nbgrader region marker"
        if path.relative_to(student).parts[0] == "course":
            continue  # the course's own modules, copied as committed (checked above)
        leaked = {line.strip() for line in text.split("\n")} & hidden
        assert not leaked, f"{path}: hidden test lines {sorted(leaked)[:3]}"
    names = {p.name for p in student.rglob("*")}
    assert not names & {"solutions", "gradebook.db", ".grading", "submitted", "autograded",
                        "feedback", "references", "exchange"}


def test_notebooks_and_texts_carry_no_solution_line(student):
    """Every line of the solutions' answers (not in the release) stays out of them.

    The ``course`` package is not read here: lectures use its teaching library
    (``course.nn``, ``course.gradcheck``, ...), which the course ships on
    purpose; the grader flags answers that import it (see nbgrader_config.py).
    """
    from tests.test_release_leaks import _leaked_lines

    for path in _files(student):
        if path.relative_to(student).parts[0] == "course":
            continue
        assert _leaked_lines(path.read_text(encoding="utf-8")) == [], path


def test_environment_files_drop_the_instructor_dependencies(student):
    pyproject = (student / "pyproject.toml").read_text()
    environment = (student / "environment.yml").read_text()
    for name in edition.INSTRUCTOR_DEPENDENCIES + ("pytest", "playwright", "psycopg"):
        assert name not in pyproject and name not in environment, name
    for requirement in edition.student_dependencies():
        assert f'"{requirement}"' in pyproject
    assert "[project.scripts]" not in pyproject  # the `course` command is the instructor's
    config = (student / "nbgrader_config.py").read_text()
    assert "solutions" not in config and 'course_id = "ann-course"' in config


def test_start_page_links_resolve_and_the_instructor_section_is_gone(student):
    start = (student / "START.md").read_text(encoding="utf-8")
    assert "Instructors" not in start and "solutions/" not in start
    links = re.findall(r"\]\(([^)#]+)\)", start)
    assert len(links) == 12 and all((student / link).is_file() for link in links), links


def test_an_instructor_import_in_a_lecture_stops_the_edition(tmp_path):
    course = tmp_path / "course_copy"
    (course / "lectures").mkdir(parents=True)
    (course / "assignments").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from course.references import dense_forward")])
    nbformat.write(nb, course / "lectures" / "01_x.ipynb")
    with pytest.raises(edition.EditionError, match="lectures/01_x.ipynb imports "
                                                    "course.references, an instructor"):
        edition.student_modules(course)


def test_the_command_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "x.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "course.edition", "student", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: {tmp_path} exists and is not empty "
                                     "(use --force to replace it)")
    assert (tmp_path / "x.txt").read_text() == "mine"


@pytest.mark.slow
def test_installed_in_a_fresh_venv_it_runs_a_lecture_and_validates_a_solved_ps1(
        student, tmp_path):
    # Its own copy: the other tests read the edition as written, not installed.
    shutil.copytree(student, tmp_path / "student")
    student = tmp_path / "student"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(REPO)))
    env["PIP_NO_COMPILE"] = "1"  # no byte-compiling PyTorch's files: minutes saved
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(["make", "-C", str(student), "install", f"PYTHON={base_python}"],
                   env=env, check=True, capture_output=True, text=True, timeout=900)
    venv = student / ".venv"
    bin_ = venv / "bin"
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()

    def run(*cmd, **kwargs):
        return subprocess.run([str(bin_ / cmd[0]), *cmd[1:]], cwd=student, env=env,
                              capture_output=True, text=True, timeout=600, **kwargs)

    where = run("python", "-c", "import course, course.checks; print(course.__file__)")
    assert where.stdout.strip() == str(student / "course" / "__init__.py"), where.stderr
    missing = run("python", "-c", "import course.references")
    assert "No module named 'course.references'" in missing.stderr

    lecture = run("jupyter", "nbconvert", "--to", "notebook", "--execute",
                  "--output-dir", str(student.parent / "ran"),
                  "lectures/01_neurons_and_perceptron.ipynb")
    assert lecture.returncode == 0, lecture.stderr[-3000:]
    ran = nbformat.read(student.parent / "ran" / "01_neurons_and_perceptron.ipynb", 4)
    assert not [o for c in ran.cells for o in c.get("outputs", [])
                if o.output_type == "error"]

    released = student / "assignments" / PS1 / f"{PS1}.ipynb"
    answers = solution_answers(REPO / "solutions" / PS1 / f"{PS1}.ipynb")
    solved = student / "solved" / f"{PS1}.ipynb"
    solved.parent.mkdir()
    nbformat.write(fill_answers(nbformat.read(released, 4), answers), solved)
    validated = run("nbgrader", "validate", str(solved))
    assert "Success! Your notebook passes all the tests." in validated.stdout, (
        validated.stdout[-2000:] + validated.stderr[-2000:])
