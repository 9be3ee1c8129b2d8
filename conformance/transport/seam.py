"""The transport seam: how a check's calls reach a target, whatever carries them.

A Transport makes one unary call (request bytes, metadata, a deadline) and hands back an
Exchange (a status of the model's own, the details, headers, trailers and the response bytes);
it can open a fresh connection of its own (a v3 rule replays on one), and writes the command a
user runs to repeat a call. The client of the contract's RPCs (conformance.transport.client)
builds on it, so every check runs over every transport. Native gRPC implements it
(conformance.transport.native).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from conformance.model.calls import FrontAnswer, Metadata
from conformance.model.status import Status

__all__ = ["Exchange", "Transport"]


@dataclass(frozen=True)
class Exchange:
    """One unary call as the transport saw it: never an exception, whatever the target did."""

    status: Status
    details: str
    body: bytes | None = None   # the response message's bytes (an answer with a message)
    headers: Metadata = ()      # response headers (gRPC: initial metadata)
    trailers: Metadata = ()     # trailing metadata (gRPC: trailers; a trailers-only answer's)
    front: FrontAnswer | None = None   # a front answered, not the service (transport.fronts)


class Transport(Protocol):
    """One connection to a target over one transport."""

    name: str   # `grpc`, and later `grpc-web`, `grpc-web-text`, `connect`, `connect-json`

    def unary(self, method: str, request: bytes, *, metadata: tuple[tuple[str, str], ...],
              timeout: float) -> Exchange:
        """Send `request` (a serialized message, or bytes no client would send) to `method`
        (`/package.Service/Method`) with `metadata`, within `timeout` seconds."""
        ...

    def fresh(self) -> Transport:
        """The same target on a new connection of its own (not shared with this one)."""
        ...

    def reproduce(self, method: str, headers: list[tuple[str, str]],
                  body: dict[str, str]) -> str:
        """A shell command that repeats a call: `headers` and `body` (field -> value) are given
        as they may be shown, every secret already redacted."""
        ...

    def close(self) -> None:
        ...
