"""The reference servicer behind a stock Connect server (PyPI `connectrpc`'s WSGI application)
on a loopback port, with codecs for google.protobuf messages (connectrpc's own are for
protobuf-py) and the servicer's context adapted to Connect's."""

from __future__ import annotations

import io
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import DEFAULT_READ_MAX_BYTES, ConnectWSGIApplication, EndpointSync
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import status_pb2
from protobuf.wkt import Any as AnyDetail

from conformance.model.contract import SERVICE, pb
from conformance.reference.servicer import UserApiServicer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ConnectServer", "application"]

# The contract declares no idempotency, so every RPC may have side effects: POST only, never
# Connect's GET form (RefreshAccessToken rotates, AuthnWithPassword mints, GetMe needs the
# authorization header).
METHODS = {"AuthnWithPassword": (pb.AuthnWithPasswordRequest, pb.AuthnWithPasswordResponse),
           "RefreshAccessToken": (pb.RefreshAccessTokenRequest, pb.RefreshAccessTokenResponse),
           "GetMe": (pb.GetMeRequest, pb.GetMeResponse)}
MAX_WORKERS = 32  # as the gRPC server's pool
# gRPC's code names are Connect's, but for one spelling.
CODES: dict[grpc.StatusCode, Code] = {
    status: Code[status.name.replace("CANCELLED", "CANCELED")]
    for status in grpc.StatusCode if status is not grpc.StatusCode.OK}
DETAILS_KEY = "grpc-status-details-bin"
SHUTDOWN_TIMEOUT = 5.0
MAX_LINE = 65537  # wsgiref's own bound on a request line

Decoder = Callable[[bytes], Message]


class ProtoCodec:
    """Connect's `proto` codec for google.protobuf messages; `decoders` replace the default
    decoding of some request types (the reference's lenient-decoder faults)."""

    def __init__(self, decoders: Mapping[type[Message], Decoder] | None = None) -> None:
        self._decoders = dict(decoders or {})

    def name(self) -> str:
        return "proto"

    def encode(self, message: Message) -> bytes:
        data: bytes = message.SerializeToString()
        return data

    def decode(self, data: bytes | bytearray, message_class: type[Message]) -> Message:
        return self._decoders.get(message_class, message_class.FromString)(bytes(data))


class JsonCodec:
    """Connect's `json` codec (canonical proto3 JSON) for google.protobuf messages; unknown keys
    are ignored, as connectrpc's own JSON codec and connect-go's do by default."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        text: str = json_format.MessageToJson(message, indent=None)
        return text.encode()

    def decode(self, data: bytes | bytearray, message_class: type[Message]) -> Message:
        return json_format.Parse(bytes(data), message_class(), ignore_unknown_fields=True)


class ConnectServicerContext:
    """What the servicer uses of grpc.ServicerContext, over a Connect request: metadata is the
    request's headers, an abort is a ConnectError of the same code, trailing metadata becomes
    Connect's `trailer-` headers."""

    def __init__(self, request: RequestContext[Any, Any]) -> None:
        self._request = request
        self._code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._request.request_headers.allitems())

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        self._code = code
        raise ConnectError(CODES[code], details)

    def abort_with_status(self, status: grpc.Status) -> NoReturn:
        """The status's google.rpc.Status details (grpc-status-details-bin) as Connect's."""
        details: list[ErrorDetail] = []
        for key, value in status.trailing_metadata or ():
            if key == DETAILS_KEY and isinstance(value, bytes):
                details += [ErrorDetail(AnyDetail(type_url=detail.type_url, value=detail.value))
                            for detail in status_pb2.Status.FromString(value).details]
            elif isinstance(value, str):
                self._request.response_trailers.add(key, value)
        self._code = status.code
        raise ConnectError(CODES[status.code], status.details, details)

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        for key, value in metadata:
            self._request.response_trailers[key] = value

    def time_remaining(self) -> float | None:
        remaining = self._request.timeout_ms
        return None if remaining is None else max(0.0, remaining / 1000)

    def code(self) -> grpc.StatusCode | None:
        return self._code


class _Application(ConnectWSGIApplication):
    path = f"/{SERVICE}"


