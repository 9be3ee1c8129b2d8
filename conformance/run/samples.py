"""The responses the field checks judge: a fixed sample per target, then every other one.

FT and CT-03/CT-04 apply to every User and AuthToken the suite sees (requirements.md). The
sample is: the login response (when the token source logs in), a refresh of that fresh token,
and GetMe with the refreshed access token. Gathering it once per target keeps the cost of the
checks that need it (CT-01..CT-04, FT) at one login, one refresh and one GetMe, and lets a
single static token serve them all. The field checks run after the ordinary ones (phase
`fields`), and judge, besides the sample, every OK response the client has logged by then: the
responses of RT's chains, races and replays.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from conformance.model.contract import pb
from conformance.model.errors import CannotEvaluate
from conformance.model.violations import ensure
from conformance.rules.fields import Rule
from conformance.run.target import TargetSession
from conformance.transport.client import Reply

__all__ = ["IssuedToken", "Sample", "Sampled", "ensure_every_response", "issued_tokens",
           "responses", "sampled"]


@dataclass(frozen=True)
class Sample:
    """One response of the sequence, named for messages ("refresh response")."""

    name: str
    message: Message
    reply: Reply[Any] | None   # None for the login response (the token source made that call)


@dataclass(frozen=True)
class Sampled:
    """The sequence as gathered: the refresh reply, OK or not (CT-01 judges it), and every OK
    response of the sequence."""

    refresh: Reply[pb.RefreshAccessTokenResponse]
    ok_responses: tuple[Sample, ...]


@dataclass(frozen=True)
class IssuedToken:
    """A token the target issued in a response the suite has seen."""

    kind: str     # "access" or "refresh"
    origin: str   # the response, named as for messages ("refresh response")
    token: str


# Findings a failure lists; a target that breaks a rule in every response breaks it hundreds of
# times in a nightly run.
SHOWN_FINDINGS = 3
_CACHE: weakref.WeakKeyDictionary[TargetSession, Sampled | Exception] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def sampled(target: TargetSession) -> Sampled:
    """The sample of `target`, gathered on first use. Failing to mint is `error` (or `skip` for a
    spent static token) for every check that needs the sample, with the same cause."""
    target.client.log.note_sample_use()   # a dependency of this check (critical_path)
    with _LOCK:
        cached = _CACHE.get(target)
        if cached is None:
            try:
                with target.client.log.sampling():
                    cached = _gather(target)
            except Exception as error:  # a cause to repeat to every check, not a suite crash
                cached = error
            _CACHE[target] = cached
    if isinstance(cached, Exception):
        raise cached
    return cached


def responses(target: TargetSession) -> tuple[Sample, ...]:
    """Every response of the sample, then every other OK response the run has logged, for rules
    on fields; a refused refresh in the sample is `error`."""
    gathered = sampled(target)
    if not gathered.refresh.ok:
        raise CannotEvaluate(f"precondition failed (refresh a freshly minted token): "
                             f"RefreshAccessToken answered {gathered.refresh.status}; see CT-01")
    seen = {id(one.message) for one in gathered.ok_responses}
    others = tuple(Sample(f"{record.method.rsplit('/', 1)[-1]} response (call {number} of the "
                          "run)", record.response, None)
                   for number, record in enumerate(target.client.log.snapshot(), start=1)
                   if record.response is not None and id(record.response) not in seen)
    return gathered.ok_responses + others


def issued_tokens(target: TargetSession) -> tuple[IssuedToken, ...]:
    """Every access and refresh token the target has issued in the run so far, each once: those
    of the sample first, then those of every other OK response logged (a refused refresh in the
    sample leaves the login's and the log's)."""
    gathered = sampled(target)
    named = [(one.name, one.message) for one in gathered.ok_responses]
    seen = {id(message) for _, message in named}
    named += [(f"{record.method.rsplit('/', 1)[-1]} response (call {number} of the run)",
               record.response)
              for number, record in enumerate(target.client.log.snapshot(), start=1)
              if record.response is not None and id(record.response) not in seen]
    found: dict[str, IssuedToken] = {}
    for name, message in named:
        auth_token = getattr(message, "auth_token", None)
        if auth_token is None:  # GetMe's response carries none
            continue
        for kind, token in (("access", auth_token.token), ("refresh", auth_token.refresh_token)):
            if token and token not in found:
                found[token] = IssuedToken(kind, name, token)
    return tuple(found.values())


def ensure_every_response(target: TargetSession, rule: Rule, title: str, expected: str) -> None:
    """`rule` holds in every response seen; the failure names the first responses broken."""
    judged = responses(target)
    broken = [(one, finding) for one in judged for finding in rule(one.message)]
    shown = "; ".join(f"{one.name}: {finding}" for one, finding in broken[:SHOWN_FINDINGS])
    more = len(broken) - SHOWN_FINDINGS
    ensure(not broken, title, expected=expected,
           received=shown + (f"; and {more} more findings in the {len(judged)} responses judged"
                             if more > 0 else ""),
           reply=next((one.reply for one, _ in broken if one.reply is not None), None))


def _gather(target: TargetSession) -> Sampled:
    tokens = target.fresh_tokens()
    samples = [Sample("login response", tokens.login, None)] if tokens.login is not None else []
    reply = target.refresh(tokens.refresh_token)
    if not reply.ok or reply.response is None:
        return Sampled(reply, tuple(samples))
    samples.append(Sample("refresh response", reply.response, reply))
    access_token = reply.response.auth_token.token
    if access_token:  # without one GetMe cannot be asked; RT-01 and FT-13 report that
        me = target.client.get_me(f"Bearer {access_token}")
        if me.ok and me.response is not None:  # a refused GetMe is RT-04's finding
            samples.append(Sample("GetMe response", me.response, me))
    return Sampled(reply, tuple(samples))
