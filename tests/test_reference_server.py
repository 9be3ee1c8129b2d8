"""The reference server's own behaviour: login, refresh, rotation, reuse detection, races, GetMe."""

from __future__ import annotations

import threading
import time

import grpc

from conformance.model.status import Status
from conformance.reference import ReferenceServer, ServerOptions
from conformance.transport.client import ChannelSettings, UserApiClient

PASSWORD = "s3cret-Passw0rd"


def login(client: UserApiClient, reference: ReferenceServer) -> tuple[str, str]:
    reply = client.login(reference.options.email, PASSWORD)
    assert reply.ok and reply.response is not None, reply.status
    return reply.response.auth_token.token, reply.response.auth_token.refresh_token


def test_login_issues_bearer_tokens_for_the_seeded_user(client: UserApiClient,
                                                        reference: ReferenceServer) -> None:
    reply = client.login(reference.options.email, PASSWORD)
    assert reply.ok and reply.response is not None
    token = reply.response.auth_token
    assert token.token_type == "Bearer" and token.expires_in == 900
    assert len(token.token) >= 43 and len(token.refresh_token) >= 43  # 256 bits, base64url
    assert reply.response.user.uuid == reference.user.uuid


def test_login_with_a_wrong_password_is_unauthenticated(client: UserApiClient,
                                                        reference: ReferenceServer) -> None:
    assert client.login(reference.options.email, "wrong").code is Status.UNAUTHENTICATED
    assert client.login("nobody@example.com", PASSWORD).code is Status.UNAUTHENTICATED
    assert client.login("", "").code is Status.INVALID_ARGUMENT


def test_refresh_rotates_and_the_old_token_is_rejected(client: UserApiClient,
                                                       reference: ReferenceServer) -> None:
    _, refresh_token = login(client, reference)
    first = client.refresh(refresh_token)
    assert first.ok and first.response is not None
    successor = first.response.auth_token.refresh_token
    assert successor and successor != refresh_token
    replay = client.refresh(refresh_token)
    assert replay.code is Status.UNAUTHENTICATED
    assert replay.details == "invalid refresh token"


def test_replaying_a_rotated_token_revokes_the_family(client: UserApiClient,
                                                      reference: ReferenceServer) -> None:
    _, refresh_token = login(client, reference)
    first = client.refresh(refresh_token)
    assert first.response is not None
    successor = first.response.auth_token.refresh_token
    assert client.refresh(refresh_token).code is Status.UNAUTHENTICATED
    assert client.refresh(successor).code is Status.UNAUTHENTICATED


def test_sixteen_threads_racing_one_token_get_exactly_one_success(
        client: UserApiClient, reference: ReferenceServer) -> None:
    _, refresh_token = login(client, reference)
    codes = _race(client, refresh_token, 16)
    assert len(codes) == 16
    assert codes.count(Status.OK) == 1
    assert codes.count(Status.UNAUTHENTICATED) == 15


def test_get_me_accepts_the_access_token_case_insensitively(client: UserApiClient,
                                                            reference: ReferenceServer) -> None:
    access_token, _ = login(client, reference)
    for scheme in ("Bearer", "bearer", "BEARER"):
        reply = client.get_me(f"{scheme} {access_token}")
        assert reply.ok and reply.response is not None
        assert reply.response.user.uuid == reference.user.uuid


def test_get_me_rejects_missing_malformed_and_refresh_tokens(client: UserApiClient,
                                                             reference: ReferenceServer) -> None:
    _, refresh_token = login(client, reference)
    for authorization in (None, "", "Bearer", "Basic abc", f"Bearer {refresh_token}"):
        assert client.get_me(authorization).code is Status.UNAUTHENTICATED


def test_bad_refresh_input_is_rejected_without_echo(client: UserApiClient) -> None:
    assert client.refresh("").code is Status.INVALID_ARGUMENT
    for token in ("x" * 10_000, "tok\x00en", "tokén", "never-issued-token-value"):
        reply = client.refresh(token)
        assert reply.code is Status.UNAUTHENTICATED
        assert token not in reply.details


def test_health_and_reflection_are_served(reference: ReferenceServer) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    with grpc.insecure_channel(reference.address) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="user_api.v1.UserApiService"), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {s.name for a in answers for s in a.list_services_response.service}
        assert "user_api.v1.UserApiService" in names


def _race(client: UserApiClient, refresh_token: str, size: int) -> list[Status]:
    barrier = threading.Barrier(size)
    codes: list[Status] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=10)
        code = client.refresh(refresh_token).code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=run) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    return codes


def test_flavor_aborted_race_losers_answers_aborted_only_inside_a_race() -> None:
    options = ServerOptions(password=PASSWORD, flavors=frozenset({"aborted-race-losers"}))
    with ReferenceServer(options) as server:
        api = UserApiClient(ChannelSettings(server.address, plaintext=True, deadline=5))
        codes = _race(api, login(api, server)[1], 8)
        assert codes.count(Status.OK) == 1
        assert set(codes) - {Status.OK} <= {Status.UNAUTHENTICATED,
                                                     Status.ABORTED}
        assert Status.ABORTED in codes
        _, refresh_token = login(api, server)
        assert api.refresh(refresh_token).ok
        time.sleep(0.3)  # past the race window: a replay is a replay
        assert api.refresh(refresh_token).code is Status.UNAUTHENTICATED
        api.close()


def test_reuse_grace_accepts_a_rotated_out_token_only_inside_the_window() -> None:
    with ReferenceServer(ServerOptions(password=PASSWORD, reuse_grace=0.5)) as server:
        api = UserApiClient(ChannelSettings(server.address, plaintext=True, deadline=5))
        _, first = login(api, server)
        assert api.refresh(first).ok
        assert api.refresh(first).ok  # inside the window
        time.sleep(0.7)
        assert api.refresh(first).code is Status.UNAUTHENTICATED
        api.close()


def test_flavor_declares_its_grace_window() -> None:
    options = ServerOptions(flavors=frozenset({"reuse-grace-1s"}), reuse_grace=0.2)
    assert options.reuse_grace == 1.0


def _replay_then_other_family(flavors: frozenset[str]) -> tuple[bool, bool, list[bool]]:
    """Two logins (families A and B); A refreshed, then A's first token replayed. Whether A's
    successor and B's token still refresh, and whether each access token still serves GetMe."""
    with ReferenceServer(ServerOptions(password=PASSWORD, flavors=flavors)) as server:
        api = UserApiClient(ChannelSettings(server.address, plaintext=True, deadline=5))
        access_a, first_a = login(api, server)
        access_b, first_b = login(api, server)
        refreshed = api.refresh(first_a)
        assert refreshed.ok and refreshed.response is not None
        successor = refreshed.response.auth_token
        assert api.refresh(first_a).code is Status.UNAUTHENTICATED  # the replay
        other_family = api.refresh(first_b).ok
        own_family = api.refresh(successor.refresh_token).ok
        access = [api.get_me(f"Bearer {token}").ok
                  for token in (access_a, access_b, successor.token)]
        api.close()
    return own_family, other_family, access


def test_flavor_reuse_revokes_every_family_of_the_user() -> None:
    own, other, access = _replay_then_other_family(frozenset({"reuse-revokes-every-family"}))
    assert (own, other) == (False, False)
    assert access == [True, True, True]  # only refresh families are revoked
    # Without the flavour the replay revokes its own family only (RT-22's scope).
    own, other, access = _replay_then_other_family(frozenset())
    assert (own, other) == (False, True) and access == [True, True, True]
