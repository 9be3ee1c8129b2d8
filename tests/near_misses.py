"""The review table of issue 12: for every MUST of the catalogue, the near-miss implementations
its source text rules out (a server that *almost* obeys the rule), and what the suite does about
each one.

Statuses:
- tried: a check presents it; `check` names the check function, `case` (when given) the case or
  variant text as the suite's source spells it, and `faults` the reference faults
  (conformance/reference/faults.py) that exhibit it and declare the requirement, so
  tests/test_faults.py proves the check trips on it. CT-06 has no fault (the loopback reference
  server cannot show it): its `self_test` proves the check instead.
- in progress (issue 12): being added by issue 12's other parts (FZ-02, RT-12, RT-23, RT-24);
  their faults are named when they land (none is left).
- unreachable: a black-box client cannot provoke or observe it; `why` says what it would need.
- gap: reachable from outside but not tried yet; `why` says how it could be tried and its cost,
  `priority` ranks it for the next session (1: realistic and cheap, 2: one of the two, 3: low).

tests/test_near_misses.py keeps the table honest against the catalogue, the checks and the
faults. Bases cite the RFC clause, a CWE, or a named class of public OAuth/JWT bugs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["TABLE", "NearMiss", "Review", "Status", "markdown"]


class Status(str, Enum):
    TRIED = "tried"
    IN_PROGRESS = "in progress (issue 12)"
    UNREACHABLE = "unreachable"
    GAP = "gap"


@dataclass(frozen=True)
class NearMiss:
    what: str                     # the near-miss implementation, in a few words
    basis: str                    # RFC clause, CWE or public bug class that rules it out
    status: Status
    check: str = ""               # tried / in progress: the check function
    case: str = ""                # tried: the case or variant, verbatim in conformance/
    faults: tuple[str, ...] = ()  # tried: the reference faults that exhibit it
    self_test: str = ""           # tried without a fault: tests/<file>.py::<function>
    why: str = ""                 # unreachable: what it would need; gap: how to try it, cost
    priority: int = 0             # gap: 1 realistic and cheap, 2 one of the two, 3 low


@dataclass(frozen=True)
class Review:
    near_misses: tuple[NearMiss, ...]
    pending: str = ""  # while the requirement has no check: the issue it lands with


def tried(what: str, basis: str, check: str, *faults: str, case: str = "",
          self_test: str = "") -> NearMiss:
    return NearMiss(what, basis, Status.TRIED, check=check, case=case, faults=faults,
                    self_test=self_test)


def in_progress(what: str, basis: str, check: str = "") -> NearMiss:
    return NearMiss(what, basis, Status.IN_PROGRESS, check=check)


def unreachable(what: str, basis: str, why: str) -> NearMiss:
    return NearMiss(what, basis, Status.UNREACHABLE, why=why)


def gap(what: str, basis: str, why: str, priority: int) -> NearMiss:
    return NearMiss(what, basis, Status.GAP, why=why, priority=priority)


_SAMPLE_ONLY = ("the check judges every response of the run (conformance/samples.py), so only a "
                "fault that emits it is missing: a one-line rewrite in reference/mutations.py")
_GRAMMAR = "the grammar rejects it (tests/test_formats.py); " + _SAMPLE_ONLY

TABLE: dict[str, Review] = {
    # CT: contract and transport ---------------------------------------------------------------
    "CT-01": Review((
        tried("RefreshAccessToken not served at its full path (another package or service name "
              "in the server's proto): UNIMPLEMENTED", "api.md; gRPC status codes",
              "test_ct01_refresh_is_served_at_its_full_path", "refresh-unimplemented"),
        gap("OK only after the deadline for an ordinary token (a cold cache, a lazy connection "
            "pool on the first call)", "api.md (within the deadline)",
            "a fault slow on a family's first refresh (the sample refreshes a fresh family): 0 "
            "extra RPCs", 3),
        unreachable("served as a server-streaming RPC that sends one message at the unary path",
                    "api.md (unary)", "on the wire a one-message stream is a unary answer; only "
                    "reflection (CT-07) shows the method's kind"),
    )),
    "CT-02": Review((
        tried("OK refresh response without `user`", "api.md, Messages",
              "test_ct02_ok_response_has_user_and_auth_token", "refresh-omits-user"),
        gap("OK refresh response without `auth_token` (the user only)", "api.md, Messages",
            "a fault mirroring refresh-omits-user; 0 extra RPCs", 2),
        tried("`user` or `auth_token` dropped only after the first refresh of a family (the "
              "sample is the first)", "api.md, Messages",
              "test_ct02_ok_response_has_user_and_auth_token", "refresh-omits-user-later"),
    )),
    "CT-04": Review((
        tried("a field breaks its FT format (the schema restates every FT MUST)",
              "api.md; proto3 JSON mapping",
              "test_ct04_canonical_json_validates_against_the_schema",
              "user-uuid-not-uuid", "user-role-undefined", "expires-in-negative",
              "refresh-token-not-vschar"),
        tried("a required member missing (no user; an empty access token, which proto3 JSON "
              "omits)", "api.md, Messages",
              "test_ct04_canonical_json_validates_against_the_schema", "refresh-omits-user",
              "refresh-empty-access-token"),
        tried("clean in the sample, broken in later responses (a drift along RT's chains)",
              "api.md", "test_ct04_canonical_json_validates_against_the_schema",
              "token-type-drifts-in-later-refreshes"),
        gap("broken only in GetMe's user (another serializer for another RPC: a database id "
            "where the refresh response has the UUID)", "api.md, Messages",
            "a fault rewriting GetMe's user only; 0 extra RPCs (GetMe is in the sample)", 2),
    )),
    "CT-05": Review((
        tried("a strict decoder refuses an unknown field (field 99, a string)",
              "proto3 language guide, unknown fields", "test_ct05_unknown_request_field_is_ignored",
              "request-unknown-field-rejected"),
        gap("an unknown field of another wire type (varint, fixed64) or a low number (field 2) "
            "refused, or taken for field 1", "proto3 language guide, unknown fields",
            "a second frame in conformance/frames.py terms; +1 RPC", 2),
        gap("a hand-written decoder that takes the first field as the token: an unknown field "
            "before field 1", "protobuf encoding (fields in any order)",
            "the unknown field first, then field 1; +1 RPC", 2),
    )),
    "CT-06": Review((
        tried("plaintext to a non-loopback host", "RFC 6749 §10.3, §10.4; RFC 6750 §5.3",
              "test_ct06_non_loopback_target_uses_tls",
              self_test="tests/test_fields.py::test_ct06_check_judges_configuration_only"),
        gap("TLS on the published port, but the same service also answers plaintext (h2c) on "
            "it or a sibling port", "RFC 6749 §10.3 (tokens never in clear)",
            "dial the TLS address once in plaintext and require no OK; the catalogue text "
            "judges configuration only, so it needs a decision first; +1 RPC", 3),
        unreachable("TLS terminated at a proxy, plaintext behind it across a network",
                    "RFC 6750 §5.3", "the hop behind the proxy is invisible to a client"),
    )),
    "CT-07": Review((
        tried("a field renumbered (same name, new number)", "buf breaking rules (WIRE)",
              "test_ct07_reflected_description_is_wire_compatible",
              "reflection-field-renumbered"),
        tried("a field's type changed wire-incompatibly (int32 expires_in to string)",
              "buf breaking rules (WIRE)", "test_ct07_reflected_description_is_wire_compatible",
              "reflection-field-type-changed"),
        tried("an RPC of the contract missing from the description", "buf breaking rules "
              "(WIRE does not cover deletions; the suite checks them under buf's RPC_NO_DELETE)",
              "test_ct07_reflected_description_is_wire_compatible", "reflection-rpc-missing"),
        tried("an enum value's number changed (ROLE_ADMIN 2 to 3)", "buf breaking rules (WIRE)",
              "test_ct07_reflected_description_is_wire_compatible",
              self_test="tests/test_drift.py::test_cardinality_and_enum_numbers_are_wire_rules"),
        tried("two enum values swap numbers (ROLE_USER 2, ROLE_ADMIN 1): every number stays",
              "the catalogue's CT-07 (same enum numbers; buf's WIRE rules pass a swap, the "
              "suite checks it as ENUM_VALUE_SAME_NUMBER)",
              "test_ct07_reflected_description_is_wire_compatible",
              "reflection-enum-values-swapped"),
        tried("a field changed from repeated to singular (dids)",
              "buf breaking rules (WIRE: cardinality)",
              "test_ct07_reflected_description_is_wire_compatible",
              self_test="tests/test_drift.py::test_cardinality_and_enum_numbers_are_wire_rules"),
        tried("reflection v1 broken by a proxy, v1alpha working: HAProxy 2.6 turns the "
              "RST_STREAM(NO_ERROR) after an upstream's UNIMPLEMENTED into CANCEL, so v1 ends in "
              "CANCELLED and a drift served by v1alpha would go unjudged",
              "gRPC server reflection protocol (v1 and v1alpha); haproxy/haproxy#1219",
              "test_ct07_reflected_description_is_wire_compatible",
              "reflection-field-renumbered-v1-cancelled"),
        unreachable("a server whose reflection describes the contract but whose wire format "
                    "differs", "gRPC server reflection protocol", "reflection is the server's "
                    "word, not its behaviour: CT-03, CT-04 and FT judge the wire"),
    )),
    # FT: field types and formats --------------------------------------------------------------
    "CT-09": Review((
        tried("an unknown method answered OK (a catch-all handler, a proxy rule that forwards any "
              "path)", "gRPC status codes (UNIMPLEMENTED); gRPC interop unimplemented_method",
              "test_ct09_unknown_methods_and_services_are_unimplemented",
              "unknown-method-answered-ok", case="an unknown method"),
        tried("an unknown service answered OK by the same catch-all",
              "gRPC interop unimplemented_service",
              "test_ct09_unknown_methods_and_services_are_unimplemented",
              "unknown-method-answered-ok", case="an unknown service"),
        gap("an unknown method answered with another error than UNIMPLEMENTED (INTERNAL from a "
            "router, a 200 error page from a web front)", "gRPC status codes",
            "the check already fails it; a fault that answers INTERNAL is missing: 0 RPCs", 3),
    )),
    "FT-01": Review((
        tried("32 hex digits without hyphens", "RFC 9562 §4", "test_ft01_user_uuid_is_a_uuid",
              "user-uuid-not-uuid"),
        gap("the GUID form with braces, or the `urn:uuid:` URN", "RFC 9562 §4", _GRAMMAR, 3),
        gap("a UUID in the refresh response, a database integer id in GetMe",
            "RFC 9562 §4; api.md", _SAMPLE_ONLY, 2),
    )),
    "FT-03": Review((
        tried("a display name around the address (`Name <a@b.c>`)", "RFC 5322 §3.4.1 addr-spec",
              "test_ft03_user_email_is_a_valid_address", "user-email-malformed"),
        gap("trailing white space from a CHAR(n) column", "RFC 5322 §3.4.1", _GRAMMAR, 2),
        gap("two addresses in one field (`a@x.org, b@x.org`)", "RFC 5322 §3.4.1", _GRAMMAR, 3),
    )),
    "FT-04": Review((
        tried("an enum number outside Role (7)", "api.md", "test_ft04_user_role_is_defined",
              "user-role-undefined"),
        gap("a negative number (-1 for 'none' from a database)", "api.md", _GRAMMAR, 3),
    )),
    "FT-07": Review((
        tried("a relative reference (`/avatars/qa.png`)", "RFC 3986 §4.3",
              "test_ft07_user_avatar_is_an_absolute_uri", "user-avatar-relative"),
        gap("a network-path reference (`//cdn.example.com/a.png`)", "RFC 3986 §4.2", _GRAMMAR, 2),
        gap("an unencoded space in the path (a file name)", "RFC 3986 §2.1", _GRAMMAR, 2),
    )),
    "FT-09": Review((
        tried("a DID URL with a fragment (`#key-1`)", "W3C DID Core 1.0 §3.1",
              "test_ft09_user_dids_are_dids", "user-did-url"),
        gap("a DID URL with a path (`did:web:example.com/users`)", "W3C DID Core 1.0 §3.1",
            _GRAMMAR, 3),
        gap("an upper-case scheme or method name (`DID:Key:...`)", "W3C DID Core 1.0 §3.1",
            _GRAMMAR, 3),
    )),
    "FT-10": Review((
        tried("one DID listed twice", "W3C DID Core 1.0 §3.1",
              "test_ft10_user_dids_have_no_duplicates", "user-dids-duplicated"),
        gap("duplicates only in GetMe (a join that repeats rows)", "W3C DID Core 1.0 §3.1",
            _SAMPLE_ONLY, 3),
    )),
    "FT-12": Review((
        tried("an ANSI escape (ESC) in first_name", "api.md",
              "test_ft12_user_strings_hold_no_control_characters", "user-name-control-character"),
        gap("a NUL or CR LF in another field (last_name, an external_ids key)", "api.md",
            _SAMPLE_ONLY, 3),
    )),
    "FT-13": Review((
        tried("a space inside the access token", "RFC 6750 §2.1",
              "test_ft13_access_token_is_a_b64token", "access-token-not-b64token"),
        tried("an empty access token", "RFC 6750 §2.1", "test_ft13_access_token_is_a_b64token",
              "refresh-empty-access-token"),
        gap("a trailing newline from a MIME base64 encoder (Python's encodebytes)",
            "RFC 6750 §2.1; RFC 4648 §3.1", _GRAMMAR, 2),
    )),
    "FT-14": Review((
        tried("another token type (`mac`)", "RFC 6749 §5.1, §7.1",
              "test_ft14_token_type_is_bearer", "token-type-not-bearer"),
        tried("`Bearer` in the sample, another type from the sixth refresh on", "RFC 6749 §5.1",
              "test_ft14_token_type_is_bearer", "token-type-drifts-in-later-refreshes"),
        gap("`Bearer ` with trailing white space, or `bearer_token`", "RFC 6749 §5.1",
            _GRAMMAR, 3),
    )),
    "FT-15": Review((
        tried("a negative lifetime", "RFC 6749 §5.1",
              "test_ft15_expires_in_is_seconds_within_a_year",
              "expires-in-negative"),
        tried("milliseconds (a day: 86400000)", "RFC 6749 §5.1",
              "test_ft15_expires_in_is_seconds_within_a_year", "expires-in-milliseconds"),
        tried("the absolute expiry instant (`exp`, epoch seconds) where the lifetime belongs",
              "RFC 6749 §5.1 (lifetime in seconds)",
              "test_ft15_expires_in_is_seconds_within_a_year", "expires-in-absolute"),
        unreachable("milliseconds for a lifetime under 8.76 h (15 min is 900000)",
                    "RFC 6749 §5.1", "in range it cannot be told from seconds; only a wait "
                    "shows it (RT-21), or a JWT's exp - iat (RT-18, a SHOULD)"),
    )),
    "FT-18": Review((
        tried("a non-ASCII character (U+00E9)", "RFC 6749 App. A.17",
              "test_ft18_refresh_token_is_vschar", "refresh-token-not-vschar"),
        gap("a trailing newline (a MIME base64 encoder)", "RFC 6749 App. A.17", _GRAMMAR, 2),
    )),
    "FT-19": Review((
        tried("one string for both tokens", "RFC 6749 §1.5",
              "test_ft19_refresh_token_differs_from_access_token",
              "refresh-token-equals-access-token"),
        gap("equal only in the login response (another code path than refresh)",
            "RFC 6749 §1.5", _SAMPLE_ONLY, 3),
    )),
    # RT: refresh semantics --------------------------------------------------------------------
    "RT-01": Review((
        tried("RefreshAccessToken unimplemented", "RFC 6749 §6",
              "test_rt01_valid_refresh_token_gets_new_access_token", "refresh-unimplemented"),
        tried("OK without an access token", "RFC 6749 §6",
              "test_rt01_valid_refresh_token_gets_new_access_token", "refresh-empty-access-token"),
        gap("a refresh token works only on the channel (HTTP/2 connection) that logged in",
            "RFC 6749 §6 (no sender constraint in this API)",
            "refresh on a second channel; +1 RPC and a channel", 3),
    )),
    "RT-03": Review((
        tried("the refresh response names another user", "RFC 6749 §6, §10.4",
              "test_rt03_refresh_returns_the_user_the_token_was_issued_to",
              "refresh-returns-another-user"),
        unreachable("the user of the last login (a process-wide 'current user'), not the "
                    "token's owner", "RFC 6749 §10.4; OIDC Core §12.2",
                    "with one test account both are the same user: needs a second identity "
                    "(another account's credentials)"),
        gap("another user only after some refreshes of the chain", "RFC 6749 §6",
            "the check walks the whole chain; only a fault is missing; 0 extra RPCs", 3),
    )),
    "RT-04": Review((
        tried("GetMe refuses the access tokens RefreshAccessToken issues",
              "RFC 6750 §2.1", "test_rt04_refreshed_access_token_works_for_get_me",
              "refreshed-access-token-unusable"),
        tried("the issued token is no b64token, so it cannot be presented", "RFC 6750 §2.1",
              "test_rt04_refreshed_access_token_works_for_get_me", "access-token-not-b64token"),
        gap("the token works only after a delay (a replicated token store read from a lagging "
            "replica)", "RFC 6750 §2.1", "a fault that stores access tokens 0.5 s late; the "
            "check already calls GetMe at once: 0 extra RPCs", 2),
        unreachable("GetMe answers the user of the most recently issued token (a cache keyed "
                    "wrongly)", "RFC 6750 §2.1", "with one test account the answer is the same "
                    "user: needs a second identity"),
    )),
    "RT-05": Review((
        tried("an unknown token answered PERMISSION_DENIED", "RFC 6749 §5.2; gRPC status codes",
              "test_rt05_unknown_refresh_token_is_unauthenticated",
              "unknown-refresh-token-permission-denied"),
        tried("a JWT refresh token looked up by its jti, signature unverified: the lookalike "
              "(a random signature) refreshes", "RFC 8725 §3.1; RFC 6749 §10.10",
              "test_rt05_unknown_refresh_token_is_unauthenticated",
              "refresh-jwt-signature-not-verified"),
        tried("any token of the server's own shape starts a session", "RFC 6749 §5.2",
              "test_rt05_unknown_refresh_token_is_unauthenticated",
              "unknown-shaped-refresh-token-ok"),
        tried("'not found in the store' mapped to NOT_FOUND (a common gRPC error mapping)",
              "RFC 6749 §5.2; gRPC status codes",
              "test_rt05_unknown_refresh_token_is_unauthenticated",
              "unknown-refresh-token-not-found"),
        unreachable("the token of a deleted or disabled user still refreshes",
                    "RFC 6749 §10.4", "needs the server's admin side to delete the user"),
    )),
    "RT-06": Review((
        tried("an empty refresh_token logs in as some user (a lookup `WHERE token = ''` that "
              "matches, or a default)", "RFC 6749 §6", "test_rt06_empty_refresh_token_is_rejected",
              "empty-refresh-token-accepted"),
        gap("field 1 sent explicitly with length 0 (`0a 00`) treated apart from an absent "
            "field by a hand-written decoder", "protobuf encoding; RFC 6749 §6",
            "a raw frame (client.refresh_raw); +1 RPC", 2),
    )),
    "RT-07": Review((
        tried("the access-token table consulted when the refresh lookup fails",
              "RFC 6749 §1.5; ASVS 5.0 9.2.2",
              "test_rt07_access_token_as_refresh_token_is_rejected",
              "access-token-accepted-as-refresh-token"),
        tried("one string for both tokens", "RFC 6749 §1.5",
              "test_rt07_access_token_as_refresh_token_is_rejected",
              "refresh-token-equals-access-token"),
        tried("stateless JWT refresh tokens verified by signature and `sub` only, with the "
              "same key as access JWTs and no `typ` check: an access JWT refreshes",
              "RFC 8725 §3.11 (explicit typing), §2.8 (cross-JWT confusion)",
              "test_rt07_access_token_as_refresh_token_is_rejected",
              "jwt-access-token-refreshes"),
    )),
    "RT-08": Review((
        tried("the refresh-token table consulted when the access lookup fails",
              "RFC 6749 §1.5; RFC 6750 §3.1",
              "test_rt08_refresh_token_as_bearer_token_is_unauthenticated",
              "get-me-accepts-refresh-token"),
        tried("one string for both tokens", "RFC 6749 §1.5",
              "test_rt08_refresh_token_as_bearer_token_is_unauthenticated",
              "refresh-token-equals-access-token"),
        tried("JWT access verification by signature only, one key for both kinds, no `typ`: "
              "a refresh JWT is a Bearer token", "RFC 8725 §3.11, §2.8",
              "test_rt08_refresh_token_as_bearer_token_is_unauthenticated",
              "jwt-refresh-token-is-bearer"),
    )),
    "RT-09": Review((
        tried("no metadata answered as some user", "RFC 6750 §3.1",
              "test_rt09_get_me_without_valid_authorization_is_rejected",
              "get-me-without-authorization-ok", case="no metadata"),
        tried("the credential after any scheme, or a bare token, taken as Bearer",
              "RFC 6750 §2.1", "test_rt09_get_me_without_valid_authorization_is_rejected",
              "get-me-any-scheme-accepted", case="Basic with the live access token"),
        tried("a prefix match of the Bearer syntax (what follows ignored)", "RFC 6750 §2.1",
              "test_rt09_get_me_without_valid_authorization_is_rejected",
              "get-me-bearer-prefix-match", case="live access token and a comma"),
        tried("INVALID_ARGUMENT where no credential is UNAUTHENTICATED", "RFC 6750 §3.1",
              "test_rt09_get_me_without_valid_authorization_is_rejected",
              "get-me-invalid-argument-without-bearer", case="Basic scheme"),
        tried("no authorization, the live token in a second carrier (`access_token`, "
              "`x-access-token` or `token` metadata) accepted", "RFC 6750 §2, §3.1 (no "
              "authentication information: 401)",
              "test_rt09_get_me_without_valid_authorization_is_rejected",
              "get-me-reads-x-access-token",
              case="live access token in x-access-token metadata"),
        gap("`Bearer<TAB><live>` accepted by a split on any white space", "RFC 6750 §2.1 "
            "(1*SP)", "one case; +1 RPC", 2),
        gap("two `authorization` entries, a bad one first and the live one last, the last "
            "read", "RFC 6750 §3.1 (more than one method: invalid_request)",
            "one call with both entries; +1 RPC; the catalogue does not yet say what two "
            "entries must get", 3),
        unreachable("only a capitalised `Authorization` key read", "RFC 9113 §8.2.1",
                    "HTTP/2 field names are lower case: gRPC clients cannot send another"),
    )),
    "RT-10": Review((
        tried("the presented refresh token returned again", "RFC 9700 §2.2.2, §4.14.2",
              "test_rt10_every_refresh_rotates_the_refresh_token", "refresh-token-not-rotated"),
        tried("an empty refresh_token in the refresh response, the presented one still valid "
              "(as RFC 6749 §6 allows a confidential client)", "RFC 9700 §2.2.2",
              "test_rt10_every_refresh_rotates_the_refresh_token", "refresh-token-omitted"),
        gap("rotation on some refreshes only (every other one, or only near the token's expiry, "
            "as libraries' 'rotate if older than' options do)", "RFC 9700 §4.14.2",
            "a fault rotating every other refresh; the chain has 2+ steps: 0 extra RPCs", 2),
    )),
    "RT-11": Review((
        tried("the presented token stays valid after rotation", "RFC 9700 §4.14.2",
              "test_rt11_rotated_out_refresh_token_is_unauthenticated",
              "rotated-refresh-token-still-valid"),
        tried("a rotated-out token refused with INVALID_ARGUMENT", "RFC 6749 §5.2",
              "test_rt11_rotated_out_refresh_token_is_unauthenticated",
              "refused-refresh-token-invalid-argument"),
        tried("an undeclared grace window of a few seconds (Auth0's reuse interval, Okta's "
              "grace period, left on)", "RFC 9700 §4.14.2",
              "test_rt11_rotated_out_refresh_token_is_unauthenticated", "undeclared-reuse-grace"),
        unreachable("a rotated-out token accepted again after a restart (rotation state kept in "
                    "memory only)", "RFC 9700 §4.14.2", "needs control of the server's "
                    "lifecycle"),
        unreachable("accepted on another replica (a per-replica cache of spent tokens)",
                    "RFC 9700 §4.14.2", "a client cannot choose the replica behind a balancer; "
                    "LD-01 under load may show it"),
    )),
    "RT-12": Review((
        tried("a replay refused, the family left alive", "RFC 9700 §4.14.2",
              "test_rt12_replaying_a_rotated_out_token_revokes_its_family", "reuse-not-detected"),
        tried("no revocation at all (the old token stays valid)", "RFC 9700 §4.14.2",
              "test_rt12_replaying_a_rotated_out_token_revokes_its_family",
              "rotated-refresh-token-still-valid"),
        tried("only the replayed token's direct successor revoked: T1 of T0 -> T1 -> T2 -> T3 "
              "is replayed, T3 must be rejected", "RFC 9700 §4.14.2 (the family)",
              "test_rt12_replaying_a_rotated_out_token_revokes_its_family",
              "reuse-revokes-only-the-successor"),
        tried("the family named by its first token, so only a replay of T0 revokes it (why T1, "
              "not T0, is replayed)", "RFC 9700 §4.14.2 (the family)",
              "test_rt12_replaying_a_rotated_out_token_revokes_its_family",
              "reuse-revokes-the-family-named-by-the-token"),
        gap("revocation applied asynchronously (a queue): the newest token works for a moment "
            "after the replay", "RFC 9700 §4.14.2", "a fault revoking 0.5 s late; the check "
            "presents the newest at once: 0 extra RPCs", 2),
    )),
    "RT-13": Review((
        tried("the returned refresh token is not the stored one: the chain breaks at refresh 2",
              "RFC 6749 §6", "test_rt13_chain_of_refreshes_succeeds_for_one_user",
              "rotated-refresh-token-unusable"),
        gap("the chain breaks after K refreshes (a family depth limit, or a token that grows "
            "with every rotation until a column or header limit)", "RFC 6749 §6",
            "a fault breaking at refresh 4 trips standard (5) only; a longer chain costs 1 RPC "
            "a step", 2),
    )),
    "RT-14": Review((
        tried("check-then-spend outside one transaction: a burst double-spends",
              "RFC 9700 §4.14.2", "test_rt14_concurrent_refreshes_with_one_token_have_one_winner",
              "rotation-not-atomic"),
        tried("a try-lock turns the others away, the presented token kept",
              "RFC 9700 §4.14.2", "test_rt14_concurrent_refreshes_with_one_token_have_one_winner",
              "refresh-locked-but-rotated-token-kept"),
        tried("race losers get INVALID_ARGUMENT", "RFC 9700 §4.14.2; gRPC status codes",
              "test_rt14_concurrent_refreshes_with_one_token_have_one_winner",
              "refused-refresh-token-invalid-argument"),
        gap("race losers get UNAVAILABLE or DEADLINE_EXCEEDED from a row-lock timeout",
            "RFC 9700 §4.14.2; gRPC status codes", "a fault; 0 extra RPCs", 2),
        unreachable("a race window narrower than the burst's release jitter (microseconds, or "
                    "across replicas)", "RFC 9700 §4.14.2", "timing: the client cannot align "
                    "calls closer than its threads' scheduling"),
    )),
    "RT-15": Review((
        tried("64 random bits behind a constant", "RFC 6749 §10.10",
              "test_rt15_issued_tokens_resist_guessing", "low-entropy-refresh-tokens"),
        tried("one string for both kinds (tokens repeat in the sample)", "RFC 6749 §10.10",
              "test_rt15_issued_tokens_resist_guessing", "refresh-token-equals-access-token"),
        tried("time-based tokens: UUIDv1 (a ULID's 80 random bits score about 85 too)",
              "RFC 6749 §10.10; CWE-330", "test_rt15_issued_tokens_resist_guessing",
              "time-based-refresh-tokens"),
        gap("a successor derived from its predecessor (the presented token plus a counter): "
            "whoever saw one token of the family can guess the next", "RFC 6749 §10.10",
            "compare each successor of RT-10's chain with its predecessor (a shared prefix of "
            "half the token or more); 0 extra RPCs", 2),
        gap("weak access tokens, strong refresh tokens", "RFC 6749 §10.10",
            "a fault mirroring low-entropy-refresh-tokens; 0 extra RPCs", 2),
        unreachable("a full-length token from a non-cryptographic PRNG (Mersenne Twister, "
                    "time-seeded)", "RFC 6749 §10.10; CWE-338", "statistically like a CSPRNG in "
                    "any sample the suite can afford: needs the generator's source"),
    )),
    "RT-17": Review((
        tried("issued JWTs with `alg: none`", "RFC 8725 §2.1, §3.1",
              "test_rt17_jwt_access_token_is_signed", "jwt-alg-none"),
        gap("GetMe accepts the issued access JWT re-encoded with `alg: none`, or with its "
            "signature stripped (the verifier honours the header's alg: CVE-2015-9235 class)",
            "RFC 8725 §2.1, §3.1", "2 RPCs; no MUST covers near-misses of an access token "
            "today (RT-17 judges the issued token only): the catalogue needs a line first", 1),
        gap("`alg` `None` or `NONE`, or an empty signature segment", "RFC 8725 §3.1",
            "the check handles both; only a fault is missing", 3),
        unreachable("RS256 to HS256 confusion (the public key as HMAC secret)",
                    "RFC 8725 §2.1, §3.1", "needs the server's public key; this API publishes "
                    "no JWKS"),
    )),
    "RT-21": Review((
        tried("GetMe never checks expiry (only RefreshAccessToken does)", "RFC 6749 §5.1; "
              "RFC 6750 §3.1", "test_rt21_access_token_is_refused_once_expired",
              "access-tokens-never-expire"),
        tried("a JWT whose `exp` is earlier than expires_in, accepted past its `exp` (the "
              "signature verified, the claim not)", "RFC 7519 §4.1.4; RFC 6750 §3.1",
              "test_rt21_access_token_is_refused_once_expired",
              "jwt-access-tokens-accepted-past-exp"),
        gap("expiry compared in milliseconds against seconds (valid 1000 times longer)",
            "RFC 6749 §5.1", "the check sees it as access-tokens-never-expire does; only a "
            "fault of its own is missing", 3),
        gap("a cached validation result outlives the token", "RFC 6750 §3.1",
            "GetMe shortly before and after the expiry", 2),
    )),
    "RT-23": Review((
        tried("HS256 access JWTs signed with a public weak secret (`secret`), and a forged "
              "token (same sub, new jti) accepted by GetMe", "RFC 8725 §3.5; RFC 7518 §3.2; "
              "RFC 6749 §10.10", "test_rt23_hmac_jwt_does_not_verify_with_a_weak_secret",
              "jwt-access-tokens-weak-secret"),
        tried("refresh tokens in JWT form (HS384) with a weak secret taken base64-decoded, as "
              "JJWT does", "RFC 8725 §3.5",
              "test_rt23_hmac_jwt_does_not_verify_with_a_weak_secret",
              "jwt-refresh-tokens-weak-secret"),
        gap("a strong signing key, but a weak one still accepted on verification (a key "
            "rotation that kept the old default)", "RFC 8725 §3.5", "forge with each listed "
            "key and present it to GetMe: an RPC per key, so a short list of the likeliest", 2),
        unreachable("a strong-looking secret shared across deployments but on no public list",
                    "RFC 8725 §3.5", "needs the other deployment's key"),
    )),
    "RT-24": Review((
        tried("`x-forwarded-email` set to another user changes GetMe's user (an app behind "
              "oauth2-proxy)", "RFC 6750 §2.1; CWE-290",
              "test_rt24_identity_metadata_never_changes_the_user",
              "get-me-trusts-identity-header"),
        gap("identity from a gateway's signed assertion parsed without verifying it "
            "(`x-amzn-oidc-data`, `x-goog-iap-jwt-assertion`, `x-jwt-assertion`)",
            "ASVS 5.0 8.3.1; CWE-290", "one GetMe per header with a made-up unsigned JWT; "
            "+3 RPCs", 2),
        unreachable("the header trusted only from the gateway's source address",
                    "CWE-290", "needs the gateway's network position"),
    )),
    "RT-25": Review((
        gap("GetMe looks the access token up on a column shorter than the token (a prefix "
            "match: the token extended by one character still works)", "RFC 6750 §3.1",
            "FZ-02's near-misses built from the live access token, one GetMe each; +6 RPCs", 1),
        gap("a JWT access token decoded without verifying its signature (`alg` none, the "
            "signature stripped, another token's signature)", "RFC 8725 §2.1, §3.1",
            "forgeries of the live JWT, one GetMe each; JWT access tokens only; +6 RPCs", 1),
        gap("the signature verified with the `alg` taken from the token", "RFC 8725 §3.1",
            "a claim changed under the original signature (exp later, jti changed); +2 RPCs", 2),
    ), pending="issue 25 (lifecycle)"),
    "RT-26": Review((
        gap("spent tokens remembered in a small LRU that 20 further refreshes cycle out",
            "RFC 9700 §4.14.2", "a family rotated once, 20 refreshes in another, the replay; "
            "+23 RPCs and a login", 1),
        gap("rotation state kept per connection or per login session (keycloak#52666)",
            "RFC 9700 §4.14.2; keycloak#52666", "the replay on a fresh connection of the "
            "check's own (the transport seam's `fresh`); 0 extra RPCs", 1),
    ), pending="issue 25 (lifecycle)"),
    "RT-27": Review((
        gap("a grace window that forks the family: the token presented twice inside the window "
            "gives two live chains, and a later replay revokes only one", "RFC 9700 §4.14.2; "
            "Engram#341", "two refreshes inside the declared window, a replay after it, then "
            "both successors tried; +5 RPCs with --reuse-grace", 1),
        gap("the replay after the window revokes the newest chain only, not the successors "
            "issued inside it", "RFC 9700 §4.14.2; oboku#466", "as above, each successor "
            "tried after the replay; +2 RPCs", 2),
    ), pending="issue 25 (lifecycle)"),
    # FZ: robustness under malformed input -----------------------------------------------------
    "FZ-01": Review((
        tried("an unhandled exception on non-ASCII input (UNKNOWN)", "RFC 6749 §5.2; CWE-20",
              "test_fz01_malformed_refresh_tokens_are_rejected",
              "non-ascii-refresh-token-crashes", case="non-ascii"),
        tried("the empty token accepted", "RFC 6749 §6",
              "test_fz01_malformed_refresh_tokens_are_rejected", "empty-refresh-token-accepted",
              case="blank"),
        tried("any token of the server's own shape accepted", "RFC 6749 §5.2",
              "test_fz01_malformed_refresh_tokens_are_rejected",
              "unknown-shaped-refresh-token-ok", case="lookalike"),
        tried("a JWT looked up by jti, signature unverified: the live token's claims under a "
              "random signature accepted", "RFC 8725 §3.1",
              "test_fz01_malformed_refresh_tokens_are_rejected",
              "refresh-jwt-signature-not-verified", case="lookalike"),
        tried("refusals with PERMISSION_DENIED", "gRPC status codes",
              "test_fz01_malformed_refresh_tokens_are_rejected",
              "unknown-refresh-token-permission-denied"),
    )),
    "FZ-02": Review((
        tried("a prefix match (`LIKE :token || '%'`)", "RFC 6749 §10.4; CWE-187",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-prefix-match", case="truncated to its first half"),
        tried("a case-insensitive collation", "RFC 6749 §10.4; CWE-178",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-case-insensitive", case="with its case swapped"),
        tried("a JWT looked up by jti, signature unverified", "RFC 8725 §3.1",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-jwt-signature-not-verified", case="with its JWT signature stripped"),
        tried("any token of the server's shape accepted (one character changed)",
              "RFC 6749 §10.10", "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "unknown-shaped-refresh-token-ok", case="with one character changed near the"),
        tried("the live token cut at its first NUL (C strings)", "RFC 6749 §10.4; CWE-158",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-cut-at-nul", case="followed by a NUL and more characters"),
        tried("the presented token NFKC-normalised (fullwidth forms map back to ASCII)",
              "RFC 6749 §10.4; CWE-176",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-nfkc-normalised", case="in its fullwidth form"),
        tried("the token base64-decoded before lookup (the other alphabet, `=` padding)",
              "RFC 6749 App. A.17 (compared as issued); RFC 4648 §5",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-base64-decoded", case="in the other base64 alphabet"),
        tried("a lenient base64 decoder (characters outside the alphabet skipped, spare bits "
              "ignored)", "RFC 4648 §3.3, §3.5",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-base64-decoded-leniently", case="spare base64 bits set"),
        tried("an off-by-one compare that skips the last character", "RFC 6749 §10.4",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-last-character-unchecked"),
        tried("tokens hashed with bcrypt, which ignores input past 72 bytes: a long token "
              "extended at the end refreshes (the Okta 2024 bcrypt bug class)",
              "RFC 6749 §10.4; CWE-1339",
              "test_fz02_near_misses_of_a_live_refresh_token_are_rejected",
              "refresh-token-bcrypt-truncated", case="extended by one character at the end"),
        gap("a suffix or substring match (`LIKE '%' || :token`)", "RFC 6749 §10.4",
            "a fault; 'truncated by its first character' is tried already: 0 extra RPCs", 2),
        gap("the token decoded to bytes before lookup: base64url re-encoded as standard base64 "
            "(`-` to `+`, `_` to `/`) or with `=` padding added", "RFC 6749 App. A.17 (compared "
            "as issued); RFC 4648 §5", "+2 RPCs; strategies.py avoids a new encoding of the same "
            "bytes on purpose, so decide first whether this is FZ-02 (MUST) or FZ-03 (SHOULD)",
            2),
    )),
    "FZ-04": Review((
        tried("the presented token quoted in the message", "RFC 6749 §10.4; ASVS 5.0 16.5.1",
              "test_fz04_no_error_response_leaks_the_token_or_internals",
              "error-echoes-refresh-token"),
        tried("a traceback in the message, or in trailing metadata", "ASVS 5.0 16.5.1",
              "test_fz04_no_error_response_leaks_the_token_or_internals",
              "error-leaks-traceback", "error-trailer-leaks-traceback"),
        tried("an unhandled exception's own text after gRPC Python's prefix", "ASVS 5.0 16.5.1",
              "test_fz04_no_error_response_leaks_the_token_or_internals",
              "non-ascii-refresh-token-crashes"),
        gap("internals in the initial (header) metadata: `x-debug`, a stack in a custom header",
            "ASVS 5.0 16.5.1", "keep an error's initial metadata in CallRecord (client.py keeps "
            "only trailers) and scan it; 0 extra RPCs", 2),
        gap("part of the token echoed (its first 12 characters: 'token abc123def456... not "
            "found')", "RFC 6749 §10.4", "scan for any 12+ character run of the presented "
            "token; 0 extra RPCs; decide the length first", 2),
        gap("GetMe's error echoes the Bearer token", "RFC 6749 §10.4",
            "the scan covers GetMe already; only a fault is missing", 3),
    )),
    "FZ-05": Review((
        tried("a NUL byte poisons the server for every later refresh", "CWE-158",
              "test_fz05_target_still_serves_a_valid_refresh_after_the_campaign",
              "nul-byte-poisons-server"),
        gap("new families work, families minted before the campaign do not (a poisoned cache of "
            "known tokens)", "RFC 6749 §6", "mint a family before the campaign, refresh it "
            "after; +2 RPCs", 2),
        unreachable("a slow leak (memory, descriptors) that kills the server only after more "
                    "input than a run sends", "CWE-400", "volume and time beyond a run; the "
                    "load command is the place"),
    )),
    "FZ-06": Review((
        tried("a huge token answered only after the deadline", "gRPC status codes; CWE-400",
              "test_fz06_oversized_refresh_tokens_are_refused_in_time",
              "huge-refresh-token-stalls", case="1 MiB"),
        tried("an UNIMPLEMENTED answer", "gRPC status codes",
              "test_fz06_oversized_refresh_tokens_are_refused_in_time", "refresh-unimplemented"),
        gap("a validating regex with catastrophic backtracking on a token that almost matches "
            "(`AAAA...A!`)", "CWE-1333", "'A' * N + '!' at 64 KiB; +1 RPC", 2),
        unreachable("a token sent slowly (slowloris) holds a worker", "CWE-400",
                    "grpcio sends a message at once: needs a raw HTTP/2 client"),
    )),
    "FZ-07": Review((
        tried("undecodable bytes answered OK with an empty response", "protobuf encoding",
              "test_fz07_wire_garbage_never_succeeds_and_the_server_keeps_serving",
              "refresh-accepts-wire-garbage"),
        tried("a field of the wrong wire type skipped, leaving an empty token that logs in",
              "protobuf encoding; RFC 6749 §6",
              "test_fz07_wire_garbage_never_succeeds_and_the_server_keeps_serving",
              "empty-refresh-token-accepted", case="field 1 as varint (wrong wire type)"),
        unreachable("a decoder that survives the garbage but leaks a thread per call",
                    "CWE-400", "invisible until exhaustion: beyond a run"),
    )),
    "FZ-10": Review((
        gap("an oversized authorization value answered OK or UNKNOWN by a server that truncates "
            "the header", "RFC 9113 §10.5.1; gRPC (header list size)",
            "GetMe with 4, 16 and 64 KiB values on a connection of the check's own; +3 RPCs", 1),
        gap("one huge metadata entry crashes the server or is answered OK",
            "gRPC interop (large metadata)", "RefreshAccessToken with one 64 KiB entry; "
            "+1 RPC, then a liveness call", 2),
    ), pending="issue 25 (lifecycle)"),
    # WB: gRPC-Web and Connect ------------------------------------------------------------
    "WB-01": Review((
        gap("a proxy that doubles or misplaces the trailer frame (a message after it)",
            "PROTOCOL-WEB.md", "parse every gRPC-Web body frame by frame; 0 extra RPCs", 1),
        gap("text mode answered as one base64 entity the client cannot split, or unpadded",
            "PROTOCOL-WEB.md (text mode)", "decode the body chunk by chunk; 0 extra RPCs", 2),
    ), pending="issue 24 (transports)"),
    "WB-02": Review((
        gap("text mode refused with HTTP 415 by a proxy configured for binary only",
            "PROTOCOL-WEB.md; grpc-web README (mode=grpcwebtext)",
            "every call of a grpc-web-text run in text mode; 0 extra RPCs", 1),
        gap("text and binary mode disagree on a status (a front that maps errors in one only)",
            "PROTOCOL-WEB.md", "four paired calls in both modes; +8 RPCs", 2),
    ), pending="issue 24 (transports)"),
    "WB-03": Review((
        gap("a CORS policy that does not expose grpc-status (clients see every answer as an "
            "error)", "Fetch standard, CORS; grpc/grpc-web#1319",
            "a preflight and an error answer read as a browser reads them; +2 requests", 1),
        gap("`Access-Control-Allow-Headers: *` taken to cover `authorization`",
            "Fetch standard (CORS-safelisted request-header, `*`)",
            "the preflight names authorization; +1 request", 1),
    ), pending="issue 24 (transports)"),
    "WB-05": Review((
        gap("Connect errors sent as HTTP 200 with an error body", "Connect protocol",
            "an error call over Connect; 0 extra RPCs", 1),
        gap("an error body without a valid `code` (a proxy's HTML or text error page)",
            "Connect protocol (error codes)", "parse every error body; 0 extra RPCs", 2),
    ), pending="issue 24 (transports)"),
    "WB-06": Review((
        gap("Connect's GET form served for RefreshAccessToken (Envoy's connect_grpc_bridge): a "
            "refresh token in a URL rotates", "Connect protocol; RFC 6750 §2.3",
            "one GET with a live token, then the token refreshed; +2 RPCs", 1),
        gap("the GET refused but the token rotated anyway (the side effect ran)",
            "RFC 9110 §9.2.1", "as above: the following refresh must still succeed; 0 extra",
            2),
    ), pending="issue 24 (transports)"),
    "WB-08": Review((
        gap("every n-th OK answer ends without its trailer frame (linkerd/linkerd2#15414)",
            "PROTOCOL-WEB.md", "a series of OK GetMe calls; profile quick 20 RPCs", 1),
        gap("an OK answer whose status is neither in the headers nor in a trailer",
            "PROTOCOL-WEB.md", "parse every OK body; 0 extra RPCs", 2),
    ), pending="issue 24 (transports)"),
    # LD: under load (python -m conformance load) ----------------------------------------------
    "LD-01": Review((
        tried("a check-then-spend race that opens only under contention (keycloak/keycloak#45647)",
              "RFC 9700 §4.14.2", "load:LD-01", "load-check-then-spend-race"),
        tried("a lock-free fallback path once the database is contended", "RFC 9700 §4.14.2",
              "load:LD-01", "load-check-then-spend-race"),
        gap("spent tokens tracked per replica or per worker process (a local cache)",
            "RFC 9700 §4.14.2", "needs a target of several replicas behind a balancer; the "
            "load command's tally across workers would show it, but the reference server is "
            "one process: a fault with two stores, cheap", 2),
    )),
    "LD-02": Review((
        tried("a lock timeout under contention taken for a concurrent spend (false reuse "
              "detection)", "RFC 9700 §4.14.2", "load:LD-02", "load-false-reuse-detection"),
        gap("a retry after RESOURCE_EXHAUSTED taken for a replay (the token rotated, then shed)",
            "RFC 9700 §4.14.2", "the workload presents the token again after "
            "RESOURCE_EXHAUSTED (conformance/load/user.py); no fault rotates before it sheds "
            "yet: one line in the servicer", 1),
        gap("the new token answered before its write commits (lost rotation under load)",
            "RFC 6749 §6", "LD-02 judges the next refresh of the chain; a fault that commits "
            "late under contention is missing", 1),
    )),
    "LD-03": Review((
        tried("pool exhaustion or a lock timeout answered INTERNAL, not UNAVAILABLE",
              "gRPC status codes", "load:LD-03", "load-internal-errors"),
        gap("an unhandled exception under contention (UNKNOWN)", "gRPC status codes",
            "LD-03 counts UNKNOWN as INTERNAL; a fault that raises under contention is missing",
            2),
    )),
}


def markdown() -> str:
    """The table as Markdown, for an issue's closing note: `python -m tests.near_misses`."""
    rows = ["| ID | near-miss | basis | status | tried by / why |", "|---|---|---|---|---|"]
    for rid, review in TABLE.items():
        for near_miss in review.near_misses:
            status = near_miss.status.value
            if near_miss.status is Status.GAP:
                status += f" (priority {near_miss.priority})"
            detail = near_miss.why or (f"`{near_miss.check}`" if near_miss.check else "")
            if near_miss.status is Status.TRIED:
                proof = ", ".join(near_miss.faults) or near_miss.self_test
                case = f" ({near_miss.case})" if near_miss.case else ""
                detail = f"`{near_miss.check}`{case}; {proof}"
            pending = f" (pending: {review.pending})" if review.pending else ""
            cells = [rid + pending, near_miss.what, near_miss.basis, status, detail]
            rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
