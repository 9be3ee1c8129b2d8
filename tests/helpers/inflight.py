"""Counting calls in flight at the server: a gRPC server interceptor that records every call's
method, start and end (time.monotonic), and for RefreshAccessToken the sha256 of the presented
refresh token (never the token), to prove what a client's in-flight bound really allowed.

A call is in flight from the moment the server has its request (the request deserializer runs)
to the moment its handler returns, before the answer is sent: inside the interval the client
counts, so the recorder never sees more in flight than a client's gate let through. A request
that does not decode (FZ-07/FZ-09's wire garbage) is recorded as a call that ends at once, with
no token hash, and keeps its error (the original deserializer raises, gRPC answers INTERNAL)."""

from __future__ import annotations

import hashlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc

from conformance.reference import ReferenceServer, ServerOptions

__all__ = ["Crowd", "InflightRecorder", "RecordedCall", "RecordedTarget", "recorded_reference"]

REFRESH = "RefreshAccessToken"
_Deserializer = Callable[[bytes], Any]


@dataclass(frozen=True)
class RecordedCall:
    """One call at the server; `end` None while it is still in flight."""

    seq: int
    method: str                 # the full method, "/user_api.v1.UserApiService/GetMe"
    start: float
    end: float | None = None
    token_sha256: str | None = None  # RefreshAccessToken only, when its request decoded

    @property
    def name(self) -> str:
        """The method's last part: "RefreshAccessToken", "Check", "ServerReflectionInfo"."""
        return self.method.rsplit("/", 1)[-1]

    def in_flight_at(self, moment: float) -> bool:
        return self.start <= moment < _end(self)

    def overlaps(self, other: RecordedCall) -> bool:
        return self.start < _end(other) and other.start < _end(self)


def _end(call: RecordedCall) -> float:
    return math.inf if call.end is None else call.end


@dataclass(frozen=True)
class Crowd:
    """A moment at which more calls than a limit were in flight, and which calls they were."""

    at: float
    calls: tuple[RecordedCall, ...]

    @property
    def one_token_burst(self) -> bool:
        """Every call in flight is a RefreshAccessToken presenting one and the same token."""
        hashes = {call.token_sha256 for call in self.calls}
        return all(call.name == REFRESH for call in self.calls) and len(hashes) == 1 \
            and None not in hashes

    def describe(self) -> str:
        """A line for an assertion message (methods and token hash prefixes, no token)."""
        parts = [call.name + (f"<token sha256:{call.token_sha256[:8]}>" if call.token_sha256
                              else "") for call in self.calls]
        return f"{len(self.calls)} in flight at {self.at:.3f}: {', '.join(parts)}"


# grpc's type stubs make ServerInterceptor generic; at run time it is not subscriptable.
if TYPE_CHECKING:
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.ServerInterceptor


class InflightRecorder(_Interceptor):
    """Thread-safe: gRPC calls the interceptor and the handlers from its own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[int, RecordedCall] = {}
        self._seq = itertools.count()

    # recording -----------------------------------------------------------------------------
    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        method = str(details.method)
        if handler is None:  # no such method: answered UNIMPLEMENTED without a handler
            seq = self._begin(method)
            self._finish(seq)
            return None
        return _wrapped(handler, method, self)

    def _begin(self, method: str, token_sha256: str | None = None) -> int:
        with self._lock:
            seq = next(self._seq)
            self._calls[seq] = RecordedCall(seq, method, time.monotonic(),
                                            token_sha256=token_sha256)
        return seq

    def _finish(self, seq: int) -> None:
        with self._lock:
            call = self._calls[seq]
            if call.end is None:  # a stream may end both ways (exhausted, then terminated)
                self._calls[seq] = replace(call, end=time.monotonic())

    # questions -----------------------------------------------------------------------------
    def calls(self) -> list[RecordedCall]:
        """Every call so far, in the order they started."""
        with self._lock:
            return sorted(self._calls.values(), key=lambda call: (call.start, call.seq))

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def peak(self, method: str | None = None) -> int:
        """The most calls (of `method`, a last part such as "RefreshAccessToken", or of any)
        in flight at once."""
        calls = [c for c in self.calls() if method is None or c.name == method]
        return max((len(crowd) for _, crowd in _states(calls)), default=0)

    def crowds(self, limit: int) -> list[Crowd]:
        """Every moment at which more than `limit` calls were in flight, with those calls (one
        entry per change of what was in flight, in time order)."""
        return [Crowd(moment, crowd) for moment, crowd in _states(self.calls())
                if len(crowd) > limit]

    def bursts(self) -> list[tuple[RecordedCall, ...]]:
        """Groups of two or more RefreshAccessToken calls presenting one token that overlap
        (transitively): RT-14's race bursts, one group each."""
        by_token: dict[str, list[RecordedCall]] = {}
        for call in self.calls():
            if call.name == REFRESH and call.token_sha256 is not None:
                by_token.setdefault(call.token_sha256, []).append(call)
        groups: list[tuple[RecordedCall, ...]] = []
        for same_token in by_token.values():
            group: list[RecordedCall] = []
            reach = -math.inf  # the latest end in the group so far (inf: one still in flight)
            for call in same_token:  # in start order
                if call.start >= reach:  # a new group: nothing of the last one still in flight
                    groups.append(tuple(group))
                    group = []
                group.append(call)
                reach = max(reach, _end(call))
            groups.append(tuple(group))
        return sorted((g for g in groups if len(g) > 1), key=lambda group: group[0].start)

    def intruders(self, group: tuple[RecordedCall, ...]) -> list[RecordedCall]:
        """Calls outside `group` that were in flight while any call of it was."""
        members = {call.seq for call in group}
        return [call for call in self.calls()
                if call.seq not in members and any(call.overlaps(m) for m in group)]


