"""Login throttling: sandboxes rate-limit AuthnWithPassword, and the suite mints dozens of tokens
in a second. A throttled login is retried after the time the target asks for (a
google.rpc.RetryInfo in grpc-status-details-bin, AIP-194), else after an exponential backoff with
jitter; once throttled, logins are paced to the rate the target admits them at (measured over
the last few admitted logins) so that the run does not keep hitting the limit. The wait for one
token is bounded by WAIT_DEADLINES deadlines."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

from conformance.model.errors import CannotEvaluate
from conformance.model.status import Status
from conformance.transport.client import CURRENT_CHECK, Reply

__all__ = ["MAX_ATTEMPTS", "WAIT_DEADLINES", "LoginPacer", "Throttling", "retry_delay"]

M = TypeVar("M", bound=Message)
STATUS_DETAILS = "grpc-status-details-bin"
# The total wait for one token (pacing and retries) is at most this many --deadline seconds
# (30 s at the default 5 s): longer than any per-second or burst limit needs, short enough that
# a target asking for minutes is told apart (`error`, saying why) from one that answers in time.
WAIT_DEADLINES = 6
MAX_ATTEMPTS = 50       # throttled logins for one token, whatever the delays: every loop a bound
BACKOFF_FIRST = 0.1     # without RetryInfo: 0.1 s, 0.2 s, 0.4 s ... (equal jitter), at most
                        # one deadline
RATE_WINDOW = 8         # a refusal sets the interval between logins to the mean spacing of the
PACE_STEP = 0.05        # last 8 admitted ones (when sent faster than its limit, the target admits
PACE_MAX = 1.0          # them at that limit), within these bounds (RetryInfo covers slower ones)
PACE_DECAY = 0.99       # each admitted login shortens the interval a little: the pace probes up


def retry_delay(reply: Reply[Message]) -> float | None:
    """The seconds a google.rpc.RetryInfo in the answer's trailers asks the client to wait."""
    for key, value in reply.trailing:
        if key != STATUS_DETAILS or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    return max(0.0, float(info.retry_delay.ToTimedelta().total_seconds()))
        except DecodeError:
            return None
    return None


@dataclass(frozen=True)
class Throttling:
    """What throttling cost a run: refused logins, and the seconds spent waiting (backoff and
    pacing) because of them."""

    refusals: int = 0
    waited_s: float = 0.0

    def __sub__(self, other: Throttling) -> Throttling:
        return Throttling(self.refusals - other.refusals, self.waited_s - other.waited_s)

    def __add__(self, other: Throttling) -> Throttling:
        return Throttling(self.refusals + other.refusals, self.waited_s + other.waited_s)


class LoginPacer:
    """Runs logins for one target: paced, with throttled answers retried. Thread-safe: checks
    that mint concurrently share one pace."""

    def __init__(self, deadline: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.budget = WAIT_DEADLINES * deadline
        self.backoff_cap = deadline
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._interval = 0.0   # the minimum time between two logins, 0 until throttled
        self._next_at = 0.0    # no login before this (the pace, or a RetryInfo's delay)
        self._admitted_at: deque[float] = deque(maxlen=RATE_WINDOW)
        self._stats = Throttling()
        self._by_check: dict[str | None, Throttling] = {}   # the same, per check (CURRENT_CHECK)

    def stats(self, check: str | None = None) -> Throttling:
        """What throttling cost the run so far, or only the logins `check` waited for."""
        with self._lock:
            return self._stats if check is None else self._by_check.get(check, Throttling())

    def _count(self, cost: Throttling) -> None:
        """Under the lock: `cost` for the run and for the current check."""
        check = CURRENT_CHECK.get()
        self._stats += cost
        self._by_check[check] = self._by_check.get(check, Throttling()) + cost

    def call(self, login: Callable[[], Reply[M]]) -> Reply[M]:
        """The first answer of `login` that is not throttling, or CannotEvaluate when the target
        keeps throttling beyond the bound."""
        waited = 0.0
        for attempt in range(MAX_ATTEMPTS):
            waited += self._wait_turn(waited)
            reply = login()
            delay = self._throttled(reply, attempt)
            if delay is None:
                self._admitted()
                return reply
            if delay > self.budget - waited:
                asked = "asks" if retry_delay(reply) is not None else "would need (backoff)"
                raise CannotEvaluate(
                    f"no token could be minted: AuthnWithPassword answered {reply.status} and "
                    f"{asked} a wait of {delay:.3g} s, after {waited:.3g} s of waiting for this "
                    f"token; {self._bound}")
            self._refused(delay)
        raise CannotEvaluate(f"no token could be minted: AuthnWithPassword was throttled "
                             f"{MAX_ATTEMPTS} times in a row for one token")

    def _throttled(self, reply: Reply[M], attempt: int) -> float | None:
        """How long to wait before retrying, or None when the answer is no throttling. RESOURCE_
        EXHAUSTED is throttling; UNAVAILABLE only with a RetryInfo (without it the target may be
        down, which the client's stopped-answering bound handles)."""
        code = reply.code
        if code not in (Status.RESOURCE_EXHAUSTED, Status.UNAVAILABLE):
            return None
        asked = retry_delay(reply)
        if asked is not None:
            return asked
        if code is Status.UNAVAILABLE:
            return None
        step = min(self.backoff_cap, BACKOFF_FIRST * 2.0 ** attempt)
        return step / 2 + random.uniform(0, step / 2)

    def _wait_turn(self, waited: float) -> float:
        """Sleep until this login's slot (reserved under the lock, so concurrent minters queue);
        the time slept."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_at)
            wait = start - now
            if wait > self.budget - waited:
                raise CannotEvaluate(
                    f"no token could be minted: logins are paced to one every "
                    f"{self._interval:.3g} s after throttling, and this one's turn comes after "
                    f"{wait:.3g} s more, {waited:.3g} s into waiting for this token; "
                    f"{self._bound}")
            self._next_at = start + self._interval
            if wait > 0:
                self._count(Throttling(0, wait))
        if wait > 0:
            self._sleep(wait)
        return wait

    @property
    def _bound(self) -> str:
        return f"the suite waits at most {self.budget:g} s for one token ({WAIT_DEADLINES} x " \
            "--deadline)"

    def _refused(self, delay: float) -> None:
        with self._lock:
            self._count(Throttling(1, 0.0))
            now = self._clock()
            admitted = self._admitted_at
            spacing = (now - admitted[0]) / len(admitted) if admitted else 0.0
            self._interval = min(PACE_MAX, max(self._interval, PACE_STEP, spacing))
            self._next_at = max(self._next_at, now + delay)

    def _admitted(self) -> None:
        with self._lock:
            self._admitted_at.append(self._clock())
            self._interval *= PACE_DECAY
