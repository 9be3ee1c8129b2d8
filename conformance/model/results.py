"""The one results model: check outcomes per target, aggregated per requirement, and the verdict.

Outcome mapping, written down once:
- a check that passes is `pass`; one that raises a Violation is `fail` (MUST) or `warn` (SHOULD);
  a pass that left part of its rule unjudged says so in its message and is `unjudged`;
- `skip` is not applicable (with the reason); `error` is could-not-evaluate (CannotEvaluate, a
  suite error, a setup or teardown failure);
- a requirement's outcome is the worst of its checks, in the order fail > error > warn > pass >
  skip (a skipped check does not hide a passing one; of passes, one that left part of its rule
  unjudged speaks for the requirement); no check at all: `skip` "not implemented";
- a target's verdict: `non-conformant` if a MUST is `fail`, else `error` if a MUST is `error`,
  else `conformant`. The run's exit code: 1 if any target is non-conformant, else 3 if any
  could not be evaluated, else 0; with --expected-failures, the file's judgement decides it
  (conformance.nightly.expectations), and the verdicts stay.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from conformance.model.catalogue import Level, Requirement, catalogue, catalogue_identity
from conformance.model.redact import SECRETS

__all__ = ["CheckResult", "Outcome", "RequirementResult", "Results", "SkipKind", "Verdict"]


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"
    ERROR = "error"


class SkipKind(str, Enum):
    """Why a requirement was not judged (requirements.md's preamble): the target has not the
    feature, the run did not select it, or the suite could not judge it here."""

    NOT_APPLICABLE = "not-applicable"
    NOT_SELECTED = "not-selected"
    NOT_JUDGED = "not-judged"


SEVERITY = {Outcome.SKIP: 0, Outcome.PASS: 1, Outcome.WARN: 2, Outcome.ERROR: 3, Outcome.FAIL: 4}


class Verdict(str, Enum):
    CONFORMANT = "conformant"
    NON_CONFORMANT = "non-conformant"
    ERROR = "error"


EXIT_CODES = {Verdict.CONFORMANT: 0, Verdict.NON_CONFORMANT: 1, Verdict.ERROR: 3}
NOT_IMPLEMENTED = "not implemented"
NOT_SELECTED = "not selected (--only)"
# The LD family is judged by the load command alone (conformance.load): an ordinary run says so.
LOAD_COMMAND = "python -m conformance load"
RUN_LOAD = f"run `{LOAD_COMMAND}`"


class Waivers(Protocol):
    """What the model asks of a judgement of the run against its known deviations (the
    --expected-failures one is conformance.nightly.expectations.Judgement): the exit status it
    decides, and its annotations of results.json."""

    @property
    def exit_status(self) -> int: ...

    def annotate(self, document: dict[str, Any]) -> None: ...


@dataclass
class CheckResult:
    name: str
    target: str
    requirement_id: str
    outcome: Outcome
    message: str = ""
    # A Violation's parts (title, expected, received, details, reproduce), for the HTML report.
    fields: dict[str, str] = field(default_factory=dict)
    skip_kind: SkipKind | None = None   # a skip's kind (none for other outcomes)
    unjudged: bool = False   # a pass that left part of its rule unjudged (its message says which)


@dataclass
class RequirementResult:
    requirement: Requirement
    outcome: Outcome
    message: str
    checks: list[str]
    fields: dict[str, str] = field(default_factory=dict)  # its worst check's Violation parts
    skip_kind: SkipKind | None = None   # set when the outcome is `skip`
    unjudged: bool = False   # a pass that left part of its rule unjudged

    @property
    def headline(self) -> str:
        """The message's first line: what one-line lists show."""
        return self.message.splitlines()[0] if self.message else ""

    def as_json(self) -> dict[str, Any]:
        r = self.requirement
        row: dict[str, Any] = {"id": r.id, "level": r.level.value, "outcome": self.outcome.value,
                               "title": r.title, "source": r.source, "message": self.message,
                               "checks": self.checks}
        if self.skip_kind is not None:
            row["skip_kind"] = self.skip_kind.value
        if self.unjudged:
            row["unjudged"] = True
        return row


@dataclass
class Results:
    targets: list[str]
    only: frozenset[str] | None = None
    causes: dict[str, str] = field(default_factory=dict)   # target -> why it can't be evaluated
    rpcs: dict[str, dict[str, int]] = field(default_factory=dict)  # target -> family -> calls
    # target -> requirement ID -> figure -> value: what a check measured (FZ-01's campaign)
    figures: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    # The --expected-failures judgement, once the run is over: it annotates results.json and
    # decides the exit status, never the verdict.
    expectations: Waivers | None = None
    ids: frozenset[str] | None = None   # only these requirements (the load run's LD rows)
    _checks: dict[str, CheckResult] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, nodeid: str, result: CheckResult) -> None:
        """Record a check's outcome; several reports of one check (setup, call, teardown) keep
        the worst, and of equals the one with a message (a passing call's note)."""
        result.message = SECRETS.scrub(result.message)
        result.fields = {name: SECRETS.scrub(text) for name, text in result.fields.items()}
        with self._lock:
            known = self._checks.get(nodeid)
            # A passing teardown after a skipped call leaves the check skipped.
            if known is None or (SEVERITY[result.outcome] > SEVERITY[known.outcome] and not (
                    known.outcome is Outcome.SKIP and result.outcome is Outcome.PASS)) or (
                    known.outcome is Outcome.PASS and result.outcome is Outcome.SKIP) or (
                    known.outcome is result.outcome and result.message and not known.message):
                self._checks[nodeid] = result

    def count_rpcs(self, target: str, requirement_id: str, calls: int) -> None:
        family = requirement_id.split("-", 1)[0]
        with self._lock:
            by_family = self.rpcs.setdefault(target, {})
            by_family[family] = by_family.get(family, 0) + calls

    def record_figures(self, target: str, requirement_id: str, figures: dict[str, float]) -> None:
        with self._lock:
            self.figures.setdefault(target, {}).setdefault(requirement_id, {}).update(figures)

    def requirements(self, target: str) -> list[RequirementResult]:
        with self._lock:
            checks = [c for c in self._checks.values() if c.target == target]
        rows = []
        for requirement in catalogue().values():
            if self.ids is not None and requirement.id not in self.ids:
                continue
            mine = [c for c in checks if c.requirement_id == requirement.id]
            if not mine:
                not_run = NOT_SELECTED if self.only and requirement.id not in self.only \
                    else RUN_LOAD if requirement.family == "LD" else NOT_IMPLEMENTED
                kind = SkipKind.NOT_JUDGED if not_run == NOT_IMPLEMENTED \
                    else SkipKind.NOT_SELECTED
                rows.append(RequirementResult(requirement, Outcome.SKIP, not_run, [],
                                              skip_kind=kind))
                continue
            worst = max(mine, key=lambda c: (SEVERITY[c.outcome], c.unjudged))
            rows.append(RequirementResult(requirement, worst.outcome, worst.message,
                                          [c.name for c in mine], dict(worst.fields),
                                          _skip_kind(worst, mine),
                                          worst.outcome is Outcome.PASS and worst.unjudged))
        return rows

    def verdict(self, target: str) -> Verdict:
        musts = [r for r in self.requirements(target) if r.requirement.level is Level.MUST]
        if any(r.outcome is Outcome.FAIL for r in musts):
            return Verdict.NON_CONFORMANT
        if target in self.causes or any(r.outcome is Outcome.ERROR for r in musts):
            return Verdict.ERROR
        return Verdict.CONFORMANT

    def counts(self, target: str) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in (Outcome.PASS, Outcome.FAIL, Outcome.WARN,
                                                    Outcome.SKIP, Outcome.ERROR)}
        for row in self.requirements(target):
            counts[row.outcome.value] += 1
        return counts

    def exit_code(self) -> int:
        if self.expectations is not None:
            return self.expectations.exit_status
        verdicts = {self.verdict(target) for target in self.targets}
        for verdict in (Verdict.NON_CONFORMANT, Verdict.ERROR):
            if verdict in verdicts:
                return EXIT_CODES[verdict]
        return 0

    def as_json(self, *, suite_version: str, profile: str, started_at: str,
                duration_s: float, extra: dict[str, dict[str, Any]] | None = None,
                run: dict[str, Any] | None = None) -> dict[str, Any]:
        targets = []
        for target in self.targets:
            entry: dict[str, Any] = {"target": target, "verdict": self.verdict(target).value,
                                     "counts": self.counts(target)}
            if target in self.causes:
                entry["cause"] = self.causes[target]
            by_family = dict(sorted(self.rpcs.get(target, {}).items()))
            entry["rpc_count"] = {"total": sum(by_family.values()), "by_family": by_family}
            entry.update((extra or {}).get(target, {}))
            entry["requirements"] = [row.as_json() for row in self.requirements(target)]
            targets.append(entry)
        document = {"suite_version": suite_version, "catalogue": catalogue_identity(),
                    "profile": profile, "started_at": started_at,
                    "duration_s": round(duration_s, 3), "run": run or {}, "targets": targets}
        if self.expectations is not None:
            self.expectations.annotate(document)
        return document

    def outcomes(self) -> dict[str, list[tuple[str, str]]]:
        """Target -> [(requirement ID, outcome)] in catalogue order."""
        return {t: [(r.requirement.id, r.outcome.value) for r in self.requirements(t)]
                for t in self.targets}

    def write_json(self, path: Path, **fields: Any) -> dict[str, Any]:
        """Write results.json; the document written (for the history)."""
        document = self.as_json(**fields)
        text = SECRETS.scrub(json.dumps(document, indent=2, ensure_ascii=False))
        path.write_text(text + "\n", encoding="utf-8")
        written: dict[str, Any] = json.loads(text)
        return written


def _skip_kind(worst: CheckResult, checks: list[CheckResult]) -> SkipKind | None:
    """A skipped requirement's kind: not-judged if any of its checks could not be judged, else
    its worst check's (a skip of no stated kind is not-applicable)."""
    if worst.outcome is not Outcome.SKIP:
        return None
    if any(c.skip_kind is SkipKind.NOT_JUDGED for c in checks):
        return SkipKind.NOT_JUDGED
    return worst.skip_kind or SkipKind.NOT_APPLICABLE
