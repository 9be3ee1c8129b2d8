"""Telling a front's answers from the service's (requirements.md, "Answers from a front, not the
service"): a proxy or load balancer that answers with an HTTP status and no status of the
transport, such as nginx's 413 page for a body over `client_max_body_size`, or a load balancer's
502. The rule being judged could not be evaluated on such an answer, save where a front's refusal
of an oversized request is what the rule allows (FZ-06, FZ-10, FZ-11).

Native gRPC clients see such an answer only through what the gRPC library makes of it. grpc-core
(grpcio, and the C++ and Ruby clients) maps an HTTP status without `grpc-status` to a code
(`doc/http-grpc-status-mapping.md`: 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
404 UNIMPLEMENTED, 429 and 502-504 UNAVAILABLE, the rest UNKNOWN) and says so in the details:
"Received http2 header with status: 413". Envoy answers a gRPC request it refuses itself (its
buffer filter's 413) with a gRPC status of its own: UNKNOWN, the HTTP reason phrase as the message,
and no `x-envoy-upstream-service-time` (the header Envoy adds to what an upstream answered).
"""

from __future__ import annotations

import re

from conformance.model.calls import FrontAnswer, Metadata
from conformance.model.status import Status

__all__ = ["header", "http_front_answer", "native_front_answer"]

_HTTP_STATUS = re.compile(r"Received http2 header with status: (\d{3})\b")
# Reason phrases (RFC 9110 §15, and the older names proxies still send) of the refusals a front
# converts into a gRPC answer of its own.
_REFUSALS = {"Payload Too Large": 413, "Content Too Large": 413, "Request Entity Too Large": 413,
             "Request Header Fields Too Large": 431}


def native_front_answer(status: Status, details: str, headers: Metadata,
                        trailers: Metadata) -> FrontAnswer | None:
    """The front's answer a native gRPC call got, or None when the service answered."""
    how = f'{status.name} "{details}"'
    found = _HTTP_STATUS.search(details)
    if found:
        return FrontAnswer(int(found.group(1)), header(headers + trailers, "content-type"), how)
    if status is Status.UNKNOWN and details.strip() in _REFUSALS and not _from_upstream(
            headers + trailers):
        return FrontAnswer(_REFUSALS[details.strip()], "application/grpc, the front's own", how)
    return None


def http_front_answer(status_code: int, headers: Metadata) -> FrontAnswer:
    """The front's answer a web transport got: an HTTP status without the protocol's own
    status (gRPC-Web's grpc-status, Connect's error body), which the caller has seen."""
    return FrontAnswer(status_code, header(headers, "content-type"),
                       f"HTTP {status_code} without the protocol's status")


def header(metadata: Metadata, name: str) -> str:
    """The first value of header `name` (lower case), as text; "" when absent."""
    for key, value in metadata:
        if key.lower() == name:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return ""


def _from_upstream(metadata: Metadata) -> bool:
    """Envoy marks what an upstream answered; its own replies lack the mark."""
    return any(key.lower() == "x-envoy-upstream-service-time" for key, _ in metadata)
