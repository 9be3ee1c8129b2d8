"""RT-23: HMAC-signed JWTs judged offline against a list of well-known weak secrets.

The list ships with the suite (weak_jwt_secrets.txt, its sources named in its header). A match
is proof, not an estimate: the token's signature is the HMAC of its header and payload under
that key, so anyone who has read the list can sign any claims the target will trust.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from conformance.rules.token_analysis import parse_jws

__all__ = ["HMAC_ALGS", "LIST_NAME", "Candidate", "candidates", "find_weak_secret", "forge",
           "signing_alg", "weak_secrets"]

LIST_NAME = "weak_jwt_secrets.txt"
# RFC 7518 §3.2. `alg` is case-sensitive (RFC 7515 §4.1.1), but a lenient issuer's `hs256`
# signs with the same key, so the suite judges it too.
HMAC_ALGS: dict[str, Callable[[], Any]] = {
    "HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){8,}")
BASE64 = re.compile(r"[A-Za-z0-9+/_-]{4,}={0,2}")


@dataclass(frozen=True)
class Candidate:
    """One key to try: a list entry in one of its forms."""

    entry: str   # the list's line; "" for the empty key
    form: str    # how the entry became the key
    key: bytes

    def describe(self) -> str:
        return "the empty key" if not self.entry else f"{self.entry!r} ({self.form})"


@functools.cache
def weak_secrets() -> tuple[str, ...]:
    """The list's entries, in its order: every line but comments and blank ones, verbatim."""
    text = files("conformance.rules").joinpath(LIST_NAME).read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line and not line.startswith("#"))


@functools.cache
def candidates() -> tuple[Candidate, ...]:
    """Every key the list stands for, each once: the empty key (an unset setting), then each
    entry as its UTF-8 bytes, and as what it decodes to where it reads as hex or base64 (some
    libraries take the key encoded: jwt.io's "secret base64 encoded", JJWT's
    `Decoders.BASE64.decode(...)` in the Spring tutorials)."""
    found: dict[bytes, Candidate] = {b"": Candidate("", "empty", b"")}
    for entry in weak_secrets():
        for form, key in _forms(entry):
            found.setdefault(key, Candidate(entry, form, key))
    return tuple(found.values())


def _forms(entry: str) -> list[tuple[str, bytes]]:
    forms = [("as text", entry.encode("utf-8"))]
    if HEX.fullmatch(entry):
        forms.append(("hex-decoded", bytes.fromhex(entry)))
    if BASE64.fullmatch(entry):
        padded = entry.rstrip("=") + "=" * (-len(entry.rstrip("=")) % 4)
        for name, alphabet in (("base64-decoded", b"+/"), ("base64url-decoded", b"-_")):
            try:
                forms.append((name, base64.b64decode(padded, altchars=alphabet, validate=True)))
            except (binascii.Error, ValueError):
                continue
    return forms


def signing_alg(token: str) -> str | None:
    """The `alg` of a JWT in JWS compact form; None for an opaque token (or a JWE)."""
    parsed = parse_jws(token)
    return None if parsed is None else str(parsed[0].get("alg"))


def find_weak_secret(token: str) -> Candidate | None:
    """The weak key that verifies `token`, an HMAC-signed JWT; None for any other token, or
    when none of the list does."""
    alg = signing_alg(token)
    digest = HMAC_ALGS.get(alg.upper()) if alg else None
    if digest is None:
        return None
    signing_input, _, signature_part = token.rpartition(".")
    try:
        signature = base64.urlsafe_b64decode(signature_part + "=" * (-len(signature_part) % 4))
    except (binascii.Error, ValueError):
        return None
    message = signing_input.encode("ascii")
    return next((candidate for candidate in candidates()
                 if hmac.compare_digest(hmac.new(candidate.key, message, digest).digest(),
                                        signature)), None)


def forge(token: str, candidate: Candidate, *, jti: str, now: int) -> str:
    """`token` re-signed with `candidate` after a new `jti` and fresh times: the same header
    (alg, kid, typ as issued) and the same other claims (`sub` first of all), `iat`, `nbf` and
    `exp` moved by the time since `iat` (left as issued without `iat`)."""
    alg = signing_alg(token)
    parsed = parse_jws(token)
    if alg is None or parsed is None or alg.upper() not in HMAC_ALGS:
        raise ValueError("not an HMAC-signed JWT")
    claims: dict[str, Any] = dict(parsed[1])
    issued = claims.get("iat")
    shift = now - int(issued) if isinstance(issued, (int, float)) and _number(issued) else 0
    for name in ("iat", "nbf", "exp"):
        if _number(claims.get(name)):
            claims[name] = int(claims[name]) + shift
    claims["jti"] = jti
    header_part = token.split(".", 1)[0]
    payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    signing_input = f"{header_part}.{_b64url(payload)}"
    signature = hmac.new(candidate.key, signing_input.encode("ascii"),
                         HMAC_ALGS[alg.upper()]).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
