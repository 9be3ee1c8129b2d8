"""The suite's outside: exit codes, one-line errors, reports written, no secret in clear."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.model.catalogue import catalogue
from conformance.reference import ReferenceServer, ServerOptions

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_reports_are_written_with_the_interface_shape(run_suite: Any) -> None:
    run = run_suite("--profile", "quick")
    assert run.exit_code == 0
    for name in ("conformance.html", "junit.xml", "results.json"):
        assert (run.report_dir / name).stat().st_size > 0
    data = run.results
    assert set(data) == {"suite_version", "catalogue", "profile", "started_at", "duration_s",
                         "run", "targets"}
    # The options that shaped the run (interface.md): certify and compare tell runs apart by it.
    assert data["run"]["only"] is None and data["run"]["expected_failures"] is None
    assert data["run"]["reference"] == {"faults": [], "flavors": []}
    assert "hypothesis_seed" in data["run"]
    assert [s["kind"] for s in data["run"]["token_sources"].values()] == ["embedded"]
    assert data["catalogue"]["version"] == 3 and len(data["catalogue"]["sha256"]) == 64
    target = data["targets"][0]
    assert {"target", "verdict", "counts", "requirements"} <= set(target)
    assert set(target["counts"]) == {"pass", "fail", "warn", "skip", "error"}
    row = target["requirements"][0]
    assert set(row) == {"id", "level", "outcome", "title", "source", "message", "checks"}
    assert sum(target["counts"].values()) == len(target["requirements"]) == len(catalogue())
    html = (run.report_dir / "conformance.html").read_text()
    assert "<th class=\"sortable\" data-column-type=\"requirement\">Requirement</th>" in html
    assert "conformance-summary" in html


def test_a_separately_started_server_is_certified_by_password_login(
        run_suite: Any) -> None:
    password = "Sep4rate-Passw0rd-value"
    with ReferenceServer(ServerOptions(password=password)) as server:
        run = run_suite("--target", server.address, "--plaintext", "--login-email",
                        server.options.email, "--login-password-env", "QA_PASSWORD",
                        "--profile", "quick", env={"QA_PASSWORD": password})
    assert run.exit_code == 0, run.stdout[-2000:]
    assert run.results["targets"][0]["target"] == server.address
    _assert_no_secret(run, [password])


def test_a_faulty_separate_server_is_non_conformant(run_suite: Any) -> None:
    with ReferenceServer(ServerOptions(password="Another-Passw0rd",
                                       faults=frozenset({"get-me-without-authorization-ok"}))
                         ) as server:
        run = run_suite("--target", server.address, "--plaintext", "--login-email",
                        server.options.email, "--login-password-env", "QA_PASSWORD",
                        "--profile", "quick", env={"QA_PASSWORD": "Another-Passw0rd"})
    assert run.exit_code == 1
    assert run.tripped() == {"RT-09"}


def test_an_unreachable_target_exits_3_with_one_line_and_no_traceback(run_suite: Any) -> None:
    address = f"127.0.0.1:{_closed_port()}"
    run = run_suite("--target", address, "--plaintext", "--login-email", "qa@example.com",
                    "--login-password-env", "QA_PASSWORD", "--deadline", "2",
                    env={"QA_PASSWORD": "whatever-password"})
    assert run.exit_code == 3
    # The suite's own time (results.json, from session start: without interpreter start-up,
    # which a loaded machine stretches): within deadline + 2 s.
    assert run.results["duration_s"] < 2 + 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "unreachable" in lines[0]
    assert "Traceback" not in run.stdout + run.stderr
    assert run.results["targets"][0]["verdict"] == "error"


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--profile", "turbo"],
    ["--deadline", "0"],
    ["--deadline", "soon"],
    ["--deadline", "nan"],
    ["--deadline", "inf"],
    ["--reuse-grace", "-1"],
    ["--expiry-wait", "-1"],
    ["--expiry-wait", "a minute"],
    ["--expiry-leeway", "nan"],
    # RT-21 would sleep 1e10 s: time.sleep's OverflowError, a suite error
    ["--expiry-wait", "2e10", "--expiry-leeway", "1e10", "--only", "RT-21"],
    ["--only", "XX-99"],
    ["--max-inflight", "0"],
    ["--max-inflight", "many"],
    ["--max-inflight", "2.5"],
    ["--max-inflight", "65"],
    ["--max-inflight", "\u00b2"],  # str.isdigit takes it, int() does not
    ["--target", "no-port"],
    ["--target", "127.0.0.1:1"],  # no token source
    ["--target", "127.0.0.1:1", "--login-email", "a@example.com"],  # no password variable
    ["--target", "127.0.0.1:1", "--refresh-token-env", "UNSET_VARIABLE_FOR_TEST"],
    ["--metadata", "novalue"],
    ["--ca-file", "/nonexistent/ca.pem"],
    ["--reference-fault", "no-such-fault"],
    ["--targets-file", "/nonexistent/targets.toml"],
])
def test_bad_options_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "conformance", "--report-dir",
                           str(tmp_path), *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_only_runs_the_named_requirements(run_suite: Any) -> None:
    run = run_suite("--only", "RT-05,CT-01", "--profile", "quick")
    assert run.exit_code == 0
    rows = {r["id"]: r for r in run.results["targets"][0]["requirements"]}
    assert rows["RT-05"]["outcome"] == "pass" and rows["CT-01"]["outcome"] == "pass"
    assert rows["RT-01"]["message"] == "not selected (--only)"


def test_pytest_form_runs_the_same_suite(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "conformance", "-q", "-p",
                           "no:cacheprovider", "--report-dir", str(tmp_path), "--profile",
                           "quick", "--only", "RT-09"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert {r["id"]: r["outcome"] for r in data["targets"][0]["requirements"]}["RT-09"] == "pass"


def _assert_no_secret(run: Any, secrets: list[str]) -> None:
    texts = [run.stdout, run.stderr] + [p.read_text(errors="replace")
                                        for p in run.report_dir.rglob("*") if p.is_file()]
    for secret in secrets:
        assert not any(secret in text for text in texts), "a secret appears in clear"
