"""The project's frame: dependencies in step, README quick start, CI, nbgrader config."""

import re
import subprocess
import sys
import tomllib


from tests.notebook_tools import REPO

CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name


def _pyproject():
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirement(text):
    """('name', 'specifier') from 'name>=1.0'."""
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", text)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _environment_yml():
    """The packages of environment.yml: conda's and pip's (without python, pip, -e .)."""
    deps = {}
    text = (REPO / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    for line in text.splitlines():
        item = re.match(r"^(?:  |      )- ([^\s:#-][^\s:]*)\s*$", line)
        if item:
            name, spec = _requirement(item.group(1))
            if name not in ("python", "pip"):
                deps[name] = spec
    return deps


def test_environment_yml_lists_the_same_packages_and_versions_as_pyproject():
    project = _pyproject()["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    expected = {}
    for text in wanted:
        name, spec = _requirement(text)
        expected[CONDA_NAMES.get(name, name)] = spec
    assert _environment_yml() == expected


def test_pyproject_declares_the_course_command_and_a_torch_range_for_users():
    project = _pyproject()["project"]
    assert project["scripts"]["course"] == "course.cli:main"
    torch = [d for d in project["dependencies"] if d.startswith("torch")]
    assert torch == ["torch>=2.2"]


def _quick_start_commands():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def test_readme_quick_start_is_two_commands_that_the_makefile_provides():
    commands = _quick_start_commands()
    assert commands == ["make lab", "make test"], commands
    makefile = (REPO / "Makefile").read_text()
    for target in ("lab", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no {target} target"


def test_ci_installs_cpu_torch_first_then_runs_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    torch_at = next(i for i, line in enumerate(lines) if "torch==2.13.0" in line)
    assert lines[-1] == _quick_start_commands()[1]
    assert torch_at < len(lines) - 1


def test_gitignore_keeps_grading_state_and_data_out_of_version_control():
    ignored = (REPO / ".gitignore").read_text().split()
    for entry in ("gradebook.db", "submitted/", "autograded/", "feedback/", "data/",
                  ".pytest_cache/", "__pycache__/"):
        assert entry in ignored, entry


def _nbgrader_config(env):
    code = (
        "import runpy, sys\n"
        "from traitlets.config import Config\n"
        "c = Config()\n"
        f"runpy.run_path({str(REPO / 'nbgrader_config.py')!r}, "
        "init_globals={'get_config': lambda: c})\n"
        "print(repr(dict(c.CourseDirectory)), '|', c.Execute.timeout)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    course, timeout = out.rsplit("|", 1)
    return eval(course), int(timeout)  # noqa: S307 (our own repr of a dict of str)


def test_nbgrader_config_points_at_solutions_and_assignments(monkeypatch):
    env = {"PATH": "/usr/bin:/bin"}
    course, timeout = _nbgrader_config(env)
    assert course["source_directory"] == "solutions"
    assert course["release_directory"] == "assignments"
    assert course["course_id"] == "ann-course"
    assert course["root"] == str(REPO)
    assert course["db_url"] == f"sqlite:///{REPO / 'gradebook.db'}"
    assert 30 <= timeout <= 300


def test_nbgrader_gradebook_url_can_be_overridden_for_postgresql():
    url = "postgresql://grader@db.example/ann_course"
    course, _ = _nbgrader_config({"PATH": "/usr/bin:/bin", "COURSE_GRADEBOOK_URL": url})
    assert course["db_url"] == url
