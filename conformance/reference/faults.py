"""Named faults (each breaks one rule, and declares the requirements it must trip) and
flavours (correct but different behaviour that must stay conformant)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAULTS", "FLAVORS", "Fault", "Flavor"]


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: frozenset[str]   # exactly the requirement IDs the suite must report fail/warn
    summary: str


@dataclass(frozen=True)
class Flavor:
    name: str
    summary: str
    warns: frozenset[str] = frozenset()  # SHOULD requirements this flavour may legitimately miss


def _faults(*faults: Fault) -> dict[str, Fault]:
    return {fault.name: fault for fault in faults}


def _ids(*ids: str) -> frozenset[str]:
    return frozenset(ids)


FAULTS: dict[str, Fault] = _faults(
    Fault("refresh-unimplemented", _ids("CT-01", "CT-05", "RT-01", "RT-05"),
          "RefreshAccessToken answers UNIMPLEMENTED, as if not served at its full path."),
    Fault("refresh-omits-user", _ids("CT-02", "CT-04"),
          "An OK refresh response has no `user`."),
    Fault("refresh-empty-access-token", _ids("CT-04", "FT-13", "RT-01"),
          "An OK refresh response carries an empty access token."),
    Fault("refreshed-access-token-unusable", _ids("RT-04"),
          "GetMe rejects access tokens minted by RefreshAccessToken."),
    Fault("unknown-refresh-token-permission-denied", _ids("RT-05"),
          "An unknown refresh token gets PERMISSION_DENIED instead of UNAUTHENTICATED."),
    Fault("get-me-without-authorization-ok", _ids("RT-09"),
          "GetMe without authorization metadata answers OK with the test user."),
    # CT and FT: contract and fields. User/AuthToken rewrites live in reference/mutations.py.
    # The schema (CT-04) restates every FT MUST, so each FT MUST fault also trips CT-04.
    Fault("response-unknown-fields", _ids("CT-03"),
          "User carries field 5 and AuthToken field 99, both unknown to the contract."),
    Fault("request-unknown-field-rejected", _ids("CT-05"),
          "A refresh request carrying an unknown field gets INVALID_ARGUMENT."),
    Fault("user-uuid-not-uuid", _ids("CT-04", "FT-01"),
          "user.uuid is 32 hex digits without hyphens."),
    Fault("user-uuid-upper-case", _ids("FT-02"), "user.uuid is in upper case."),
    Fault("user-email-malformed", _ids("CT-04", "FT-03"),
          "user.email carries a display name: `Quinn Ashby <qa@example.com>`."),
    Fault("user-role-undefined", _ids("CT-04", "FT-04"), "user.role is 7, not a Role value."),
    Fault("user-role-unspecified", _ids("FT-05"), "user.role is ROLE_UNSPECIFIED."),
    Fault("user-phone-national-format", _ids("FT-06"),
          "user.phone is in national format (020 7946 0958)."),
    Fault("user-avatar-relative", _ids("CT-04", "FT-07"), "user.avatar is a relative reference."),
    Fault("user-avatar-http", _ids("FT-08"), "user.avatar is an http URI."),
    Fault("user-did-url", _ids("CT-04", "FT-09"),
          "user.dids holds a DID URL (with a #fragment), not a DID."),
    Fault("user-dids-duplicated", _ids("CT-04", "FT-10"), "user.dids lists one DID twice."),
    Fault("user-did-not-base58", _ids("FT-11"),
          "A did:key method-specific-id `z...` ends in 0, outside base58btc."),
    Fault("user-name-control-character", _ids("CT-04", "FT-12"),
          "user.first_name ends in an ANSI escape sequence (ESC, U+001B)."),
    Fault("access-token-not-b64token", _ids("CT-04", "FT-13", "RT-04"),
          "Access tokens hold a space; GetMe cannot take them as Bearer credentials either."),
    Fault("token-type-not-bearer", _ids("CT-04", "FT-14"), "auth_token.token_type is `mac`."),
    Fault("expires-in-negative", _ids("CT-04", "FT-15", "FT-16"),
          "auth_token.expires_in is negative (-900)."),
    Fault("expires-in-milliseconds", _ids("CT-04", "FT-15", "FT-17"),
          "auth_token.expires_in is a day in milliseconds (86400000)."),
    Fault("expires-in-zero", _ids("FT-16"), "auth_token.expires_in is 0 (absent)."),
    Fault("expires-in-seven-days", _ids("FT-17"), "auth_token.expires_in is 604800 (7 days)."),
    Fault("refresh-token-not-vschar", _ids("CT-04", "FT-18"),
          "Refresh tokens end in U+00E9, outside VSCHAR (the server accepts its own)."),
    Fault("refresh-token-equals-access-token", _ids("FT-19"),
          "The access token is the refresh token's string."),
)

FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("jwt-access-tokens", "Access tokens are HS256 JWTs with iat, exp, sub and jti."),
        Flavor("invalid-argument-for-malformed",
               "Refresh tokens that are not 1*VSCHAR get INVALID_ARGUMENT."),
        Flavor("upper-case-uuid", "user.uuid in upper case: a UUID, only not lower case.",
               warns=frozenset({"FT-02"})),
        Flavor("user-without-optional-fields",
               "The user has only uuid and role: every optional field empty."),
        Flavor("dids-of-several-methods",
               "user.dids: did:key, did:web with a port and a path, did:ion long form, did:pkh."),
        Flavor("refresh-tokens-with-tilde-and-dot",
               "Refresh tokens use `.` and `~` besides the base64url alphabet (still VSCHAR)."),
        Flavor("token-type-lower-case", "auth_token.token_type is `bearer`."),
        Flavor("email-special-use-domain", "user.email is qa@corp.local (RFC 6762 .local)."),
    )
}
