"""RT-23's matcher: HMAC-signed JWTs against the shipped list of well-known weak secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import warnings
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from conformance.rules.weak_secrets import (
    LIST_NAME,
    candidates,
    find_weak_secret,
    forge,
    signing_alg,
    weak_secrets,
)

CLAIMS = {"sub": "98631da6-be1b-41c1-a65a-f909822a1f8e", "iat": 1_700_000_000,
          "exp": 1_700_000_900, "jti": "issued-jti"}
SPRING_KEY = "404E635266556A586E3272357538782F413F4428472B4B6250645367566B5970"


def _hs(key: bytes | str, alg: str = "HS256", claims: dict[str, Any] | None = None) -> str:
    with warnings.catch_warnings():  # PyJWT warns of a short key: that is the point here
        warnings.simplefilter("ignore")
        return jwt.encode(claims or CLAIMS, key, algorithm=alg)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_list_ships_with_its_sources_and_no_duplicates() -> None:
    from importlib.resources import files
    text = files("conformance.rules").joinpath(LIST_NAME).read_text(encoding="utf-8")
    assert "wallarm/jwt-secrets" in text and "jwt.io" in text
    entries = weak_secrets()
    assert 50 <= len(entries) <= 400
    assert len(set(entries)) == len(entries)
    assert {"secret", "your-256-bit-secret", "shhhhh", "keyboard cat"} <= set(entries)
    assert all(entry == entry.strip() for entry in entries)


@pytest.mark.parametrize(("key", "alg", "entry", "form"), [
    ("secret", "HS256", "secret", "as text"),
    ("your-512-bit-secret", "HS512", "your-512-bit-secret", "as text"),
    ("keyboard cat", "HS384", "keyboard cat", "as text"),
    (base64.b64decode(SPRING_KEY), "HS384", SPRING_KEY, "base64-decoded"),
    (bytes.fromhex("09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"), "HS256",
     "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7", "hex-decoded"),
])
def test_a_jwt_signed_with_a_listed_secret_is_found_and_named(
        key: bytes | str, alg: str, entry: str, form: str) -> None:
    found = find_weak_secret(_hs(key, alg))
    assert found is not None
    assert (found.entry, found.form) == (entry, form)
    assert repr(entry) in found.describe()


def test_the_empty_key_and_a_lower_case_alg_are_tried() -> None:
    # PyJWT refuses an empty HMAC key; other libraries sign with one (an unset variable).
    header = _b64url(json.dumps({"alg": "hs256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64url(json.dumps(CLAIMS).encode())}"
    token = f"{signing_input}.{_b64url(hmac.digest(b'', signing_input.encode(), 'sha256'))}"
    found = find_weak_secret(token)
    assert found is not None and found.describe() == "the empty key"


def test_a_strong_key_is_not_found() -> None:
    for alg in ("HS256", "HS384", "HS512"):
        assert find_weak_secret(_hs(secrets.token_bytes(64), alg)) is None


def test_asymmetric_and_opaque_tokens_are_not_judged() -> None:
    es256 = jwt.encode(CLAIMS, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    rs256 = jwt.encode(CLAIMS, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                       algorithm="RS256")
    assert (signing_alg(es256), signing_alg(rs256)) == ("ES256", "RS256")
    assert find_weak_secret(es256) is None and find_weak_secret(rs256) is None
    opaque = secrets.token_urlsafe(32)
    assert signing_alg(opaque) is None and find_weak_secret(opaque) is None
    assert find_weak_secret("a.b.c") is None


def test_every_candidate_key_is_tried_once() -> None:
    keys = [candidate.key for candidate in candidates()]
    assert len(keys) == len(set(keys)) and b"" in keys and b"secret" in keys


def test_a_forged_token_keeps_header_and_sub_with_a_new_jti_and_fresh_times() -> None:
    issued = _hs("secret")
    found = find_weak_secret(issued)
    assert found is not None
    forged = forge(issued, found, jti="forged-jti", now=1_800_000_000)
    assert forged.split(".")[0] == issued.split(".")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        claims = jwt.decode(forged, "secret", algorithms=["HS256"],
                            options={"verify_exp": False, "verify_iat": False})
    assert claims == {**CLAIMS, "jti": "forged-jti", "iat": 1_800_000_000,
                      "exp": 1_800_000_900}
    assert find_weak_secret(forged) == found
    assert hashlib.sha256(forged.encode()).digest() != hashlib.sha256(issued.encode()).digest()


def test_rt23_fails_with_the_entry_named_and_no_token_in_clear(run_suite: Any) -> None:
    """Without the check the fault trips nothing; with it the failure names the secret, shows
    that the forgery was accepted, and keeps every token (the forged one too) redacted."""
    run = run_suite("--profile", "quick", "--only", "RT-23", "--reference-fault",
                    "jwt-access-tokens-weak-secret")
    assert run.outcomes()["RT-23"] == "fail", run.stdout[-2000:]
    [row] = [row for row in run.results["targets"][0]["requirements"] if row["id"] == "RT-23"]
    assert "'secret' (as text)" in row["message"] and "GetMe accepted" in row["message"]
    for report in run.report_dir.iterdir():
        assert "eyJ" not in report.read_text(errors="replace"), report.name
    assert "eyJ" not in run.stdout + run.stderr
