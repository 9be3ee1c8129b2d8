"""What a target's run left unjudged, for the "Not judged" lists of the console and the HTML
report (interface.md): each MUST skipped as `not-judged`, each pass that left part of its rule
unjudged, the family only another command judges, and the MUSTs whose checks have not landed.

A requirement left out with `--only`, or `not-applicable` to the target, was not asked for:
it is not listed. A target that could not be evaluated at all lists nothing: its cause says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conformance.model.catalogue import Level
from conformance.model.results import (
    LOAD_COMMAND,
    RUN_LOAD,
    RequirementResult,
    Results,
    SkipKind,
)

__all__ = ["ELSEWHERE", "PENDING", "Unjudged", "id_spans", "unjudged"]

ELSEWHERE = f"judged by `{LOAD_COMMAND}`"   # why the LD family is listed, once
PENDING = "not implemented yet"


@dataclass(frozen=True)
class Unjudged:
    skipped: tuple[RequirementResult, ...] = ()   # MUSTs the suite could not judge here
    # Passes, MUST or SHOULD, that left part of their rule unjudged: a pass is counted as one,
    # so this list is the only place that tells them from the others.
    partial: tuple[RequirementResult, ...] = ()
    elsewhere: tuple[str, ...] = ()   # IDs only another command judges (LD: the load command)
    pending: tuple[str, ...] = ()     # MUSTs with no check yet ("not implemented")

    def __bool__(self) -> bool:
        return bool(self.skipped or self.partial or self.elsewhere or self.pending)

    def rows(self) -> list[tuple[str, RequirementResult]]:
        """A line each, with its word: the MUSTs not judged, then the partial passes."""
        return [*(("not judged", row) for row in self.skipped),
                *(("partly judged", row) for row in self.partial)]

    def groups(self) -> list[tuple[str, str]]:
        """A line each, (IDs, why): the family judged elsewhere, then the pending MUSTs."""
        return [(id_spans(ids), why) for ids, why in ((self.elsewhere, ELSEWHERE),
                                                      (self.pending, PENDING)) if ids]


def unjudged(results: Results, target: str) -> Unjudged:
    """What `target`'s run left unjudged, in catalogue order."""
    if target in results.causes:
        return Unjudged()
    rows = results.requirements(target)
    not_judged = [row for row in rows if row.skip_kind is SkipKind.NOT_JUDGED
                  and row.requirement.level is Level.MUST]
    return Unjudged(
        skipped=tuple(row for row in not_judged if row.checks),
        partial=tuple(row for row in rows if row.unjudged),
        elsewhere=tuple(row.requirement.id for row in rows if not row.checks
                        and row.skip_kind is SkipKind.NOT_SELECTED and row.message == RUN_LOAD),
        pending=tuple(row.requirement.id for row in not_judged if not row.checks))


def id_spans(ids: Sequence[str]) -> str:
    """IDs in catalogue order, a run of three or more consecutive ones of a family as one span:
    `CT-09, RT-25..RT-27, WB-05, WB-06`."""
    runs: list[list[str]] = []
    for rid in ids:
        if runs and _successor(runs[-1][-1]) == rid:
            runs[-1].append(rid)
        else:
            runs.append([rid])
    return ", ".join(f"{run[0]}..{run[-1]}" if len(run) >= 3 else ", ".join(run) for run in runs)


def _successor(rid: str) -> str:
    family, number = rid.rsplit("-", 1)
    return f"{family}-{int(number) + 1:0{len(number)}d}"
