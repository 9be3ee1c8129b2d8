"""The critical path of a run: the least it can cost when independent checks overlap (issue 17;
conformance.run.overlap runs them so, and the benchmark prints this path next to the wall time).

The client stamps every call with its start and end (time.monotonic) and the check that made it
(client.CURRENT_CHECK, whichever thread made it), and the plugin keeps, per target, each check's
calls (its pytest nodeid, its run phase, whether it used the shared sample).
From that record `critical_path` computes, per target, the longest chain of dependent round
trips. The model assumes, and nothing more:

- Within one check, calls are a chain, in the order they started; calls that overlap in time
  (RT-14's burst, a race) are one step, whose cost is the span from the first start to the last
  end.
- Checks are independent of one another, save that run phases are barriers (plugin.RUN_PHASES,
  with `early` before the ordinary checks): a phase starts when the one before has ended.
- The sample (conformance.run.samples: one login, a refresh, a GetMe) is gathered once, in the phase
  of the first check that needs it; in that phase each check that uses it depends on it (its
  chain is the sample's steps, then its own). In later phases it is already there.
- Only calls count: the suite's own work between calls (drawing fuzz tokens, building reports)
  and its waits (login pacing, a grace or expiry wait) are not on the path. A chain is as long in
  seconds as its steps' spans added up.

Critical path = the sum over phases of the longest chain in that phase, in round trips (steps)
and, separately, in seconds (the longest chain in seconds may be another check's). `latency_s`
is the run's median call duration, so that `round_trips * latency_s` is what the path would cost
at the run's measured latency.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "CheckCalls", "critical_path", "steps"]

# (started, ended, made while gathering the shared sample): lists, so that they cross from
# pytest-xdist workers in a report attribute.
Call = tuple[float, float, bool]


@dataclass(frozen=True)
class CheckCalls:
    """The calls one check made against one target."""

    nodeid: str
    phase: int            # plugin._run_phase: -1 early, 0 ordinary, then RUN_PHASES in order
    calls: tuple[Call, ...]
    uses_sample: bool = False


def steps(calls: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Calls merged into steps: a call that starts before the step so far has ended joins it."""
    merged: list[tuple[float, float]] = []
    for started, ended in sorted(calls):
        if merged and started < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ended))
        else:
            merged.append((started, ended))
    return merged


@dataclass(frozen=True)
class _Chain:
    nodeid: str
    round_trips: int
    seconds: float
    rpcs: int


def _chains(checks: Sequence[CheckCalls], sample: list[tuple[float, float]],
            sample_phase: int | None, phase: int) -> list[_Chain]:
    chains = []
    for check in checks:
        own = steps((s, e) for s, e, in_sample in check.calls if not in_sample)
        chain = own + (sample if check.uses_sample and phase == sample_phase else [])
        chains.append(_Chain(check.nodeid, len(chain), sum(e - s for s, e in chain),
                             len(check.calls)))
    return chains


def critical_path(checks: Sequence[CheckCalls], names: dict[int, str] | None = None,
                  ) -> dict[str, Any]:
    """The critical path of one target's checks (see the module docstring), with each phase's
    longest chain named (`names`: the phases' names), the RPC count, the median call duration,
    and each check's chain: [round trips, its own RPCs, seconds] by check name."""
    sampled = [c for c in checks if any(in_sample for _, _, in_sample in c.calls)]
    sample = steps((s, e) for c in sampled for s, e, in_sample in c.calls if in_sample)
    sample_phase = min((c.phase for c in sampled), default=None)
    phases: list[dict[str, Any]] = []
    every: dict[str, list[float]] = {}
    for phase in sorted({c.phase for c in checks}):
        chains = _chains([c for c in checks if c.phase == phase], sample, sample_phase, phase)
        every.update((chain.nodeid.rsplit("::", 1)[-1],
                      [chain.round_trips, chain.rpcs, round(chain.seconds, 4)])
                     for chain in chains)
        by_trips = max(chains, key=lambda chain: (chain.round_trips, chain.seconds))
        by_seconds = max(chains, key=lambda chain: (chain.seconds, chain.round_trips))
        phases.append({"phase": (names or {}).get(phase, str(phase)), "checks": len(chains),
                       "round_trips": by_trips.round_trips, "longest": by_trips.nodeid,
                       "seconds": round(by_seconds.seconds, 4), "slowest": by_seconds.nodeid})
    durations = [e - s for c in checks for s, e, _ in c.calls]
    return {"round_trips": sum(int(p["round_trips"]) for p in phases),
            "seconds": round(sum(float(p["seconds"]) for p in phases), 4),
            "rpcs": len(durations),
            "latency_s": round(statistics.median(durations), 5) if durations else 0.0,
            "phases": phases, "chains": every}
