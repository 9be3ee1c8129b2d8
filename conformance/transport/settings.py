"""How to reach one target, whatever the transport: its address, TLS, extra metadata, deadline."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChannelSettings"]


@dataclass(frozen=True)
class ChannelSettings:
    address: str
    plaintext: bool = False
    ca_file: str | None = None
    server_name: str | None = None
    cert_file: str | None = None   # client certificate chain and key (PEM): mutual TLS
    key_file: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    deadline: float = 5.0