def application(servicer: UserApiServicer, *, decoders: Mapping[type[Message], Decoder],
                read_max_bytes: int = DEFAULT_READ_MAX_BYTES) -> ConnectWSGIApplication:
    """connectrpc's WSGI application serving the servicer's three RPCs, unary, POST only."""
    endpoints = {f"/{SERVICE}/{name}": EndpointSync.unary(
        method=MethodInfo(name=name, service_name=SERVICE, input=request, output=response,
                          idempotency_level=IdempotencyLevel.UNKNOWN,
                          stream_type=StreamType.UNARY),
        function=_calling(getattr(servicer, name)))
        for name, (request, response) in METHODS.items()}
    return _Application(endpoints=endpoints, codecs=[ProtoCodec(decoders), JsonCodec()],
                        read_max_bytes=read_max_bytes)


def _calling(method: Callable[[Message, grpc.ServicerContext], Message],
             ) -> Callable[[Message, RequestContext[Message, Message]], Message]:
    def call(request: Message, context: RequestContext[Message, Message]) -> Message:
        # The adapter has every part of grpc.ServicerContext that the servicer uses.
        return method(request, cast(grpc.ServicerContext, ConnectServicerContext(context)))
    return call


def _read_chunked(stream: BinaryIO, limit: int) -> bytes:
    """A chunked request body (RFC 9112 §7.1), read up to just past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        length = int(stream.readline(MAX_LINE).split(b";")[0], 16)  # ValueError: malformed
        if length == 0:
            while stream.readline(MAX_LINE).strip():  # trailer fields, then the empty line
                pass
            break
        chunks.append(stream.read(length))
        size += len(chunks[-1])
        stream.readline(MAX_LINE)
    return b"".join(chunks)


def _bounded_body(app: WSGIApplication, limit: int) -> WSGIApplication:
    """The request body as PEP 3333 wants it, which wsgiref does not give: one that ends
    where the request does. Envoy forwards a request that had no length (an HTTP/2 stream)
    chunked, and a request with no body (Connect's GET form, a preflight) with no length at
    all, where reading wsgiref's input to its end (as connectrpc drains it) would wait for the
    connection to close."""
    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = _read_chunked(environ["wsgi.input"], limit)
            environ["CONTENT_LENGTH"] = str(len(body))  # past the limit: connectrpc refuses it
            environ["wsgi.input"] = io.BytesIO(body)
        elif not environ.get("CONTENT_LENGTH"):
            environ["wsgi.input"] = io.BytesIO()
        return app(environ, start_response)
    return serve


class _Quiet(WSGIRequestHandler):
    timeout = 60  # a connection that stalls mid-request ends, whatever the front does

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per request


class _ThreadedWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref in threads, at most MAX_WORKERS at once: a further connection waits to be
    accepted until one ends."""

    daemon_threads = True
    block_on_close = False  # stop() waits for the workers itself, bounded
    # socketserver's default listen backlog is 5: the suite's overlapped checks (up to 16 calls
    # in flight, each a connection of Envoy's to this HTTP/1.x server) overflowed it, and Envoy
    # answered the refused connections with its own 503.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Quiet)
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        self.stopping = threading.Event()

    def process_request(self, request: Any, client_address: Any) -> None:
        while not self.slots.acquire(timeout=0.1):
            if self.stopping.is_set():  # else shutdown() would wait for a free slot
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class ConnectServer:
    """The Connect application on 127.0.0.1 (port 0: any free port), served from a thread."""

    def __init__(self, app: ConnectWSGIApplication, *, read_max_bytes: int,
                 port: int = 0) -> None:
        self._httpd = _ThreadedWSGIServer(("127.0.0.1", port))
        self._httpd.set_app(_bounded_body(app, read_max_bytes))
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={
            "poll_interval": 0.1}, name="reference-connect", daemon=True)
        self._stopped = threading.Lock()

    def start(self) -> ConnectServer:
        self._thread.start()
        return self

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Stop accepting, then wait (bounded) for the calls in flight; idempotent."""
        if not self._stopped.acquire(blocking=False):
            return
        self._httpd.stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        for _ in range(MAX_WORKERS):
            if not self._httpd.slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        self._httpd.server_close()
