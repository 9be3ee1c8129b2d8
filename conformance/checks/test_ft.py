"""FT: field types and formats, judged on every response the suite has seen (run.samples):
the sample (the login response, a refresh response and GetMe), then every other OK response of
the run's ordinary checks. The rules are conformance.rules.fields'."""

from __future__ import annotations

import pytest

from conformance.rules import fields
from conformance.run.samples import ensure_every_response
from conformance.run.target import TargetSession

pytestmark = pytest.mark.fields  # after the ordinary checks: every response of the run is judged


@pytest.mark.requirement("FT-01")
def test_ft01_user_uuid_is_a_uuid(target: TargetSession) -> None:
    """FT-01: `user.uuid` is a UUID in its 8-4-4-4-12 hexadecimal text form (RFC 9562 §4)."""
    ensure_every_response(target, fields.ft01_uuid_is_uuid, "user.uuid is not a UUID",
                          "user.uuid like 0b4c2e5a-7f3d-4e8b-9a61-2c0d5e7f8a9b")


@pytest.mark.requirement("FT-02")
def test_ft02_user_uuid_is_lower_case(target: TargetSession) -> None:
    """FT-02: `user.uuid` is lower case (RFC 9562 §4: hex digits are output as lower case)."""
    ensure_every_response(target, fields.ft02_uuid_is_lower_case, "user.uuid is not lower case",
                          "user.uuid in lower-case hexadecimal")


@pytest.mark.requirement("FT-03")
def test_ft03_user_email_is_a_valid_address(target: TargetSession) -> None:
    """FT-03: `user.email`, when not empty, is a syntactically valid address, with no
    deliverability check (RFC 5322 §3.4.1 addr-spec; RFC 6531)."""
    ensure_every_response(target, fields.ft03_email_is_valid, "user.email is not an address",
                          "an empty user.email or an RFC 5322 addr-spec")


@pytest.mark.requirement("FT-04")
def test_ft04_user_role_is_defined(target: TargetSession) -> None:
    """FT-04: `user.role` is a value defined by `Role`: 0, 1 or 2 (api.md, Messages)."""
    ensure_every_response(target, fields.ft04_role_is_defined, "user.role is not a Role",
                          "user.role 0, 1 or 2")


@pytest.mark.requirement("FT-05")
def test_ft05_user_role_is_not_unspecified(target: TargetSession) -> None:
    """FT-05: `user.role` is not `ROLE_UNSPECIFIED` for an authenticated user (api.md, Messages)."""
    ensure_every_response(target, fields.ft05_role_is_specified, "user.role is ROLE_UNSPECIFIED",
                          "user.role ROLE_USER or ROLE_ADMIN")


@pytest.mark.requirement("FT-06")
def test_ft06_user_phone_is_international(target: TargetSession) -> None:
    """FT-06: `user.phone`, when not empty, is an international number: `+`, country code, a
    possible length, spaces between groups allowed (ITU-T E.164, E.123)."""
    ensure_every_response(target, fields.ft06_phone_is_international,
                          "user.phone is not an international number",
                          "an empty user.phone or one like '+44 20 7946 0958'")


@pytest.mark.requirement("FT-07")
def test_ft07_user_avatar_is_an_absolute_uri(target: TargetSession) -> None:
    """FT-07: `user.avatar`, when not empty, is an absolute URI (RFC 3986 §4.3)."""
    ensure_every_response(target, fields.ft07_avatar_is_absolute_uri,
                          "user.avatar is not an absolute URI",
                          "an empty user.avatar or an absolute URI (scheme ':' hier-part)")


@pytest.mark.requirement("FT-08")
def test_ft08_user_avatar_uses_https(target: TargetSession) -> None:
    """FT-08: `user.avatar`, when not empty, uses `https` (or `data`) (RFC 9700 §4, transport
    security)."""
    ensure_every_response(target, fields.ft08_avatar_uses_https,
                          "user.avatar is not an https URI",
                          "user.avatar with scheme https or data")


@pytest.mark.requirement("FT-09")
def test_ft09_user_dids_are_dids(target: TargetSession) -> None:
    """FT-09: each entry of `user.dids` is a DID per the DID syntax ABNF, not a DID URL
    (W3C DID Core 1.0 §3.1)."""
    ensure_every_response(target, fields.ft09_dids_are_dids, "user.dids holds a non-DID",
                          "every user.dids entry a DID: 'did:' method-name ':' method-specific-id")


