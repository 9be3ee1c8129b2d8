"""Login throttling (issue 11, 2h): a sandbox that admits a few logins a second and answers the
excess RESOURCE_EXHAUSTED with a RetryInfo is conformant; the suite waits as asked (or backs off),
paces its logins, reports what throttling cost, and errs only beyond its documented bound."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.model.errors import CannotEvaluate
from conformance.model.status import Status
from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.ratelimit import throttled
from conformance.transport.client import ChannelSettings, Reply, UserApiClient
from conformance.transport.throttle import MAX_ATTEMPTS, WAIT_DEADLINES, LoginPacer, retry_delay
from conformance.transport.tokens import PasswordSource

PASSWORD = "Throttled-Passw0rd-value"
DEADLINE = 2.0
OK, EXHAUSTED = Status.OK, Status.RESOURCE_EXHAUSTED


@pytest.fixture
def throttled_server() -> Iterator[ReferenceServer]:
    with ReferenceServer(ServerOptions(password=PASSWORD,
                                       flavors=frozenset({"login-throttled"}))) as server:
        yield server


def _reply(code: Status, retry_after: float | None = None,
           trailing: tuple[tuple[str, str | bytes], ...] = ()) -> Reply[Any]:
    if retry_after is not None:
        trailing = tuple(throttled(retry_after).trailing_metadata)
    return Reply("/login", code, "" if code is OK else "slow down", None, 0.0, "grpcurl", trailing)


class FakeTime:
    """A clock that moves only when the pacer sleeps, so that the tests take no time."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, list[float]()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _pacer(fake: FakeTime) -> LoginPacer:
    return LoginPacer(DEADLINE, clock=fake.clock, sleep=fake.sleep)


def _answers(*replies: Reply[Any]) -> Any:
    queue = list(replies)
    return lambda: queue.pop(0)


# the suite against the flavour --------------------------------------------------------------
def test_login_throttled_target_is_conformant_and_throttling_reported(run_suite: Any) -> None:
    """Fails without the fix: every check minting after the first ~8 logins was `error`, exit 3
    ("no token could be minted: AuthnWithPassword ... answered RESOURCE_EXHAUSTED")."""
    with ReferenceServer(ServerOptions(password=PASSWORD,
                                       flavors=frozenset({"login-throttled"}))) as server:
        run = run_suite("--target", server.address, "--plaintext", "--login-email",
                        "qa@example.com", "--login-password-env", "QA_PASSWORD", "--profile",
                        "quick", env={"QA_PASSWORD": PASSWORD})
    assert run.exit_code == 0, run.stdout[-3000:]
    assert "error" not in run.outcomes().values()
    cost = run.results["targets"][0]["throttling"]
    assert cost["refusals"] > 0 and cost["waited_s"] > 0, cost
    assert f"throttled: {cost['refusals']} logins refused" in run.stdout
    assert f"Logins throttled: {cost['refusals']} refused" in (
        run.report_dir / "conformance.html").read_text()
    report = (run.report_dir / "results.json").read_text() + run.stdout + run.stderr
    assert PASSWORD not in report


def test_concurrent_minting_shares_one_pace(throttled_server: ReferenceServer) -> None:
    """RT-14's bursts and parallel checks may mint at once: 24 threads, one source, all mint."""
    client = UserApiClient(ChannelSettings(throttled_server.address, plaintext=True,
                                           deadline=DEADLINE))
    source = PasswordSource(client, "qa@example.com", PASSWORD)
    minted: list[str] = []
    errors: list[Exception] = []

    def mint() -> None:
        try:
            minted.append(source.mint().refresh_token)
        except CannotEvaluate as error:
            errors.append(error)

    threads = [threading.Thread(target=mint) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_DEADLINES * DEADLINE + 5)
    client.close()
    assert not errors and len(set(minted)) == 24, errors
    assert source.pacer.stats().refusals > 0


def test_once_throttled_logins_are_paced(throttled_server: ReferenceServer) -> None:
    """40 logins in a row: without pacing each one past the burst of 8 is refused first (about
    32 refusals); paced, the run stops hitting the limit."""
    client = UserApiClient(ChannelSettings(throttled_server.address, plaintext=True,
                                           deadline=DEADLINE))
    source = PasswordSource(client, "qa@example.com", PASSWORD)
    for _ in range(40):
        source.mint()
    client.close()
    assert 0 < source.pacer.stats().refusals <= 16, source.pacer.stats()


# the pacer on its own -----------------------------------------------------------------------
def test_retry_info_is_read_from_the_status_details() -> None:
    assert retry_delay(_reply(EXHAUSTED, 0.25)) == pytest.approx(0.25)
    assert retry_delay(_reply(EXHAUSTED)) is None
    assert retry_delay(_reply(EXHAUSTED, trailing=(("grpc-status-details-bin", b"\xff\x00"),))) \
        is None


def test_the_wait_retry_info_asks_for_is_honoured() -> None:
    fake = FakeTime()
    reply = _pacer(fake).call(_answers(_reply(EXHAUSTED, 1.5), _reply(OK)))
    assert reply.ok and fake.sleeps == [pytest.approx(1.5)]


def test_without_retry_info_the_backoff_is_exponential_with_jitter() -> None:
    fake = FakeTime()
    pacer = _pacer(fake)
    assert pacer.call(_answers(*[_reply(EXHAUSTED)] * 5, _reply(OK))).ok
    for attempt, slept in enumerate(fake.sleeps):
        step = min(DEADLINE, 0.1 * 2 ** attempt)
        assert step / 2 <= slept <= step + 1e-9, fake.sleeps
    assert pacer.stats().refusals == 5
    assert pacer.stats().waited_s == pytest.approx(sum(fake.sleeps))


def test_a_retry_info_beyond_the_bound_is_error_saying_so() -> None:
    fake = FakeTime()
    with pytest.raises(CannotEvaluate, match=r"asks a wait of 60 s.*at most 12 s for one token"):
        _pacer(fake).call(_answers(_reply(EXHAUSTED, 60.0)))
    assert fake.sleeps == []


def test_the_wait_for_one_token_is_bounded() -> None:
    fake = FakeTime()
    with pytest.raises(CannotEvaluate, match="at most 12 s for one token"):
        _pacer(fake).call(lambda: _reply(EXHAUSTED, 1.0))
    assert sum(fake.sleeps) <= WAIT_DEADLINES * DEADLINE
    fake = FakeTime()  # a long deadline: the number of attempts is bounded too
    with pytest.raises(CannotEvaluate, match=f"throttled {MAX_ATTEMPTS} times"):
        LoginPacer(100, clock=fake.clock, sleep=fake.sleep).call(lambda: _reply(EXHAUSTED, 0.0))


@pytest.mark.parametrize("code", [Status.UNAUTHENTICATED, Status.UNAVAILABLE,
                                  Status.INTERNAL])
def test_other_answers_are_not_retried(code: Status) -> None:
    """UNAVAILABLE without RetryInfo may be a target going down: the client's stopped-answering
    bound deals with it, not a retry."""
    fake = FakeTime()
    pacer = _pacer(fake)
    assert pacer.call(_answers(_reply(code))).code is code
    assert fake.sleeps == [] and pacer.stats().refusals == 0


def test_unavailable_with_retry_info_is_retried() -> None:
    fake = FakeTime()
    assert _pacer(fake).call(_answers(_reply(Status.UNAVAILABLE, 0.5), _reply(OK))).ok
    assert fake.sleeps == [pytest.approx(0.5)]
