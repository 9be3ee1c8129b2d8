"""The transport seam (conformance.transport.seam) and its native gRPC implementation: raw
bytes in, a transport-neutral Exchange out, the model's own Status, and a fresh connection that
really is one (RT-26 replays on it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from conformance.model.contract import GET_ME_METHOD, REFRESH_METHOD, pb
from conformance.model.status import Status
from conformance.reference import ReferenceServer, ServerOptions
from conformance.transport.client import UserApiClient
from conformance.transport.native import GrpcTransport, status_of
from conformance.transport.seam import Transport
from conformance.transport.settings import ChannelSettings

PASSWORD = "transport-test-password"


class PeerRecorder(grpc.ServerInterceptor):  # type: ignore[misc]
    """Records the peer (client address and port: one per connection) of every unary call."""

    def __init__(self) -> None:
        self.peers: list[str] = []
        self._lock = threading.Lock()

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def recorded(request: Any, context: grpc.ServicerContext) -> Any:
            with self._lock:
                self.peers.append(context.peer())
            return inner(request, context)
        return grpc.unary_unary_rpc_method_handler(
            recorded, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


@pytest.fixture
def watched() -> Iterator[tuple[ReferenceServer, PeerRecorder]]:
    recorder = PeerRecorder()
    server = ReferenceServer(ServerOptions(password=PASSWORD), interceptors=[recorder]).start()
    try:
        yield server, recorder
    finally:
        server.stop()


def test_grpc_is_a_transport_of_raw_bytes(watched: tuple[ReferenceServer, PeerRecorder]) -> None:
    server, _ = watched
    transport: Transport = GrpcTransport(ChannelSettings(server.address, plaintext=True))
    try:
        login = pb.AuthnWithPasswordRequest(email=server.options.email, password=PASSWORD)
        answer = transport.unary("/user_api.v1.UserApiService/AuthnWithPassword",
                                 login.SerializeToString(), metadata=(), timeout=5)
        assert answer.status is Status.OK and answer.body
        issued = pb.AuthnWithPasswordResponse.FromString(answer.body)
        assert issued.auth_token.refresh_token
        refused = transport.unary(REFRESH_METHOD, b"\x0a\x03abc", metadata=(), timeout=5)
        assert refused.status is Status.UNAUTHENTICATED and refused.details
        assert refused.body is None
        unknown = transport.unary("/user_api.v1.UserApiService/NoSuchMethod", b"", metadata=(),
                                  timeout=5)
        assert unknown.status is Status.UNIMPLEMENTED
    finally:
        transport.close()


def test_the_reply_is_transport_neutral(client: UserApiClient) -> None:
    reply = client.get_me(None)
    assert reply.code is Status.UNAUTHENTICATED and not reply.ok
    assert reply.method == GET_ME_METHOD and reply.raw is None
    assert reply.reproduce.startswith("grpcurl -plaintext ")


def test_every_grpc_status_code_maps_to_the_models_own() -> None:
    assert [status_of(code) for code in grpc.StatusCode] == list(Status)
    assert [status.value for status in Status] == [code.value[0] for code in grpc.StatusCode]
    assert status_of(None) is Status.UNKNOWN


def test_a_fresh_connection_is_a_connection_of_its_own(
        watched: tuple[ReferenceServer, PeerRecorder]) -> None:
    """Two clients of equal settings share one HTTP/2 connection (grpcio's global subchannel
    pool); the fresh one does not, and its calls are logged and gated with its parent's."""
    server, recorder = watched
    settings = ChannelSettings(server.address, plaintext=True, deadline=5)
    first, second = UserApiClient(settings), UserApiClient(settings)
    fresh = first.on_fresh_connection()
    try:
        for api in (first, second, fresh, first):
            api.get_me(None)
        shared, again, own, back = recorder.peers
        assert shared == again == back, recorder.peers
        assert own != shared, recorder.peers
        assert fresh.log is first.log and fresh.gate is first.gate
        assert len(first.log.snapshot()) == 3
    finally:
        for api in (fresh, second, first):
            api.close()
