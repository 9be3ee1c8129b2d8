"""What a call to a target leaves behind, whatever the transport: the Reply a check judges, and the
CallRecord the run-wide scans read (FZ-04, the field checks, RPC counts, the critical path)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from conformance.model.redact import SECRETS
from conformance.model.status import Status

__all__ = ["CallRecord", "FrontAnswer", "Metadata", "Reply"]

M = TypeVar("M", bound=Message, covariant=True)
# Metadata as received: text values, and bytes for binary (`-bin`) keys.
Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True)
class FrontAnswer:
    """An answer of the target's front (a proxy, a load balancer), not of the service: an HTTP
    status without the transport's own status (requirements.md, "Answers from a front")."""

    http_status: int
    content_type: str = ""   # as the front sent it, when the client sees it
    how: str = ""            # how the client read it, e.g. `UNKNOWN "Received http2 header..."`

    @property
    def oversized_refusal(self) -> bool:
        """A front's refusal of a request too large for it (413 body, 431 headers)."""
        return self.http_status in (413, 431)

    def describe(self) -> str:
        """`HTTP 413 (text/html) from the target's front, not the service`."""
        kind = f" ({self.content_type})" if self.content_type else \
            " (its content type not shown by the client)"
        read = f", which the client read as {self.how}" if self.how else ""
        return f"HTTP {self.http_status}{kind} from the target's front, not the service{read}"


@dataclass(frozen=True)
class Reply(Generic[M]):
    """The outcome of one RPC, never an exception: checks decide what is acceptable."""

    method: str
    code: Status
    details: str
    response: M | None
    elapsed: float
    reproduce: str
    # An error's trailing metadata as received (grpc-status-details-bin stays bytes): the token
    # source reads a google.rpc.RetryInfo from it (conformance.transport.throttle).
    trailing: Metadata = ()
    headers: Metadata = ()   # the response's headers (gRPC: its initial metadata)
    raw: bytes | None = None  # the response message's bytes as received (an answer with a body)
    front: FrontAnswer | None = None  # set when a front answered instead of the service

    @property
    def ok(self) -> bool:
        return self.code is Status.OK

    @property
    def status(self) -> str:
        """`UNAUTHENTICATED: "invalid refresh token"`, redacted."""
        if self.ok:
            return "OK"
        return f"{self.code.name}: {json.dumps(SECRETS.scrub(self.details))}"


@dataclass(frozen=True)
class CallRecord:
    """What the suite keeps of every call, for run-wide scans (FZ-04, and the field checks) and
    RPC counts."""

    method: str
    code: Status
    details: str
    presented: str | None   # the credential sent, kept in memory only to look for echoes
    response: Message | None = None  # an OK response of the contract's RPCs (FT, CT-03, CT-04)
    trailers: str = ""  # an error's trailing metadata as text (FZ-04 scans it like the message)
    # When it ran (time.monotonic) and whether it gathered the shared sample: for the critical
    # path (conformance.run.critical_path).
    started: float = 0.0
    ended: float = 0.0
    in_sample: bool = False
    check: str | None = None   # the check that made it (CURRENT_CHECK)
