"""The in-flight gate of one target: at most N of the suite's calls in flight at once (issue 17).

Every call of the client takes a slot for as long as it is on the wire (`slot`), so overlapping
checks never have more than `--max-inflight` calls in flight to one target, whatever they do
inside. One kind of step needs more, and needs it alone: RT-14's burst, K refreshes with one
token released together, which must be simultaneous and must not share the target with any
other check's traffic (a burst among strangers' calls is a different race). `alone` waits until
nothing is in flight, holds every other caller back, and admits just the threads the burst lets
in (`Alone.admit`), however many they are. A pending burst stops new slots from being handed
out, so that a stream of other calls cannot starve it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Alone", "InflightGate"]


@dataclass
class Alone:
    """A step that has the target to itself; threads it admits take no slot."""

    gate: InflightGate
    members: set[int] = field(default_factory=set)

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Calls made in this block, in this thread, belong to the step."""
        me = threading.get_ident()
        with self.gate._changed:
            self.members.add(me)
        try:
            yield
        finally:
            with self.gate._changed:
                self.members.discard(me)


class InflightGate:
    """Bounds the calls in flight to one target; thread-safe."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the in-flight limit must be at least 1, not {limit}")
        self.limit = limit
        self._changed = threading.Condition()
        self._in_flight = 0
        self._waiting_alone = 0
        self._alone: Alone | None = None
        self.peak = 0          # the most calls in flight at once outside `alone` steps

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One call's slot: waits while the gate is full or a step has the target alone."""
        with self._changed:
            alone = self._alone
            if alone is not None and threading.get_ident() in alone.members:
                member = True
            else:
                member = False
                self._changed.wait_for(lambda: self._alone is None and not self._waiting_alone
                                       and self._in_flight < self.limit)
                self._in_flight += 1
                self.peak = max(self.peak, self._in_flight)
        try:
            yield
        finally:
            if not member:
                with self._changed:
                    self._in_flight -= 1
                    self._changed.notify_all()

    @contextlib.contextmanager
    def alone(self) -> Iterator[Alone]:
        """The target to this step alone: no other call in flight until the block ends."""
        with self._changed:
            self._waiting_alone += 1
            try:
                self._changed.wait_for(lambda: self._alone is None and self._in_flight == 0)
            finally:
                self._waiting_alone -= 1
            step = self._alone = Alone(self)
        try:
            yield step
        finally:
            with self._changed:
                self._alone = None
                self._changed.notify_all()
