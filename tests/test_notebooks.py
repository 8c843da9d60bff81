"""Notebook hygiene: every committed notebook is clean, and every lecture runs."""

import json
import re

import nbformat
import pytest

from tests.notebook_tools import (
    REPO, execute, nbgrader_metadata, notebooks, stderr_outputs,
)

ALL_NOTEBOOKS = notebooks("lectures") + notebooks("solutions") + notebooks("assignments")
GRADED_NOTEBOOKS = notebooks("solutions") + notebooks("assignments")
LECTURES = notebooks("lectures")
LECTURE_SECONDS = 60


def _ids(paths):
    return [str(p.relative_to(REPO)) for p in paths]


def test_the_course_has_lectures_and_assignments():
    """The suite below is not vacuous: there is something to check."""
    assert LECTURES, "no lecture notebooks found in lectures/"
    assert notebooks("solutions"), "no assignments found in solutions/"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_notebook_is_valid_nbformat_4_with_python3_kernel(path):
    """Valid nbformat 4 that declares the python3 kernel."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path.name} is nbformat {nb.nbformat}, not 4"
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3", f"{path.name} declares kernel {kernel!r}"
    assert kernel.get("language") == "python"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path):
    """No outputs and no execution counts in a committed notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell.get("outputs") or cell.get("execution_count") is not None
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts"


@pytest.mark.parametrize("path", GRADED_NOTEBOOKS, ids=_ids(GRADED_NOTEBOOKS))
def test_graded_cells_have_unique_grade_ids_and_points(path):
    """Every nbgrader cell has a unique grade_id; every graded cell has points."""
    nb = nbformat.read(path, as_version=4)
    seen = set()
    graded = 0
    for cell in nb.cells:
        meta = nbgrader_metadata(cell)
        if not meta:
            continue
        gid = meta.get("grade_id")
        assert gid, f"{path.name}: an nbgrader cell has no grade_id:\n{cell.source[:200]}"
        assert gid not in seen, f"{path.name}: grade_id {gid!r} is used twice"
        seen.add(gid)
        if meta.get("grade"):
            graded += 1
            points = meta.get("points")
            assert isinstance(points, (int, float)) and points > 0, (
                f"{path.name}: graded cell {gid!r} has points {points!r}"
            )
            if cell.cell_type == "code":
                assert meta.get("locked"), f"{path.name}: test cell {gid!r} is not locked"
    assert graded, f"{path.name} has no graded cells"


def _lecture_runs():
    """(lecture, seed): every lecture with seed 0 and with seed 1 or 2 (alternating)."""
    return [(path, seed) for k, path in enumerate(LECTURES) for seed in (0, 1 + k % 2)]


LECTURE_RUNS = _lecture_runs()


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_lecture_takes_its_seed_from_course_seed(path):
    """Every random number of a lecture comes from SEED = course_seed().

    A literal seed anywhere else (``default_rng(0)``, ``manual_seed(1)``)
    would make the lecture ignore COURSE_SEED there.
    """
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("SEED = course_seed()" in src for src in code), (
        f"{path.name} does not read its seed with SEED = course_seed()"
    )
    literal = re.compile(r"(default_rng|manual_seed|RandomState)\(\s*\d+\s*\)")
    hits = [m.group(0) for src in code for m in literal.finditer(src)]
    assert not hits, f"{path.name} seeds with a literal instead of SEED: {hits}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, seed", LECTURE_RUNS,
    ids=[f"{p.relative_to(REPO)}-seed{s}" for p, s in LECTURE_RUNS],
)
def test_lecture_executes_top_to_bottom_quickly_and_quietly(path, seed, monkeypatch):
    """A lecture runs start to finish in under a minute with nothing on stderr.

    Its assertions hold for COURSE_SEED = 0 and for another seed: they test
    the idea, not one run's numbers. (The kernel inherits the variable.)
    """
    monkeypatch.setenv("COURSE_SEED", str(seed))
    nb = nbformat.read(path, as_version=4)
    seconds = execute(nb, cwd=path.parent, timeout=LECTURE_SECONDS * 2)
    noise = stderr_outputs(nb)
    assert not noise, (
        f"{path.name} (seed {seed}) wrote to stderr (warnings?): {noise[:3]}")
    assert seconds < LECTURE_SECONDS, f"{path.name} (seed {seed}) took {seconds:.1f} s"
    for cell in nb.cells:  # an interactive figure leaves a static picture behind
        if "interactive_figure(" in cell.source:
            kinds = {k for o in cell.outputs for k in o.get("data", {})}
            assert "image/png" in kinds, (
                f"{path.name}: an interactive figure left no PNG")
    for cell in nb.cells:  # every worked solution passes its own self-check
        if "solution" in cell.metadata.get("tags", []):
            text = "".join(o.get("text", "") for o in cell.outputs
                           if o.output_type == "stream")
            assert ": correct." in text, (
                f"{path.name}: a solution did not pass:\n{cell.source}")


def _exercises(nb):
    """The exercises of a lecture: (question, answer, self-check, solution) cells."""
    found = []
    for i, cell in enumerate(nb.cells):
        if "solution" in cell.metadata.get("tags", []):
            found.append(tuple(nb.cells[i - 3:i + 1]))
    return found


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_lecture_has_three_exercises_with_a_self_check_and_a_hidden_solution(path):
    """At least three exercises, each: a question, an answer cell left as ...,
    a self-check (course.exercises) and a worked solution collapsed in JupyterLab."""
    nb = nbformat.read(path, as_version=4)
    exercises = _exercises(nb)
    assert len(exercises) >= 3, f"{path.name} has {len(exercises)} exercises, not 3"
    for question, answer, selfcheck, solution in exercises:
        name = re.search(r"\*\*Exercise (\d+\.\d+)\*\*", question.source)
        assert question.cell_type == "markdown" and name, question.source[:80]
        assert "..." in answer.source, (
            f"Exercise {name[1]}: the answer cell is not left open")
        call = r"check(_function)?\(\"Exercise " + re.escape(name[1])
        assert re.search(call, selfcheck.source), (
            f"Exercise {name[1]}: no self-check call")
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"Exercise {name[1]}: the solution is not collapsed")
        assert "Exercise " + name[1] in solution.source


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_lecture_contents_link_to_its_sections(path):
    """The Contents list is made of links, and every link has its anchor."""
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    anchors = {m for src in markdown for m in re.findall(r'<a id="([^"]+)"></a>', src)}
    contents = markdown[0]
    numbered = re.findall(r"^\d+\. (.*)$", contents, flags=re.M)
    assert numbered, f"{path.name} has no numbered Contents list"
    assert all(item.startswith("[") for item in numbered), f"{path.name}: {numbered}"
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    missing = [link for link in links if link not in anchors]
    assert not missing, f"{path.name}: Contents links without a target: {missing}"
    headings = [line for src in markdown for line in src.splitlines()
                if re.match(r"## \d+\. ", line)]
    assert len(links) >= len(headings), f"{path.name}: a section is not in the Contents"


def test_the_lectures_have_at_least_five_interactive_figures():
    """Sliders where moving one teaches more than a static plot (course.widgets)."""
    calls = sum(c.source.count("interactive_figure(")
                for path in LECTURES for c in nbformat.read(path, as_version=4).cells
                if c.cell_type == "code")
    assert calls >= 5, f"only {calls} interactive figures in the lectures"
