"""Vendor matrices (--targets-file), parallel runs (pytest-xdist), and the secrets audit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.client import ChannelSettings, UserApiClient
from conformance.reference import FAULTS, ReferenceServer, ServerOptions

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Audit-Passw0rd-Kn0wn-Value"
TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


@pytest.fixture
def two_servers() -> Iterator[tuple[ReferenceServer, ReferenceServer]]:
    good = ReferenceServer(ServerOptions(password=PASSWORD)).start()
    bad = ReferenceServer(ServerOptions(password=PASSWORD, faults=frozenset(
        {"unknown-refresh-token-permission-denied"}))).start()
    yield good, bad
    good.stop()
    bad.stop()


def test_targets_file_certifies_each_target_with_its_own_verdict(
        run_suite: Any, two_servers: Any, tmp_path: Path) -> None:
    good, bad = two_servers
    targets = tmp_path / "targets.toml"
    targets.write_text("".join(
        f'[[target]]\naddress = "{s.address}"\nplaintext = true\nlogin_email = "qa@example.com"\n'
        f'login_password_env = "QA_PASSWORD"\nmetadata = {{ x-api-key = "k-{i}" }}\n\n'
        for i, s in enumerate((good, bad))))
    run = run_suite("--targets-file", str(targets), "--profile", "quick",
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 1
    verdicts = {t["target"]: t["verdict"] for t in run.results["targets"]}
    assert verdicts == {good.address: "conformant", bad.address: "non-conformant"}
    assert run.tripped(1) == FAULTS["unknown-refresh-token-permission-denied"].breaks
    html = (run.report_dir / "conformance.html").read_text()
    assert f"Target {good.address}: conformant" in html
    assert f"Target {bad.address}: non-conformant" in html


@pytest.mark.parametrize("content, problem", [
    ("not toml = = =", "targets.toml"),
    ("[[target]]\nplaintext = true\n", "target 1: 'address'"),
    ('[[target]]\naddress = "127.0.0.1:1"\ncolour = "red"\n', "unknown key colour"),
    ('[[target]]\naddress = "127.0.0.1:1"\npassword = "x"\n', "environment variables"),
    ('[[target]]\naddress = "127.0.0.1:1"\nlogin_email = "a@example.com"\n', "--login-password-env"),
    ('[[target]]\naddress = "nowhere"\nrefresh_token_env = "HOME"\n', "HOST:PORT"),
    ('[[target]]\naddress = "127.0.0.1:1"\nrefresh_token_env = "HOME"\nplaintext = "yes"\n',
     "'plaintext' must be true or false"),
])
def test_bad_targets_file_is_exit_2_naming_file_and_entry(
        tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(content)
    done = subprocess.run([sys.executable, "-m", "conformance", "--targets-file", str(path),
                           "--report-dir", str(tmp_path / "r")], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0], done.stderr


def test_parallel_run_gives_the_same_verdicts_as_a_serial_run(run_suite: Any) -> None:
    serial = run_suite("--profile", "quick", "--reference-fault", "get-me-without-authorization-ok")
    parallel = run_suite("--profile", "quick", "--reference-fault",
                         "get-me-without-authorization-ok", "--", "-n", "2")
    assert serial.exit_code == parallel.exit_code == 1
    assert serial.outcomes() == parallel.outcomes()
    assert serial.results["targets"][0]["counts"] == parallel.results["targets"][0]["counts"]


def _texts_under(folder: Path) -> list[str]:
    return [p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]


def test_no_password_or_token_appears_anywhere(run_suite: Any, tmp_path: Path) -> None:
    """Every token source, known secret values: none in reports, stdout, stderr or the
    hypothesis database under the report dir."""
    with ReferenceServer(ServerOptions(password=PASSWORD)) as server:
        api = UserApiClient(ChannelSettings(server.address, plaintext=True, deadline=5))
        static = api.login(server.options.email, PASSWORD).response
        assert static is not None
        static_token = static.auth_token.refresh_token
        base = ["--target", server.address, "--plaintext", "--profile", "quick",
                "--metadata", "x-api-key=Gateway-Key-Kn0wn-Value"]
        env = {"QA_PASSWORD": PASSWORD, "QA_TOKEN": static_token, "TC_ADDRESS": server.address,
               "TC_EMAIL": server.options.email, "TC_PASSWORD": PASSWORD,
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        runs = [
            run_suite(*base, "--login-email", server.options.email, "--login-password-env",
                      "QA_PASSWORD", env=env),
            run_suite(*base, "--token-command",
                      f"{sys.executable} -m tests.helpers.token_command", env=env),
            run_suite(*base, "--refresh-token-env", "QA_TOKEN", env=env),
        ]
        api.close()
    for run in runs:
        assert run.exit_code in (0, 1), run.stdout[-2000:] + run.stderr
        texts = [run.stdout, run.stderr, *_texts_under(run.report_dir)]
        for secret in (PASSWORD, static_token, "Gateway-Key-Kn0wn-Value"):
            assert not any(secret in text for text in texts), "a secret appears in clear"
        # Tokens issued during the run can't be read back from redacted output (that is the
        # point), so they are found by shape: the reference server's 256-bit base64url tokens
        # are runs of exactly 43 such characters.
        for text in texts:
            found = TOKEN_SHAPE.findall(text)
            assert not found, f"a token-shaped string appears in clear: {found[0][:6]}..."
