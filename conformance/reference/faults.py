"""Named faults (each breaks one rule, and declares the requirements it must trip) and
flavours (correct but different behaviour that must stay conformant)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAULTS", "FLAVORS", "Fault", "Flavor", "unknown_switches"]


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: frozenset[str]   # exactly the requirement IDs the suite must report fail/warn
    summary: str
    crashes: bool = False    # the fault works by raising in the servicer (else that is a bug)
    # It shows only under load (python -m conformance load): an ordinary run trips none of it.
    load_only: bool = False


@dataclass(frozen=True)
class Flavor:
    name: str
    summary: str
    warns: frozenset[str] = frozenset()  # SHOULD requirements this flavour may legitimately miss
    reuse_grace: float = 0.0  # a grace window the server declares (the suite is told of it)
    suite_args: tuple[str, ...] = ()  # what the suite is told of it (tests/test_faults.py)
    # Requirements it must leave judged and passed, where a skip would also look conformant.
    passes: frozenset[str] = frozenset()


def _faults(*faults: Fault) -> dict[str, Fault]:
    return {fault.name: fault for fault in faults}


def _ids(*ids: str) -> frozenset[str]:
    return frozenset(ids)


FAULTS: dict[str, Fault] = _faults(
    Fault("refresh-unimplemented", _ids("CT-01", "CT-05", "RT-01", "RT-05", "RT-06", "FZ-01",
                                        "FZ-02", "FZ-03", "FZ-05", "FZ-06"),
          "RefreshAccessToken answers UNIMPLEMENTED, as if not served at its full path."),
    Fault("refresh-omits-user", _ids("CT-02", "CT-04"),
          "An OK refresh response has no `user`."),
    # RT-03 and RT-13 read the user of each refresh of a chain: error (a CT-02 precondition).
    Fault("refresh-omits-user-later", _ids("CT-02", "CT-04"),
          "From a family's second refresh on, an OK refresh response has no `user`: the "
          "sample (a family's first refresh) is whole."),
    Fault("refresh-empty-access-token", _ids("CT-04", "FT-13", "RT-01"),
          "An OK refresh response carries an empty access token."),
    Fault("refreshed-access-token-unusable", _ids("RT-04"),
          "GetMe rejects access tokens minted by RefreshAccessToken."),
    # An access token presented as refresh token is an unknown one too (RT-07), and the status
    # tells unknown tokens from rotated-out ones (RT-19).
    # The store's 'no such row' mapped straight to a gRPC status, a common error mapping.
    Fault("unknown-refresh-token-not-found", _ids("RT-05", "RT-07", "RT-19", "FZ-01", "FZ-02",
                                                  "FZ-03"),
          "An unknown refresh token gets NOT_FOUND instead of UNAUTHENTICATED."),
    Fault("unknown-refresh-token-permission-denied", _ids("RT-05", "RT-07", "RT-19", "FZ-01",
                                                          "FZ-02", "FZ-03"),
          "An unknown refresh token gets PERMISSION_DENIED instead of UNAUTHENTICATED."),
    # Its INVALID_ARGUMENT for well-formed tokens is no format judgement: RT-05 cannot tell it
    # from a checksum the suite cannot reproduce, RT-11 can (a rotated-out token is well-formed).
    Fault("refused-refresh-token-invalid-argument", _ids("RT-11", "RT-14"),
          "Every refused refresh token (unknown, rotated-out, revoked) gets INVALID_ARGUMENT."),
    Fault("get-me-without-authorization-ok", _ids("RT-09"),
          "GetMe without authorization metadata answers OK with the test user."),
    Fault("get-me-invalid-argument-without-bearer", _ids("RT-09"),
          "GetMe without a Bearer credential (no metadata, another scheme, a malformed one) gets "
          "INVALID_ARGUMENT."),
    Fault("get-me-any-scheme-accepted", _ids("RT-09"),
          "GetMe takes the credential after any scheme (`Basic <token>`), or a bare token, as "
          "a Bearer token."),
    Fault("get-me-bearer-prefix-match", _ids("RT-09"),
          "GetMe accepts a value that begins with a valid Bearer credential (`Bearer <token>,`, "
          "`Bearer <token> <token>`)."),
    Fault("get-me-reads-x-access-token", _ids("RT-09"),
          "GetMe without authorization metadata takes the token in `x-access-token` metadata "
          "(as countless Express tutorials read req.headers['x-access-token'])."),
    # RT: refresh semantics -------------------------------------------------------------------
    # RT-21's: lifetimes short enough for a quick run (reference/servicer.py, SHORT_LIFETIMES).
    Fault("access-tokens-never-expire", _ids("RT-21"),
          "Access tokens state expires_in 3 but GetMe accepts them for ever."),
    # expires_in 6 and the leeway are beyond a quick run's wait: only `exp` brings it in reach.
    Fault("jwt-access-tokens-accepted-past-exp", _ids("RT-21"),
          "Access tokens are HS256 JWTs with exp 3 s after iat (expires_in 6); GetMe verifies "
          "their signature but not exp, and accepts them for ever."),
    Fault("access-token-repeated-in-family", _ids("RT-02"),
          "Every refresh of a token family returns the access token of its first refresh."),
    Fault("refresh-returns-another-user", _ids("RT-03"),
          "The refresh response's `user` is another user (the access token is still the owner's)."),
    Fault("empty-refresh-token-accepted", _ids("FZ-01", "FZ-07", "RT-06"),
          "An empty refresh_token logs in as the first user."),
    Fault("access-token-accepted-as-refresh-token", _ids("RT-07"),
          "A live access token presented as refresh token starts a new session."),
    Fault("get-me-accepts-refresh-token", _ids("RT-08"),
          "GetMe accepts a live refresh token as Bearer token."),
    Fault("jwt-access-token-refreshes", _ids("RT-07"),
          "Access and refresh tokens are HS256 JWTs under one key; a refresh token not in the "
          "store is taken for a stateless one when it verifies and names a `sub`, with no `typ` "
          "check: an access JWT refreshes."),
    Fault("jwt-refresh-token-is-bearer", _ids("RT-08"),
          "Access and refresh tokens are HS256 JWTs under one key (both with `sub`); GetMe "
          "trusts any JWT that verifies with it, with no `typ` check: a refresh JWT is a Bearer "
          "token."),
    Fault("refresh-token-not-rotated", _ids("RT-10"),
          "A refresh returns the presented refresh token again and leaves it valid."),
    Fault("refresh-token-omitted", _ids("RT-10"),
          "A refresh response carries no refresh token (empty), and the presented one stays "
          "valid, as RFC 6749 §6 allows for a confidential client."),
    Fault("rotated-refresh-token-still-valid", _ids("RT-11", "RT-12", "RT-14"),
          "A refresh issues a new refresh token but the presented one stays valid."),
    Fault("refresh-locked-but-rotated-token-kept", _ids("RT-11", "RT-12", "RT-14"),
          "A per-token try-lock turns a burst's others away (ABORTED), but the presented token "
          "stays valid: after a burst, two refresh tokens work."),
    Fault("reuse-not-detected", _ids("RT-12"),
          "Replaying a rotated-out token is refused, but its family is not revoked."),
    # Its successor's revocation is what RT-19 compares as family-revoked: one answer still.
    Fault("undeclared-reuse-grace", _ids("RT-11", "RT-12", "RT-14"),
          "A rotated-out refresh token is accepted for 3 s after rotation, a grace window the "
          "suite is not told of."),
    Fault("reuse-revokes-only-the-successor", _ids("RT-12"),
          "Replaying a rotated-out token revokes it and its direct successor only: the family's "
          "later tokens live on."),
    # A replay of the family's first token revokes it: the check must replay a later one.
    Fault("reuse-revokes-the-family-named-by-the-token", _ids("RT-12"),
          "On reuse the server revokes the family whose id is the replayed token's hash, the id "
          "a family takes from its first token: only a replay of that token revokes it."),
    Fault("rotated-refresh-token-unusable", _ids("RT-13"),
          "The refresh token a refresh returns is not the one stored: the chain breaks."),
    Fault("rotation-not-atomic", _ids("RT-14"),
          "Rotation checks, then spends, outside one transaction: concurrent refreshes "
          "double-spend."),
    Fault("low-entropy-refresh-tokens", _ids("RT-15", "RT-16"),
          "Refresh tokens are 64 random bits behind a 35-character constant."),
    Fault("time-based-refresh-tokens", _ids("RT-15", "RT-16"),
          "Refresh tokens are time-based UUIDs (version 1: the time in 100 ns, a 14-bit clock "
          "sequence and the host's node id), unique but guessable."),
    Fault("jwt-alg-none", _ids("RT-17"),
          "Access tokens are unsigned JWTs (`alg: none`)."),
    Fault("jwt-lifetime-mismatch", _ids("RT-18"),
          "JWT access tokens have exp - iat four times the stated expires_in."),
    Fault("jwt-access-tokens-weak-secret", _ids("RT-23"),
          "Access tokens are HS256 JWTs signed with the key `secret`, and GetMe trusts any JWT "
          "that verifies with it (stateless): a forged one names any user."),
    Fault("jwt-refresh-tokens-weak-secret", _ids("RT-23"),
          "Refresh tokens are HS384 JWTs signed with the Spring Security tutorials' key, "
          "base64-decoded (stored, so no forgery is accepted)."),
    # "One session per user": the user's other logins (devices) are logged out.
    Fault("refresh-revokes-other-families", _ids("RT-22"),
          "Every refresh revokes the refresh tokens of the user's other token families."),
    Fault("refresh-error-oracle", _ids("RT-19"),
          "Rotated-out and revoked refresh tokens get messages that differ from an unknown one."),
    Fault("get-me-scheme-case-sensitive", _ids("RT-20"),
          "GetMe accepts only the exact scheme `Bearer`, not `bearer`."),
    Fault("get-me-trusts-identity-header", _ids("RT-24"),
          "GetMe with a valid access token answers with the user `x-forwarded-email` names "
          "(provisioned on first sight), as an app behind oauth2-proxy trusts it."),
    # FZ: robustness under malformed input --------------------------------------------------
    Fault("error-trailer-leaks-traceback", _ids("FZ-04"),
          "Refresh answers carry a stack trace in the trailing metadata x-debug-trace."),
    # FZ-02's fullwidth near-miss of the live token is non-ASCII too: UNKNOWN is no rejection.
    Fault("non-ascii-refresh-token-crashes", _ids("FZ-01", "FZ-02", "FZ-04"),
          "A non-ASCII refresh token raises an unhandled exception: gRPC answers UNKNOWN with "
          "'Exception calling application: ...'.", crashes=True),
    Fault("refresh-token-prefix-match", _ids("FZ-02"),
          "A prefix (8+ characters) of an issued refresh token is accepted as the token."),
    Fault("refresh-token-case-insensitive", _ids("FZ-02"),
          "Refresh tokens are matched case-insensitively."),
    Fault("refresh-token-cut-at-nul", _ids("FZ-02"),
          "The presented refresh token is cut at its first NUL, as a C library reads a string: "
          "the live token followed by a NUL and anything is accepted as the token."),
    Fault("refresh-token-nfkc-normalised", _ids("FZ-02"),
          "The presented refresh token is Unicode NFKC-normalised before the lookup: fullwidth "
          "forms of its characters are accepted as the token."),
    Fault("refresh-token-base64-decoded", _ids("FZ-02"),
          "Refresh tokens are looked up by the bytes base64.b64decode(altchars='-_', "
          "validate=True) reads: padding, the other alphabet and spare bits go unnoticed."),
    Fault("refresh-token-base64-decoded-leniently", _ids("FZ-02"),
          "Refresh tokens are looked up by the bytes base64.urlsafe_b64decode reads: it also "
          "skips characters outside the alphabet."),
    Fault("refresh-token-last-character-unchecked", _ids("FZ-02"),
          "Refresh tokens are compared at their full length, but over all but their last "
          "character (an off-by-one memcmp)."),
    # A lookalike JWT (RT-05, FZ-01) and a trailing space (FZ-03) keep the first 72 bytes too.
    Fault("refresh-token-bcrypt-truncated", _ids("FZ-01", "FZ-02", "FZ-03", "RT-05"),
          "Refresh tokens are JWTs (over 72 bytes) stored as bcrypt hashes, which read the "
          "first 72 bytes only: the live token extended, or changed past byte 72, is accepted."),
    Fault("refresh-jwt-signature-not-verified", _ids("FZ-01", "FZ-02", "RT-05"),
          "Refresh tokens are JWTs looked up by their jti claim without verifying the "
          "signature: a stripped, forged or alg-none re-encoded token is accepted."),
    Fault("unknown-shaped-refresh-token-ok", _ids("FZ-01", "FZ-02", "RT-05", "RT-07"),
          "An unknown refresh token of the server's own shape answers OK (a new family for the "
          "last user who logged in)."),
    Fault("error-echoes-refresh-token", _ids("FZ-04", "RT-19"),
          "The message of a failed refresh quotes the presented token."),
    Fault("error-leaks-traceback", _ids("FZ-04"),
          "The message of a failed refresh carries a Python traceback (on one line)."),
    Fault("nul-byte-poisons-server", _ids("FZ-05"),
          "After a refresh token with a NUL byte, every refresh token is rejected as unknown."),
    Fault("unknown-method-answered-ok", _ids("CT-09"),
          "Every method no service has is answered with an empty OK (a catch-all route)."),
    Fault("huge-refresh-token-stalls", _ids("FZ-06"),
          "A refresh token of 512 KiB or more is answered only after the client's deadline."),
    # What a client reads of Envoy's buffer filter (max_request_bytes) in front: Envoy answers a
    # gRPC request it refuses itself with a gRPC status of its own, UNKNOWN and the reason phrase.
    Fault("front-refuses-oversized-as-unknown", _ids("FZ-11"),
          "A front refuses request bodies over 60 KiB as Envoy's buffer filter does: UNKNOWN "
          "\"Payload Too Large\", no status clients can act on (FZ-06 holds: it is refused)."),
    Fault("refresh-token-whitespace-trimmed", _ids("FZ-03"),
          "Leading and trailing white space is trimmed from the presented refresh token."),
    Fault("error-message-not-printable-ascii", _ids("FZ-08"),
          "The message of a failed refresh has a CR LF and non-ASCII text."),
    # Its OK answers take FZ-09's frames too (with an empty response).
    Fault("refresh-accepts-wire-garbage", _ids("FZ-07", "FZ-09"),
          "Undecodable RefreshAccessToken request bytes get OK with an empty response."),
    Fault("lenient-request-decoder", _ids("FZ-09"),
          "RefreshAccessToken's request decoder is as lenient as protobufjs before 8.2: field 1 "
          "under any wire type, read up to the end when its length runs past it; and beyond "
          "it, a truncated trailing field is ignored."),
    # CT-07/CT-08: what reflection describes (reference/described.py); the RPCs stay the
    # contract's. A wire break is a JSON break too (WIRE_JSON holds WIRE's rules).
    Fault("reflection-field-type-changed", _ids("CT-07", "CT-08"),
          "Reflection describes AuthToken.expires_in as a string (the contract: int32)."),
    Fault("reflection-field-renumbered", _ids("CT-07", "CT-08"),
          "Reflection describes User.email as field 14 (the contract: 6, not reserved)."),
    Fault("reflection-json-name-changed", _ids("CT-08"),
          "Reflection describes AuthToken.token_type with json_name tokenKind (tokenType)."),
    Fault("reflection-rpc-missing", _ids("CT-07", "CT-08"),
          "Reflection describes UserApiService without its GetMe RPC."),
    # Reflection v1 as HAProxy 2.6 passes it on (reference/proxied.py): only v1alpha shows it.
    Fault("reflection-field-renumbered-v1-cancelled", _ids("CT-07", "CT-08"),
          "Reflection describes User.email as field 14 (as reflection-field-renumbered), and its "
          "v1 stream ends in CANCELLED, as HAProxy 2.6 passes on the RST_STREAM(NO_ERROR) after "
          "an upstream's UNIMPLEMENTED (haproxy/haproxy#1219): v1alpha describes the drift."),
    Fault("reflection-enum-values-swapped", _ids("CT-07", "CT-08"),
          "Reflection describes Role with ROLE_USER = 2 and ROLE_ADMIN = 1 (the contract: 1 and "
          "2): each number stays, so buf's WIRE rules alone pass it."),
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
    Fault("token-type-drifts-in-later-refreshes", _ids("CT-04", "FT-14"),
          "From the sixth refresh on, auth_token.token_type is `mac`: the suite's sample (the "
          "first refresh) is clean, the responses of RT's chains are not."),
    Fault("expires-in-negative", _ids("CT-04", "FT-15", "FT-16"),
          "auth_token.expires_in is negative (-900)."),
    Fault("expires-in-milliseconds", _ids("CT-04", "FT-15", "FT-17"),
          "auth_token.expires_in is a day in milliseconds (86400000)."),
    Fault("expires-in-zero", _ids("FT-16"), "auth_token.expires_in is 0 (absent)."),
    Fault("expires-in-absolute", _ids("CT-04", "FT-15", "FT-17"),
          "auth_token.expires_in is the access token's expiry instant in epoch seconds (now + "
          "900), not its lifetime."),
    Fault("expires-in-seven-days", _ids("FT-17"), "auth_token.expires_in is 604800 (7 days)."),
    Fault("refresh-token-not-vschar", _ids("CT-04", "FT-18"),
          "Refresh tokens end in U+00E9, outside VSCHAR (the server accepts its own)."),
    Fault("refresh-token-equals-access-token", _ids("FT-19", "RT-07", "RT-08", "RT-15"),
          "The access token is the refresh token's string."),
    # LD: under load. Each acts only while many calls are in flight (servicer.LOAD_CONTENTION,
    # above the suite's own bursts), as a database that holds up until it is contended.
    Fault("load-check-then-spend-race", _ids("LD-01"),
          "Under contention rotation checks the token, then spends it outside the transaction "
          "(keycloak/keycloak#45647's shape): a burst double-spends.", load_only=True),
    Fault("load-false-reuse-detection", _ids("LD-02"),
          "Under contention a lock timeout on the token's row is taken for a concurrent spend: "
          "1 in 20 valid refreshes revokes its family as a replay would.", load_only=True),
    Fault("load-internal-errors", _ids("LD-03"),
          "Under contention 1 in 50 calls answers INTERNAL (`database is locked`).",
          load_only=True),
    Fault("load-sheds", _ids("LD-04"),
          "Under contention 1 in 10 calls is shed with RESOURCE_EXHAUSTED before it does "
          "anything (the token may be presented again).", load_only=True),
)

FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("jwt-access-tokens",
               "Access tokens are HS256 JWTs with iat, exp, sub and a 256-bit jti."),
        Flavor("invalid-argument-for-malformed",
               "Refresh tokens that are not 1*VSCHAR get INVALID_ARGUMENT."),
        Flavor("unauthenticated-for-empty",
               "An empty refresh_token gets UNAUTHENTICATED instead of INVALID_ARGUMENT."),
        Flavor("aborted-race-losers",
               "A rotated-out token back within 100 ms (a race loser) gets ABORTED."),
        Flavor("reuse-grace-1s", "A rotated-out token is accepted for 1 s after rotation; the "
               "embedded server declares the window to the suite.", reuse_grace=1.0),
        Flavor("jwt-refresh-tokens", "Refresh tokens are HS256 JWTs (jti, iat), stored hashed."),
        Flavor("small-message-limit",
               "Requests above 64 KiB get RESOURCE_EXHAUSTED from the gRPC library."),
        Flavor("upper-case-uuid", "user.uuid in upper case: a UUID, only not lower case.",
               warns=frozenset({"FT-02"})),
        Flavor("user-without-optional-fields",
               "The user has only uuid and role: every optional field empty."),
        Flavor("dids-of-several-methods",
               "user.dids: did:key, did:web with a port and a path, did:ion long form, did:pkh."),
        Flavor("refresh-tokens-with-tilde-and-dot",
               "Refresh tokens use `.` and `~` besides the base64url alphabet (still VSCHAR)."),
        Flavor("token-type-lower-case", "auth_token.token_type is `bearer`."),
        Flavor("hex-refresh-tokens", "Refresh tokens are 64 hex digits; a refresh_token of any "
               "other form is malformed and gets INVALID_ARGUMENT."),
        Flavor("email-special-use-domain", "user.email is qa@corp.local (RFC 6762 .local)."),
        Flavor("login-throttled", "At most 8 AuthnWithPassword calls a second (a token bucket); "
               "the excess gets RESOURCE_EXHAUSTED with a google.rpc.RetryInfo, as sandboxes do."),
        Flavor("get-me-invalid-argument-for-malformed-bearer", "GetMe answers INVALID_ARGUMENT "
               "to a malformed Bearer credential (`Bearer` alone, two credentials, characters "
               "outside b64token): RFC 6750's invalid_request."),
        Flavor("checksummed-refresh-tokens", "Refresh tokens in GitHub's format: `urt_`, 30 "
               "random base62 characters and their CRC32 in 6 base62 characters; a token whose "
               "checksum fails is malformed and gets INVALID_ARGUMENT."),
        Flavor("expiry-leeway-20s", "Access tokens state expires_in 2 and are accepted 20 s "
               "longer, a clock-skew leeway the suite is told of (--expiry-leeway 20).",
               suite_args=("--expiry-leeway", "20", "--expiry-wait", "25")),
        Flavor("reflection-describes-additions", "Reflection describes a newer contract: "
               "User.nickname (20), a ListSessionsResponse message and a ListSessions RPC.",
               passes=frozenset({"CT-07", "CT-08"})),
        Flavor("no-reflection", "The server serves no gRPC server reflection (CT-07 and CT-08 "
               "skip)."),
        Flavor("reflection-proto2", "Reflection describes the contract's file with syntax "
               "proto2: the same fields, numbers and JSON names.",
               passes=frozenset({"CT-07", "CT-08"})),
        Flavor("reflection-v1-cancelled-by-proxy", "Reflection v1 ends in CANCELLED, as HAProxy "
               "2.6 passes on the RST_STREAM(NO_ERROR) after an upstream's UNIMPLEMENTED "
               "(haproxy/haproxy#1219); v1alpha describes the contract, so CT-07 and CT-08 are "
               "judged over it.", passes=frozenset({"CT-07", "CT-08"})),
        # The service is correct; the front hides its description. Its own self-test reads
        # the skips (tests/test_drift.py).
        Flavor("reflection-cancelled-by-proxy", "Reflection v1 and v1alpha both end in "
               "CANCELLED, as a front that resets every reflection stream passes them on: CT-07 "
               "and CT-08 skip, not judged, naming both answers."),
        # Stricter than RFC 9700 §4.14.2's family scope (RT-22 names it); no check replays while
        # another check's family is live today, so RT-22 does not notice and nothing warns.
        Flavor("reuse-revokes-every-family", "On reuse (a rotated-out refresh token replayed "
               "past any grace) every refresh token family of the user is revoked, not only the "
               "replayed one's; access tokens already issued stay valid."),
        Flavor("jwt-access-tokens-es256", "Access tokens are ES256 JWTs (a P-256 key) with iat, "
               "exp, sub and a 256-bit jti: no shared secret to guess (RT-23 skips them)."),
    )
}


def unknown_switches(faults: frozenset[str], flavors: frozenset[str]) -> str | None:
    """A one-line usage error for fault or flavour names that do not exist, else None."""
    unknown = sorted((faults - FAULTS.keys()) | (flavors - FLAVORS.keys()))
    if not unknown:
        return None
    return (f"--reference-fault/--reference-flavor: unknown {', '.join(unknown)} "
            "(python -m conformance.reference --list-faults lists them)")
