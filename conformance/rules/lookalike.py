"""Tokens shaped like the target's own: well-formed as far as the suite can tell, never issued."""

from __future__ import annotations

import base64
import re
import secrets
import string

from conformance.rules.token_analysis import parse_jws

__all__ = ["CHARACTER_CLASSES", "character_class", "lookalike"]

CHARACTER_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
# A vendor prefix such as `ghp_`, `sk_live_` or `rt-`, kept as it is.
_PREFIX = re.compile(r"(?:[A-Za-z]{1,8}[_-]){1,2}")


def lookalike(token: str) -> str:
    """A token the target never issued, in the form of `token` (RT-05's "unknown, well-formed").

    A signed JWT keeps its header and claims and gets a random signature of the same size: a JWT
    the target did not sign. Any other token keeps its length, its punctuation, a leading vendor
    prefix (`ghp_`, `sk_live_`) and its last character (whose low bits may be base64 padding,
    which strict decoders check); each other letter or digit is replaced by a random one of the
    same class among those the token itself uses, prefix aside: a hex token stays hex, a UUID
    stays a UUID, upper-case base32 stays upper case. Never equal to `token`. A checksum inside
    a token is beyond it: a target that checks one calls the lookalike malformed
    (INVALID_ARGUMENT), and RT-05 and RT-19 then leave it out."""
    head, _, signature = token.rpartition(".")
    if signature and parse_jws(token) is not None:
        size = len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
        forged = base64.urlsafe_b64encode(secrets.token_bytes(size)).rstrip(b"=")
        return f"{head}.{forged.decode('ascii')}"
    prefix = _PREFIX.match(token)
    kept = len(prefix.group()) if prefix else 0
    body = token[kept:-1]
    alphabets = [_own_alphabet(char, token[kept:]) for char in body]
    if all(len(alphabet) < 2 for alphabet in alphabets):  # nothing varies within its own class
        alphabets = [character_class(char) for char in body]
    for _ in range(64):  # a repeat of `token` itself is all but impossible: bounded all the same
        candidate = token[:kept] + "".join(
            secrets.choice(alphabet) if len(alphabet) > 1 else char
            for char, alphabet in zip(body, alphabets, strict=True)) + token[-1:]
        if candidate != token:
            return candidate
    return token + "A"  # only a token without letters or digits gets here


def character_class(char: str) -> str:
    """The class of letters or digits `char` belongs to ('' for anything else)."""
    return next((cls for cls in CHARACTER_CLASSES if char in cls), "")


def _own_alphabet(char: str, text: str) -> str:
    """The characters of `char`'s class that `text` uses ('' for punctuation)."""
    cls = character_class(char)
    return "".join(sorted({other for other in text if other in cls}))
