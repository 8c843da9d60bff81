"""The student edition: the course as students should receive it.

    course edition student DIR [--force]

writes into DIR (which must not exist, or be empty, unless ``--force``):

- ``lectures/`` and ``assignments/`` (nbgrader's release) as committed;
- ``course/``: only the modules that the lectures and the released
  assignments import, and the modules those import (found by reading their
  code, so a new lecture's imports come along by themselves). An instructor
  module (``INSTRUCTOR_MODULES``: the grader, the references, the sandbox,
  the instructor's tools, the ``course`` command) in that set is an error,
  not a silent copy;
- ``START.md`` without its instructors' section, ``jupyter/`` (the same Lab
  settings as the course), a student ``README.md``, ``Makefile``,
  ``nbgrader_config.py`` (the course id and the exchange, nothing else),
  ``pyproject.toml`` and ``environment.yml`` with the course's dependencies
  less the instructors' (``INSTRUCTOR_DEPENDENCIES``) and the dev extras.

No solution code, hidden test, reference implementation, reference cache,
gradebook or instructor tool is copied: the edition is built from an
allow-list, never by copying the course and deleting. Nothing here imports
an instructor module.
"""

import ast
import re
import shutil
import tomllib
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "course"
INSTRUCTOR_MODULES = (
    "course.references", "course.grader", "course.autograde", "course.isolation",
    "course.preprocessors", "course.mutants", "course.similarity",
    "course.lms_export", "course.selfcheck", "course.cli", "course.edition",
)
# Needed only to grade (copydetect: course similarity) or to render the
# Formgrader's and feedback's maths (django-static-mathjax).
INSTRUCTOR_DEPENDENCIES = ("copydetect", "django-static-mathjax")
JUPYTER_FILES = ("install.py", "jupyter_lab_config.json", "jupyter_server_config.json",
                 "lab/settings/overrides.json")
INSTRUCTOR_SECTION = re.compile(r"\n?<!-- instructor -->.*?<!-- /instructor -->\n?",
                                re.S)


class EditionError(Exception):
    """The edition cannot be written; the message says why in one line."""


def write_student_edition(target, course=REPO, force=False):
    """Write the student edition of ``course`` into ``target``; returns its path."""
    course, target = Path(course), Path(target)
    if target.exists() and any(target.iterdir()) and not force:
        raise EditionError(
            f"{target} exists and is not empty (use --force to replace it)")
    if target.exists() and force:
        shutil.rmtree(target)
    inside = course.resolve() in target.resolve().parents
    if inside or target.resolve() == course.resolve():
        raise EditionError(f"{target} is inside the course folder {course}")
    for folder in ("lectures", "assignments"):
        _copy_notebooks(course / folder, target / folder)
    for module in sorted(student_modules(course)):
        relative = module_path(course, module).relative_to(course)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course / relative, target / relative)
    for name in JUPYTER_FILES:
        (target / "jupyter" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course / "jupyter" / name, target / "jupyter" / name)
    start = (course / "START.md").read_text(encoding="utf-8")
    (target / "START.md").write_text(INSTRUCTOR_SECTION.sub("\n", start),
                                     encoding="utf-8")
    dependencies = student_dependencies(course)
    (target / "pyproject.toml").write_text(_pyproject(course, dependencies))
    (target / "environment.yml").write_text(_environment(course, dependencies))
    makefile = MAKEFILE.replace("@TORCH_SPEC@", _torch_spec(course))
    (target / "Makefile").write_text(makefile)
    (target / "nbgrader_config.py").write_text(NBGRADER_CONFIG.replace(
        "@COURSE_ID@", _course_id(course)))
    (target / "README.md").write_text(README, encoding="utf-8")
    (target / ".gitignore").write_text(GITIGNORE)
    return target


def add_parser(commands):
    """Register ``course edition student DIR`` on the ``course`` command."""
    parser = commands.add_parser("edition", help="write an edition of the course")
    editions = parser.add_subparsers(dest="edition", required=True)
    student = editions.add_parser(
        "student", help="the course as students should receive it: lectures, released "
                        "assignments, the parts of `course` they use; no solutions")
    student.add_argument("dir", metavar="DIR",
                         help="the folder to write (new or empty)")
    student.add_argument("--course-dir", default=str(REPO), metavar="DIR",
                         help="the course folder (default: this package's course)")
    student.add_argument("--force", action="store_true",
                         help="replace DIR if it exists")
    student.set_defaults(func=_cmd_student)


