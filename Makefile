# minsym: `make book` builds the book, `make test` runs every check CI runs.
# Both create the virtual environment .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NB ?=

.PHONY: gpu-check gpu-wheels help venv export book test browser-deps test-export test-clean test-nbval test-book test-browser test-pip run-nb clean

help:
	@echo "make book                    export the package and build the book into _build/html"
	@echo "make test                    all checks: export, clean, nbval, book (warnings fail), browser, pip check"
	@echo "make test-nbval NB=nbs/X.ipynb   re-run one chapter against its stored outputs"
	@echo "make run-nb NB=nbs/X.ipynb   re-execute one notebook in place, clean it, export the package"
	@echo "make gpu-wheels              download the wheels that make gpu-check needs on a GPU machine into .whl/"
	@echo "make gpu-check               on a GPU machine: the GPU sweeps and their measures (README)"

# torch is pinned to the CPU build that lies on this machine's disk; any torch>=2.1 works.
$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 -e '.[dev]'
	@touch $@

venv: $(STAMP)

export: $(STAMP)
	$(BIN)/nbdev_export

book: export
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is in _build/html: open file://$(CURDIR)/_build/html/index.html"

run-nb: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make run-nb NB=nbs/00_theory.ipynb"; exit 2; }
	$(BIN)/jupyter execute --inplace $(NB)
	$(BIN)/nbdev_clean --fname $(NB)
	$(BIN)/nbdev_export

# 1. the package is what nbdev_export makes from the notebooks
test-export: $(STAMP)
	@before=$$(find minsym -type f -name '*.py' | sort | xargs md5sum); \
	$(BIN)/nbdev_export; \
	after=$$(find minsym -type f -name '*.py' | sort | xargs md5sum); \
	if [ "$$before" != "$$after" ]; then diff <(echo "$$before") <(echo "$$after"); \
	  echo "FAIL: nbdev_export changed minsym/: export the notebooks and commit the result"; exit 1; fi; \
	echo "ok: minsym/ matches the notebooks"

# 2. the notebooks are clean (nbdev_clean changes nothing)
test-clean: $(STAMP)
	@before=$$(find nbs -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort | xargs md5sum); \
	$(BIN)/nbdev_clean; \
	after=$$(find nbs -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort | xargs md5sum); \
	if [ "$$before" != "$$after" ]; then diff <(echo "$$before") <(echo "$$after"); \
	  echo "FAIL: nbdev_clean changed notebooks: run nbdev_clean and commit"; exit 1; fi; \
	echo "ok: notebooks are clean"

# 3. every notebook re-runs to its stored outputs (nbval's strict default mode)
test-nbval: $(STAMP)
	$(BIN)/pytest --nbval --nbval-current-env -p no:cacheprovider $(if $(NB),$(NB),nbs)

# 4. the book builds with no warnings; 5. a real browser typesets its equations offline
test-book: export
	rm -rf _build/html _build/.doctrees
	$(BIN)/jupyter-book build . --warningiserror --keep-going

test-browser: $(STAMP)
	$(BIN)/python .ci/check_book.py _build/html

test-pip: $(STAMP)
	$(BIN)/pip check

# 0. the browser check needs Debian's chromium and chromium-driver: install them when we can (root and
#    apt-get), else stop before the first check with one line that names them
BROWSER_PKGS := chromium chromium-driver
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "== installing Debian's $(BROWSER_PKGS) for the browser check"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS) >/dev/null; \
	else echo "make test needs a browser: install Debian's $(BROWSER_PKGS) (sudo apt-get install $(BROWSER_PKGS))"; exit 1; fi

test: browser-deps test-export test-clean test-nbval test-book test-browser test-pip
	@echo "all checks passed"

# on a machine with a GPU (see .ci/gpu_check.sh): the GPU sweeps and their language measures
gpu-check:
	bash .ci/gpu_check.sh

# The GPU machine's python3 (3.12) has torch, numpy, scipy, matplotlib and tqdm but no registry:
# the rest of the requirements, pure Python, as wheels in .whl/ for the device run to carry. The
# versions are those this machine's .venv tests with; cloudpickle (submitit's) in case the image lacks it.
GPU_WHEELS := schedulefree==1.4.1 fastcore==1.14.5 submitit==1.5.4 cloudpickle==3.1.3
gpu-wheels:
	rm -rf .whl.part && mkdir .whl.part
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		-d .whl.part $(GPU_WHEELS)
	rm -rf .whl && mv .whl.part .whl
	@ls -l .whl

clean:
	rm -rf _build
