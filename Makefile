# Two entry points for a fresh machine: `make lab` opens the demo, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUNDLE := xai_widgets/static/explorer.js
# JupyterLab refuses to start as root without --allow-root (containers, workshop machines run as root)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# git's view of the tracked files: `make test` must leave it as it found it
TRACKED_STATE := git diff HEAD --binary 2>/dev/null | sha1sum

.PHONY: lab test test-python test-js test-ui lint js install browser clean bench screenshots docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch and torchvision together, from the registry (see shared/ENVIRONMENT.md)
	$(PY) -m pip install --quiet torch torchvision
	$(PY) -m pip install --quiet -e ".[demo,test,bench,report,docs]"
	touch $(STAMP)

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

# npm writes js/node_modules/.package-lock.json on every install: it stands for "node_modules is current"
$(BUNDLE): js/node_modules/.package-lock.json $(wildcard js/src/*.ts js/src/*.css js/src/controls/*.ts)
	cd js && npm run build

install: $(STAMP) $(BUNDLE)
js: $(BUNDLE)

## Open JupyterLab on the quickstart notebook (sets everything up first).
## Extra flags: make lab ARGS="--port 8890 --no-browser"
lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(ARGS) notebooks/01_quickstart.ipynb

## Install what every test needs and run them all: Python, JS units and real-browser UI tests.
test: install browser
	@$(TRACKED_STATE) > $(VENV)/.tracked-before
	$(VENV)/bin/ruff check xai_widgets tests benchmarks
	cd js && npm test
	$(PY) -m pytest -q
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@$(TRACKED_STATE) | cmp -s - $(VENV)/.tracked-before || \
		(echo "make test changed tracked files (tests must write to tests/ui/artifacts/):"; git status --short; exit 1)

## Rewrite the tracked screenshots (docs/explorer.png, docs/teaching_steps.png, docs/images/*.png: the
## documentation's widget pictures) and browser latency figures (benchmarks/results/ui_latency.json, ui_prefetch.json).
screenshots: install browser
	XAI_UPDATE_ARTIFACTS=1 $(PY) -m pytest -q tests/ui/test_explorer_interactions.py tests/ui/test_cam_steps.py tests/ui/test_prefetch.py \
		tests/ui/test_camera.py tests/ui/test_concepts.py tests/ui/test_compare_models.py tests/ui/test_explorer_push.py \
		tests/ui/test_explorer_targets.py tests/ui/test_feature_maps.py tests/ui/test_gallery.py

## Build the documentation site strictly (any broken link, missing screenshot or API entry fails) into .venv/site.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

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
