"""Vendor matrices (--targets-file), parallel runs (pytest-xdist), and the secrets audit."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import FAULTS, ReferenceServer, ServerOptions
from conformance.transport.client import ChannelSettings, UserApiClient
from tests.helpers.html_tree import parse

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


def _targets_file(folder: Path, servers: Sequence[ReferenceServer],
                  extra: Sequence[str] = ()) -> Path:
    """A targets file, one [[target]] per server with password login from $QA_PASSWORD; the
    lines of `extra`, by index, go into the target of the same index."""
    path = folder / "targets.toml"
    path.write_text("".join(
        f'[[target]]\naddress = "{server.address}"\nplaintext = true\n'
        f'login_email = "qa@example.com"\nlogin_password_env = "QA_PASSWORD"\n'
        f'{extra[i] if i < len(extra) else ""}\n' for i, server in enumerate(servers)))
    return path


def test_targets_file_certifies_each_target_with_its_own_verdict(
        run_suite: Any, two_servers: Any, tmp_path: Path) -> None:
    good, bad = two_servers
    targets = _targets_file(tmp_path, (good, bad),
                            [f'metadata = {{ x-api-key = "k-{i}" }}\nmax_inflight = {4 - 3 * i}\n'
                             for i in range(2)])
    run = run_suite("--targets-file", str(targets), "--profile", "quick",
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 1
    verdicts = {t["target"]: t["verdict"] for t in run.results["targets"]}
    assert verdicts == {good.address: "conformant", bad.address: "non-conformant"}
    assert run.tripped(1) == FAULTS["unknown-refresh-token-permission-denied"].breaks
    # Each target its own --max-inflight: 4 overlaps its checks, 1 runs them one after another.
    assert [(t["overlap"]["max_inflight"], t["overlap"]["overlapped_checks"] > 0)
            for t in run.results["targets"]] == [(4, True), (1, False)]
    page = parse((run.report_dir / "conformance.html").read_text())
    shown = {card.find("code").text: card.find(cls="cf-badge").text
             for card in page.find_all(cls="cf-target")}
    assert shown == {good.address: "✓ conformant", bad.address: "✗ non-conformant"}


@pytest.mark.parametrize("content, problem", [
    ("not toml = = =", "targets.toml"),
    ("[[target]]\nplaintext = true\n", "target 1: 'address'"),
    ('[[target]]\naddress = "127.0.0.1:1"\ncolour = "red"\n', "unknown key colour"),
    ('[[target]]\naddress = "127.0.0.1:1"\npassword = "x"\n', "environment variables"),
    ('[[target]]\naddress = "127.0.0.1:1"\nlogin_email = "a@example.com"\n',
     "--login-password-env"),
    ('[[target]]\naddress = "nowhere"\nrefresh_token_env = "HOME"\n', "HOST:PORT"),
    ('[[target]]\naddress = "127.0.0.1:1"\nrefresh_token_env = "HOME"\nplaintext = "yes"\n',
     "'plaintext' must be true or false"),
    ('[[target]]\naddress = "127.0.0.1:1"\nrefresh_token_env = "HOME"\nmax_inflight = "8"\n',
     "'max_inflight' must be a whole number"),
    ('[[target]]\naddress = "127.0.0.1:1"\nrefresh_token_env = "HOME"\nmax_inflight = 0\n',
     "max_inflight: 0 must be a whole number from 1 to 64"),
])
def test_bad_targets_file_is_exit_2_naming_file_and_entry(
        tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(content)
    _assert_refused_in_one_line(path, problem, tmp_path)


def _assert_refused_in_one_line(path: Path, problem: str, tmp_path: Path) -> None:
    """A run with --targets-file PATH exits 2 with one line naming the file and `problem`."""
    done = subprocess.run([sys.executable, "-m", "conformance", "--targets-file", str(path),
                           "--report-dir", str(tmp_path / "r")], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and problem in lines[0], done.stderr


@pytest.mark.parametrize(("content", "problem"), [
    (b"\xff\xfe[[target]]\n", "can't decode"),               # was a UnicodeDecodeError
    (b"a = " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),  # was a RecursionError
])
def test_a_targets_file_that_is_no_toml_text_is_exit_2_in_one_line(
        tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_bytes(content)
    _assert_refused_in_one_line(path, problem, tmp_path)


def test_parallel_run_gives_the_same_verdicts_as_a_serial_run(run_suite: Any) -> None:
    serial = run_suite("--profile", "quick", "--reference-fault", "get-me-without-authorization-ok")
    parallel = run_suite("--profile", "quick", "--reference-fault",
                         "get-me-without-authorization-ok", "--", "-n", "2")
    assert serial.exit_code == parallel.exit_code == 1
    assert serial.outcomes() == parallel.outcomes()
    assert serial.results["targets"][0]["counts"] == parallel.results["targets"][0]["counts"]


def test_parallel_run_keeps_each_target_on_one_worker_in_run_order(
        run_suite: Any, tmp_path: Path) -> None:
    """With -n 2, a target's checks share one worker: the fuzz campaign still runs after its
    ordinary checks (a server it poisons trips FZ-05 alone, as in a serial run), and the
    run-wide scans see every call to that target."""
    with ReferenceServer(ServerOptions(password=PASSWORD)) as good, ReferenceServer(
            ServerOptions(password=PASSWORD, faults=frozenset({"nul-byte-poisons-server"}))) \
            as poisoned:
        targets = _targets_file(tmp_path, (good, poisoned))
        run = run_suite("--targets-file", str(targets), "--profile", "quick", "--", "-n", "2",
                        "-vv", env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 1, run.stdout[-3000:] + run.stderr
    workers: dict[str, set[str]] = {good.address: set(), poisoned.address: set()}
    for worker, label in re.findall(r"\[(gw\d+)\].*::test_\w+\[([^\]-]+)", run.stdout):
        workers[label].add(worker)
    assert all(len(found) == 1 for found in workers.values()), workers
    assert run.tripped(0) == set() and run.tripped(1) == {"FZ-05"}


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


@pytest.mark.parametrize(("nodeid", "target"), [
    ("c/test_rt.py::test_rt01[127.0.0.1:5000]", "127.0.0.1:5000"),
    ("c/test_rt.py::test_rt09[127.0.0.1:5000-no metadata]", "127.0.0.1:5000"),
    ("c/test_fz.py::test_fz06[vendor-a.example:443-64 KiB]", "vendor-a.example:443"),
    ("c/test_ct.py::test_ct01[vendor-a.example:4430]", "vendor-a.example:4430"),
    ("c/test_ct.py::test_ct01[elsewhere:1]", None),
    ("c/test_rt.py::test_rt09[[::1]:50051-no metadata]", "[::1]:50051"),
])
def test_parallel_scheduling_finds_the_target_of_a_check(nodeid: str, target: str | None) -> None:
    from conformance.run.parallel import target_of
    labels = ["127.0.0.1:5000", "vendor-a.example:443", "vendor-a.example:4430", "[::1]:50051"]
    assert target_of(nodeid, labels) == target


def test_the_readme_targets_file_example_is_valid(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.run.targets_file import load_targets_file
    found = re.search(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert found is not None
    (tmp_path / "targets.toml").write_text(found.group(1))
    monkeypatch.setenv("VENDOR_A_PASSWORD", "example")
    monkeypatch.setenv("VENDOR_B_REFRESH_TOKEN", "example")
    targets = load_targets_file(str(tmp_path / "targets.toml"), deadline=5.0, reuse_grace=0.0)
    assert [t.label for t in targets] == ["vendor-a.example.com:443", "vendor-b.example.com:443"]


# The hex of a reference token (43 base64url characters): what a raw request's bytes would show.
TOKEN_HEX_SHAPE = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{2}){43,}")


def test_a_raw_request_failure_shows_its_token_redacted(run_suite: Any) -> None:
    """CT-05 sends its request as bytes: its reproduce line shows them with the token redacted,
    never as the hex of the whole payload (the token's bytes in clear)."""
    run = run_suite("--profile", "quick", "--only", "CT-05",
                    "--reference-fault", "request-unknown-field-rejected")
    assert run.outcomes()["CT-05"] == "fail"
    texts = [run.stdout, run.stderr, *_texts_under(run.report_dir)]
    assert any("<token sha256:" in text and "9a060b" in text for text in texts)
    for text in texts:
        assert not TOKEN_HEX_SHAPE.search(text), "a token's bytes appear in clear, as hex"
