"""Mutual TLS: --cert-file/--key-file (and the targets-file keys) against the reference server
with --client-ca. Every certificate is made at test time under tmp_path (tests/tls.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.model.errors import UsageError
from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.__main__ import main as reference_main
from conformance.run.options import OPTIONS, settings_from
from conformance.transport.client import ChannelSettings, UserApiClient
from tests.tls import TlsFiles, make_ca, make_client_files, make_tls_files

PASSWORD = "Mutual-Passw0rd-value"
DEADLINE = 1.0


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("mtls"))


@pytest.fixture(scope="module")
def mtls_server(files: TlsFiles) -> Iterator[ReferenceServer]:
    with ReferenceServer(ServerOptions(password=PASSWORD, tls_cert_file=str(files.cert),
                                       tls_key_file=str(files.key),
                                       tls_client_ca_file=str(files.ca))) as server:
        yield server


def _args(server: ReferenceServer, files: TlsFiles, *extra: str) -> list[str]:
    return ["--target", server.address, "--ca-file", str(files.ca), "--server-name",
            "conformance.test", "--login-email", "qa@example.com", "--login-password-env",
            "QA_PASSWORD", "--deadline", str(DEADLINE), "--profile", "quick", *extra]


def test_with_the_client_certificate_the_target_is_conformant(
        run_suite: Any, mtls_server: ReferenceServer, files: TlsFiles) -> None:
    run = run_suite(*_args(mtls_server, files, "--cert-file", str(files.client_cert),
                           "--key-file", str(files.client_key), "--only", "CT-01,RT-04,RT-09"),
                    env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 0, run.stdout[-2000:] + run.stderr
    assert run.results["targets"][0]["verdict"] == "conformant"
    key_text = files.client_key.read_text()
    body = "".join(line for line in key_text.splitlines() if "-----" not in line)
    for name in ("conformance.html", "junit.xml", "results.json"):
        assert body[:40] not in (run.report_dir / name).read_text(), name


def test_without_the_client_certificate_exit_3_naming_the_target_and_tls(
        run_suite: Any, mtls_server: ReferenceServer, files: TlsFiles) -> None:
    started = time.monotonic()
    run = run_suite(*_args(mtls_server, files), env={"QA_PASSWORD": PASSWORD})
    elapsed = time.monotonic() - started
    assert run.exit_code == 3, run.stdout[-2000:] + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert mtls_server.address in lines[0] and "TLS failure" in lines[0]
    assert "client certificate (--cert-file/--key-file)" in lines[0]
    assert "Traceback" not in run.stdout + run.stderr
    # The handshake fails at once; the bound is the preflight's deadline plus start-up.
    assert elapsed < DEADLINE + 6, elapsed
    assert run.results["targets"][0]["verdict"] == "error"


def test_a_certificate_from_another_ca_is_refused(
        mtls_server: ReferenceServer, files: TlsFiles, tmp_path: Path) -> None:
    ca, ca_key = make_ca(tmp_path, "other-ca")
    cert, key = make_client_files(tmp_path, ca, ca_key)
    client = UserApiClient(ChannelSettings(mtls_server.address, ca_file=str(files.ca),
                                           server_name="conformance.test", cert_file=str(cert),
                                           key_file=str(key), deadline=DEADLINE))
    try:
        assert client.get_me(None).code.name == "UNAVAILABLE"
    finally:
        client.close()


def test_grpcurl_line_carries_cert_and_key_paths(files: TlsFiles) -> None:
    settings = ChannelSettings("127.0.0.1:1", ca_file=str(files.ca),
                               cert_file=str(files.client_cert), key_file=str(files.client_key))
    line = UserApiClient(settings).reproduce("/user_api.v1.UserApiService/GetMe", {})
    assert f"-cert {files.client_cert} -key {files.client_key}" in line
    assert "-plaintext" not in line


# Option validation: exit 2 with one line ----------------------------------------------------
def _settings(**given: Any) -> Any:
    values: dict[str, Any] = {o.dest: o.extra.get("default") for o in OPTIONS}
    values.update(conformance_targets=["127.0.0.1:50051"], conformance_refresh_token_env="TOK")
    values.update(given)
    return settings_from(values.__getitem__)


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOK", "a-refresh-token")


def test_cert_and_key_reach_the_channel(files: TlsFiles, token_env: None) -> None:
    settings = _settings(conformance_cert_file=str(files.client_cert),
                         conformance_key_file=str(files.client_key))
    channel = settings.targets[0].channel
    assert (channel.cert_file, channel.key_file) == (str(files.client_cert),
                                                     str(files.client_key))


@pytest.mark.parametrize("case", ["only-cert", "only-key", "missing", "not-pem", "mismatch",
                                  "plaintext"])
def test_bad_client_certificate_options_are_usage_errors(
        case: str, files: TlsFiles, tmp_path: Path, token_env: None) -> None:
    cert, key = str(files.client_cert), str(files.client_key)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a pem file\n")
    given = {"only-cert": {"conformance_cert_file": cert},
             "only-key": {"conformance_key_file": key},
             "missing": {"conformance_cert_file": str(tmp_path / "absent.pem"),
                         "conformance_key_file": key},
             "not-pem": {"conformance_cert_file": cert, "conformance_key_file": str(junk)},
             "mismatch": {"conformance_cert_file": cert, "conformance_key_file": str(files.key)},
             "plaintext": {"conformance_cert_file": cert, "conformance_key_file": key,
                           "conformance_plaintext": True}}[case]
    with pytest.raises(UsageError) as raised:
        _settings(**given)
    message = str(raised.value)
    assert "\n" not in message and ("--cert-file" in message or "--key-file" in message)
    assert "BEGIN" not in message


def test_mismatched_key_is_exit_2_with_one_line(run_suite: Any, files: TlsFiles) -> None:
    run = run_suite("--target", "127.0.0.1:50051", "--refresh-token-env", "TOK",
                    "--cert-file", str(files.client_cert), "--key-file", str(files.key),
                    env={"TOK": "a-refresh-token"})
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not the private key of --cert-file" in lines[0], lines


def test_targets_file_keys(files: TlsFiles, tmp_path: Path, token_env: None) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(f'[[target]]\naddress = "127.0.0.1:50052"\nrefresh_token_env = "TOK"\n'
                    f'cert_file = {json.dumps(str(files.client_cert))}\n'
                    f'key_file = {json.dumps(str(files.client_key))}\n')
    settings = _settings(conformance_targets=[], conformance_refresh_token_env=None,
                         conformance_targets_file=str(path))
    assert settings.targets[0].channel.key_file == str(files.client_key)
    path.write_text(f'[[target]]\naddress = "127.0.0.1:50052"\nrefresh_token_env = "TOK"\n'
                    f'cert_file = {json.dumps(str(files.client_cert))}\n')
    with pytest.raises(UsageError, match="cert_file and key_file go together"):
        _settings(conformance_targets=[], conformance_refresh_token_env=None,
                  conformance_targets_file=str(path))


def test_reference_server_client_ca_needs_tls(files: TlsFiles,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert reference_main(["--client-ca", str(files.ca)]) == 2
    assert "--client-ca needs --tls-cert" in capsys.readouterr().err


def test_reference_server_client_ca_must_be_pem(files: TlsFiles, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    assert reference_main(["--tls-cert", str(files.cert), "--tls-key", str(files.key),
                           "--client-ca", str(junk)]) == 2
    assert "holds no PEM certificate" in capsys.readouterr().err
