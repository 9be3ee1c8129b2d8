"""Redaction of secrets: no password or token ever leaves the suite in clear."""

from __future__ import annotations

import hashlib
import threading

__all__ = ["SECRETS", "SecretRegistry", "redact"]

# Shorter strings are too likely to occur by chance in ordinary text to be scrubbed.
MIN_SECRET_LENGTH = 8


def redact(secret: str, kind: str = "token") -> str:
    """A stable, non-reversible stand-in: `<token sha256:1a2b3c4d>` (8 hex digits of SHA-256)."""
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"<{kind} sha256:{digest}>"


class SecretRegistry:
    """Every secret the suite has seen in this process, so that any text can be scrubbed of them."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._lock = threading.Lock()

    def remember(self, secret: str | None, kind: str = "token") -> None:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                if secret not in self._secrets:  # hashed once, not on every call presenting it
                    self._secrets[secret] = redact(secret, kind)

    def scrub(self, text: str) -> str:
        """`text` with every known secret replaced by its redacted form, longest first."""
        with self._lock:
            pairs = sorted(self._secrets.items(), key=lambda pair: -len(pair[0]))
        for secret, stand_in in pairs:
            if secret in text:
                text = text.replace(secret, stand_in)
        return text


SECRETS = SecretRegistry()
