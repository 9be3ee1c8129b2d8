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
    crashes: bool = False    # the fault works by raising in the servicer (else that is a bug)


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
    Fault("refresh-unimplemented", _ids("CT-01", "RT-01", "RT-05"),
          "RefreshAccessToken answers UNIMPLEMENTED, as if not served at its full path."),
    Fault("refresh-omits-user", _ids("CT-02"),
          "An OK refresh response has no `user`."),
    Fault("refresh-empty-access-token", _ids("RT-01"),
          "An OK refresh response carries an empty access token."),
    Fault("refreshed-access-token-unusable", _ids("RT-04"),
          "GetMe rejects access tokens minted by RefreshAccessToken."),
    Fault("unknown-refresh-token-permission-denied", _ids("RT-05"),
          "An unknown refresh token gets PERMISSION_DENIED instead of UNAUTHENTICATED."),
    Fault("get-me-without-authorization-ok", _ids("RT-09"),
          "GetMe without authorization metadata answers OK with the test user."),
)

FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("jwt-access-tokens", "Access tokens are HS256 JWTs with iat, exp, sub and jti."),
        Flavor("invalid-argument-for-malformed",
               "Refresh tokens that are not 1*VSCHAR get INVALID_ARGUMENT."),
    )
}