@pytest.mark.requirement("FT-10")
def test_ft10_user_dids_have_no_duplicates(target: TargetSession) -> None:
    """FT-10: `user.dids` has no duplicate entries (W3C DID Core 1.0 §3.1)."""
    ensure_every_response(target, fields.ft10_dids_are_unique, "user.dids holds duplicates",
                          "each DID once in user.dids")


@pytest.mark.requirement("FT-11")
def test_ft11_multibase_method_specific_ids_are_base58btc(target: TargetSession) -> None:
    """FT-11: a method-specific-id that starts with `z` (multibase base58btc) has only
    base58btc characters after the `z` (Multibase, base58btc)."""
    ensure_every_response(target, fields.ft11_multibase_ids_are_base58btc,
                          "A 'z' method-specific-id is not base58btc",
                          "after 'z' only 1-9, A-H, J-N, P-Z, a-k, m-z")


@pytest.mark.requirement("FT-12")
def test_ft12_user_strings_hold_no_control_characters(target: TargetSession) -> None:
    """FT-12: string fields of `user` hold no control characters U+0000-U+001F, U+007F
    (api.md, Messages)."""
    ensure_every_response(target, fields.ft12_no_control_characters,
                          "A user string holds a control character",
                          "user strings without U+0000-U+001F and U+007F")


@pytest.mark.requirement("FT-13")
def test_ft13_access_token_is_a_b64token(target: TargetSession) -> None:
    """FT-13: `auth_token.token` is not empty and matches the Bearer credential syntax b64token
    (RFC 6750 §2.1; RFC 6749 App. A.12)."""
    ensure_every_response(target, fields.ft13_access_token_is_b64token,
                          "Access token is not a b64token",
                          "auth_token.token = 1*( ALPHA / DIGIT / '-._~+/' ) *'='")


@pytest.mark.requirement("FT-14")
def test_ft14_token_type_is_bearer(target: TargetSession) -> None:
    """FT-14: `auth_token.token_type` is `Bearer`, compared case-insensitively (RFC 6749 §5.1,
    §7.1; RFC 6750 §4)."""
    ensure_every_response(target, fields.ft14_token_type_is_bearer, "token_type is not Bearer",
                          "auth_token.token_type 'Bearer' (any case)")


@pytest.mark.requirement("FT-15")
def test_ft15_expires_in_is_seconds_within_a_year(target: TargetSession) -> None:
    """FT-15: `auth_token.expires_in` is not negative and at most 31536000; a larger value
    suggests milliseconds (RFC 6749 §5.1)."""
    ensure_every_response(target, fields.ft15_expires_in_is_in_range,
                          "expires_in is out of range",
                          f"0 <= auth_token.expires_in <= {fields.MAX_EXPIRES_IN} (seconds)")


@pytest.mark.requirement("FT-16")
def test_ft16_expires_in_is_present(target: TargetSession) -> None:
    """FT-16: `auth_token.expires_in` is present, i.e. greater than 0, as proto3 cannot tell 0
    from absent (RFC 6749 §5.1, RECOMMENDED)."""
    ensure_every_response(target, fields.ft16_expires_in_is_present, "expires_in is absent",
                          "auth_token.expires_in > 0")


@pytest.mark.requirement("FT-17")
def test_ft17_access_token_is_short_lived(target: TargetSession) -> None:
    """FT-17: `auth_token.expires_in` is at most 86400: access tokens are short-lived
    (RFC 6819 §5.1.5.3)."""
    ensure_every_response(target, fields.ft17_access_token_is_short_lived,
                          "Access token is not short-lived",
                          f"auth_token.expires_in <= {fields.SHORT_LIVED_EXPIRES_IN}")


@pytest.mark.requirement("FT-18")
def test_ft18_refresh_token_is_vschar(target: TargetSession) -> None:
    """FT-18: `auth_token.refresh_token`, when not empty, matches 1*VSCHAR (RFC 6749
    App. A.17)."""
    ensure_every_response(target, fields.ft18_refresh_token_is_vschar,
                          "Refresh token is not 1*VSCHAR",
                          "an empty auth_token.refresh_token or 1*VSCHAR (%x20-7E)")


@pytest.mark.requirement("FT-19")
def test_ft19_refresh_token_differs_from_access_token(target: TargetSession) -> None:
    """FT-19: `auth_token.refresh_token` differs from `auth_token.token` (RFC 6749 §1.5)."""
    ensure_every_response(target, fields.ft19_refresh_token_differs_from_access_token,
                          "Refresh token equals the access token",
                          "auth_token.refresh_token and auth_token.token distinct")
