# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make report   certify the embedded reference server, reports in reports/
#   make test     the suite's self-tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Two stamps: the main job installs the runtime and the parallel extra only; the self-tests
# add the test extra (type checker, linter, build backend, protoc).
REPORT_STAMP := $(VENV)/.report-stamp
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: report test bench bench-load proto clean

$(REPORT_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[parallel]'
	touch $@

$(STAMP): $(REPORT_STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

report: $(REPORT_STAMP)
	$(PY) -m conformance $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -n 2 $(ARGS)

bench: $(REPORT_STAMP)
	$(PY) bench/bench.py $(ARGS)

bench-load: $(STAMP)
	$(PY) bench/load_bench.py $(ARGS)

proto: $(STAMP)
	$(PY) tools/gen_proto.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.xml reports/*.json