def _cmd_student(args):
    import sys

    try:
        target = write_student_edition(args.dir, args.course_dir, force=args.force)
    except (EditionError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    modules = sorted(student_modules(args.course_dir))
    print(f"student edition written to {target} ({len(modules)} modules of `course`: "
          f"{', '.join(modules)})")
    return 0


def _copy_notebooks(source, target):
    """Every notebook below ``source`` (no checkpoints), outputs cleared."""
    for path in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)


# ---------------------------------------------------------------------------
# which modules students use
# ---------------------------------------------------------------------------

def student_modules(course=REPO):
    """Dotted names of the ``course`` modules students' notebooks need.

    The modules the lectures' and released assignments' code cells import,
    then what those import, and every package ``__init__`` on the way.
    Raises EditionError if an instructor module is among them.
    """
    course = Path(course)
    wanted, seen = [], set()
    for folder in ("lectures", "assignments"):
        for path in sorted((course / folder).rglob("*.ipynb")):
            for name in _notebook_imports(path):
                wanted.append((name, path.relative_to(course).as_posix()))
    while wanted:
        name, importer = wanted.pop()
        if name in seen:
            continue
        bad = instructor_module(name)
        if bad:
            raise EditionError(f"{importer} imports {bad}, an instructor module: "
                               f"students' code may not need it")
        path = module_path(course, name)
        if path is None:
            continue  # a name imported from a module, not a module
        seen.add(name)
        parts = name.split(".")
        for i in range(1, len(parts)):
            wanted.append((".".join(parts[:i]), importer))
        for imported in _imports(path.read_text(encoding="utf-8"), name,
                                 path.name == "__init__.py"):
            wanted.append((imported, str(path.relative_to(course))))
    return seen


def instructor_module(name):
    """The instructor module (of ``INSTRUCTOR_MODULES``) that module ``name`` is
    or lies in, or None."""
    return next((bad for bad in INSTRUCTOR_MODULES
                 if name == bad or name.startswith(bad + ".")), None)


def module_path(course, name):
    """The file of module ``name`` (``course.nn`` -> course/nn/__init__.py), or None."""
    base = Path(course).joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _notebook_imports(path):
    nb = nbformat.read(path, as_version=4)
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            names |= _imports(_python(cell.source), None, False)
    return names


