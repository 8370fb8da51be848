# Two entry points for a fresh machine: `make lab` opens the demo, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUNDLE := xai_widgets/static/explorer.js

.PHONY: lab test test-python test-js test-ui lint js install browser clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision together, from the registry (see shared/ENVIRONMENT.md)
	$(PY) -m pip install --quiet torch torchvision
	$(PY) -m pip install --quiet -e ".[demo,test,bench]"
	touch $(STAMP)

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

$(BUNDLE): js/node_modules/.package-lock.json $(wildcard js/src/*.ts js/src/controls/*.ts)
	cd js && npm run build

install: $(STAMP) $(BUNDLE)
js: $(BUNDLE)

## Open JupyterLab on the quickstart notebook (sets everything up first).
lab: install
	$(VENV)/bin/jupyter lab notebooks/01_quickstart.ipynb

## Install what every test needs and run them all: Python, JS units and real-browser UI tests.
test: install browser
	$(VENV)/bin/ruff check xai_widgets tests benchmarks
	cd js && npm test
	$(PY) -m pytest -q

browser:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

test-python: install
	$(PY) -m pytest -q -m "not ui"

test-ui: install browser
	$(PY) -m pytest -q -m ui

lint: install
	$(VENV)/bin/ruff check xai_widgets tests benchmarks

clean:
	rm -rf $(VENV) js/node_modules xai_widgets/static dist build

## Compare with pytorch-grad-cam, torchcam and Captum; prints a table, writes benchmarks/results/latest.json.
bench: install
	$(PY) -m benchmarks.run
