"""The suite's own exception types (see the package docstring for the hierarchy)."""

from __future__ import annotations

__all__ = ["CannotEvaluate", "ConformanceError", "UsageError"]


class ConformanceError(Exception):
    """Base of the errors the suite raises about itself, never about the target's rules."""


class UsageError(ConformanceError):
    """Bad input to the suite itself: options, files, environment. Exit code 2."""


class CannotEvaluate(ConformanceError):
    """A check could not be evaluated: unreachable target, no token, failed precondition."""
