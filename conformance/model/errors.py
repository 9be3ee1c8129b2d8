"""The suite's own exception types (see the package docstring for the hierarchy)."""

from __future__ import annotations

__all__ = ["CannotEvaluate", "ConformanceError", "TargetDown", "TargetStoppedAnswering",
           "UsageError"]


class ConformanceError(Exception):
    """Base of the errors the suite raises about itself, never about the target's rules."""


class UsageError(ConformanceError):
    """Bad input to the suite itself: options, files, environment. Exit code 2."""


class CannotEvaluate(ConformanceError):
    """A check could not be evaluated: unreachable target, no token, failed precondition."""


class TargetDown(CannotEvaluate):
    """The whole target cannot be evaluated (unreachable, TLS failure, no token minted)."""

    def __init__(self, target: str, cause: str) -> None:
        super().__init__(f"target {target}: {cause}")
        self.target, self.cause = target, cause


class TargetStoppedAnswering(TargetDown):
    """Several calls in a row got no answer: the suite stops calling this target, and every
    further check of it is `error` at once (a bounded run against a dead target)."""
