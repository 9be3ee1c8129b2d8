"""The in-flight recorder (tests/helpers/inflight.py) counts calls at the server truly: peaks,
crowds above a limit and what they hold, one-token bursts, and every kind of call (health,
reflection, an unknown method, undecodable bytes) recorded without changing its answer."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.server import DEFAULT_EMAIL
from conformance.transport.client import ChannelSettings, UserApiClient
from tests.helpers.inflight import InflightRecorder, RecordedTarget, recorded_reference

PASSWORD = "s3cret-Passw0rd"
# Long enough that calls released together overlap at the server on a loaded 2-core machine.
LATENCY_MS = 300
PASSWORD_ENV = "INFLIGHT_TEST_PASSWORD"
# Wire garbage that does not decode as a RefreshAccessTokenRequest: field 1, length past the end.
UNDECODABLE = b"\x0a\x05ab"


@pytest.fixture
def recorded() -> Iterator[RecordedTarget]:
    with recorded_reference(ServerOptions(password=PASSWORD, latency_ms=LATENCY_MS)) as target:
        yield target


def _client(address: str) -> UserApiClient:
    return UserApiClient(ChannelSettings(address, plaintext=True, deadline=5))


def _tokens(address: str) -> tuple[str, str]:
    """(access token, refresh token) of a fresh login."""
    api = _client(address)
    try:
        reply = api.login(DEFAULT_EMAIL, PASSWORD)
    finally:
        api.close()
    assert reply.ok and reply.response is not None, reply.status
    return reply.response.auth_token.token, reply.response.auth_token.refresh_token


def _together(address: str, *calls: Callable[[UserApiClient], object]) -> list[object]:
    """Each call on a client of its own, released together; their replies."""
    barrier = threading.Barrier(len(calls), timeout=10)
    replies: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        api = _client(address)
        try:
            barrier.wait()
            replies[index] = calls[index](api)
        finally:
            api.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert all(reply is not None for reply in replies)
    return replies


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_three_refreshes_of_one_token_are_one_burst(recorded: RecordedTarget) -> None:
    _, refresh_token = _tokens(recorded.address)
    _together(recorded.address, *[lambda api: api.refresh(refresh_token)] * 3)
    replay = _client(recorded.address)  # after the burst: the same token, but no part of it
    try:
        assert not replay.refresh(refresh_token).ok
    finally:
        replay.close()
    recorder = recorded.recorder
    assert recorder.peak() == 3 and recorder.peak("RefreshAccessToken") == 3
    crowds = recorder.crowds(2)
    assert crowds and all(crowd.one_token_burst for crowd in crowds)
    assert {call.token_sha256 for crowd in crowds for call in crowd.calls} == {
        _sha256(refresh_token)}
    [burst] = recorder.bursts()
    assert len(burst) == 3 and recorder.intruders(burst) == []
    # The login came before: not in flight with the burst, not part of it.
    assert recorder.calls()[0].name == "AuthnWithPassword"
    assert recorder.crowds(3) == []
    assert refresh_token not in repr(recorder.calls()) + "".join(c.describe() for c in crowds)


def test_mixed_calls_above_the_limit_are_reported_as_such(recorded: RecordedTarget) -> None:
    access_token, refresh_token = _tokens(recorded.address)
    _together(recorded.address, lambda api: api.refresh(refresh_token),
              lambda api: api.refresh(refresh_token),
              lambda api: api.get_me(f"Bearer {access_token}"),
              lambda api: api.login(DEFAULT_EMAIL, PASSWORD))
    recorder = recorded.recorder
    assert recorder.peak() == 4
    crowds = recorder.crowds(2)
    assert crowds and not any(crowd.one_token_burst for crowd in crowds)
    widest = max(crowds, key=lambda crowd: len(crowd.calls))
    assert sorted(call.name for call in widest.calls) == [
        "AuthnWithPassword", "GetMe", "RefreshAccessToken", "RefreshAccessToken"]
    assert "GetMe" in widest.describe() and access_token not in widest.describe()
    [burst] = recorder.bursts()  # the two refreshes of one token overlapped the others
    assert {call.name for call in recorder.intruders(burst)} == {"GetMe", "AuthnWithPassword"}


def test_refreshes_of_two_tokens_are_no_one_token_burst(recorded: RecordedTarget) -> None:
    _, first = _tokens(recorded.address)
    _, second = _tokens(recorded.address)
    _together(recorded.address, lambda api: api.refresh(first), lambda api: api.refresh(first),
              lambda api: api.refresh(second))
    crowds = recorded.recorder.crowds(2)
    assert crowds and all(not crowd.one_token_burst for crowd in crowds)
    assert all(call.name == "RefreshAccessToken" for crowd in crowds for call in crowd.calls)
    [burst] = recorded.recorder.bursts()
    assert {call.token_sha256 for call in burst} == {_sha256(first)}
    assert [call.token_sha256 for call in recorded.recorder.intruders(burst)] == [
        _sha256(second)]


def test_calls_one_after_another_never_overlap(recorded: RecordedTarget) -> None:
    access_token, refresh_token = _tokens(recorded.address)
    api = _client(recorded.address)
    try:
        successor = api.refresh(refresh_token)
        assert successor.ok and successor.response is not None
        assert api.get_me(f"Bearer {access_token}").ok
    finally:
        api.close()
    recorder = recorded.recorder
    assert recorder.peak() == 1 and recorder.crowds(0) and recorder.crowds(1) == []
    assert recorder.bursts() == []
    assert all(call.end is not None and call.end > call.start for call in recorder.calls())


def _raw_refresh(address: str) -> grpc.StatusCode:
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary("/user_api.v1.UserApiService/RefreshAccessToken",
                                   request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(UNDECODABLE, timeout=5)
    code: grpc.StatusCode = raised.value.code()
    return code


def test_undecodable_bytes_are_recorded_and_keep_their_error(recorded: RecordedTarget,
                                                             reference: ReferenceServer) -> None:
    unrecorded = _raw_refresh(reference.address)
    assert _raw_refresh(recorded.address) is unrecorded is grpc.StatusCode.INTERNAL
    [call] = recorded.recorder.calls()
    assert call.name == "RefreshAccessToken" and call.token_sha256 is None
    assert call.end is not None


def _reflection_services(channel: grpc.Channel) -> list[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answers = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    return [service.name for answer in answers
            for service in answer.list_services_response.service]


def test_health_reflection_and_unknown_methods_are_recorded() -> None:
    recorder = InflightRecorder()
    with ReferenceServer(ServerOptions(password=PASSWORD), interceptors=[recorder]) as server, \
            grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        answer: Any = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        assert "user_api.v1.UserApiService" in _reflection_services(channel)
        unknown = channel.unary_unary("/user_api.v1.UserApiService/DeleteMe",
                                      request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            unknown(b"", timeout=5)
        assert raised.value.code() is grpc.StatusCode.UNIMPLEMENTED
    calls = recorder.calls()
    assert [call.name for call in calls] == ["Check", "ServerReflectionInfo", "DeleteMe"]
    assert all(call.end is not None for call in calls) and recorder.peak() == 1


def test_a_suite_run_shows_rt14s_bursts_alone(run_suite: Any) -> None:
    """End to end through the context manager: every RT-14 burst (quick: 2 rounds of 8) is seen
    whole at the server, with no other call in flight; nothing else ever overlaps."""
    with recorded_reference(ServerOptions(latency_ms=100)) as target:
        run = run_suite(*target.suite_args(PASSWORD_ENV), "--profile", "quick", "--only", "RT-14",
                        env={PASSWORD_ENV: target.password})
        recorder = target.recorder
    assert run.exit_code == 0, run.stdout[-3000:]
    assert run.outcomes()["RT-14"] == "pass"
    bursts = recorder.bursts()
    assert [len(burst) for burst in bursts] == [8, 8]
    assert all(recorder.intruders(burst) == [] for burst in bursts)
    assert recorder.peak() == 8
    assert all(crowd.one_token_burst for crowd in recorder.crowds(1)), [
        crowd.describe() for crowd in recorder.crowds(1) if not crowd.one_token_burst]
    assert target.password not in run.stdout + run.stderr
