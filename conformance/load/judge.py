"""LD-01..LD-04 judged from the ledgers of every load process (the master's view): the rules as
the catalogue states them, written down once here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.load.ledger import SERVER_ERRORS, SHED, shown
from conformance.model.catalogue import Level, requirement
from conformance.model.results import Outcome
from conformance.model.violations import Violation

__all__ = ["LD_IDS", "SHED_LIMIT", "Judgement", "Tally"]

LD_IDS = ("LD-01", "LD-02", "LD-03", "LD-04")
# LD-04: the share of calls that may be shed or time out.
SHED_LIMIT = 0.01


@dataclass(frozen=True)
class Judgement:
    requirement_id: str
    outcome: Outcome
    message: str = ""


@dataclass
class Tally:
    """Every report merged: accepted-token hashes counted across processes, each process's
    latest counts (its reports are cumulative) by the id Locust gives it."""

    accepted: Counter[str] = field(default_factory=Counter)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, source: str, report: dict[str, Any]) -> None:
        self.accepted.update(report.get("accepted", ()))
        self.latest[source] = report

    def stopped(self, sources: set[str]) -> bool:
        """Each of `sources` has sent the report of its stopped users (its last)."""
        return all(self.latest.get(source, {}).get("stopped") for source in sources)

    @property
    def down(self) -> str:
        return next((r["down"] for r in self.latest.values() if r.get("down")), "")

    def codes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for report in self.latest.values():
            total.update(report.get("codes", {}))
        return total

    def total(self, key: str) -> int:
        return sum(int(report.get(key, 0)) for report in self.latest.values())

    def example(self, requirement_id: str) -> str:
        return next((r["examples"][requirement_id] for r in self.latest.values()
                     if requirement_id in r.get("examples", {})), "")

    def judge(self, reproduce: str, cause: str = "", reuse_grace: float = 0.0,
              ) -> list[Judgement]:
        """The four outcomes. A MUST already broken stays broken when the target died later
        (judged from answers it gave); anything else is `error` then (`cause`: why the run
        could not be completed), LD-04 too: the calls of a dying target go unanswered.
        `reuse_grace`: the target's declared reuse grace window (LD-01 is `skip` with one)."""
        codes = self.codes()
        calls = sum(codes.values())
        judgements = [self._ld01(reproduce, reuse_grace), self._ld02(reproduce),
                      self._ld03(codes, reproduce), self._ld04(codes, calls, reproduce)]
        cause = cause or self.down
        if not cause and calls == 0:
            cause = "no call was made during the load run"
        if cause:
            judgements = [j if j.outcome in (Outcome.FAIL, Outcome.SKIP) else
                          Judgement(j.requirement_id, Outcome.ERROR, cause) for j in judgements]
        return judgements

    def _ld01(self, reproduce: str, reuse_grace: float = 0.0) -> Judgement:
        if reuse_grace > 0:
            # The bursts' K uses of one token all fall within the window (as RT-14's), and the
            # workload presents no token again past it: nothing LD-01 could judge.
            return Judgement("LD-01", Outcome.SKIP, f"a reuse grace window of {reuse_grace:g} s "
                             "is declared: within it the load's simultaneous refreshes of one "
                             "token may all succeed (RT-11 and RT-12 judge replays past it)")
        twice = {digest: n for digest, n in self.accepted.items() if n > 1}
        if not self.accepted:
            return Judgement("LD-01", Outcome.ERROR, "no refresh was accepted during the run")
        if not twice:
            return Judgement("LD-01", Outcome.PASS)
        digest, times = max(twice.items(), key=lambda item: item[1])
        return _broken("LD-01", Violation(
            "Refresh token accepted more than once under load",
            expected="each refresh token gets at most one OK refresh, across every family and "
                     "every load worker",
            received=f"{len(twice)} of {len(self.accepted)} refresh tokens were accepted more "
                     f"than once; {shown(digest)} {times} times (the bursts fire "
                     f"{self.total('bursts')} times K simultaneous refreshes of one token)",
            reproduce=reproduce))

    def _ld02(self, reproduce: str) -> Judgement:
        judged, rejected = self.total("ld02_judged"), self.total("ld02_rejected")
        if not judged:
            return Judgement("LD-02", Outcome.ERROR, "no sequential refresh of a clean family "
                             "was made during the run")
        if not rejected:
            return Judgement("LD-02", Outcome.PASS)
        return _broken("LD-02", Violation(
            "Valid refresh rejected under load",
            expected="every sequential refresh with the newest refresh token of a family with "
                     "no replay, burst, shed or unanswered call succeeds",
            received=f"{rejected} of {judged} such refreshes were rejected; the first: "
                     f"{self.example('LD-02')}",
            reproduce=reproduce))

    def _ld03(self, codes: Counter[str], reproduce: str) -> Judgement:
        errors = {key: n for key, n in codes.items() if key.split()[-1] in SERVER_ERRORS}
        if not errors:
            return Judgement("LD-03", Outcome.PASS)
        listed = ", ".join(f"{key}: {n}" for key, n in sorted(errors.items()))
        return _broken("LD-03", Violation(
            "Server error under load",
            expected="no INTERNAL, UNKNOWN or DATA_LOSS answer during the load run",
            received=f"{sum(errors.values())} of {sum(codes.values())} calls ({listed})",
            reproduce=reproduce))

    def _ld04(self, codes: Counter[str], calls: int, reproduce: str) -> Judgement:
        shed = {key: n for key, n in codes.items() if key.split()[-1] in SHED}
        share = sum(shed.values()) / calls if calls else 0.0
        if share <= SHED_LIMIT:
            return Judgement("LD-04", Outcome.PASS, f"{share:.2%} of {calls} calls shed or timed "
                             "out" if shed else "")
        listed = ", ".join(f"{key}: {n}" for key, n in sorted(shed.items()))
        return _broken("LD-04", Violation(
            "Calls shed or timed out under load",
            expected=f"at most {SHED_LIMIT:.0%} of all calls shed or timed out (UNAVAILABLE, "
                     "RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) at the load asked for",
            received=f"{share:.2%} of {calls} calls ({listed})",
            reproduce=reproduce))


def _broken(requirement_id: str, violation: Violation) -> Judgement:
    """fail for a MUST, warn for a SHOULD, with the rendered Expected / Received / Reproduce."""
    found = requirement(requirement_id)
    outcome = Outcome.FAIL if found.level is Level.MUST else Outcome.WARN
    return Judgement(requirement_id, outcome, violation.render(found))
