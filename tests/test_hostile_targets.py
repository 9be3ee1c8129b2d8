"""The suite under hostile conditions: dead, silent, flaky and slow targets, and real TLS.

Every run here is bounded: the suite must finish, write its three reports, mark what it could
not evaluate as `error` and exit 1 or 3, with no traceback.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import ReferenceServer, ServerOptions
from tests.tls import make_tls_files

PASSWORD = "Hostile-Passw0rd-value"
DEADLINE = 1.0


def _login_args(address: str, *extra: str) -> list[str]:
    return ["--target", address, "--login-email", "qa@example.com", "--login-password-env",
            "QA_PASSWORD", "--deadline", str(DEADLINE), "--profile", "quick", *extra]


def _assert_finished_cleanly(run: Any) -> None:
    for name in ("conformance.html", "junit.xml", "results.json"):
        assert (run.report_dir / name).exists(), name
    assert "Traceback" not in run.stdout + run.stderr


@pytest.fixture
def black_hole() -> Iterator[str]:
    """Accepts TCP connections and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    listener.close()


def test_black_hole_target_is_error_within_a_bound(run_suite: Any, black_hole: str) -> None:
    run = run_suite(*_login_args(black_hole, "--plaintext"), env={"QA_PASSWORD": PASSWORD})
    # Bound: the preflight's one deadline, then every check is `error` at once (measured:
    # deadline + 0.2 s of the suite's own time, plus about 1.4 s of interpreter start-up).
    assert run.results["duration_s"] < DEADLINE + 2, run.results["duration_s"]
    assert run.exit_code == 3
    _assert_finished_cleanly(run)
    assert run.results["targets"][0]["verdict"] == "error"
    assert len(run.stderr.strip().splitlines()) == 1 and black_hole in run.stderr


def test_target_dying_halfway_is_error_not_fail(run_suite: Any) -> None:
    server = ReferenceServer(ServerOptions(password=PASSWORD, stop_after_calls=12)).start()
    try:
        started = time.monotonic()
        run = run_suite(*_login_args(server.address, "--plaintext"),
                        env={"QA_PASSWORD": PASSWORD})
        elapsed = time.monotonic() - started
    finally:
        server.stop(0)
    assert run.exit_code == 3, run.stdout[-2000:]
    assert elapsed < 30
    _assert_finished_cleanly(run)
    outcomes = run.outcomes()
    assert "error" in outcomes.values() and "fail" not in outcomes.values()
    assert "stopped answering" in run.stderr or "could not be evaluated" in run.stderr


def test_flaky_target_marks_unanswered_checks_as_error(run_suite: Any) -> None:
    with ReferenceServer(ServerOptions(password=PASSWORD, unavailable_every=4)) as server:
        run = run_suite(*_login_args(server.address, "--plaintext"),
                        env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code in (1, 3)
    _assert_finished_cleanly(run)
    assert "error" in run.outcomes().values()


def test_slow_but_timely_target_is_conformant(run_suite: Any) -> None:
    with ReferenceServer(ServerOptions(password=PASSWORD, latency_ms=int(DEADLINE * 600))) \
            as server:
        run = run_suite(*_login_args(server.address, "--plaintext", "--only",
                                     "CT-01,RT-01,RT-05"), env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 0, run.stdout[-2000:]


# TLS ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReferenceServer, Path]]:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    with ReferenceServer(ServerOptions(password=PASSWORD, tls_cert_file=str(files.cert),
                                       tls_key_file=str(files.key))) as server:
        yield server, files.ca


def test_untrusted_certificate_is_exit_3_with_one_line(run_suite: Any, tls_server: Any) -> None:
    server, _ = tls_server
    run = run_suite(*_login_args(server.address, "--server-name", "conformance.test"),
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 3
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "TLS failure" in lines[0] and server.address in lines[0]
    _assert_finished_cleanly(run)


def test_ca_file_and_server_name_make_tls_pass(run_suite: Any, tls_server: Any) -> None:
    server, ca = tls_server
    run = run_suite(*_login_args(server.address, "--ca-file", str(ca), "--server-name",
                                 "conformance.test", "--only", "CT-01,RT-04,RT-09"),
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 0, run.stdout[-2000:] + run.stderr


def test_wrong_server_name_fails_verification(run_suite: Any, tls_server: Any) -> None:
    server, ca = tls_server
    run = run_suite(*_login_args(server.address, "--ca-file", str(ca), "--server-name",
                                 "other.test"), env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 3 and "TLS failure" in run.stderr


def test_plaintext_to_a_tls_port_says_the_target_wants_tls(run_suite: Any,
                                                           tls_server: Any) -> None:
    """It said "unreachable: ... Trying to connect an http1.x server (HTTP status 400)"."""
    server, _ = tls_server
    run = run_suite(*_login_args(server.address, "--plaintext"), env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 3
    [line] = run.stderr.strip().splitlines()
    assert server.address in line and "seems to want TLS (drop --plaintext)" in line, line
    _assert_finished_cleanly(run)
