"""The responses the field checks judge: one fixed sequence per target, gathered once.

FT and CT-03/CT-04 apply to every User and AuthToken the suite sees (requirements.md). The
sequence is: the login response (when the token source logs in), a refresh of that fresh token,
and GetMe with the refreshed access token. Gathering it once per target keeps the cost of 20
checks at one login, one refresh and one GetMe, and works with a single static token.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from conformance.client import Reply
from conformance.errors import CannotEvaluate
from conformance.target import TargetSession

__all__ = ["Sample", "responses"]


@dataclass(frozen=True)
class Sample:
    """One response of the sequence, named for messages ("refresh response")."""

    name: str
    message: Message
    reply: Reply[Any] | None   # None for the login response (the token source made that call)


_CACHE: weakref.WeakKeyDictionary[TargetSession, list[Sample] | Exception] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def responses(target: TargetSession) -> list[Sample]:
    """The sample of `target` (gathered on first use). Failing to gather it is `error` (or `skip`
    for a spent static token) for every check that needs it, with the same cause."""
    with _LOCK:
        cached = _CACHE.get(target)
        if cached is None:
            try:
                cached = _gather(target)
            except Exception as error:  # a cause to repeat to every check, not a suite crash
                cached = error
            _CACHE[target] = cached
    if isinstance(cached, Exception):
        raise cached
    return cached


def _gather(target: TargetSession) -> list[Sample]:
    tokens = target.fresh_tokens()
    samples = [Sample("login response", tokens.login, None)] if tokens.login is not None else []
    reply = target.refresh(tokens.refresh_token)
    if not reply.ok or reply.response is None:
        raise CannotEvaluate(f"precondition failed (refresh a freshly minted token): "
                             f"RefreshAccessToken answered {reply.status}; see CT-01 and RT-01")
    samples.append(Sample("refresh response", reply.response, reply))
    access_token = reply.response.auth_token.token
    if access_token:  # without one GetMe cannot be asked; RT-01 and FT-13 report that
        me = target.client.get_me(f"Bearer {access_token}")
        if me.ok and me.response is not None:  # a refused GetMe is RT-04's finding
            samples.append(Sample("GetMe response", me.response, me))
    return samples
