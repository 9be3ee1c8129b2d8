"""What the suite can tell of a token from outside: its JWT parts, and the entropy of a sample."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Estimate", "estimate_entropy", "parse_jws"]


def parse_jws(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a JWT in JWS compact form, unverified; None for anything else."""
    if token.count(".") != 2:
        return None
    import jwt  # lazily: PyJWT imports cryptography, and opaque tokens never need it

    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return (header, claims) if isinstance(claims, dict) else None


@dataclass(frozen=True)
class Estimate:
    bits: float
    varying: int       # character positions that vary across the sample
    alphabet: int      # distinct characters seen at those positions
    constant: int      # characters the sample shares (common prefix, suffix, fixed positions)
    sample: int
    claims: bool       # JWTs: `varying`, `alphabet` and `constant` are those of their claims
    signature_bits: float = 0.0  # JWTs: the part of `bits` their signatures carry

    def describe(self) -> str:
        if self.claims:
            return (f"about {self.bits:.0f} bits: {self.bits - self.signature_bits:.0f} in the "
                    f"JWT claims ({self.varying} varying characters from an alphabet of "
                    f"{self.alphabet}; {self.constant} constant characters ignored) and "
                    f"{self.signature_bits:.0f} in the signatures, in a sample of {self.sample}")
        return (f"about {self.bits:.0f} bits: {self.varying} varying characters of the tokens "
                f"from an alphabet of {self.alphabet} in a sample of {self.sample} "
                f"({self.constant} constant characters ignored)")


def estimate_entropy(tokens: Sequence[str]) -> Estimate:
    """An estimate, from outside, of the entropy in what varies across a sample of tokens.

    1. JWTs count their claims (canonical JSON) and their signatures, each estimated on its own;
       the header is constant. `iat`/`exp` differ only in their last digits within a run, so a
       random `jti` or the signature is what carries entropy. RFC 6749 §10.10 bounds the chance
       of guessing a valid token, and a signed one cannot be guessed without the key: having no
       key, the suite credits a signature as it credits an opaque token, by what varies. An
       unsigned JWT (`alg: none`, no signature) counts its claims alone.
    2. The common prefix and suffix are stripped, and what remains is aligned by position
       (left; unequal lengths count only up to the shortest). Positions where every token
       agrees are constant padding and count nothing.
    3. Each varying position is credited log2(A) bits, A being the alphabet observed over all
       varying positions, scaled by log2(d) / log2(E[d]), where d is the number of distinct
       characters seen at that position and E[d] = A(1 - (1 - 1/A)^n) what a uniform draw from A
       would show in n tokens (capped at 1): a position that varies less than random characters
       would (a timestamp's tens of seconds, a UUID's variant nibble) is credited less.

    Constants, counters, timestamps and short random parts behind padding therefore score low
    (64 random hex digits score 64 bits; a counter a handful); 256-bit base64url tokens score
    about 250, and HS256 JWTs about 250 for their signatures plus what a `jti` adds. It cannot
    see structure a function hides (a hashed counter looks random): it is a floor for the
    obvious, not a proof."""
    parsed = [parse_jws(token) for token in tokens]
    if not tokens or not all(parsed):
        return _estimate(list(tokens), len(tokens), claims=False)
    claims = _estimate([json.dumps(jws[1], sort_keys=True, separators=(",", ":"))
                        for jws in parsed if jws], len(tokens), claims=True)
    signatures = _estimate([token.rsplit(".", 1)[1] for token in tokens], len(tokens),
                           claims=False)
    return replace(claims, bits=claims.bits + signatures.bits,
                               signature_bits=signatures.bits)


def _estimate(texts: list[str], sample: int, *, claims: bool) -> Estimate:
    # os.path.commonprefix compares character by character, as wanted here: these are tokens.
    prefix = len(os.path.commonprefix(texts))  # noqa: RUF071
    rests = [text[prefix:] for text in texts]
    suffix = len(os.path.commonprefix([rest[::-1] for rest in rests]))  # noqa: RUF071
    middles = [rest[:len(rest) - suffix] for rest in rests]
    width = min((len(middle) for middle in middles), default=0)
    columns = [{middle[i] for middle in middles} for i in range(width)]
    varying = [column for column in columns if len(column) > 1]
    alphabet: set[str] = set().union(*varying)
    constant = round(sum(map(len, texts)) / max(len(texts), 1)) - len(varying)
    bits = 0.0
    if varying:
        size, n = len(alphabet), len(texts)
        expected_distinct = size * (1 - (1 - 1 / size) ** n)
        bits = sum(math.log2(size) * min(1.0, math.log2(len(column)) / math.log2(expected_distinct))
                   for column in varying)
    return Estimate(bits, len(varying), len(alphabet), constant, sample, claims)
