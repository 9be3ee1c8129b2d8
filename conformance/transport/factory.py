"""The transports by name (interface.md, `--transport`): one place that turns a name into a
Transport of the seam."""

from __future__ import annotations

from conformance.transport.seam import Transport
from conformance.transport.settings import ChannelSettings

__all__ = ["TRANSPORTS", "WEB_TRANSPORTS", "open_transport"]

TRANSPORTS = ("grpc", "grpc-web", "grpc-web-text", "connect", "connect-json")
WEB_TRANSPORTS = TRANSPORTS[1:]


def open_transport(name: str, settings: ChannelSettings, base_url: str | None = None,
                   ) -> Transport:
    """A new connection to the target over transport `name`; the web transports POST to
    `base_url` (see conformance.transport.web.web_base_url)."""
    if name == "grpc":
        from conformance.transport.native import GrpcTransport
        return GrpcTransport(settings)
    from conformance.transport.web import ConnectTransport, GrpcWebTransport, web_base_url

    url = web_base_url(settings, base_url)
    if name in ("grpc-web", "grpc-web-text"):
        return GrpcWebTransport(settings, url, text=name == "grpc-web-text")
    if name in ("connect", "connect-json"):
        return ConnectTransport(settings, url, json_codec=name == "connect-json")
    raise ValueError(f"no transport {name!r} (one of {', '.join(TRANSPORTS)})")