def _states(calls: list[RecordedCall]) -> Iterator[tuple[float, tuple[RecordedCall, ...]]]:
    """(moment, calls in flight just after it) at every start and end, ends first at a tie
    (a call that ends as another starts never overlaps it)."""
    events = sorted([(call.start, 1, call) for call in calls]
                    + [(call.end, 0, call) for call in calls if call.end is not None],
                    key=lambda event: (event[0], event[1], event[2].seq))
    flight: dict[int, RecordedCall] = {}
    for moment, starts, call in events:
        if starts:
            flight[call.seq] = call
        else:
            flight.pop(call.seq, None)
        yield moment, tuple(flight.values())


def _token_sha256(method: str, request: Any) -> str | None:
    token = getattr(request, "refresh_token", None) if method.endswith("/" + REFRESH) else None
    if not isinstance(token, str):
        return None
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _wrapped(handler: Any, method: str, recorder: InflightRecorder) -> Any:
    """The handler of one call, recording it; every behaviour is the original's."""
    deserialize: _Deserializer | None = handler.request_deserializer
    serialize = handler.response_serializer
    if not handler.request_streaming:
        seq: list[int] = []  # the call's record, made once its request is in

        def unary_request(data: bytes) -> Any:
            try:
                request = deserialize(data) if deserialize is not None else data
            except Exception:
                seq.append(recorder._begin(method))
                recorder._finish(seq[0])
                raise  # gRPC answers as without the recorder (INTERNAL)
            seq.append(recorder._begin(method, _token_sha256(method, request)))
            return request

        if not handler.response_streaming:
            def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return handler.unary_unary(request, context)
                finally:
                    recorder._finish(seq[0])
            return grpc.unary_unary_rpc_method_handler(
                unary_unary, request_deserializer=unary_request, response_serializer=serialize)

        def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            context.add_callback(lambda: recorder._finish(seq[0]))
            return _finishing(handler.unary_stream(request, context), recorder, seq[0])
        return grpc.unary_stream_rpc_method_handler(
            unary_stream, request_deserializer=unary_request, response_serializer=serialize)

    # A stream of requests: in flight from the handler's start (its first message may be
    # long in coming) to its end; a message that does not decode ends it as gRPC does.
    if not handler.response_streaming:
        def stream_unary(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            call = recorder._begin(method)
            try:
                return handler.stream_unary(requests, context)
            finally:
                recorder._finish(call)
        return grpc.stream_unary_rpc_method_handler(
            stream_unary, request_deserializer=deserialize, response_serializer=serialize)

    def stream_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        call = recorder._begin(method)
        context.add_callback(lambda: recorder._finish(call))
        return _finishing(handler.stream_stream(requests, context), recorder, call)
    return grpc.stream_stream_rpc_method_handler(
        stream_stream, request_deserializer=deserialize, response_serializer=serialize)


def _finishing(responses: Iterator[Any], recorder: InflightRecorder, seq: int,
               ) -> Iterator[Any]:
    """The responses; the call ends when they run out (or fail), before the status is sent.
    The RPC's termination callback ends it when the client cancels the stream instead."""
    try:
        yield from responses
    finally:
        recorder._finish(seq)


class RecordedTarget(NamedTuple):
    address: str
    email: str
    password: str
    recorder: InflightRecorder

    def suite_args(self, password_env: str) -> list[str]:
        """The suite's target options for it; the password goes in $password_env."""
        return ["--target", self.address, "--plaintext", "--login-email", self.email,
                "--login-password-env", password_env]


@contextmanager
def recorded_reference(options: ServerOptions | None = None) -> Iterator[RecordedTarget]:
    """A reference server with an InflightRecorder, started in-process on a free port, for a
    run of the suite against `--target ADDRESS` (not the embedded server, which the run would
    start in its own process)."""
    recorder = InflightRecorder()
    with ReferenceServer(options or ServerOptions(), interceptors=[recorder]) as server:
        yield RecordedTarget(server.address, server.options.email, server.options.password,
                             recorder)
