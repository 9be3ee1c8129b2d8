"""RT-05's unknown token: well-formed in the target's own form, never one it issued."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conformance.rules.lookalike import lookalike

KEY = secrets.token_bytes(32)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _b64url_32_bytes(token: str) -> bool:
    return len(token) == 43 and base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(token + "=")).rstrip(b"=").decode() == token  # canonical


def _verifies(key: object, algorithm: str) -> Callable[[str], bool]:
    def check(token: str) -> bool:
        try:
            jwt.decode(token, key, algorithms=[algorithm])  # type: ignore[arg-type]
        except jwt.InvalidSignatureError:
            return False
        return True
    return check


# How the target issues a token, and whether a string has that form.
SHAPES: dict[str, tuple[Callable[[], str], Callable[[str], bool]]] = {
    "64 hex digits": (lambda: secrets.token_hex(32), re.compile("[0-9a-f]{64}").fullmatch),
    "UUID": (lambda: str(uuid.uuid4()), re.compile(
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch),
    "base64url of 32 bytes": (lambda: secrets.token_urlsafe(32), _b64url_32_bytes),
    "prefixed hex": (lambda: "ghp_" + secrets.token_hex(18),
                     re.compile("ghp_[0-9a-f]{36}").fullmatch),
    "upper-case base32": (lambda: base64.b32encode(secrets.token_bytes(20)).decode(),
                          re.compile("[A-Z2-7]{32}").fullmatch),
    "HS256 JWT": (lambda: jwt.encode({"jti": secrets.token_urlsafe(16)}, KEY, algorithm="HS256"),
                  lambda token: jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}),
    "ES256 JWT": (lambda: jwt.encode({"sub": "u"}, EC_KEY, algorithm="ES256"),
                  lambda token: jwt.get_unverified_header(token)["alg"] == "ES256"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_lookalike_keeps_the_form_of_the_token(shape: str) -> None:
    issue, well_formed = SHAPES[shape]
    for _ in range(50):
        token = issue()
        unknown = lookalike(token)
        assert unknown != token and len(unknown) == len(token)
        assert well_formed(unknown), (token, unknown)


@pytest.mark.parametrize("algorithm", ["HS256", "ES256"])
def test_a_jwt_lookalike_keeps_the_claims_under_a_signature_the_issuer_never_made(
        algorithm: str) -> None:
    key: object = KEY if algorithm == "HS256" else EC_KEY
    token = jwt.encode({"sub": "u", "jti": "j"}, key, algorithm=algorithm)  # type: ignore[arg-type]
    unknown = lookalike(token)
    assert unknown.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    assert _verifies(public, algorithm)(token) and not _verifies(public, algorithm)(unknown)


@pytest.mark.parametrize("token", ["aaaa1111", "AB", "x", "----", ""])
def test_a_lookalike_of_an_odd_token_still_differs(token: str) -> None:
    assert lookalike(token) != token
