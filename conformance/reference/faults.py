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
    Fault("refresh-unimplemented", _ids("CT-01", "RT-01", "RT-05", "FZ-01", "FZ-02", "FZ-03",
                                        "FZ-05", "FZ-06"),
          "RefreshAccessToken answers UNIMPLEMENTED, as if not served at its full path."),
    Fault("refresh-omits-user", _ids("CT-02"),
          "An OK refresh response has no `user`."),
    Fault("refresh-empty-access-token", _ids("RT-01"),
          "An OK refresh response carries an empty access token."),
    Fault("refreshed-access-token-unusable", _ids("RT-04"),
          "GetMe rejects access tokens minted by RefreshAccessToken."),
    Fault("unknown-refresh-token-permission-denied", _ids("RT-05", "FZ-01", "FZ-02", "FZ-03"),
          "An unknown refresh token gets PERMISSION_DENIED instead of UNAUTHENTICATED."),
    Fault("get-me-without-authorization-ok", _ids("RT-09"),
          "GetMe without authorization metadata answers OK with the test user."),
    # FZ: robustness under malformed input
    Fault("non-ascii-refresh-token-crashes", _ids("FZ-01", "FZ-04"),
          "A non-ASCII refresh token raises an unhandled exception: gRPC answers UNKNOWN with "
          "'Exception calling application: ...'."),
    Fault("refresh-token-prefix-match", _ids("FZ-02"),
          "A prefix (8+ characters) of an issued refresh token is accepted as the token."),
    Fault("refresh-token-case-insensitive", _ids("FZ-02"),
          "Refresh tokens are matched case-insensitively."),
    Fault("refresh-jwt-signature-not-verified", _ids("FZ-02"),
          "Refresh tokens are JWTs looked up by their jti claim without verifying the "
          "signature: a stripped or alg-none re-encoded token is accepted."),
    Fault("unknown-shaped-refresh-token-ok", _ids("FZ-01", "FZ-02", "RT-05"),
          "An unknown refresh token of the server's own shape answers OK (a new family for the "
          "last user who logged in)."),
    Fault("error-echoes-refresh-token", _ids("FZ-04"),
          "The message of a failed refresh quotes the presented token."),
    Fault("error-leaks-traceback", _ids("FZ-04"),
          "The message of a failed refresh carries a Python traceback (on one line)."),
    Fault("nul-byte-poisons-server", _ids("FZ-05"),
          "After a refresh token with a NUL byte, every refresh token is rejected as unknown."),
    Fault("huge-refresh-token-stalls", _ids("FZ-06"),
          "A refresh token of 512 KiB or more is answered only after the client's deadline."),
    Fault("refresh-token-whitespace-trimmed", _ids("FZ-03"),
          "Leading and trailing white space is trimmed from the presented refresh token."),
    Fault("error-message-not-printable-ascii", _ids("FZ-08"),
          "The message of a failed refresh has a CR LF and non-ASCII text."),
    Fault("refresh-accepts-wire-garbage", _ids("FZ-07"),
          "Undecodable RefreshAccessToken request bytes get OK with an empty response."),
)

FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("jwt-access-tokens", "Access tokens are HS256 JWTs with iat, exp, sub and jti."),
        Flavor("invalid-argument-for-malformed",
               "Refresh tokens that are not 1*VSCHAR get INVALID_ARGUMENT."),
        Flavor("jwt-refresh-tokens", "Refresh tokens are HS256 JWTs (jti, iat), stored hashed."),
        Flavor("small-message-limit",
               "Requests above 64 KiB get RESOURCE_EXHAUSTED from the gRPC library."),
    )
}
