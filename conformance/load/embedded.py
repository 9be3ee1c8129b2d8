"""The embedded reference server in a process of its own (a load generator sharing its
interpreter would share its GIL, and judge a server no client of a real target sees)."""

from __future__ import annotations

import os
import re
import secrets
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass

from conformance.model.errors import TargetDown
from conformance.model.redact import SECRETS
from conformance.reference.server import DEFAULT_EMAIL

__all__ = ["EmbeddedServer", "start"]

PASSWORD_ENV = "CONFORMANCE_LOAD_PASSWORD"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


@dataclass
class EmbeddedServer:
    process: subprocess.Popen[str]
    address: str
    password: str
    email: str = DEFAULT_EMAIL

    def stop(self) -> None:
        """SIGTERM (the server stops cleanly on it), then SIGKILL after a bound."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start(faults: frozenset[str], flavors: frozenset[str], latency_ms: int = 0,
          ) -> EmbeddedServer:
    """Start `python -m conformance.reference` on a free loopback port with a fresh password
    (`latency_ms`: an imitated network, over which calls in flight pile up)."""
    password = secrets.token_urlsafe(18)
    SECRETS.remember(password, "password")
    argv = [sys.executable, "-m", "conformance.reference", "--port", "0",
            "--password-env", PASSWORD_ENV, "--latency-ms", str(latency_ms)]
    for fault in sorted(faults):
        argv += ["--fault", fault]
    for flavor in sorted(flavors):
        argv += ["--flavor", flavor]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, text=True,
                               env={**os.environ, PASSWORD_ENV: password})
    line = _first_line(process)
    found = re.search(r"listening on (\S+);", line)
    if found is None:
        EmbeddedServer(process, "", password).stop()
        raise TargetDown("embedded reference server", "it did not start")
    return EmbeddedServer(process, found.group(1), password)


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if selector.select(timeout=0.2):
                return process.stdout.readline()
    return ""
