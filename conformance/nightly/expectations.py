"""`--expected-failures FILE`: known, dated deviations that change the exit status, never the
verdict (interface.md, "Known deviations"), after the OpenID conformance suite's
expected-failures files.

An entry waives the outcomes it matches: requirement (ID or glob), target (glob over labels) and
outcome all match, and it has not expired (from its `expires` date on it no longer applies).
Exit status with the file: 1 when a MUST failed unexpectedly; else 3 when a MUST could not be
evaluated unexpectedly; else 1 when an entry matched nothing or has expired; else 0. An
unreachable target is reported as 3 before the entries it left unused, which are its
consequence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from conformance.model.catalogue import Level, catalogue
from conformance.model.errors import UsageError
from conformance.model.toml_file import read_toml

__all__ = ["Entry", "ExpectedFailures", "Judgement", "judge", "load", "paste_ready"]

OUTCOMES = ("fail", "warn", "error", "skip")
KEYS = {"requirement", "target", "outcome", "reason", "ticket", "expires"}
OPTION = "--expected-failures"


@dataclass(frozen=True)
class Entry:
    number: int            # 1-based position among the file's [[expected]] entries
    requirement: str
    target: str = "*"
    outcome: str = "fail"
    reason: str = ""
    ticket: str | None = None
    expires: dt.date | None = None

    def matches(self, target: str, requirement_id: str, outcome: str) -> bool:
        # A label that is itself the pattern matches: an IPv6 label's "[::1]" reads as a glob's
        # character class, so "[::1]:443" (the paste-ready entry's own) would not match itself.
        return (outcome == self.outcome and fnmatchcase(requirement_id, self.requirement)
                and (target == self.target or fnmatchcase(target, self.target)))

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today >= self.expires

    def as_json(self) -> dict[str, Any]:
        return {"entry": self.number, "requirement": self.requirement, "target": self.target,
                "outcome": self.outcome, "reason": self.reason, "ticket": self.ticket,
                "expires": self.expires.isoformat() if self.expires else None}


@dataclass(frozen=True)
class ExpectedFailures:
    file: str
    entries: tuple[Entry, ...]


def load(path: str) -> ExpectedFailures:
    """Read and validate FILE; UsageError (exit 2) names the first problem in one line."""
    where = f"{OPTION} {path}"
    data = read_toml(path, where)
    unknown = sorted(set(data) - {"expected"})
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (only [[expected]] entries)")
    rows = data.get("expected", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UsageError(f"{where}: `expected` must be an array of tables ([[expected]])")
    return ExpectedFailures(path, tuple(_entry(row, n, where) for n, row in
                                        enumerate(rows, start=1)))


def _entry(row: dict[str, Any], number: int, where: str) -> Entry:
    here = f"{where}: entry {number}"
    unknown = sorted(set(row) - KEYS)
    if unknown:
        raise UsageError(f"{here}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(KEYS))})")
    for key in ("requirement", "reason"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise UsageError(f"{here}: `{key}` is missing or empty (it is required)")
    for key in ("target", "outcome", "ticket"):
        if key in row and not isinstance(row[key], str):
            raise UsageError(f"{here}: `{key}` must be a string")
    outcome = row.get("outcome", "fail")
    if outcome not in OUTCOMES:
        raise UsageError(f"{here}: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    expires = row.get("expires")
    if expires is not None and (not isinstance(expires, dt.date)
                                or isinstance(expires, dt.datetime)):
        raise UsageError(f"{here}: `expires` must be a TOML date such as 2027-03-01")
    pattern = row["requirement"].strip().upper()
    if not any(fnmatchcase(rid, pattern) for rid in catalogue()):
        raise UsageError(f"{here}: requirement {row['requirement']!r} matches no catalogue ID")
    return Entry(number, pattern, row.get("target", "*"), outcome, row["reason"].strip(),
                 row.get("ticket"), expires)


@dataclass
class Judgement:
    """What the file made of a run's outcomes (annotates results.json; decides the exit)."""

    file: str
    matched: dict[tuple[str, str], Entry] = field(default_factory=dict)  # (target, ID) -> entry
    unexpected: dict[str, list[str]] = field(default_factory=dict)       # target -> IDs
    unused: list[Entry] = field(default_factory=list)
    expired: list[Entry] = field(default_factory=list)
    exit_status: int = 0

    def annotate(self, document: dict[str, Any]) -> None:
        """Add `expected`, `unexpected` and `expectations` to a results.json document."""
        for target in document["targets"]:
            for row in target["requirements"]:
                entry = self.matched.get((target["target"], row["id"]))
                if entry is not None:
                    row["expected"] = {"reason": entry.reason, "ticket": entry.ticket}
            target["unexpected"] = self.unexpected.get(target["target"], [])
        document["expectations"] = {"file": self.file,
                                    "unused": [e.as_json() for e in self.unused],
                                    "expired": [e.as_json() for e in self.expired],
                                    "exit_status": self.exit_status}


def judge(expected: ExpectedFailures, outcomes: dict[str, list[tuple[str, str]]],
          today: dt.date) -> Judgement:
    """Match `outcomes` (target -> [(ID, outcome)] in catalogue order) against the entries."""
    judgement = Judgement(expected.file)
    live = [e for e in expected.entries if not e.expired(today)]
    judgement.expired = [e for e in expected.entries if e.expired(today)]
    used: set[int] = set()
    failed = errored = False
    for target, rows in outcomes.items():
        judgement.unexpected[target] = []
        for rid, outcome in rows:
            # The first matching entry gives the reason; every matching one counts as used (a
            # specific entry under a broader glob is not "matched nothing").
            matching = [e for e in live if e.matches(target, rid, outcome)]
            used.update(e.number for e in matching)
            if matching:
                judgement.matched[target, rid] = matching[0]
            elif outcome in ("fail", "error") and catalogue()[rid].level is Level.MUST:
                judgement.unexpected[target].append(rid)
                failed, errored = failed or outcome == "fail", errored or outcome == "error"
    judgement.unused = [e for e in live if e.number not in used]
    judgement.exit_status = 1 if failed else 3 if errored else \
        1 if judgement.unused or judgement.expired else 0
    return judgement


def paste_ready(target: str, requirement_id: str, outcome: str) -> str:
    """An [[expected]] entry for an unexpected outcome, to paste into the file (reason to fill)."""
    return "\n".join(["[[expected]]", f'requirement = "{requirement_id}"',
                      f'target = "{target}"', f'outcome = "{outcome}"',
                      'reason = "TODO: why this is expected"',
                      f"expires = {(dt.date.today() + dt.timedelta(days=90)).isoformat()}"])
