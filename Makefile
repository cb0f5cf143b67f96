# Two commands on a fresh machine: `make book` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
LOCK   := requirements.lock
STAMP  := $(VENV)/.installed
NB     ?= chapters/*.ipynb labs/*.ipynb
# Stored outputs and CI always show the quick profile and the offline data path.
# One thread per kernel: nbval runs two notebooks at once on two cores, and the stored outputs
# must come from the same arithmetic as the re-run (float sums depend on the thread count).
NBENV  := CNNLAB_PROFILE=quick CNNLAB_OFFLINE=1 PYTHONHASHSEED=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: env book test test-unit test-notebooks test-book test-browser test-standalone execute bench lint clean

env: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cnnlab)" >/dev/null
	@touch $(STAMP)

## Build the HTML book from the outputs stored in the notebooks.
book: env
	$(VENV)/bin/jupyter-book build . --builder html
	@echo "Open the book: $(CURDIR)/_build/html/index.html"

## All the tests: lint, cnnlab's unit tests, nbval on every notebook, every notebook run alone
## against cnnlab's wheel, a strict book build and every page in a browser.
test: env lint test-unit test-notebooks test-standalone test-book test-browser
	@echo "make test: all checks passed"

test-unit: env
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest tests -n 2 -q -p no:cacheprovider --ignore=tests/browser --ignore=tests/standalone

test-notebooks: env
	$(NBENV) $(PY) -m pytest --nbval chapters labs -n 2 --dist loadfile -q \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600 -p no:cacheprovider

test-book: env
	rm -rf _build/strict
	$(VENV)/bin/jupyter-book build . --all -W -n --keep-going --path-output _build/strict

## Every page of the strict build in headless Chromium, offline (skipped loudly without it).
## Screenshots land in _build/strict/screenshots.
test-browser: env
	$(PY) -m pytest tests/browser --book _build/strict/_build/html -q -p no:cacheprovider -rs -s

## Every notebook copied alone into an empty folder and run against cnnlab's built wheel
## (as on Colab): no notebook may read a file beside it or import cnnlab from the source tree.
test-standalone: env
	$(PY) -m pytest tests/standalone -n 2 -q -p no:cacheprovider

## Re-execute notebooks in place (quick profile, offline) and store their outputs.
execute: env
	$(NBENV) $(PY) tools/execute.py $(NB)

## conv.py twice: as the environment is, then with NumPy's BLAS free to use the CPU's own
## kernel (some machines pin OpenBLAS to an older one; see the script's docstring).
bench: env
	$(PY) benchmarks/conv.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/conv.py
	$(PY) benchmarks/lenet.py

lint: env
	$(VENV)/bin/ruff check cnnlab tests benchmarks tools book_ext
	$(VENV)/bin/mypy

clean:
	rm -rf _build .pytest_cache .hypothesis

## Instructor editions of the labs: each student notebook with its reference solutions from
## solutions/ filled in, executed (every checker at ✓), in _build/instructor/ (never committed).
## NOEXEC=1 only fills them in.
instructor: env
	$(NBENV) $(PY) tools/instructor.py $(if $(NOEXEC),,--execute) --out _build/instructor labs/*.ipynb
