"""Overlapping the checks of a target (issue 17): a run costs its critical path, not its RPCs.

pytest still runs, reports and orders every check; this module runs their bodies ahead of it.
When pytest reaches the first check of a run phase (plugin.RUN_PHASES: phases are barriers, so
the field checks see every response and the scans every call), the checks of that phase start
side by side, per target in a pool of `--max-inflight` threads; the target's in-flight gate
(conformance.transport.inflight) bounds their calls. When pytest then calls a check, it gets
the ending its body had: the same exception, or none.

Outcomes stay those of a serial run. Checks mint their own token families, so on a correct
target they cannot disturb one another; a target whose answers do depend on what other checks
do at the same moment (one that logs the user out everywhere on a refresh or a replay, one that
sheds load) is found out, not trusted: every check that did not pass while overlapped runs
again alone, with nothing else in flight to that target (a skip says what the target is, not what
its neighbours did, and is not run again). If alone it ends differently, the
checks of that target disturbed one another: every check of the phase is judged again alone,
one after another, and so are the target's later phases (the report says so, and why). A check
that passed overlapped and would have failed alone can then not go unnoticed either.

A check runs ahead only when the suite can give it its arguments (`target`, `request` and its
own parameters) and no mark of pytest's decides its fate first (skip, skipif, xfail,
usefixtures); any other check runs in pytest's turn, after the others of its phase have ended.
With `--max-inflight 1` nothing runs ahead: the run is serial, as before issue 17.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.model.errors import CannotEvaluate
from conformance.model.violations import Violation
from conformance.run.target import TargetSession
from conformance.transport.client import CURRENT_CHECK
from conformance.transport.tokens import NeedsFreshTokens

__all__ = ["Attempt", "Overlap", "ending"]

# Arguments the suite can give a check itself (besides the check's own parameters).
KNOWN_ARGUMENTS = frozenset({"target", "request"})
# pytest's marks that decide a check's fate before its body runs.
FATEFUL_MARKS = ("skip", "skipif", "xfail", "usefixtures")
# Threads per target: every check of a phase starts at once (a phase has at most a few dozen),
# so that a long chain does not wait for a thread behind short ones; the in-flight gate, not the
# threads, bounds what reaches the target. A thread waiting for a slot or a login costs nothing.
THREADS_PER_TARGET = 64
# Endings worth a second run alone: interference from other checks can make a check fail or
# error; a skip says what the target is (no JWT, no rotation), not what its neighbours did.
RERUN_ENDINGS = frozenset({"fail", "error", "crash"})


def ending(error: BaseException | None) -> str:
    """How a check's body ended, as far as its outcome goes: pass, skip, fail, error or crash
    (an error of the suite's own)."""
    if error is None:
        return "pass"
    if isinstance(error, pytest.skip.Exception | NeedsFreshTokens):
        return "skip"
    if isinstance(error, Violation):
        return "fail"
    if isinstance(error, CannotEvaluate):
        return "error"
    return "crash"


@dataclass(frozen=True)
class Attempt:
    """One run of a check's body: its exception (None when it passed)."""

    error: BaseException | None

    @property
    def ending(self) -> str:
        return ending(self.error)


@dataclass
class _Group:
    """The checks of one phase of one target, started together."""

    label: str
    phase: int
    items: list[pytest.Item]
    futures: dict[str, Future[Attempt]] = field(default_factory=dict)
    properties: dict[str, int] = field(default_factory=dict)  # user properties before any run
    final: dict[str, Attempt] | None = None


@dataclass
class TargetOverlap:
    """What overlap did for one target, for results.json and the console."""

    max_inflight: int
    overlapped: int = 0                       # checks whose body ran ahead, side by side
    rerun_alone: list[str] = field(default_factory=list)   # check names run again alone
    serial_from: str | None = None            # the phase from which it judged serially
    why: str = ""

    def record(self) -> dict[str, Any]:
        return {"max_inflight": self.max_inflight, "overlapped_checks": self.overlapped,
                "rerun_alone": self.rerun_alone, "serial_from": self.serial_from,
                "why": self.why}


class Overlap:
    """Runs the checks of each phase of each target side by side (see the module docstring)."""

    def __init__(self, sessions: Mapping[str, TargetSession],
                 phase_of: Callable[[pytest.Item], int],
                 target_of: Callable[[pytest.Item], str | None],
                 phase_names: Mapping[int, str]) -> None:
        self._sessions = sessions
        self._phase_of, self._target_of = phase_of, target_of
        self._phase_names = phase_names
        self._pools = {label: ThreadPoolExecutor(
            max_workers=THREADS_PER_TARGET, thread_name_prefix=f"checks {label}")
            for label, session in sessions.items() if session.config.max_inflight > 1}
        self._groups: dict[tuple[str, int], _Group] = {}
        self._group_of: dict[str, _Group] = {}       # by nodeid
        self._started: set[int] = set()              # phases started
        self._serial: set[str] = set()               # targets judged serially from now on
        self.by_target = {label: TargetOverlap(session.config.max_inflight)
                          for label, session in sessions.items()}

    # pytest's side ---------------------------------------------------------------------------
    def before(self, item: pytest.Item, items: Sequence[pytest.Item]) -> None:
        """pytest is about to run `item`: the first check of a phase starts the phase."""
        phase = self._phase_of(item)
        if phase not in self._started:
            self._started.add(phase)
            self._start(phase, items)

    def call(self, item: pytest.Item) -> bool:
        """pytest calls `item`: False when its body did not run ahead (pytest runs it now,
        once the others of its phase have ended); else its ending, re-raised."""
        group = self._group_of.get(item.nodeid)
        label, phase = self._target_of(item), self._phase_of(item)
        if group is None:
            waiting = self._groups.get((label or "", phase))
            if waiting is not None:
                self._settle(waiting)
            return False
        attempt = self._settle(group)[item.nodeid]
        if attempt.error is not None:
            raise attempt.error
        return True

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=True)

    # running ahead ---------------------------------------------------------------------------
    def _start(self, phase: int, items: Sequence[pytest.Item]) -> None:
        for item in items:
            label = self._target_of(item)
            if self._phase_of(item) != phase or label not in self._pools or \
                    label in self._serial or not self._runs_ahead(item):
                continue
            key = (label, phase)
            group = self._groups.setdefault(key, _Group(label, phase, []))
            group.items.append(item)
            self._group_of[item.nodeid] = group
        for group in self._groups.values():
            if group.phase == phase:
                self.by_target[group.label].overlapped += len(group.items)
                for item in group.items:
                    group.properties[item.nodeid] = len(item.user_properties)
                    group.futures[item.nodeid] = self._pools[group.label].submit(
                        self._attempt, item, group.properties[item.nodeid])

    @staticmethod
    def _runs_ahead(item: pytest.Item) -> bool:
        info = getattr(item, "_fixtureinfo", None)
        callspec = getattr(item, "callspec", None)
        if info is None or not isinstance(item, pytest.Function):
            return False
        params = set(callspec.params) if callspec is not None else set()
        return set(info.argnames) <= KNOWN_ARGUMENTS | params and not any(
            item.get_closest_marker(name) for name in FATEFUL_MARKS)

    def _attempt(self, item: pytest.Item, properties: int) -> Attempt:
        """Run the body of `item` once, in this thread, as that check; `properties`: how many
        user properties it had before its first attempt (a rerun starts from those)."""
        del item.user_properties[properties:]
        label = self._target_of(item)
        session = self._sessions[label or ""]
        token = CURRENT_CHECK.set(item.nodeid)
        try:
            session.ensure_evaluable()
            assert isinstance(item, pytest.Function)
            callspec = getattr(item, "callspec", None)
            given: dict[str, Any] = {**(callspec.params if callspec is not None else {}),
                                     "target": session, "request": item._request}
            item.obj(**{name: given[name] for name in item._fixtureinfo.argnames})
        except BaseException as error:  # every ending, skip and exit included, goes to pytest
            return Attempt(error)
        finally:
            CURRENT_CHECK.reset(token)
        return Attempt(None)

    # settling: the outcomes of a serial run -------------------------------------------------
    def _settle(self, group: _Group) -> dict[str, Attempt]:
        """Wait for the group; run again alone what did not pass; judge it all serially when
        alone ended differently (the module docstring says why)."""
        if group.final is not None:
            return group.final
        first = {nodeid: future.result() for nodeid, future in group.futures.items()}
        final = dict(first)
        report = self.by_target[group.label]
        differed = []
        for item in group.items:
            if first[item.nodeid].ending not in RERUN_ENDINGS:
                continue
            final[item.nodeid] = self._alone(group, item)
            report.rerun_alone.append(_name(group, item))
            if final[item.nodeid].ending != first[item.nodeid].ending:
                differed.append(f"{_name(group, item)} ended {first[item.nodeid].ending} side "
                                f"by side and {final[item.nodeid].ending} alone")
        if differed:
            self._serial.add(group.label)
            report.serial_from = self._phase_names.get(group.phase, str(group.phase))
            report.why = "; ".join(differed[:3]) + (f"; and {len(differed) - 3} more"
                                                    if len(differed) > 3 else "")
            for item in group.items:
                if first[item.nodeid].ending not in RERUN_ENDINGS:
                    final[item.nodeid] = self._alone(group, item)
                    report.rerun_alone.append(_name(group, item))
        group.final = final
        return final

    def _alone(self, group: _Group, item: pytest.Item) -> Attempt:
        """Run `item`'s body again with nothing else of its phase in flight to its target."""
        return self._pools[group.label].submit(
            self._attempt, item, group.properties[item.nodeid]).result()


def _name(group: _Group, item: pytest.Item) -> str:
    """The check's name without its target (the report names that already)."""
    return item.name.replace(f"[{group.label}]", "").replace(f"[{group.label}-", "[")
