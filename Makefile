# Two commands do all set-up on a fresh machine (Python 3.11+ and make):
#   make report   certify the embedded reference server, reports in reports/
#   make test     the suite's self-tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Two stamps: the main job installs the runtime and the parallel, drift and web extras; the
# self-tests add the test extra (type checker, linters, build backend, protoc).
REPORT_STAMP := $(VENV)/.report-stamp
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: report test bench bench-report bench-load bench-overlap proto clean screenshots

$(REPORT_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[parallel,drift,web]'
	touch $@

$(STAMP): $(REPORT_STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

report: $(REPORT_STAMP)
	$(PY) -m conformance $(ARGS)

test: $(STAMP)
	tools/ensure-chromium
	tools/ensure-nginx
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n 2 $(ARGS)

bench: $(REPORT_STAMP)
	$(PY) bench/bench.py $(ARGS)

# The HTML report's page weights and render time in headless Chromium (bench/report_bench.py)
bench-report: $(REPORT_STAMP)
	$(PY) bench/report_bench.py $(ARGS)

# docs/report.png, the README's picture of the HTML report (needs Chromium: apt-get install chromium)
screenshots: $(REPORT_STAMP)
	$(PY) tools/screenshots.py

# Serial against overlapped runs of every fault and flavour (bench/overlap_bench.py)
bench-overlap: $(REPORT_STAMP)
	$(PY) bench/overlap_bench.py $(ARGS)

bench-load: $(STAMP)
	$(PY) bench/load_bench.py $(ARGS)

proto: $(STAMP)
	$(PY) tools/gen_proto.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.xml reports/*.json
