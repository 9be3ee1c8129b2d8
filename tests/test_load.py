"""`python -m conformance load` (LD-01..LD-04 on Locust): short runs against the embedded
reference server and its load-only faults, a master with workers, bad input and dying targets.
Each run is a few seconds; the whole file stays well under two minutes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import Level, catalogue
from conformance.load.judge import LD_IDS
from conformance.reference.faults import FAULTS
from conformance.results import Outcome, Results

ROOT = Path(__file__).resolve().parent.parent
# Bounds every load run of these tests (a short --run-time plus the fixed grace, and start-up).
LOAD_TIMEOUT = 60
SHORT = ("--run-time", "3", "--users", "12")


@dataclass
class LoadRun:
    exit_code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / "load-results.json").read_text())
        return data

    def outcomes(self) -> dict[str, str]:
        return {row["id"]: row["outcome"] for row in self.results["targets"][0]["requirements"]}

    def tripped(self) -> set[str]:
        return {rid for rid, outcome in self.outcomes().items() if outcome in ("fail", "warn")}


def run_load(report_dir: Path, *args: str, env: dict[str, str] | None = None,
             timeout: float = LOAD_TIMEOUT) -> LoadRun:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "load", "--report-dir", str(report_dir), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})})
    return LoadRun(done.returncode, done.stdout, done.stderr, report_dir)


@pytest.fixture
def load(tmp_path: Path) -> Any:
    counter = iter(range(100))

    def run(*args: str, **kwargs: Any) -> LoadRun:
        return run_load(tmp_path / f"load-{next(counter)}", *args, **kwargs)

    return run


def test_the_embedded_reference_server_passes_every_ld_requirement(load: Any) -> None:
    run = load(*SHORT)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outcomes() == dict.fromkeys(("LD-01", "LD-02", "LD-03", "LD-04"), "pass")
    target = run.results["targets"][0]
    assert target["verdict"] == "conformant"
    figures = target["load"]["throughput"]["by_rpc"]
    assert set(figures) == {"AuthnWithPassword", "RefreshAccessToken", "GetMe"}
    assert all(f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"] for f in figures.values())
    assert target["load"]["bursts"] > 0
    written = {path.name for path in run.report_dir.iterdir()}
    assert {"load-results.json", "load.html", "load_stats.csv", "load_failures.csv",
            "load_stats_history.csv"} <= written


def test_no_password_or_token_in_any_output(load: Any, reference: Any) -> None:
    """The password the run logs in with, and any string of the reference server's token shape,
    appear in no output file nor on the console."""
    run = load(*SHORT, "--target", reference.address, "--plaintext", "--login-email",
               reference.options.email, "--login-password-env", "LOAD_PASSWORD",
               env={"LOAD_PASSWORD": reference.options.password})
    assert run.exit_code == 0, run.stdout + run.stderr
    texts = {path.name: path.read_text() for path in run.report_dir.iterdir()}
    texts["console"] = run.stdout + run.stderr
    for name, text in texts.items():
        assert reference.options.password not in text, name
        if name != "load.html":  # Locust's bundled scripts hold long identifiers
            assert not re.search(r"(?<![\w-])[\w-]{43}(?![\w-])", text), name


LOAD_FAULTS = sorted(name for name, fault in FAULTS.items() if fault.load_only)
# Enough users that the servicer holds LOAD_CONTENTION calls at once, as the LD faults need.
CONTENDED = ("--run-time", "4", "--users", "32")


@pytest.mark.parametrize("fault", LOAD_FAULTS)
def test_each_load_fault_trips_exactly_its_ld_requirement(load: Any, fault: str) -> None:
    run = load(*CONTENDED, "--reference-fault", fault)
    assert run.tripped() == FAULTS[fault].breaks, run.stdout
    must = any(catalogue()[rid].level is Level.MUST for rid in FAULTS[fault].breaks)
    assert run.exit_code == (1 if must else 0), run.stdout + run.stderr
    assert "error" not in run.outcomes().values(), run.stdout


def test_the_contended_correct_server_passes(load: Any) -> None:
    """The load the faults are caught at, on the correct server: no false failure."""
    run = load(*CONTENDED)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert set(run.outcomes().values()) == {"pass"}, run.stdout


def test_an_ordinary_run_skips_ld_and_says_which_command_judges_it() -> None:
    results = Results(["t"])
    rows = {row.requirement.id: row for row in results.requirements("t")}
    for rid in LD_IDS:
        assert rows[rid].outcome is Outcome.SKIP
        assert rows[rid].message == "run `python -m conformance load`"
