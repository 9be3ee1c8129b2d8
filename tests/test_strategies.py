"""The fuzz strategies: every family comes early, no surrogate ever, near-misses are near."""

from __future__ import annotations

import base64
import json
import secrets

import jwt
import pytest
from hypothesis import HealthCheck, given, seed, settings

from conformance.rules.strategies import (
    FAMILIES,
    Tagged,
    family_examples,
    near_misses,
    padded_variants,
    tagged_tokens,
)

LIVE = "Zk3_a9-QpL0xYw2Vb7Nc4Md1Re8Sf5Tg6Uh0Ij9Kl2Mn"   # the shape of token_urlsafe(32)
MAX_LENGTH = 8 * 1024
# Generated families alone, without the plain examples the check runs first, for a fixed seed.
EARLY = 150


def _draw(count: int, seed_value: int, live: str | None = LIVE) -> list[Tagged]:
    drawn: list[Tagged] = []

    @seed(seed_value)
    @settings(max_examples=count, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(tagged_tokens(live, MAX_LENGTH))
    def collect(tagged: Tagged) -> None:
        drawn.append(tagged)

    collect()
    return drawn


@pytest.mark.parametrize("seed_value", [0, 1, 2])
def test_every_family_is_generated_early(seed_value: int) -> None:
    seen = {family for family, _ in _draw(EARLY, seed_value)}
    assert seen == set(FAMILIES)


def test_the_plain_examples_cover_every_family_before_anything_is_generated() -> None:
    assert {family for family, _ in family_examples(LIVE, MAX_LENGTH)} == set(FAMILIES)
    assert {family for family, _ in family_examples(None, MAX_LENGTH)} == \
        set(FAMILIES) - {"lookalike"}


def test_no_token_has_a_surrogate_and_each_fits_its_family() -> None:
    examples = _draw(400, 7) + family_examples(LIVE, MAX_LENGTH)
    for family, token in examples:
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in token), (family, ascii(token))
        token.encode("utf-8")  # strict: a surrogate would raise
        assert token != LIVE
        assert len(token) <= MAX_LENGTH
        if family == "blank":
            assert not token.strip()
        elif family == "non-ascii":
            assert not token.isascii()
        elif family == "long":
            assert len(token) > 1024
        elif family == "lookalike":
            assert len(token) == len(LIVE)
        elif family == "jwt-alg-none":
            header = token.split(".")[0]
            assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
                              )["alg"].lower() == "none"


def test_without_a_live_token_there_is_no_lookalike_family() -> None:
    assert "lookalike" not in {family for family, _ in _draw(100, 3, live=None)}


def test_near_misses_differ_from_the_token_and_are_all_distinct() -> None:
    variants = near_misses(LIVE)
    tokens = [token for _, token in variants]
    assert LIVE not in tokens and len(set(tokens)) == len(tokens)
    described = " | ".join(description for description, _ in variants)
    for needed in ("truncated", "extended", "changed near the start", "changed near the middle",
                   "changed near the end", "case swapped"):
        assert needed in described
    assert "JWT" not in described  # not a JWT


def test_a_changed_character_keeps_the_token_shape() -> None:
    for description, token in near_misses(LIVE):
        if "changed" in description:
            assert len(token) == len(LIVE)
            assert sum(a != b for a, b in zip(token, LIVE, strict=True)) == 1
            # half the class away: the high bits of a base64 digit change too
            changed = next(i for i, (a, b) in enumerate(zip(token, LIVE, strict=True)) if a != b)
            assert abs(ord(token[changed]) - ord(LIVE[changed])) >= 4


@pytest.mark.parametrize("size", [16, 31, 32, 33, 64, 65])  # every count of padding bits
def test_a_changed_character_changes_the_decoded_bytes(size: int) -> None:
    """Not only base64 padding bits, which a lenient decoder ignores (an ES256 signature is 64
    bytes: its last character carries 2 of them)."""
    for _ in range(20):
        random = secrets.token_urlsafe(size)
        for live in (random, random[:-3] + "-_A"):  # and when the last but one is no digit
            for description, token in near_misses(live):
                if "changed" in description:
                    assert _lenient_b64url(token) != _lenient_b64url(live), (description, live)


def _lenient_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_jwt_near_misses_strip_the_signature_and_re_encode_alg_none() -> None:
    live = jwt.encode({"jti": "abc", "iat": 1}, "k" * 32, algorithm="HS256")
    variants = dict(near_misses(live))
    stripped = variants["with its JWT signature stripped"]
    assert stripped.endswith(".") and stripped.count(".") == 2
    unsigned = variants["re-encoded as an unsigned JWT (alg: none)"]
    assert jwt.get_unverified_header(unsigned)["alg"] == "none"
    assert jwt.decode(unsigned, options={"verify_signature": False}) == {"jti": "abc", "iat": 1}


def test_padded_variants_have_white_space_or_percent_encoding() -> None:
    variants = dict(padded_variants(LIVE))
    assert variants["with a leading space"] == " " + LIVE
    assert variants["percent-encoded (every byte)"].startswith("%5A%6B")
    # token_urlsafe has no reserved character: the partial encoding is no variant at all
    assert "percent-encoded (reserved characters)" not in variants
    assert "percent-encoded (reserved characters)" in dict(padded_variants("a+b/c="))
