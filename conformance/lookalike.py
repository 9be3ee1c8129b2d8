"""Tokens shaped like the target's own: same length and character classes, random content."""

from __future__ import annotations

import secrets
import string

__all__ = ["lookalike"]

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def lookalike(token: str) -> str:
    """A well-formed token the target never issued: each letter or digit replaced by a random one
    of the same class; punctuation (JWT dots, prefixes' separators) kept. Never equal to `token`."""
    while True:
        out = []
        for char in token:
            alphabet = next((c for c in _CLASSES if char in c), None)
            out.append(secrets.choice(alphabet) if alphabet else char)
        candidate = "".join(out)
        if candidate != token:
            return candidate
