# One target per job. `make lab` and `make test` set everything up first.
#
#   make lab        open JupyterLab on the course start page (START.md)
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
#   make site       the course website in build/site/html (lectures executed;
#                   SITE_FLAGS="--compare-dir results/compare" after make compare)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The PyTorch release the course is tested with; installed before the rest so
# that pip keeps it. `make TORCH_SPEC= test` leaves torch to pyproject's range.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# The course's Jupyter settings (jupyter/install.py writes them into the venv).
SETTINGS := $(VENV)/.jupyter-settings
# nbgrader's exchange: exchange/ in the course folder unless COURSE_EXCHANGE
# names another (nbgrader_config.py reads the same variable).
EXCHANGE := $(or $(COURSE_EXCHANGE),exchange)
A      ?=
GRADE_FLAGS ?=
MUTANTS_FLAGS ?=
SITE_FLAGS ?=
# Extra options for JupyterLab, e.g. LAB_FLAGS="--no-browser --port 8890", or
# --allow-root inside a container that runs as root (Jupyter refuses otherwise).
LAB_FLAGS ?=
# Test processes (pytest-xdist): tests that share a graded class stay in one
# (see tests/conftest.py). `make TEST_WORKERS=0 test` runs them in this process.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
# nbgrader runs helper programs (alembic) that it expects on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lab test test-fast release grade mutants data compare site clean \
	settings exchange gradebook check-bwrap

install: $(STAMP) $(SETTINGS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_SPEC),$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)")
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

settings: $(SETTINGS)

$(SETTINGS): $(STAMP) $(wildcard jupyter/*.py jupyter/*.json jupyter/lab/settings/*.json)
	$(BIN)/python jupyter/install.py $(VENV) >/dev/null
	touch $(SETTINGS)

exchange:
	@mkdir -p "$(EXCHANGE)"

# Every assignment in the gradebook, so that the Formgrader's Autograde works on
# a fresh course: nbgrader generate_assignment writes into a scratch folder, so
# assignments/ stays as committed. With the default SQLite gradebook this runs
# again only when a solution changes.
ifeq ($(COURSE_GRADEBOOK_URL),)
gradebook: gradebook.db
gradebook.db: $(wildcard solutions/*/*.ipynb) | $(STAMP)
	$(GENERATE_GRADEBOOK)
	touch gradebook.db
else
gradebook: $(STAMP)
	$(GENERATE_GRADEBOOK)
endif
GENERATE_GRADEBOOK = @for dir in solutions/*/; do \
		nbgrader generate_assignment "$$(basename $$dir)" --force --log-level=ERROR \
			--CourseDirectory.release_directory=.grading/gradebook-release || exit 1; \
	done

lab: $(STAMP) $(SETTINGS) exchange gradebook
	jupyter lab $(LAB_FLAGS)

# The grading tests run students' kernels in bubblewrap: without a working one
# they would fail by the dozen, so say it once and stop.
check-bwrap: $(STAMP)
	@$(BIN)/python -c "import sys; from course import isolation as i; exec('try: i.check()\nexcept i.IsolationUnavailable as e: sys.exit(\"make test: \" + str(e))')"

test: check-bwrap $(STAMP) $(SETTINGS)
	$(PYTEST)

test-fast: $(STAMP) $(SETTINGS)
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

site: $(STAMP)
	$(BIN)/python -m course.site $(SITE_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache gradebook.db autograded feedback
