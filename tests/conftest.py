"""Shared fixtures of the self-tests: an in-process reference server and a suite runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import ReferenceServer, ServerOptions
from conformance.transport.client import ChannelSettings, UserApiClient

ROOT = Path(__file__).resolve().parent.parent
# Bounds every run of the suite made by a self-test: no self-test can hang.
SUITE_TIMEOUT = 240


@dataclass
class SuiteRun:
    """A finished run of the suite, or of its load command (results_file load-results.json)."""

    exit_code: int
    stdout: str
    stderr: str
    report_dir: Path
    results_file: str = "results.json"

    @property
    def results(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.report_dir / self.results_file).read_text())
        return data

    def outcomes(self, target_index: int = 0) -> dict[str, str]:
        rows = self.results["targets"][target_index]["requirements"]
        return {row["id"]: row["outcome"] for row in rows}

    def tripped(self, target_index: int = 0) -> set[str]:
        return {rid for rid, o in self.outcomes(target_index).items() if o in ("fail", "warn")}


@pytest.fixture
def run_suite(tmp_path: Path) -> Any:
    """Run `python -m conformance ARGS` in a subprocess with its report dir under tmp_path."""
    counter = iter(range(1000))

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = SUITE_TIMEOUT,
            ) -> SuiteRun:
        report_dir = tmp_path / f"reports-{next(counter)}"
        done = subprocess.run(
            [sys.executable, "-m", "conformance", "--report-dir", str(report_dir), *args],
            capture_output=True, text=True, timeout=timeout, cwd=ROOT,
            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        return SuiteRun(done.returncode, done.stdout, done.stderr, report_dir)

    return run


@pytest.fixture
def reference() -> Iterator[ReferenceServer]:
    """A correct reference server on a free loopback port."""
    with ReferenceServer(ServerOptions(password="s3cret-Passw0rd")) as server:
        yield server


@pytest.fixture
def client(reference: ReferenceServer) -> Iterator[UserApiClient]:
    api = UserApiClient(ChannelSettings(reference.address, plaintext=True, deadline=5))
    yield api
    api.close()
