"""The workload, a Locust user: each simulated user owns one token family at a time, minted from
the target's token source; it refreshes along the chain with the newest token, calls GetMe with
the new access token now and then, and every so often (after BURST_EVERY refreshes or
BURST_AFTER seconds) fires a burst of K simultaneous refreshes of one token, after which it
mints a new family (RT-14 allows no survivor). Every call is reported through Locust's request
event (its statistics, CSVs and HTML report) and recorded in the process's Ledger (the LD
judges).

Import only after conformance.load.gevented has patched the process for gevent."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gevent
import grpc
from gevent.pool import Group
from locust import User, constant, task

from conformance.load.ledger import NO_ANSWER, SERVER_ERRORS, Ledger
from conformance.model.contract import pb
from conformance.model.errors import CannotEvaluate
from conformance.transport.native import open_channel
from conformance.transport.settings import ChannelSettings
from conformance.transport.stubs import pb_grpc
from conformance.transport.tokens import TokenSource

__all__ = ["RefreshUser", "Workload"]

GET_ME_EVERY = 4      # refreshes between two GetMe calls
BURST_EVERY = 40      # refreshes of a family before its burst,
BURST_AFTER = 1.5     # or seconds of its life, whichever comes first (a slow target bursts too)
# A call without an answer is followed by this pause, so that users of a dead target do not spin.
NO_ANSWER_PAUSE = 0.2


@dataclass
class Workload:
    """What every user of this process shares: set once before the users start."""

    channel: ChannelSettings
    source: TokenSource | None   # None: log in with email and password through the stub
    email: str
    password: str
    burst: int
    ledger: Ledger
    _grpc: grpc.Channel | None = None

    def stub(self) -> Any:
        if self._grpc is None:
            self._grpc = open_channel(self.channel)
        return pb_grpc.UserApiServiceStub(self._grpc)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._grpc is not None:
            self._grpc.close()


@dataclass
class Family:
    refresh_token: str
    access_token: str
    clean: bool = True   # no replay, burst, shed or unanswered call: LD-02 judges its refreshes
    refreshes: int = 0
    born: float = field(default_factory=time.monotonic)

    @property
    def bursts_now(self) -> bool:
        return self.refreshes > 0 and (self.refreshes >= BURST_EVERY or
                                       time.monotonic() - self.born >= BURST_AFTER)


class RefreshUser(User):
    """Refresh along a chain, GetMe now and then, a burst before the family is dropped."""

    workload: ClassVar[Workload]
    wait_time = constant(0)

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.stub = self.workload.stub()
        self.family: Family | None = None

    @task
    def step(self) -> None:
        family = self.family
        if family is None:
            self.family = self.mint()
            return
        if family.bursts_now:
            self.burst(family)
            self.family = None
            return
        self.refresh(family)
        if self.family is not None and family.refreshes % GET_ME_EVERY == 0:
            self.call("GetMe", self.stub.GetMe, pb.GetMeRequest(),
                      (("authorization", f"Bearer {family.access_token}"),))

    # calls -------------------------------------------------------------------
    def call(self, rpc: str, method: Any, request: Any,
             metadata: tuple[tuple[str, str], ...] = (), *, refused_ok: bool = False,
             ) -> tuple[str, Any]:
        """One RPC with the deadline: (status name, response or None), reported to Locust (as a
        failure unless OK, or an expected refusal in a burst) and to the ledger. No token or
        detail text goes to Locust: the status name is the failure."""
        workload = self.workload
        started = time.perf_counter()
        response, code = None, "OK"
        try:
            response = method(request, timeout=workload.channel.deadline,
                              metadata=workload.channel.metadata + metadata)
        except grpc.RpcError as error:
            code = error.code().name if error.code() is not None else "UNKNOWN"
        elapsed_ms = (time.perf_counter() - started) * 1000
        failure = None if code == "OK" or (refused_ok and code == "UNAUTHENTICATED") \
            else StatusFailure(code)
        self.environment.events.request.fire(
            request_type="grpc", name=rpc, response_time=elapsed_ms,
            response_length=response.ByteSize() if response is not None else 0,
            response=None, context=None, exception=failure)
        workload.ledger.call(rpc, code)
        if code in NO_ANSWER:
            gevent.sleep(NO_ANSWER_PAUSE)
        return code, response

    def mint(self) -> Family | None:
        workload = self.workload
        if workload.source is not None:   # a token command: what it prints starts a family
            try:
                pair = workload.source.mint()
            except CannotEvaluate:
                gevent.sleep(NO_ANSWER_PAUSE)
                return None
            workload.ledger.count(families=1)
            return Family(pair.refresh_token, pair.access_token or "")
        code, response = self.call(
            "AuthnWithPassword", self.stub.AuthnWithPassword,
            pb.AuthnWithPasswordRequest(email=workload.email, password=workload.password))
        if code != "OK" or not response.auth_token.refresh_token:
            gevent.sleep(NO_ANSWER_PAUSE)
            return None
        workload.ledger.count(families=1)
        return Family(response.auth_token.refresh_token, response.auth_token.token)

    def refresh(self, family: Family) -> None:
        """A sequential refresh with the family's newest token (LD-02's subject while clean)."""
        presented = family.refresh_token
        code, response = self.call("RefreshAccessToken", self.stub.RefreshAccessToken,
                                   pb.RefreshAccessTokenRequest(refresh_token=presented))
        ledger = self.workload.ledger
        if code == "OK":
            ledger.accept(presented)
            if family.clean:
                ledger.sequential(None, presented)
            token = response.auth_token
            if not token.refresh_token:
                self.family = None
                return
            family.refresh_token, family.access_token = token.refresh_token, token.token
            family.refreshes += 1
        elif code == "RESOURCE_EXHAUSTED":
            pass   # shed before it rotated: the same token may be presented again (LD-02)
        elif code in NO_ANSWER or code in SERVER_ERRORS:
            self.family = None   # rotated or not, the client cannot know: the family leaves LD-02
        else:
            if family.clean:
                ledger.sequential(code, presented)
            self.family = None

    def burst(self, family: Family) -> None:
        """K simultaneous refreshes of one token: at most one may be accepted (LD-01)."""
        presented = family.refresh_token
        family.clean = False
        ledger = self.workload.ledger
        ledger.count(bursts=1)
        request = pb.RefreshAccessTokenRequest(refresh_token=presented)

        def one() -> None:
            code, _ = self.call("RefreshAccessToken", self.stub.RefreshAccessToken, request,
                                refused_ok=True)
            if code == "OK":
                ledger.accept(presented)

        group = Group()
        for _ in range(self.workload.burst):
            group.spawn(one)
        try:
            group.join()
        finally:   # a user stopped mid-burst takes its burst's calls with it
            group.kill(block=False)


class StatusFailure(Exception):
    """What Locust shows as a failed call: the gRPC status name, no detail text (it could quote
    a token)."""
