# The two commands of the README: `make run` (the main job on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
EXTRAS ?= test,postgres,mongodb,datastore
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
comma  := ,

.PHONY: run test install system-deps lint clean

## run: process the example recordings end to end on embedded defaults
run: $(STAMP)
	$(BIN)/callscope run examples

## test: install everything the tests need (Debian packages as root, the venv with extras), then lint and test
test: system-deps $(STAMP)
	VENV=$(VENV) scripts/test.sh $(PYTEST_ARGS)

## install: the virtual environment with $(EXTRAS)
install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

system-deps:
	scripts/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
