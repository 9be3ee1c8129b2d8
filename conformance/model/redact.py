"""Redaction of secrets: no password or token ever leaves the suite in clear."""

from __future__ import annotations

import hashlib
import threading

__all__ = ["SECRETS", "SecretRegistry", "authorization_credential", "redact",
           "show_authorization"]

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


def authorization_credential(value: str) -> str:
    """The credential of an `authorization` value: what follows the scheme word and its spaces
    (RFC 7235 §2.1: credentials = auth-scheme [ 1*SP ... ]), or the whole value if it is one word
    (a bare token, or a scheme alone)."""
    _, space, rest = value.partition(" ")
    return rest.lstrip(" ") if space else value


def show_authorization(value: str, *, secret: bool = True) -> str:
    """How every line of output shows an `authorization` value (a grpcurl line, Expected,
    Received): the scheme word in clear, and the credential redacted if it is `secret` (an issued
    token, a password). A value the suite made up itself (`secret=False`: `Bearer` alone, `Basic`
    with a made-up pair) is shown as it is, save for any issued token inside it."""
    if not secret:
        return SECRETS.scrub(value)
    credential = authorization_credential(value)
    if not credential:   # the scheme alone (and its spaces): nothing secret in it
        return value
    return value[:len(value) - len(credential)] + redact(credential)