def _python(source):
    """A cell's source with IPython's magics and shell lines commented out."""
    return "\n".join("#" + line if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def _imports(source, module, is_package):
    """Every ``course...`` module (or imported name) that ``source`` imports."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if module else []
                parts = parts[:len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


# ---------------------------------------------------------------------------
# the environment files
# ---------------------------------------------------------------------------

def _requirement_name(requirement):
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower()


def student_dependencies(course=REPO):
    """The course's dependencies (pyproject.toml) less the instructors'."""
    project = tomllib.loads((Path(course) / "pyproject.toml").read_text())["project"]
    return [r for r in project["dependencies"]
            if _requirement_name(r) not in INSTRUCTOR_DEPENDENCIES]


def _pyproject(course, dependencies):
    project = tomllib.loads((Path(course) / "pyproject.toml").read_text())["project"]
    deps = "\n".join(f'    "{r}",' for r in dependencies)
    return (
        "# The course's Python package as students use it (the student edition).\n"
        "[build-system]\n"
        'requires = ["setuptools>=64"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f'name = "{project["name"]}"\n'
        f'version = "{project["version"]}"\n'
        f'description = "{project["description"]} (student edition)"\n'
        'readme = "README.md"\n'
        f'requires-python = "{project["requires-python"]}"\n'
        f'license = "{project["license"]}"\n'
        f"dependencies = [\n{deps}\n]\n\n"
        "[tool.setuptools.packages.find]\n"
        'include = ["course*"]\n'
    )


def _environment(course, dependencies):
    """The course's environment.yml with only the students' dependencies.

    Items under ``dependencies:`` are kept when students need them (with the
    comment lines just above them); python, pip and ``-e .`` always.
    """
    keep = {_requirement_name(r) for r in dependencies} | {"python", "pip"}
    if "torch" in keep:
        keep.add("pytorch")
    text = (Path(course) / "environment.yml").read_text()
    head, _, body = text.partition("\ndependencies:\n")
    head = "\n".join(line for line in head.splitlines() if not line.startswith("#"))
    lines, comments = [], []
    for line in body.splitlines():
        item = re.match(r"\s*- (.+)", line)
        if line.lstrip().startswith("#"):
            comments.append(line)
        elif item and not item.group(1).endswith(":"):
            wanted = _requirement_name(item.group(1)) in keep
            if wanted or item.group(1).strip() == "-e .":
                lines += comments + [line]
            comments = []
        else:
            lines.append(line)
            comments = []
    return ("# The student edition's environment for conda users:\n"
            "# conda env create -f environment.yml\n"
            f"{head}\ndependencies:\n" + "\n".join(lines) + "\n")


def _torch_spec(course):
    makefile = (Path(course) / "Makefile").read_text()
    found = re.search(r"^TORCH_SPEC \?= (\S+)", makefile, re.M)
    return found.group(1) if found else ""


def _course_id(course):
    config = (Path(course) / "nbgrader_config.py").read_text()
    found = re.search(r'course_id = "([^"]+)"', config)
    if not found:
        raise EditionError("nbgrader_config.py sets no CourseDirectory.course_id")
    return found.group(1)


MAKEFILE = """\
# The student edition of the course.
#
#   make lab    set up .venv and open JupyterLab on the course start page

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_SPEC ?= @TORCH_SPEC@
STAMP  := $(VENV)/.installed
LAB_FLAGS ?=
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lab

install: $(STAMP)

$(STAMP): pyproject.toml
\t$(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(if $(TORCH_SPEC),$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)")
\t$(BIN)/python -m pip install --quiet -e .
\t$(BIN)/python jupyter/install.py $(VENV) >/dev/null
\ttouch $(STAMP)

lab: $(STAMP)
\t@mkdir -p "$(or $(COURSE_EXCHANGE),exchange)"
\tjupyter lab $(LAB_FLAGS)
"""

NBGRADER_CONFIG = '''\
"""nbgrader settings for students: the course and where assignments come from.

``COURSE_EXCHANGE`` names the exchange folder your instructor gives you
(a shared folder); without it, ``exchange/`` here.
"""

import os

c = get_config()  # noqa: F821

root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = root
c.CourseDirectory.course_id = "@COURSE_ID@"
c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or os.path.join(root, "exchange")
'''

GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\nexchange/\n"

README = """\
# Artificial Neural Networks (人工神经网络): student edition

Lecture notebooks from the M-P neuron and the perceptron to backpropagation,
convolutional networks and the architectures of deep learning, and
assignments whose tests tell you what is wrong while you work.

## Start

You need Python 3.10 or newer and `make` (and an internet connection the
first time, to install the packages and download MNIST):

```bash
make lab
```

JupyterLab opens on `START.md`, which links every lecture and assignment and
says how the course works. Conda users: `conda env create -f environment.yml`,
`conda activate ann-course`, `python jupyter/install.py "$CONDA_PREFIX"`,
then `jupyter lab`.

## What is here

| folder | what |
|---|---|
| `lectures/` | the lectures, numbered in teaching order |
| `assignments/` | the assignments (work here when you study alone) |
| `course/` | the Python package the notebooks import |
| `jupyter/` | JupyterLab settings that `make` installs |

## Assignments

Write your code where a cell raises `NotImplementedError`, run the test cell
below it (a short message says what is wrong; a line with ✓ says it passed),
then click **Validate**. In a class, your instructor releases assignments to
an exchange folder: set `COURSE_EXCHANGE` to that folder before `make lab`,
then fetch and submit in the **Assignments** tab (*Nbgrader → Assignment List*),
where your feedback arrives too. The visible tests are a self-check; hidden
tests run when your work is graded.

MNIST is downloaded once into `~/.cache/ann-course/mnist` on first use
(`COURSE_DATA_DIR` names a folder that already has it). Chinese terms need a
CJK font (Debian/Ubuntu: `sudo apt-get install fonts-noto-cjk`).
"""


if __name__ == "__main__":  # python -m course.edition student DIR
    import argparse
    import sys

    _parser = argparse.ArgumentParser(prog="python -m course.edition")
    add_parser(_parser.add_subparsers(dest="command", required=True))
    _args = _parser.parse_args(["edition", *sys.argv[1:]])
    sys.exit(_args.func(_args))
