"""Faults and flavours that change the fields of outgoing User and AuthToken messages (FT, CT-03).

One table per message: switch name -> rewrite. The servicer builds correct messages and passes
each through `rewrite_user` / `rewrite_auth_token`; issued token strings go through
`issued_refresh_token` / `issued_access_token` before the store records them, so a token the
reference server hands out (odd or not) is the one it accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from conformance.model.contract import pb

__all__ = ["issued_access_token", "issued_refresh_token", "rewrite_auth_token", "rewrite_user"]

# Field 5 of User is the contract's gap (api.md); field 99 of AuthToken is not in it either.
# Both are LEN (wire type 2) strings: tag varint, length, bytes.
UNKNOWN_USER_FIELD = bytes([5 << 3 | 2, 6]) + b"legacy"
UNKNOWN_AUTH_TOKEN_FIELD = bytes([0x9A, 0x06, 2]) + b"v2"   # tag 99 << 3 | 2 = 794, a varint

# did:key, did:web with a port and a path, did:ion long form, did:pkh (CAIP-10 account).
SEVERAL_DID_METHODS = (
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:web:example.com%3A8443:users:qa",
    "did:ion:EiDyOQbbZAa3aiRzeCkV7LOx3SERjjH93EXoIM3UoN4oWg:eyJkZWx0YSI6eyJwYXRjaGVzIjpbXSwid"
    "XBkYXRlQ29tbWl0bWVudCI6IkVpQ2ZEV1JuWWxjRDl2R21wZUhfYXJ0M0Z3ZkdiV0l2d2pDYjN6bUpuQ0FqVEEifX0",
    "did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a",
)


def _replace_dids(user: pb.User, dids: list[str]) -> None:
    del user.dids[:]
    user.dids.extend(dids)


def _without_optional_fields(user: pb.User) -> None:
    # Keep what identifies the user (uuid) and the role FT-05 asks for; clear the rest.
    for name in ("first_name", "last_name", "email", "avatar", "phone", "dids", "external_ids",
                 "metadata", "account"):
        user.ClearField(name)


def _uuid_upper_case(user: pb.User) -> None:
    user.uuid = user.uuid.upper()


USER_REWRITES: dict[str, Callable[[pb.User], None]] = {
    # faults
    "user-uuid-not-uuid": lambda u: setattr(u, "uuid", u.uuid.replace("-", "")),
    "user-email-malformed": lambda u: setattr(u, "email", f"Quinn Ashby <{u.email}>"),
    "user-role-undefined": lambda u: setattr(u, "role", 7),
    "user-avatar-relative": lambda u: setattr(u, "avatar", "/avatars/qa.png"),
    "user-did-url": lambda u: _replace_dids(u, [f"{u.dids[0]}#key-1", *u.dids[1:]]),
    "user-dids-duplicated": lambda u: u.dids.append(u.dids[0]),
    "user-name-control-character": lambda u: setattr(u, "first_name", f"{u.first_name}\x1b[1m"),
    "response-unknown-fields": lambda u: u.MergeFromString(UNKNOWN_USER_FIELD),
    "user-uuid-upper-case": _uuid_upper_case,
    "user-role-unspecified": lambda u: u.ClearField("role"),
    "user-phone-national-format": lambda u: setattr(u, "phone", "020 7946 0958"),
    "user-avatar-http": lambda u: setattr(u, "avatar", "http://avatars.example.com/qa.png"),
    "user-did-not-base58": lambda u: _replace_dids(u, [u.dids[0][:-1] + "0", *u.dids[1:]]),
    # flavours
    "upper-case-uuid": _uuid_upper_case,
    "user-without-optional-fields": _without_optional_fields,
    "dids-of-several-methods": lambda u: _replace_dids(u, list(SEVERAL_DID_METHODS)),
    "email-special-use-domain": lambda u: setattr(u, "email", "qa@corp.local"),
}

AUTH_TOKEN_REWRITES: dict[str, Callable[[pb.AuthToken], None]] = {
    # faults
    "token-type-not-bearer": lambda t: setattr(t, "token_type", "mac"),
    "expires-in-negative": lambda t: setattr(t, "expires_in", -t.expires_in),
    # A one-day lifetime in milliseconds: FT-15's bound can only tell milliseconds from seconds
    # above a year's worth of seconds, i.e. lifetimes over 8.76 h.
    "expires-in-milliseconds": lambda t: setattr(t, "expires_in", 86_400 * 1000),
    "response-unknown-fields": lambda t: t.MergeFromString(UNKNOWN_AUTH_TOKEN_FIELD),
    "expires-in-zero": lambda t: setattr(t, "expires_in", 0),
    # The token's expiry instant (a JWT's exp) where its lifetime belongs.
    "expires-in-absolute": lambda t: setattr(t, "expires_in", int(time.time()) + t.expires_in),
    "expires-in-seven-days": lambda t: setattr(t, "expires_in", 7 * 86400),
    # flavours
    "token-type-lower-case": lambda t: setattr(t, "token_type", "bearer"),
}


def rewrite_user(user: pb.User, switches: frozenset[str]) -> pb.User:
    for name, rewrite in USER_REWRITES.items():
        if name in switches:
            rewrite(user)
    return user


def rewrite_auth_token(auth_token: pb.AuthToken, switches: frozenset[str]) -> pb.AuthToken:
    for name, rewrite in AUTH_TOKEN_REWRITES.items():
        if name in switches:
            rewrite(auth_token)
    return auth_token


def issued_refresh_token(token: str, switches: frozenset[str]) -> str:
    if "refresh-tokens-with-tilde-and-dot" in switches:   # flavour: other VSCHARs (A.17)
        token = f"rt.{token[:20]}~{token[20:]}"
    if "refresh-token-not-vschar" in switches:            # fault: a non-ASCII character
        token = f"{token}\u00e9"
    return token


def issued_access_token(token: str, refresh_token: str, switches: frozenset[str]) -> str:
    if "access-token-not-b64token" in switches:           # fault: a space inside
        token = f"{token[:16]} {token[16:]}"
    if "refresh-token-equals-access-token" in switches:   # fault: one string for both
        token = refresh_token
    return token
