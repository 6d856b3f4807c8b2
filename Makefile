# The one place that knows how to build, test and lint mpu-operator.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: test unit integration lint crd bench bench-kube e2e run emulator demo clean mutation soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The scenarios mostly wait on their servers, so three run at once on 2 cores (TEST_JOBS=0:
# one process, in order).
TEST_JOBS ?= 3

test: $(STAMP)  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist worksteal

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not integration'

integration: $(STAMP)
	$(BIN)/python -m pytest -q -m integration

lint: $(STAMP)
	$(BIN)/ruff check operator tests
	$(BIN)/mypy

crd: $(STAMP)  ## regenerate crds/mputask.yaml and crds/mpulayout.yaml from the models
	$(BIN)/python -c "from mpu_operator.api import crd; print(crd.render_yaml(), end='')" > crds/mputask.yaml
	$(BIN)/python -c "from mpu_operator.api import layout_crd; print(layout_crd.render_yaml(), end='')" > crds/mpulayout.yaml

bench: $(STAMP)
	$(BIN)/python -m tests.bench

bench-kube: $(STAMP)  ## the Kubernetes API stand-in alone at 1000 MPUTasks (~30 s)
	$(BIN)/python -m tests.bench_kube

e2e: $(STAMP)  ## the integration scenarios against a real kind cluster (needs Docker, kind, kubectl)
	./tests/e2e/run-kind.sh

mutation: $(STAMP)  ## mutmut over core/ with the core tests (~4 min on 2 cores; not in CI)
	$(BIN)/python -c 'import mutmut' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	$(BIN)/python tools/mutation.py

run: $(STAMP)
	$(BIN)/mpu-operator run --all-namespaces --verbose

emulator: $(STAMP)
	$(BIN)/mpu-operator emulator

demo: $(STAMP)  ## the life of an MPUTask with real kubectl, on the sandbox (no cluster needed)
	$(BIN)/python -m mpu_operator.sandbox.demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

soak: $(STAMP)  ## bounded chaos run of the real operator (~4 min): SOAK_ARGS='--seed 1 --tasks 100 --kills 10'
	$(BIN)/python -m tests.soak $(SOAK_ARGS)
