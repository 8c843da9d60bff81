# One target per job. `make lab` and `make test` set everything up first.
#
#   make lab        open JupyterLab on the course
#   make test       run the whole test suite (as CI does)
#   make test-fast  only the fast tests (no notebooks, no nbgrader runs)
#   make release    regenerate assignments/ from solutions/ with nbgrader
#   make grade A=ps1_perceptron   `course grade`: autograde submitted/ in a sandbox,
#                                 write feedback, export CSV (GRADE_FLAGS=--no-isolation
#                                 where bubblewrap cannot run)
#   make mutants A=ps1_perceptron  `course mutants`: how many plausible bugs the
#                                 hidden tests catch (MUTANTS_FLAGS=--quick for a sample)
#   make data       download (or verify) MNIST and say where it is
#   make compare    the full MNIST comparison (about 12 min on 2 cores)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch release the course is tested with; installed before the rest so
# that pip keeps it. `make TORCH_SPEC= test` leaves torch to pyproject's range.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
A      ?=
GRADE_FLAGS ?=
MUTANTS_FLAGS ?=
# Extra options for JupyterLab, e.g. LAB_FLAGS="--no-browser --port 8890", or
# --allow-root inside a container that runs as root (Jupyter refuses otherwise).
LAB_FLAGS ?=
# Test processes (pytest-xdist): tests that share a graded class stay in one
# (see tests/conftest.py). `make TEST_WORKERS=0 test` runs them in this process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
# nbgrader runs helper programs (alembic) that it expects on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lab test test-fast release grade mutants data compare clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_SPEC),$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)")
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	jupyter lab $(LAB_FLAGS)

test: $(STAMP)
	$(PYTEST)

test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

release: $(STAMP)
	@for dir in solutions/*/; do \
		name=$$(basename $$dir); \
		echo "generating assignments/$$name"; \
		nbgrader generate_assignment "$$name" --force --log-level=WARN || exit 1; \
	done

grade: $(STAMP)
	@test -n "$(A)" || { echo "usage: make grade A=<assignment>, e.g. A=ps1_perceptron"; exit 2; }
	course grade "$(A)" $(GRADE_FLAGS)

mutants: $(STAMP)
	@test -n "$(A)" || { echo "usage: make mutants A=<assignment>, e.g. A=ps1_perceptron"; exit 2; }
	course mutants "$(A)" $(MUTANTS_FLAGS)

data: $(STAMP)
	course data mnist

compare: $(STAMP)
	course compare

clean:
	rm -rf $(VENV) .pytest_cache gradebook.db autograded feedback
