"""pytest-xdist scheduling for a conformance run: every check of one target on one worker.

A target's checks depend on running in one process, in the run's order: the fuzz campaign after
the ordinary checks (a campaign's damage must not be blamed on checks still running elsewhere),
the run-wide scans (FZ-04, FZ-08) after every call to that target, which only that process saw.
So `-n N` runs targets in parallel, not the checks of one target. (pytest-xdist's own
`--dist loadgroup` would do it with markers, but it renames test ids in a way pytest 9.2 no
longer honours; its LoadScopeScheduling, with the scope chosen here, is the documented way.)
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling

__all__ = ["TargetScheduling", "target_of"]


def target_of(nodeid: str, labels: list[str]) -> str | None:
    """The target label of a check's test id (`path::test_x[LABEL]` or `[LABEL-other ids]`:
    the target is parametrized first); the longest label wins when one is a prefix of another."""
    params = nodeid.partition("[")[2].removesuffix("]")
    return next((label for label in sorted(labels, key=len, reverse=True)
                 if params == label or params.startswith(label + "-")), None)


class TargetScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no type hints
    """Scopes are targets: a worker receives all the checks of a target, in collection order."""

    def __init__(self, config: Any, log: Any, labels: list[str]) -> None:
        super().__init__(config, log)
        self.labels = labels

    def _split_scope(self, nodeid: str) -> str:
        return target_of(nodeid, self.labels) or nodeid
