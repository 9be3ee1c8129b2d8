"""Reflection as a broken front passes it on, for CT-07/CT-08's fault and flavours: streams that
end in CANCELLED. HAProxy 2.6 rewrites the RST_STREAM(NO_ERROR) a server sends after answering
UNIMPLEMENTED to a stream the client still has open into CANCEL, and drops the status
(haproxy/haproxy#1219): the client sees CANCELLED, not UNIMPLEMENTED."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import grpc
from grpc_reflection.v1alpha import reflection

__all__ = ["CANCELLED_BY_PROXY", "V1", "V1ALPHA", "add_cancelled_reflection",
           "cancelled_reflection"]

V1 = "grpc.reflection.v1.ServerReflection"
V1ALPHA = reflection.SERVICE_NAME  # grpc.reflection.v1alpha.ServerReflection, which it serves
# What grpcio 1.85 reports for v1 through Debian's HAProxy 2.6.12 (tools/haproxy-reflection):
# its peer reset the stream with CANCEL, error code 8.
RESET_BY_PEER = "Stream removed (RST_STREAM (Received RST_STREAM with error code 8))"

# Fault or flavour name -> the reflection services whose streams end in CANCELLED.
CANCELLED_BY_PROXY: dict[str, frozenset[str]] = {
    "reflection-v1-cancelled-by-proxy": frozenset({V1}),
    "reflection-field-renumbered-v1-cancelled": frozenset({V1}),
    "reflection-cancelled-by-proxy": frozenset({V1, V1ALPHA}),
}


def cancelled_reflection(switches: Iterable[str]) -> frozenset[str]:
    """The reflection services the switched-on faults and flavours end in CANCELLED."""
    return frozenset().union(*(CANCELLED_BY_PROXY.get(name, frozenset()) for name in switches))


def add_cancelled_reflection(server: grpc.Server, services: frozenset[str]) -> None:
    """Serve each of `services`' ServerReflectionInfo as a stream that ends in CANCELLED."""
    handler = grpc.stream_stream_rpc_method_handler(_cancelled)
    server.add_generic_rpc_handlers(tuple(
        grpc.method_handlers_generic_handler(name, {"ServerReflectionInfo": handler})
        for name in sorted(services)))


def _cancelled(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    # The status the client reads through the front: CANCELLED, no answer, the server's own
    # status lost. (A Python server cannot reset a stream itself; the client cannot tell.)
    context.abort(grpc.StatusCode.CANCELLED, RESET_BY_PEER)
    yield from ()
