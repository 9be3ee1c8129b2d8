# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make report   certify the embedded reference server, reports in reports/
#   make test     the suite's self-tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: report test bench proto clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m conformance $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -n 2 $(ARGS)

bench: $(STAMP)
	$(PY) bench/bench.py $(ARGS)

proto: $(STAMP)
	$(PY) tools/gen_proto.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.xml reports/*.json
