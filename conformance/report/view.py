"""What the page is drawn from: the results model and the few facts of the run beside it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from conformance.model.results import RequirementResult, Results

__all__ = ["Expected", "RunView", "Section", "unexpected_only"]


@dataclass(frozen=True)
class Section:
    """An extra section of the page (e.g. expected failures, the history trend), placed after
    "What needs action" and "Not judged": `html` is a fragment its author has already escaped."""

    anchor: str    # the id of the section element, unique on the page
    heading: str   # plain text
    html: str


# Whether an action of a target is expected (waived by the known-deviations file): such actions
# are listed apart from the unexpected ones.
Expected = Callable[[str, RequirementResult], bool]


def unexpected_only(target: str, row: RequirementResult) -> bool:
    """The default: nothing is waived, every action is unexpected."""
    return False


@dataclass(frozen=True)
class RunView:
    results: Results
    profile: str
    suite_version: str
    started_at: str          # UTC, as results.json writes it
    duration_s: float
    token_kinds: Mapping[str, str] = field(default_factory=dict)   # target -> source kind
    throttling: Mapping[str, tuple[int, float]] = field(default_factory=dict)  # refusals, s
