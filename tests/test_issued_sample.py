"""RT-15 and RT-16's sample of issued tokens (issue 17): gathered once per target, its (login,
refresh) pairs a few at a time, each in the caller's context; a failure reaches both checks."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks import test_rt as rt_checks
from conformance.reference import ReferenceServer
from conformance.run.profiles import PROFILES
from conformance.run.target import TargetSession
from conformance.run.target_config import TargetConfig
from conformance.transport.client import ChannelSettings
from conformance.transport.tokens import NeedsFreshTokens, TokenSourceSpec

CHECK = contextvars.ContextVar("check", default="none")


def _session(reference: ReferenceServer, tokens: TokenSourceSpec) -> TargetSession:
    return TargetSession(TargetConfig(ChannelSettings(reference.address, plaintext=True),
                                      tokens), PROFILES["quick"], reference.options.password)


@pytest.fixture
def session(reference: ReferenceServer) -> Iterator[TargetSession]:
    target = _session(reference, TokenSourceSpec("embedded", email=reference.options.email))
    yield target
    target.close()


def test_one_sample_per_target_its_pairs_overlapped_in_the_caller_s_context(
        session: TargetSession, monkeypatch: pytest.MonkeyPatch) -> None:
    size = session.profile.entropy_sample
    seen: list[tuple[str, str]] = []   # (the contextvar's value, the thread) of every refresh
    lock = threading.Lock()
    in_flight = most = 0
    refresh = session.client.refresh

    def watched(token: str, **kwargs: Any) -> Any:
        nonlocal in_flight, most
        with lock:
            seen.append((CHECK.get(), threading.current_thread().name))
            in_flight += 1
            most = max(most, in_flight)
        try:
            return refresh(token, **kwargs)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(session.client, "refresh", watched)
    CHECK.set("RT-15")
    before = session.client.log.count()
    sample = rt_checks.issued_sample(session)
    assert session.client.log.count() - before == 2 * size   # a login and a refresh per pair
    assert rt_checks.issued_sample(session) is sample          # RT-16 gets the same, no call
    assert session.client.log.count() - before == 2 * size
    assert [len(sample["access"]), len(sample["refresh"])] == [size, size]
    assert len({*sample["access"], *sample["refresh"]}) == 2 * size
    assert [value for value, _ in seen] == ["RT-15"] * size
    threads = {name for _, name in seen}
    assert threading.current_thread().name not in threads
    assert len(threads) <= rt_checks.ISSUED_THREADS and most <= rt_checks.ISSUED_THREADS


def test_a_spent_static_token_skips_both_checks_with_one_cause(
        reference: ReferenceServer, session: TargetSession,
        monkeypatch: pytest.MonkeyPatch) -> None:
    minted = session.fresh_tokens().refresh_token
    monkeypatch.setenv("ISSUED_SAMPLE_TOKEN", minted)
    static = _session(reference, TokenSourceSpec("static", secret_env="ISSUED_SAMPLE_TOKEN"))
    try:
        with pytest.raises(NeedsFreshTokens) as first:
            rt_checks.issued_sample(static)
        with pytest.raises(NeedsFreshTokens) as second:
            rt_checks.issued_sample(static)
        assert second.value is first.value
        # the single token was refreshed at most once, as by the serial gathering
        assert static.client.log.count() <= 1
    finally:
        static.close()
