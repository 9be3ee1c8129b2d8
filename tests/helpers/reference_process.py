"""A reference server in a process of its own (`python -m conformance.reference`) on one fixed
port, so that runs against it with and without faults are runs of the same target."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "I14_REFERENCE_PASSWORD"
PASSWORD = "Nightly-Passw0rd-value"
EMAIL = "qa@example.com"
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def reference_process(port: int, *faults: str) -> Iterator[str]:
    """Serve on 127.0.0.1:port with these faults; the address, once it listens."""
    argv = [sys.executable, "-m", "conformance.reference", "--port", str(port),
            "--password-env", PASSWORD_ENV]
    for fault in faults:
        argv += ["--fault", fault]
    server = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env={**os.environ, PASSWORD_ENV: PASSWORD},
                              stdin=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], START_TIMEOUT)
        assert ready, "the reference server did not start"
        line = server.stdout.readline()  # the start-up line: it listens from then on
        assert "listening on" in line, line
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=START_TIMEOUT)


def target_args(address: str) -> list[str]:
    """The suite's options for the reference process at `address`."""
    return ["--target", address, "--plaintext", "--login-email", EMAIL,
            "--login-password-env", PASSWORD_ENV, "--profile", "quick"]


def env() -> dict[str, str]:
    return {PASSWORD_ENV: PASSWORD}


def run_suite(report_dir: Path, *args: str, timeout: float = 240,
              ) -> subprocess.CompletedProcess[str]:
    """`python -m conformance --report-dir REPORT_DIR ARGS` with the reference password set."""
    return subprocess.run([sys.executable, "-m", "conformance", "--report-dir", str(report_dir),
                           *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, **env()}, stdin=subprocess.DEVNULL)
