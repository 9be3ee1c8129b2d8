"""The one failure type of the suite: a Violation of a requirement, with Expected, Received and
Reproduce."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.model.calls import Reply
from conformance.model.catalogue import Requirement
from conformance.model.contract import SERVICE
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import SECRETS
from conformance.model.status import Status

__all__ = ["Violation", "ensure", "ensure_status", "front_answered", "violation"]


@dataclass
class Violation(AssertionError):
    """A target broke the rule of the running check. The requirement is filled in by the plugin
    from the check's marker, so a check names its ID once."""

    title: str        # the constant kind of failure, e.g. "Unknown refresh token not rejected"
    expected: str
    received: str
    reproduce: str = ""
    details: str = ""

    def __str__(self) -> str:
        return self.render(None)

    def render(self, requirement: Requirement | None) -> str:
        head = f"{requirement.label} {self.title}" if requirement else self.title
        lines = [head, f"Expected: {self.expected}", f"Received: {self.received}"]
        if self.details:
            lines.append(f"Details:  {self.details}")
        if self.reproduce:
            lines.append(f"Reproduce with: {self.reproduce}")
        if requirement:
            lines.append(f"See: {requirement.source} ({requirement.title})")
        return SECRETS.scrub("\n".join(lines))

    def fields(self) -> dict[str, str]:
        """Its parts by name, redacted, for reports that lay them out (the HTML page)."""
        parts = {"title": self.title, "expected": self.expected, "received": self.received,
                 "details": self.details, "reproduce": self.reproduce}
        return {name: SECRETS.scrub(text) for name, text in parts.items() if text}


def violation(title: str, *, expected: str, received: str, reply: Reply[object] | None = None,
              details: str = "") -> Violation | CannotEvaluate:
    """The Violation to raise; but a rule cannot be judged on a reply that never came: an
    UNAVAILABLE reply means the target stopped answering, and an answer of the target's front is
    not the service's (requirements.md, "Answers from a front"), so the check is `error`."""
    if reply is not None and reply.front is not None:
        return front_answered(reply)
    if reply is not None and reply.code is Status.UNAVAILABLE:
        return CannotEvaluate(f"the target stopped answering: {reply.method} got {reply.status}")
    return Violation(title, expected, received, reply.reproduce if reply else "", details)


def front_answered(reply: Reply[object]) -> CannotEvaluate:
    """Why a reply its front gave cannot judge a rule: a bare 404 on the contract's own RPCs is
    a wrong address (no verdict), anything else names the front's HTTP status and content type."""
    assert reply.front is not None
    if reply.front.http_status == 404 and reply.method.startswith(f"/{SERVICE}/"):
        return CannotEvaluate(f"nothing serves {SERVICE} at this address: {reply.method} got "
                              f"{reply.front.describe()}")
    return CannotEvaluate(f"{reply.method} got {reply.front.describe()}: the rule could not be "
                          "evaluated")


def ensure(condition: bool, title: str, *, expected: str, received: str,
           reply: Reply[object] | None = None, details: str = "") -> None:
    """Raise a Violation unless `condition` holds."""
    if not condition:
        raise violation(title, expected=expected, received=received, reply=reply,
                        details=details)


def ensure_status(reply: Reply[object], allowed: set[str], title: str, *,
                  expected: str | None = None) -> None:
    """The reply's status is one of `allowed` (StatusCode names, e.g. {"UNAUTHENTICATED"}), from
    the service: a front's answer judges no rule, whatever status the client made of it."""
    if reply.front is not None:
        raise front_answered(reply)
    ensure(reply.code.name in allowed, title,
           expected=expected or f"status {' or '.join(sorted(allowed))} within the deadline",
           received=reply.status, reply=reply)
