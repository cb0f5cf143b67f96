# Two commands on a fresh machine: `make book` and `make test` (see README.md).
SHELL  := /bin/bash
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

# A few cells of the seed x thread matrix, notebook:CNNLAB_SEED:threads, that CI runs after
# `make test` (inside it they took 7 of its 40 minutes here, chapter 09 at four threads on two
# cores 5 of them): a fixed subset, the chapters and labs whose results depend most on the run.
# `make test-matrix` runs every notebook at seeds 0, 1, 2 and 1 and 4 threads.
MATRIX_SUBSET ?= chapters/09_resnet.ipynb:1:4 chapters/13_beyond_classification.ipynb:2:4 \
                 labs/lab02_train_lenet.ipynb:2:1
RUNNB  := CNNLAB_PROFILE=quick CNNLAB_OFFLINE=1 PYTHONHASHSEED=0 $(PY) tools/run_notebooks.py

.PHONY: env book test test-unit test-notebooks test-book test-browser test-standalone \
        test-matrix-subset test-matrix test-matrix-ci test-smoke test-colab full times execute bench lint clean instructor

env: $(STAMP)

# requirements.lock holds the tested versions, for Linux x86-64 (CUDA wheels of PyTorch). Any
# other machine (macOS, ARM, Windows) gets the version ranges of pyproject.toml instead.
PLATFORM := $(shell uname -sm)
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
ifeq ($(PLATFORM),Linux x86_64)
	$(PY) -m pip install -q -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
else
	@echo "$(PLATFORM): not the lock's platform; installing pyproject.toml's version ranges"
	$(PY) -m pip install -q -e ".[dev,book]"
endif
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

# nbval re-runs every notebook under a float rounding that no machine gives by default: ATen's
# kernels without vector instructions, oneDNN held to AVX, MKL in its compatible mode. CI's
# machines differ (AMD with AVX2, Intel with AVX-512), and a training run's numbers follow the
# rounding; so a cell whose text changes under this run depends on the machine, and carries the
# tag nbval-ignore-output and an assert. Every other stored output must survive it unchanged.
ROUNDING := ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX MKL_CBWR=COMPATIBLE
test-notebooks: env
	$(ROUNDING) $(NBENV) $(PY) -m pytest --nbval chapters labs -n 2 --dist loadfile -q -rf \
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
## The same run also compares each cell's figures (count, pixel size) with the stored ones.
test-standalone: env
	$(PY) -m pytest tests/standalone/test_standalone.py -n 2 -q -p no:cacheprovider

## A few cells of the seed x thread matrix (MATRIX_SUBSET): each notebook must end without error.
test-matrix-subset: env
	$(RUNNB) $(addprefix --case ,$(MATRIX_SUBSET))

## Every notebook, top to bottom in a fresh kernel, for CNNLAB_SEED 0, 1, 2 x 1 and 4 threads
## (outputs not compared: each must end without error), 126 runs. Two kernels at a time at one
## thread; one at a time at four, so that the four threads are not shared with another kernel.
test-matrix: env
	$(RUNNB) --matrix --threads 1 --jobs 2; one=$$?; \
	$(RUNNB) --matrix --threads 4 --jobs 1; four=$$?; exit $$(( one | four ))

## The slice of the matrix that CI runs: every notebook once at CNNLAB_SEED=1 and two threads
## (the setting a reader's laptop gives; chapters 08 and 13 once failed there).
test-matrix-ci: env
	$(RUNNB) --matrix --seeds 1 --threads 2 --jobs 1

## Every notebook in the full profile, each training run capped to a few batches (CNNLAB_SMOKE):
## the full profile's data sets (offline stand-ins here), model sizes and code paths, on a CPU.
test-smoke: env
	CNNLAB_PROFILE=full CNNLAB_SMOKE=1 CNNLAB_OFFLINE=1 PYTHONHASHSEED=0 OMP_NUM_THREADS=1 \
	    $(PY) tools/run_notebooks.py --jobs 2

## cnnlab installed by the notebooks' own install line on Colab's stack (a fresh environment
## with the newest torch, torchvision and numpy): see tests/standalone/test_colab.py.
test-colab: env
	$(PY) -m pytest tests/standalone/test_colab.py -q -p no:cacheprovider -s

## Every notebook in the full profile on this machine's GPU; writes its table into
## docs/teaching.md (wall times and the numbers each notebook glues). Without a GPU it runs
## nothing and the table says "not measured". DEADLINE=S stops what still runs after S seconds.
full: env
	CNNLAB_PROFILE=full PYTHONHASHSEED=0 $(PY) tools/run_notebooks.py --gpu-only \
	    $(if $(DEADLINE),--deadline $(DEADLINE)) --table docs/teaching.md \
	    --note "Written by \`make full\` on $$(date -u +%F), $$($(PY) -c 'import torch; print("on one " + torch.cuda.get_device_name() if torch.cuda.is_available() else "on a machine without a GPU")')."

## Every notebook once, in the quick profile at the thread count setup() picks (no
## OMP_NUM_THREADS), one at a time: its wall time written into docs/teaching.md. Run it on a
## quiet machine: the times are only as good as the machine is idle.
times: env
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS CNNLAB_PROFILE=quick CNNLAB_OFFLINE=1 PYTHONHASHSEED=0 \
	    $(PY) tools/run_notebooks.py --jobs 1 --table docs/teaching.md --table-name "make times" \
	    --note "Written by \`make times\` on $$(date -u +%F), on $$(nproc) cores (setup() uses min(cores, 4) threads), quick profile, offline."

## Re-execute notebooks in place (quick profile, offline) and store their outputs.
execute: env
	$(NBENV) $(PY) tools/execute.py $(NB)

## conv.py twice: as the environment is, then with NumPy's BLAS free to use the CPU's own
## kernel (some machines pin OpenBLAS to an older one; see benchmarks/README.md).
## A missed bar exits non-zero, except in the run with the environment's pinned OpenBLAS kernel,
## which reports its verdict only (benchmarks/README.md).
bench: env
	set -o pipefail; { $(PY) benchmarks/conv.py --report-only && \
	  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/conv.py && \
	  $(PY) benchmarks/lenet.py; } 2>&1 | tee benchmarks/last_run.txt

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
