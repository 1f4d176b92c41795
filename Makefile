# The two commands of the README. Both do their own set-up on a fresh Debian machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
WORKDIR ?= runs/demo
FMNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup data

setup: $(VENV)/.installed

# The demo needs the package only; the tests also need the [dev] tools (pytest, nbclient, mkdocs)
# and the [torch] oracles (torch, torchvision) that the side-by-side tests compare against.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[dev,torch]'
	touch $@

data: $(FMNIST)

$(FMNIST):
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist

demo: setup data
	$(VENV)/bin/jaxssl demo --workdir $(WORKDIR)

test: $(VENV)/.installed-dev data
	$(PY) -m pytest -q -n 2 tests
