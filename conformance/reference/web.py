"""gRPC-Web and Connect on one loopback port, as production serves them: a stock Envoy routes
the gRPC-Web content types (and native gRPC's) through its `grpc_web` filter to the reference's
gRPC port and every other request to a Connect server (connectrpc) over the same servicer; its
`cors` filter answers the preflights of both for one declared origin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message

from conformance.reference.connect import ConnectServer, Decoder, application
from conformance.reference.envoy import Envoy
from conformance.reference.servicer import UserApiServicer

__all__ = ["ALLOW_HEADERS", "EXPOSE_HEADERS", "WebFront", "front_config"]

# What grpc-web's and Connect's browser clients send (WB-03) and what a browser must be let
# read of a gRPC-Web status in headers (WB-03, WB-04).
ALLOW_HEADERS = ("authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout, "
                 "connect-protocol-version, connect-timeout-ms")
EXPOSE_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin"
MAX_AGE = "7200"  # Chromium's cap on a cached preflight
# gRPC-Web's content types (application/grpc-web, -web+proto, -web-text, -web-text+proto) and
# native gRPC's, which Envoy passes through, as a front serving both on one port does.
GRPC_CONTENT_TYPE = "application/grpc"
LISTENER = "web"
TYPES = "type.googleapis.com/envoy.extensions."


def _cluster(name: str, port: int, **options: Any) -> dict[str, Any]:
    endpoint = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}
    return {"name": name, "type": "STATIC", "connect_timeout": "1s", "load_assignment": {
        "cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}]},
        **options}


def front_config(*, port: int, grpc_port: int, connect_port: int, origin: str,
                 ) -> dict[str, Any]:
    """Envoy's bootstrap: one plain-HTTP listener (HTTP/1.1 and h2c), CORS for `origin`."""
    cors = {"@type": f"{TYPES}filters.http.cors.v3.CorsPolicy",
            "allow_origin_string_match": [{"exact": origin}],
            "allow_methods": "POST, OPTIONS", "allow_headers": ALLOW_HEADERS,
            "expose_headers": EXPOSE_HEADERS, "max_age": MAX_AGE, "allow_credentials": False,
            # A preflight from another origin is answered here too, never by the Connect server.
            "forward_not_matching_preflights": False}
    grpc_web = {"match": {"prefix": "/", "headers": [{
        "name": "content-type",
        "string_match": {"prefix": GRPC_CONTENT_TYPE, "ignore_case": True}}]},
        "route": {"cluster": "grpc"}}
    # Everything else, preflights included (they carry no content type), goes to Connect.
    connect = {"match": {"prefix": "/"}, "route": {"cluster": "connect"}}
    manager = {
        "@type": f"{TYPES}filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": LISTENER, "codec_type": "AUTO",
        "route_config": {"name": LISTENER, "virtual_hosts": [{
            "name": "reference", "domains": ["*"], "routes": [grpc_web, connect],
            "typed_per_filter_config": {"envoy.filters.http.cors": cors}}]},
        "http_filters": [
            {"name": "envoy.filters.http.cors",
             "typed_config": {"@type": f"{TYPES}filters.http.cors.v3.Cors"}},
            {"name": "envoy.filters.http.grpc_web",
             "typed_config": {"@type": f"{TYPES}filters.http.grpc_web.v3.GrpcWeb"}},
            {"name": "envoy.filters.http.router",
             "typed_config": {"@type": f"{TYPES}filters.http.router.v3.Router"}}]}
    http2 = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": f"{TYPES}upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}
    return {"static_resources": {
        "listeners": [{"name": LISTENER, "address": {"socket_address": {
            "address": "127.0.0.1", "port_value": port}}, "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": manager}]}]}],
        "clusters": [_cluster("grpc", grpc_port, typed_extension_protocol_options=http2),
                     _cluster("connect", connect_port)]}}


class WebFront:
    """The Connect server and Envoy in front of it and of the gRPC port; `url` once started."""

    def __init__(self, servicer: UserApiServicer, *, grpc_port: int, port: int, origin: str,
                 decoders: Mapping[type[Message], Decoder], read_max_bytes: int) -> None:
        self._connect = ConnectServer(application(
            servicer, decoders=decoders, read_max_bytes=read_max_bytes),
            read_max_bytes=read_max_bytes)
        self._config = front_config(port=port, grpc_port=grpc_port,
                                    connect_port=self._connect.port, origin=origin)
        self._envoy: Envoy | None = None
        self.url: str | None = None

    def start(self) -> WebFront:
        self._connect.start()
        try:
            self._envoy = Envoy(self._config)
            self._envoy.wait_ready()
        except BaseException:
            self._connect.stop()
            raise
        self.url = f"http://127.0.0.1:{self._envoy.listener_ports()[LISTENER]}"
        return self

    @property
    def envoy_pid(self) -> int | None:
        return self._envoy.pid if self._envoy else None

    def crash(self) -> None:
        """The service behind the front dies; the front stays up (and answers 503)."""
        self._connect.stop(timeout=0)

    def stop(self) -> None:
        if self._envoy is not None:
            self._envoy.stop()  # first: no new call reaches the Connect server
        self._connect.stop()
