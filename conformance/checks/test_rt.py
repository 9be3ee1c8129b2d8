"""RT: OAuth 2.0 refresh semantics.

Every check mints its own tokens (`target.fresh_tokens()`, a new token family each), so checks
never spend each other's tokens and can run in any order or in parallel.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
import weakref
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.formats import is_bearer_token, is_vschar_token
from conformance.model.contract import pb
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import redact, show_authorization
from conformance.model.status import Status
from conformance.model.violations import ensure, ensure_status, violation
from conformance.rules.expiry import ExpiryClock, start_clock
from conformance.rules.lookalike import lookalike
from conformance.rules.token_analysis import estimate_entropy, parse_jws
from conformance.rules.weak_secrets import (
    HMAC_ALGS,
    LIST_NAME,
    Candidate,
    candidates,
    find_weak_secret,
    forge,
    signing_alg,
    weak_secrets,
)
from conformance.run.check_context import not_applicable, not_judged, partly_judged, pass_note
from conformance.run.samples import IssuedToken, issued_tokens, sampled
from conformance.run.target import TargetSession
from conformance.transport.client import Reply, carry
from conformance.transport.tokens import NeedsFreshTokens, TokenPair

# RFC 6750 §3.1 / RFC 6749 §5.2: a bad credential is a failed authentication.
UNAUTHENTICATED = {"UNAUTHENTICATED"}
# The catalogue's preamble: "rejected" is UNAUTHENTICATED or INVALID_ARGUMENT.
REJECTED = {"UNAUTHENTICATED", "INVALID_ARGUMENT"}
# The preamble's answer for a malformed value: for a token the suite constructed (RT-05, RT-19),
# the target's word that the suite missed its format, not an answer about a well-formed token.
MALFORMED = {"INVALID_ARGUMENT"}
# A loser of a concurrent refresh holds a spent credential (UNAUTHENTICATED), or lost a
# concurrency conflict (ABORTED, gRPC status codes); the catalogue allows both (RT-14).
RACE_LOSER = {"UNAUTHENTICATED", "ABORTED"}
# A replay waits the declared grace window plus this margin (the server measures the window from
# its own rotation, which happened before the suite read the response). The margin applies with
# no window too: a replay within milliseconds of the rotation is indistinguishable from a lost
# race, which may be answered ABORTED (RT-14); RT-11 is about replays, not races.
REPLAY_MARGIN = 0.3
# No declared window makes a check sleep longer than this.
MAX_GRACE_WAIT = 300.0
# Bounds the wait for K threads to line up at the barrier of a burst (RT-14).
BARRIER_TIMEOUT = 10.0
# RFC 6749 §10.10: guessing a token MUST be at most 2^-128 likely, SHOULD at most 2^-160. An
# estimate from a small sample runs low, so the catalogue puts the MUST floor at 96 bits.
MUST_BITS = 96.0
SHOULD_BITS = 160.0
MIN_TOKEN_BYTES = 16
# RT-18: exp - iat and expires_in are read at slightly different instants.
LIFETIME_TOLERANCE = 5

RefreshReply = Reply[pb.RefreshAccessTokenResponse]


@pytest.mark.requirement("RT-01")
def test_rt01_valid_refresh_token_gets_new_access_token(target: TargetSession) -> None:
    """RT-01: a valid refresh token gets a new access token (RFC 6749 §6)."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    ensure(reply.ok, "Valid refresh token refused", expected="status OK with a new access token",
           received=reply.status, reply=reply)
    assert reply.response is not None
    ensure(bool(reply.response.auth_token.token), "No access token in refresh response",
           expected="a non-empty auth_token.token", received="an empty auth_token.token",
           reply=reply)


@pytest.mark.requirement("RT-02")
def test_rt02_each_refresh_issues_an_access_token_not_seen_before(target: TargetSession) -> None:
    """RT-02: in a chain of N refreshes (profile), each with the newest refresh token, every new
    access token differs from every access token seen before in that family, the login's
    included (RFC 6749 §6: the refresh issues a *new* access token).

    A server that issues JWTs with no random claim repeats a token when two refreshes fall in
    the same second of `iat`; that is legitimately deterministic, but still reported (a warning:
    RFC 9068 §2.2 makes `jti` REQUIRED, which would tell the two apart)."""
    tokens = target.fresh_tokens()
    seen: dict[str, str] = {tokens.access_token: "the login"} if tokens.access_token else {}
    chain = refresh_chain(target, tokens.refresh_token, target.profile.chain_length)
    for step, reply in chain.steps():
        access_token = reply.response.auth_token.token if reply.response else ""
        if not access_token:
            raise CannotEvaluate(f"precondition failed: refresh {step} returned no access token "
                                 "(see RT-01)")
        jws = parse_jws(access_token)
        ensure(access_token not in seen, "Refresh repeated an access token of the family",
               expected=f"refresh {step} of {chain.length} issues an access token not seen before "
               "in this family", received=f"{redact(access_token)}, issued before by "
               f"{seen.get(access_token)}", reply=reply,
               details="a JWT without jti, so two issued within one second are identical"
               if jws and "jti" not in jws[1] else "")
        seen[access_token] = f"refresh {step}"
    chain.require_complete()


@pytest.mark.requirement("RT-03")
def test_rt03_refresh_returns_the_user_the_token_was_issued_to(target: TargetSession) -> None:
    """RT-03: every refresh in a chain of N returns the user the refresh token was issued to: the
    same `uuid` as the login that minted it (RFC 6749 §6, §10.4; OIDC Core §12.2). Without a
    login response the owner is the user GetMe names for the minted access token, else the user
    of the first refresh (then only a change of user along the chain shows)."""
    tokens = target.fresh_tokens()
    owner, origin = token_owner(target, tokens)
    chain = refresh_chain(target, tokens.refresh_token, target.profile.chain_length)
    for step, reply in chain.steps():
        uuid = response_user_uuid(reply, step)
        if owner is None:
            owner, origin = uuid, "the first refresh response"
        ensure(uuid == owner, "Refresh returned another user",
               expected=f"user.uuid {owner!r} ({origin})",
               received=f"user.uuid {uuid!r} in refresh {step} of {chain.length}", reply=reply)
    chain.require_complete()


@pytest.mark.requirement("RT-04")
def test_rt04_refreshed_access_token_works_for_get_me(target: TargetSession) -> None:
    """RT-04: the refreshed access token works: GetMe with `authorization: Bearer <token>`
    answers OK with the same user uuid (RFC 6750 §2.1)."""
    tokens = target.fresh_tokens()
    response = target.refreshed(tokens.refresh_token, "refresh a freshly minted token")
    access_token = response.auth_token.token
    if not access_token:
        raise CannotEvaluate("precondition failed: the refresh response has no access token "
                             "(see RT-01)")
    expected_uuid = tokens.user_uuid or response.user.uuid
    reply = target.client.get_me(f"Bearer {access_token}")
    ensure(reply.ok, "Refreshed access token refused by GetMe",
           expected="GetMe answers OK to the access token just issued", received=reply.status,
           reply=reply)
    assert reply.response is not None
    ensure(not expected_uuid or reply.response.user.uuid == expected_uuid,
           "GetMe returned another user for the refreshed access token",
           expected=f"user.uuid {expected_uuid!r}", received=f"user.uuid "
           f"{reply.response.user.uuid!r}", reply=reply)


@pytest.mark.requirement("RT-05")
def test_rt05_unknown_refresh_token_is_unauthenticated(target: TargetSession) -> None:
    """RT-05: an unknown refresh token, shaped like the target's own (same length and character
    classes), is rejected with UNAUTHENTICATED (RFC 6749 §5.2 invalid_grant). `skip` when the
    target calls that token malformed (INVALID_ARGUMENT, which the catalogue's preamble allows
    for a malformed value): its tokens carry a checksum or a format the suite cannot reproduce,
    so the suite has no well-formed unknown token to present. RT-11 still holds rotated-out
    tokens, well-formed by construction, to UNAUTHENTICATED."""
    unknown = lookalike(target.fresh_tokens().refresh_token)
    reply = target.refresh(unknown)
    if reply.code.name in MALFORMED:
        not_judged(f"the target calls the suite's never-issued token {redact(unknown)}, shaped "
                    f"like its own, malformed ({reply.status}): its tokens have a checksum or a "
                    "format the suite cannot reproduce, so no well-formed unknown token can be "
                    "made; RT-11 still holds rotated-out tokens, well-formed by construction, to "
                    "UNAUTHENTICATED")
    ensure_status(reply, UNAUTHENTICATED, "Unknown refresh token not rejected as UNAUTHENTICATED",
                  expected=f"UNAUTHENTICATED for the never-issued token {redact(unknown)}")


@pytest.mark.requirement("RT-06")
def test_rt06_empty_refresh_token_is_rejected(target: TargetSession) -> None:
    """RT-06: an empty `refresh_token` is rejected, UNAUTHENTICATED or INVALID_ARGUMENT (RFC 6749
    §6: refresh_token is REQUIRED)."""
    reply = target.refresh("")
    ensure_status(reply, REJECTED, "Empty refresh token not rejected",
                  expected='UNAUTHENTICATED or INVALID_ARGUMENT for refresh_token ""')


@pytest.mark.requirement("RT-07")
def test_rt07_access_token_as_refresh_token_is_rejected(target: TargetSession,
                                                        request: pytest.FixtureRequest) -> None:
    """RT-07: a live access token presented as refresh token is rejected, UNAUTHENTICATED or
    INVALID_ARGUMENT (RFC 6749 §1.5: the two are different credentials; OWASP ASVS 5.0 9.2.2).
    Catalogue v3's expired half (an expired access token, once RT-21's wait has passed) is not
    presented yet: a pass says so."""
    tokens = target.fresh_tokens()
    response = target.refreshed(tokens.refresh_token, "refresh a freshly minted token")
    access_tokens = {response.auth_token.token: "issued by RefreshAccessToken",
                     tokens.access_token or "": "issued with the minted refresh token"}
    access_tokens.pop("", None)
    if not access_tokens:
        raise CannotEvaluate("precondition failed: no access token was issued (see RT-01)")
    for access_token, origin in access_tokens.items():
        reply = target.refresh(access_token)
        ensure_status(reply, REJECTED, "Access token as refresh token not rejected",
                      expected=f"UNAUTHENTICATED or INVALID_ARGUMENT for the live access token "
                      f"{redact(access_token)} ({origin}) as refresh_token")
    partly_judged(request.node, f"every live access token tried ({len(access_tokens)}) is "
                  "rejected as refresh_token; the expired half is not judged: the suite presents "
                  "no expired access token yet")


@pytest.mark.requirement("RT-08")
def test_rt08_refresh_token_as_bearer_token_is_unauthenticated(target: TargetSession) -> None:
    """RT-08: GetMe with a live refresh token as Bearer token is rejected with UNAUTHENTICATED
    (RFC 6749 §1.5; RFC 6750 §3.1 invalid_token; ASVS 9.2.2). Both the minted refresh token and
    the one a refresh issues are tried while live."""
    tokens = target.fresh_tokens()
    presentable = ensure_get_me_refuses(target, tokens.refresh_token, "the minted refresh token")
    issued = target.refreshed(tokens.refresh_token, "refresh the minted token").auth_token
    if issued.refresh_token and issued.refresh_token != tokens.refresh_token:
        presentable += ensure_get_me_refuses(target, issued.refresh_token,
                                             "the refresh token issued by RefreshAccessToken")
    if not presentable:
        not_applicable("the refresh tokens are not printable ASCII, so no client can present them "
                    "in an authorization header (FT-18 judges their syntax)")


# RT-09's kinds of case, each with the statuses RFC 6750 §3.1 allows it: a request without
# authentication information, or without a Bearer credential (another scheme, a bare token), gets
# 401 without an error code (UNAUTHENTICATED); a malformed Bearer credential is an
# invalid_request, 400 (INVALID_ARGUMENT), or may be answered as a failed authentication.
NO_CREDENTIAL, OTHER_SCHEME, MALFORMED_BEARER = (
    "no credential", "another scheme or a bare token", "malformed Bearer")
RT09_KINDS: dict[str, tuple[set[str], str]] = {
    NO_CREDENTIAL: (UNAUTHENTICATED, "GetMe without a credential not rejected with "
                    "UNAUTHENTICATED"),
    OTHER_SCHEME: (UNAUTHENTICATED, "GetMe with another scheme or a bare token not rejected "
                   "with UNAUTHENTICATED"),
    MALFORMED_BEARER: (REJECTED, "GetMe with a malformed Bearer credential not rejected"),
}
LIVE = "{live}"  # stands for a live access token in a case
# name: (kind, value). RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the live-token cases
# are near-misses of it that a lenient parser (scheme ignored, a prefix match, the first word
# after the scheme) would accept. No value starts or ends with white space: grpc-js drops such a
# metadata value, so `Bearer ` would reach a grpc-js server as no metadata and mean another
# case there (`Bearer` alone tests the missing b64token on every stack). An empty value carries
# no credential either way, whether a stack keeps it or drops it.
MALFORMED_AUTHORIZATION: dict[str, tuple[str, str | None]] = {
    "no metadata": (NO_CREDENTIAL, None),
    "empty value": (NO_CREDENTIAL, ""),
    "Basic scheme": (OTHER_SCHEME, "Basic cWFAZXhhbXBsZS5jb206cGFzc3dvcmQ="),
    "Basic with the live access token": (OTHER_SCHEME, f"Basic {LIVE}"),
    "bare token": (OTHER_SCHEME, "c29tZS1vcGFxdWUtdG9rZW4"),
    "bare live access token": (OTHER_SCHEME, LIVE),
    "scheme only": (MALFORMED_BEARER, "Bearer"),
    "two credentials": (MALFORMED_BEARER, "Bearer abc def"),
    "live access token twice": (MALFORMED_BEARER, f"Bearer {LIVE} {LIVE}"),
    "non-b64token character": (MALFORMED_BEARER, "Bearer abc,def"),
    "live access token and a comma": (MALFORMED_BEARER, f"Bearer {LIVE},"),
    "live access token in access_token metadata": (NO_CREDENTIAL, None),
    "live access token in x-access-token metadata": (NO_CREDENTIAL, None),
    "live access token in token metadata": (NO_CREDENTIAL, None),
}
# Cases without authorization, the live access token in another metadata key instead: RFC 6750
# §2.3's query parameter, the header Express and Laravel tutorials read, a bare `token`. Not a
# Bearer credential: no authentication information (RFC 6750 §3.1).
SECOND_CARRIERS = {"live access token in access_token metadata": "access_token",
                   "live access token in x-access-token metadata": "x-access-token",
                   "live access token in token metadata": "token"}


@pytest.mark.requirement("RT-09")
@pytest.mark.parametrize("case", list(MALFORMED_AUTHORIZATION))
def test_rt09_get_me_without_valid_authorization_is_rejected(
        target: TargetSession, case: str) -> None:
    """RT-09: GetMe with no `authorization` metadata or another scheme is rejected with
    UNAUTHENTICATED, a malformed Bearer credential with UNAUTHENTICATED or INVALID_ARGUMENT
    (RFC 6750 §3.1, §2.1). No authorization but the live access token in a second carrier
    (SECOND_CARRIERS) is no credential too."""
    kind, template = MALFORMED_AUTHORIZATION[case]
    authorization = template
    if template is not None and LIVE in template:
        authorization = template.replace(LIVE, rt09_live_access_token(target))
    carrier = SECOND_CARRIERS.get(case)
    carried = rt09_live_access_token(target) if carrier else ""
    # The suite made the value up, save for the live token in it, which stays redacted.
    reply = target.client.get_me(authorization, secret=False,
                                 made_up=((carrier, carried),) if carrier else ())
    shown = "" if authorization is None else \
        f": `authorization: {show_authorization(authorization, secret=False)}`"
    if carrier:
        shown = f": `{carrier}: {redact(carried)}` and no authorization"
    allowed, title = RT09_KINDS[kind]
    ensure_status(reply, allowed, title, expected=f"{' or '.join(sorted(allowed))} for {kind} "
                  f"({case}){shown}")


def rt09_live_access_token(target: TargetSession) -> str:
    """A live access token for RT-09's near-misses; only a b64token can stand in them (else
    `Bearer <token>` is not a Bearer credential to begin with: FT-13 judges that)."""
    access_token = live_access_token(target)
    if not is_bearer_token(access_token):
        not_applicable("the access token is not a b64token, so no near-miss of a Bearer credential "
                    "can be made of it (FT-13 judges its syntax)")
    return access_token


@pytest.mark.requirement("RT-10")
def test_rt10_every_refresh_rotates_the_refresh_token(target: TargetSession) -> None:
    """RT-10: refresh tokens rotate: in a chain of N refreshes, every response carries a new refresh
    token, not the one presented nor any other seen before in the family (RFC 9700 §2.2.2,
    §4.14.2: the RPC has no client identity, so every caller is a public client)."""
    tokens = target.fresh_tokens()
    seen = {tokens.refresh_token: "the minted token"}
    chain = refresh_chain(target, tokens.refresh_token, max(2, target.profile.chain_length))
    for step, reply in chain.steps():
        issued = reply.response.auth_token.refresh_token if reply.response else ""
        ensure(bool(issued), "Refresh response carries no new refresh token",
               expected=f"refresh {step} of {chain.length} returns a new refresh token",
               received="an empty auth_token.refresh_token", reply=reply)
        ensure(issued not in seen, "Refresh token not rotated",
               expected=f"refresh {step} of {chain.length} returns a refresh token not seen "
               "before in this family",
               received=f"{redact(issued)}, the same as {seen.get(issued)}",
               reply=reply)
        seen[issued] = f"the one refresh {step} returned"
    chain.require_complete()


@pytest.mark.requirement("RT-11")
def test_rt11_rotated_out_refresh_token_is_unauthenticated(target: TargetSession) -> None:
    """RT-11: once rotated out, and past the declared grace window, a refresh token is rejected
    with UNAUTHENTICATED (RFC 9700 §4.14.2; RFC 6749 §6: the server MAY revoke the old token).
    `skip` when the target does not rotate (RT-10)."""
    rotated_out = target.fresh_tokens().refresh_token
    rotate(target, rotated_out, "refresh the minted token")
    waited = wait_past_grace(target)
    reply = target.refresh(rotated_out)
    ensure_status(reply, UNAUTHENTICATED, "Rotated-out refresh token not rejected",
                  expected=f"UNAUTHENTICATED for {redact(rotated_out)}, replayed {waited:.1f} s "
                  f"after it was rotated out (declared grace window {target.reuse_grace:g} s)")


@pytest.mark.requirement("RT-12")
def test_rt12_replaying_a_rotated_out_token_revokes_its_family(target: TargetSession) -> None:
    """RT-12: reuse detection: after a rotated-out refresh token is replayed (past the grace
    window), the newest refresh token of its family is rejected too (RFC 9700 §4.14.2: the
    server revokes the active refresh token, whichever party replayed; ASVS 5.0 10.4.5). The chain
    T0 -> T1 -> T2 -> T3 first proves that successors work; T1 is replayed and T3, the newest,
    must then be rejected. `skip` when the target does not rotate (RT-10).

    Near-misses this rules out, by scope of revocation: the replayed token alone (its family
    lives on: fault reuse-not-detected); the replayed token and its direct successor (fault
    reuse-revokes-only-the-successor: T1's successor is T2, not the newest T3); a token that
    stays valid after rotation (rotated-refresh-token-still-valid); a revocation that works
    only for the family's first token (fault reuse-revokes-the-family-named-by-the-token: the
    family id taken from T0), which is why T1 is replayed, not T0. Revoking every token issued
    after the replayed one, or every family of the user, revokes T3 and passes (the latter is
    RT-22's concern). Out of reach from outside: a revocation walk bounded at two or more steps (it
    needs a longer chain than this one per step), one that lands later than the next call (a
    queue), and the family's access tokens (RFC 9700 §4.14.2 names refresh tokens; a
    self-contained access token cannot be revoked before it expires)."""
    first = target.fresh_tokens().refresh_token
    replayed = rotate(target, first, "refresh the minted token")
    successor = rotate(target, replayed, "refresh its successor (see RT-13)")
    newest = rotate(target, successor, "refresh the successor's successor (see RT-13)")
    wait_past_grace(target)
    replay = target.refresh(replayed)
    reply = target.refresh(newest)
    ensure_status(reply, REJECTED, "Replay of a rotated-out token did not revoke its family",
                  expected=f"the newest refresh token {redact(newest)} (T3 of T0 -> T1 -> T2 -> "
                  f"T3) rejected after T1 {redact(replayed)}, rotated out two refreshes before, "
                  f"was replayed (the replay answered {replay.status})")


@pytest.mark.requirement("RT-13")
def test_rt13_chain_of_refreshes_succeeds_for_one_user(target: TargetSession) -> None:
    """RT-13: a chain of N refreshes (profile), each with the newest refresh token, all succeed,
    and all for the same user (RFC 6749 §6). Whether that user is the token's owner is RT-03."""
    chain = refresh_chain(target, target.fresh_tokens().refresh_token,
                          target.profile.chain_length)
    first_uuid = None
    for step, reply in chain.steps():
        uuid = response_user_uuid(reply, step)
        first_uuid = first_uuid or uuid
        ensure(uuid == first_uuid, "Refresh chain changed user",
               expected=f"user.uuid {first_uuid!r} (refresh 1) in every refresh of the chain",
               received=f"user.uuid {uuid!r} in refresh {step} of {chain.length}", reply=reply)
    if chain.broken is not None and chain.replies:  # the first refresh failing is RT-01's
        raise violation("Refresh chain broke", expected=f"{chain.length} refreshes in a row, each "
                        "with the newest refresh token, all OK", received=f"refresh "
                        f"{len(chain.replies) + 1} of {chain.length} answered "
                        f"{chain.broken.status}", reply=chain.broken)
    chain.require_complete()


@pytest.mark.requirement("RT-14")
def test_rt14_concurrent_refreshes_with_one_token_have_one_winner(target: TargetSession) -> None:
    """RT-14: K simultaneous refreshes with one refresh token (profile), released together from a
    barrier: exactly one succeeds, the others get UNAUTHENTICATED (or ABORTED), and afterwards at
    most one refresh token from the burst still works (RFC 9700 §4.14.2). A race shows only
    sometimes, so the burst is repeated (profile: race rounds), each with a fresh token.

    "Still works" is itself tried without spending one token for another: each successor once,
    then the presented token. `skip` with a declared grace window (within it every use may
    succeed), and when the winners show that the target does not rotate (RT-10)."""
    if target.reuse_grace > 0:
        not_applicable(f"a reuse grace window of {target.reuse_grace:g} s is declared: within it "
                    "concurrent uses of one refresh token may all succeed")
    rounds, size = target.profile.race_rounds, target.profile.concurrency
    for round_no in range(1, rounds + 1):
        presented = target.fresh_tokens().refresh_token
        replies = burst(target, presented, size)
        where = f"round {round_no} of {rounds}: {tally(replies)}"
        if not any(reply.ok for reply in replies):  # a burst with no winner: is it the race?
            target.refreshed(target.fresh_tokens().refresh_token,
                             f"a lone refresh, as control for a burst with no winner ({where})")
        odd = [reply for reply in replies if not reply.ok and reply.code.name not in RACE_LOSER]
        ensure(not odd, "Concurrent refresh answered with an unexpected status",
               expected="OK for one refresh, UNAUTHENTICATED or ABORTED for the others",
               received=f"{odd[0].status if odd else ''} ({where})", reply=odd[0] if odd else None)
        winners = [reply for reply in replies if reply.ok and reply.response is not None]
        successors = {w.response.auth_token.refresh_token for w in winners if w.response} - {
            "", presented}
        if len(winners) > 1 and not successors:
            not_applicable("the target does not rotate refresh tokens (every winner of the burst "
                        "returned the presented token or none): see RT-10")
        ensure(len(winners) == 1, "Concurrent refreshes with one token did not have one winner",
               expected=f"exactly 1 of {size} simultaneous refreshes with one token OK",
               received=f"{len(winners)} OK ({where})",
               reply=winners[1] if len(winners) > 1 else replies[0])
        working = [token for token in [*sorted(successors), presented]
                   if target.refresh(token).ok]
        ensure(len(working) <= 1, "More than one refresh token from a burst still works",
               expected="at most one of the burst's refresh tokens (the presented one and the "
               "winner's successor) still works afterwards",
               received=f"{len(working)} work: {', '.join(map(redact, working))} ({where})")


@pytest.mark.requirement("RT-15")
def test_rt15_issued_tokens_resist_guessing(target: TargetSession) -> None:
    """RT-15: issued tokens resist guessing (RFC 6749 §10.10, 2^-128): in a sample (profile) of
    access and refresh tokens from RefreshAccessToken, one refresh per fresh login, all tokens
    are distinct, each is at least 16 bytes, and the part that varies carries an estimated 96 bits
    or more, for each kind. See `estimate_entropy` for the estimator."""
    sample = issued_sample(target)
    everything = [token for tokens in sample.values() for token in tokens]
    repeated = [token for token, count in Counter(everything).items() if count > 1]
    ensure(not repeated, "Issued tokens repeat",
           expected=f"{len(everything)} distinct tokens ({describe_sample(sample)})",
           received=f"{len(repeated)} issued more than once, e.g. {redact(repeated[0])}"
           if repeated else "")
    short = [token for token in everything if len(token.encode()) < MIN_TOKEN_BYTES]
    ensure(not short, "Issued token shorter than 16 bytes",
           expected=f"every token at least {MIN_TOKEN_BYTES} bytes",
           received=f"{redact(short[0])} has {len(short[0].encode())} bytes" if short else "")
    for kind, tokens in sample.items():
        estimate = estimate_entropy(tokens)
        ensure(estimate.bits >= MUST_BITS, "Issued tokens carry too little entropy",
               expected=f"at least {MUST_BITS:g} bits estimated in what varies across {kind} "
               "tokens", received=estimate.describe())


@pytest.mark.requirement("RT-16")
def test_rt16_issued_tokens_carry_160_bits(target: TargetSession) -> None:
    """RT-16: the estimated entropy of the varying part of issued access and refresh tokens is
    160 bits or more, for each kind (RFC 6749 §10.10, 2^-160). Same sample and estimator as
    RT-15."""
    for kind, tokens in issued_sample(target).items():
        estimate = estimate_entropy(tokens)
        ensure(estimate.bits >= SHOULD_BITS, "Issued tokens carry less than 160 bits",
               expected=f"at least {SHOULD_BITS:g} bits estimated in what varies across {kind} "
               "tokens", received=estimate.describe())


@pytest.mark.requirement("RT-17")
def test_rt17_jwt_access_token_is_signed(target: TargetSession) -> None:
    """RT-17: an access token in JWT form is signed: its `alg` is present and not `none` (in any
    case), and it has a signature (RFC 8725 §2.1, §3.1). The signature is not verified (the suite
    has no key). `skip` for opaque access tokens."""
    access_token, header, _, reply = refreshed_jwt(target)
    alg, signature = header.get("alg"), access_token.rsplit(".", 1)[1]
    ensure(isinstance(alg, str) and alg.lower() != "none" and bool(signature),
           "JWT access token is not signed",
           expected="a JWS with a signing alg (not none) and a signature",
           received=f"alg {alg!r} and a signature of {len(signature)} characters", reply=reply)


@pytest.mark.requirement("RT-18")
def test_rt18_jwt_access_token_lifetime_matches_expires_in(target: TargetSession) -> None:
    """RT-18: an access token in JWT form has `exp - iat` within 5 s of the response's
    `expires_in` (RFC 9068 §2.2: exp and iat REQUIRED; RFC 6749 §5.1). `skip` for opaque access
    tokens, and when `expires_in` is absent (FT-16)."""
    _, _, claims, reply = refreshed_jwt(target)
    expires_in = reply.response.auth_token.expires_in if reply.response else 0
    if expires_in <= 0:
        not_applicable("expires_in is absent (0): nothing to compare exp - iat with (see FT-16)")
    exp, iat = claims.get("exp"), claims.get("iat")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat))
    ensure(numbers, "JWT access token lacks exp or iat",
           expected="numeric exp and iat claims (RFC 9068 §2.2)",
           received=f"exp {exp!r}, iat {iat!r}", reply=reply)
    lifetime = float(exp) - float(iat)  # type: ignore[arg-type]
    ensure(abs(lifetime - expires_in) <= LIFETIME_TOLERANCE,
           "JWT lifetime disagrees with expires_in",
           expected=f"exp - iat within {LIFETIME_TOLERANCE} s of expires_in {expires_in}",
           received=f"exp - iat = {lifetime:g} s", reply=reply)


@pytest.mark.requirement("RT-19")
def test_rt19_refused_refresh_tokens_get_one_answer(target: TargetSession,
                                                    request: pytest.FixtureRequest) -> None:
    """RT-19: an unknown, a rotated-out and a family-revoked refresh token get the same status and
    the same message, so the answer tells an attacker nothing about a stolen token (RFC 6749 §5.2:
    one `invalid_grant` for all). Compared are the classes the target refuses as well-formed
    tokens: a class whose token was accepted is not available (RT-05, RT-11, RT-12 judge that),
    and the suite's constructed unknown token is left out when the target calls it malformed
    (INVALID_ARGUMENT: a checksum or format the suite cannot reproduce, see RT-05). The result
    names what was left out; `skip` when fewer than two classes remain, or when the target does
    not rotate (RT-10)."""
    rotated_out = target.fresh_tokens().refresh_token
    revoked = rotate(target, rotated_out, "refresh the minted token")
    wait_past_grace(target)
    answers = {"unknown": target.refresh(lookalike(rotated_out)),
               "rotated-out": target.refresh(rotated_out),
               "family-revoked": target.refresh(revoked)}  # revoked by the replay before it
    down = [kind for kind, reply in answers.items() if reply.code is Status.UNAVAILABLE]
    if down:
        raise CannotEvaluate(f"the target stopped answering: the {down[0]} refresh token got "
                             f"{answers[down[0]].status}")
    left_out = {kind: why for kind, reply in answers.items()
                if (why := refusal_left_out(kind, reply))}
    compared = {kind: reply for kind, reply in answers.items() if kind not in left_out}
    aside = "; ".join(f"{kind} {why}" for kind, why in left_out.items())
    if len(compared) < 2:
        not_applicable(f"fewer than two classes of refused refresh token to compare: {aside}")
    ensure(len({(reply.code, reply.details) for reply in compared.values()}) == 1,
           "Refused refresh tokens get different answers",
           expected=f"the same status and message for {' and '.join(compared)} refresh tokens",
           received="; ".join(f"{kind}: {reply.status}" for kind, reply in compared.items()),
           reply=compared.get("rotated-out") or next(iter(compared.values())), details=aside)
    if aside:  # a class left out is a part of the rule not judged
        partly_judged(request.node, f"{' and '.join(compared)} refresh tokens get one answer "
                      f"({next(iter(compared.values())).status}); {aside}")


@pytest.mark.requirement("RT-20")
def test_rt20_get_me_accepts_the_scheme_in_any_case(target: TargetSession) -> None:
    """RT-20: GetMe accepts the auth scheme case-insensitively: `authorization: bearer <token>`
    works wherever `Bearer <token>` does (RFC 7235 §2.1; RFC 6750 §2.1)."""
    access_token = live_access_token(target)
    control = target.client.get_me(f"Bearer {access_token}")
    if not access_token or not control.ok:
        raise CannotEvaluate(f"precondition failed: GetMe refused the access token with the "
                             f"scheme `Bearer` ({control.status}); see RT-04")
    reply = target.client.get_me(f"bearer {access_token}")
    ensure(reply.ok, "GetMe refused the scheme in lower case",
           expected="OK for `authorization: bearer <token>` (the scheme is case-insensitive), as "
           "for `Bearer <token>`", received=reply.status, reply=reply)


# RT-24: identity metadata that gateways, proxies and frameworks set for the app behind them, each
# naming a made-up user: an email where the header carries one, else a user id.
OTHER_EMAIL = "other@example.com"
OTHER_USER_ID = "7d0f5c2e-3a41-4b6e-9c58-2e1b0a9f6d34"
IDENTITY_METADATA: tuple[tuple[str, str], ...] = (
    ("x-user", OTHER_EMAIL),
    ("x-user-id", OTHER_USER_ID),
    ("x-user-email", OTHER_EMAIL),
    ("x-forwarded-user", OTHER_EMAIL),                   # oauth2-proxy, Traefik forward auth
    ("x-forwarded-email", OTHER_EMAIL),
    ("x-forwarded-preferred-username", OTHER_EMAIL),
    ("x-remote-user", OTHER_EMAIL),                      # Apache, nginx REMOTE_USER
    ("remote-user", OTHER_EMAIL),
    ("x-auth-request-user", OTHER_EMAIL),                # nginx auth_request, oauth2-proxy
    ("x-auth-request-email", OTHER_EMAIL),
    ("x-authenticated-userid", OTHER_USER_ID),           # Kong
    ("x-consumer-id", OTHER_USER_ID),
    ("x-goog-authenticated-user-email", f"accounts.google.com:{OTHER_EMAIL}"),  # Google IAP
    ("x-ms-client-principal-name", OTHER_EMAIL),         # Azure App Service authentication
    ("x-ms-client-principal-id", OTHER_USER_ID),
    ("x-amzn-oidc-identity", OTHER_USER_ID),             # AWS ALB authentication
)


@pytest.mark.requirement("RT-24")
def test_rt24_identity_metadata_never_changes_the_user(target: TargetSession,
                                                       request: pytest.FixtureRequest) -> None:
    """RT-24: GetMe names the access token's user whatever identity metadata the call also
    carries: with the live access token and gateway identity headers naming another user
    (`x-user: other@example.com`, ...), the answer equals the plain call's, OK with the same
    uuid (RFC 6750 §2.1: the token is the credential; OWASP ASVS 5.0 8.3.1; CWE-290: spoofed
    identity). One call carries every header of IDENTITY_METADATA; only when its answer differs
    is each header sent alone, to name the ones that change it.

    Decided from the catalogue's "never changes the answer": a refusal of the valid token
    because a header is present (PERMISSION_DENIED, UNAUTHENTICATED, ...) changes the answer too
    and fails, with a message that tells it from impersonation; a refusal of the headers only
    together, with each alone harmless, passes with a note. Out of reach from outside: a server
    that trusts a header only when it names a user it knows (the suite knows one user), and a
    header name not in the list."""
    access_token = live_access_token(target)
    authorization = f"Bearer {access_token}"
    control = target.client.get_me(authorization)
    if not access_token or not control.ok or control.response is None:
        raise CannotEvaluate(f"precondition failed: GetMe refused the live access token "
                             f"({control.status}); see RT-04")
    owner = control.response.user.uuid
    together = target.client.get_me(authorization, made_up=IDENTITY_METADATA)
    if same_user(together, owner):
        return
    if together.code is Status.UNAVAILABLE:
        raise CannotEvaluate(f"the target stopped answering: GetMe got {together.status}")
    alone = {key: target.client.get_me(authorization, made_up=((key, value),))
             for key, value in IDENTITY_METADATA}
    changed = {key: reply for key, reply in alone.items() if not same_user(reply, owner)}
    if not changed:
        pass_note(request.node, f"every identity header at once got "
                         f"{answer_of(together)}; each alone leaves GetMe's answer unchanged")
        return
    another = [key for key, reply in changed.items() if reply.ok]
    raise violation("Identity metadata changed GetMe's user" if another else
                    "Identity metadata made GetMe refuse a valid access token",
                    expected=f"OK with the token's user {owner}, as the plain call, for the live "
                    "access token with identity metadata naming another user",
                    received="; ".join(f"`{key}: {dict(IDENTITY_METADATA)[key]}` got "
                                       f"{answer_of(reply)}" for key, reply in changed.items()),
                    reply=changed[another[0] if another else next(iter(changed))])


def same_user(reply: Reply[pb.GetMeResponse], owner: str) -> bool:
    return reply.ok and reply.response is not None and reply.response.user.uuid == owner


def answer_of(reply: Reply[pb.GetMeResponse]) -> str:
    if not reply.ok or reply.response is None:
        return reply.status
    user = reply.response.user
    return f"OK with another user: uuid {user.uuid or '(empty)'}, email {user.email or '(empty)'}"


# Helpers: a live access token ---------------------------------------------------------------
def live_access_token(target: TargetSession) -> str:
    """The access token of a fresh family: the one its source minted with it, else the one
    its first refresh issued."""
    tokens = target.fresh_tokens()
    return tokens.access_token or target.refreshed(
        tokens.refresh_token, "refresh a freshly minted token").auth_token.token


# Helpers: chains, rotation, grace, bursts ------------------------------------------------------
@dataclass
class Chain:
    """Refreshes made one after another, each with the newest refresh token."""

    length: int
    replies: list[RefreshReply]        # the OK replies, in order
    broken: RefreshReply | None = None  # the first reply that was not OK

    def steps(self) -> list[tuple[int, RefreshReply]]:
        return list(enumerate(self.replies, 1))

    def require_complete(self) -> None:
        """A chain a check needs whole: a refusal is a precondition failure (RT-01, RT-13)."""
        if self.broken is not None:
            step = len(self.replies) + 1
            raise CannotEvaluate(f"precondition failed: refresh {step} of {self.length} in the "
                                 f"chain answered {self.broken.status}; see "
                                 f"{'RT-13' if self.replies else 'CT-01 and RT-01'}")


def refresh_chain(target: TargetSession, refresh_token: str, length: int) -> Chain:
    chain = Chain(length, [])
    for _ in range(length):
        reply = target.refresh(refresh_token)
        if not reply.ok or reply.response is None:
            chain.broken = reply
            break
        chain.replies.append(reply)
        # RFC 6749 §6: a client keeps its refresh token when the response carries none.
        refresh_token = reply.response.auth_token.refresh_token or refresh_token
    return chain


def rotate(target: TargetSession, refresh_token: str, step: str) -> str:
    """Refresh as a step and return the successor; `skip` when the target does not rotate."""
    successor = target.refreshed(refresh_token, step).auth_token.refresh_token
    if not successor or successor == refresh_token:
        not_applicable("the target does not rotate refresh tokens (a refresh returned "
                    f"{'no refresh token' if not successor else 'the presented one'}): see RT-10")
    return successor


def wait_past_grace(target: TargetSession) -> float:
    """Sleep past the declared reuse grace window, so that a replay is a replay."""
    if target.reuse_grace > MAX_GRACE_WAIT:
        raise CannotEvaluate(f"the declared reuse grace window of {target.reuse_grace:g} s is "
                             f"longer than the suite waits ({MAX_GRACE_WAIT:g} s)")
    waited = target.reuse_grace + REPLAY_MARGIN
    time.sleep(waited)
    return waited


def token_owner(target: TargetSession, tokens: TokenPair) -> tuple[str | None, str]:
    """The user a minted refresh token was issued to, as far as the minting tells."""
    if tokens.user_uuid:
        return tokens.user_uuid, "the login that minted the refresh token"
    if tokens.access_token:
        reply = target.client.get_me(f"Bearer {tokens.access_token}")
        if reply.ok and reply.response is not None and reply.response.user.uuid:
            return reply.response.user.uuid, "GetMe with the access token minted alongside"
    return None, ""


def response_user_uuid(reply: RefreshReply, step: int) -> str:
    if reply.response is None or not reply.response.HasField("user"):
        raise CannotEvaluate(f"precondition failed: refresh {step} returned no user (see CT-02)")
    return reply.response.user.uuid


def ensure_get_me_refuses(target: TargetSession, refresh_token: str, origin: str) -> int:
    """GetMe refuses the refresh token as a Bearer credential; 0 when the token cannot be
    presented at all (HTTP/2 header values are printable ASCII: gRPC refuses to send others)."""
    if not is_vschar_token(refresh_token):
        return 0
    reply = target.client.get_me(f"Bearer {refresh_token}")
    ensure_status(reply, UNAUTHENTICATED, "Refresh token accepted as Bearer token by GetMe",
                  expected=f"UNAUTHENTICATED for `authorization: Bearer` {redact(refresh_token)} "
                  f"({origin})")
    return 1


def burst(target: TargetSession, refresh_token: str, size: int) -> list[RefreshReply]:
    """`size` refreshes with one token, released together; each call has its own deadline."""
    barrier = threading.Barrier(size, timeout=BARRIER_TIMEOUT)
    replies: list[RefreshReply | None] = [None] * size

    def run(index: int) -> None:
        with step.admit():
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                return
            replies[index] = target.refresh(refresh_token)

    # The burst has the target to itself: no other check's call is in flight during it
    # (conformance.transport.inflight), whatever --max-inflight is.
    with target.client.gate.alone() as step:
        threads = [threading.Thread(target=carry(run), args=(i,), daemon=True)
                   for i in range(size)]
        for thread in threads:
            thread.start()
        until = time.monotonic() + BARRIER_TIMEOUT + target.config.channel.deadline + 5
        for thread in threads:
            thread.join(max(0.0, until - time.monotonic()))
    done = [reply for reply in replies if reply is not None]
    if len(done) != size:
        raise CannotEvaluate(f"only {len(done)} of {size} concurrent refreshes completed")
    return done


def tally(replies: Sequence[RefreshReply]) -> str:
    counts = Counter(reply.code.name for reply in replies)
    return f"{len(replies)} simultaneous refreshes: " + ", ".join(
        f"{count} {code}" for code, count in counts.most_common())


# Helpers: classes of refused refresh tokens (RT-19) -----------------------------------------
# The check that judges a class's token when the target accepts it.
RT19_ACCEPTED = {"unknown": "RT-05", "rotated-out": "RT-11", "family-revoked": "RT-12"}


def refusal_left_out(kind: str, reply: RefreshReply) -> str:
    """Why a class of RT-19 is not compared ('' when it is), from its token's answer."""
    if reply.ok:
        return f"not available: its token was accepted (see {RT19_ACCEPTED[kind]})"
    if kind == "unknown" and reply.code.name in MALFORMED:
        return (f"left out: the target calls the suite's constructed token malformed "
                f"({reply.status}), a checksum or format the suite cannot reproduce (see RT-05)")
    return ""


# Helpers: JWT access tokens (RT-17, RT-18) ----------------------------------------------------
def refreshed_jwt(target: TargetSession,
                  ) -> tuple[str, dict[str, Any], dict[str, Any], RefreshReply]:
    """A freshly refreshed access token in JWT form; `skip` when it is opaque."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    if not reply.ok or reply.response is None or not reply.response.auth_token.token:
        raise CannotEvaluate(f"precondition failed: refresh answered {reply.status} without an "
                             "access token (see RT-01)")
    access_token = reply.response.auth_token.token
    parsed = parse_jws(access_token)
    if parsed is None:
        not_applicable("the access token is opaque, not a JWT in JWS compact form")
    return access_token, parsed[0], parsed[1], reply


# Helpers: guessing estimate (RT-15, RT-16) ----------------------------------------------------
# RT-15 and RT-16 judge one sample per target, gathered once by whichever asks first (as
# conformance.run.samples gathers its own). A spent static token is each one's, with the same cause;
# any other failure is not kept: the next to ask gathers anew, so that a check run again alone
# (conformance.run.overlap) is judged on a sample of its own run, not on what its neighbours spoilt.
_ISSUED: weakref.WeakKeyDictionary[TargetSession, dict[str, list[str]] | Exception] = \
    weakref.WeakKeyDictionary()
_ISSUED_LOCKS: weakref.WeakKeyDictionary[TargetSession, threading.Lock] = \
    weakref.WeakKeyDictionary()
_ISSUED_LOCKS_LOCK = threading.Lock()
# Pairs (login, refresh) in flight while gathering: the sample's chain of round trips shrinks by
# this factor; the client bounds logins in flight to a target on its own.
ISSUED_THREADS = 4


def issued_sample(target: TargetSession) -> dict[str, list[str]]:
    """The profile's `entropy_sample` access and refresh tokens issued by RefreshAccessToken, one
    refresh per fresh login (a repeat within one family is RT-02's concern, a repeat across
    families is guessable), in a fixed order; gathered once per target."""
    with _ISSUED_LOCKS_LOCK:
        lock = _ISSUED_LOCKS.setdefault(target, threading.Lock())
    with lock:  # per target: another target's checks do not wait for this one's sample
        cached = _ISSUED.get(target)
        if cached is None:
            try:
                cached = _gather_issued(target, target.profile.entropy_sample)
            except NeedsFreshTokens as error:  # a cause to repeat to both checks
                cached = error
            _ISSUED[target] = cached
    if isinstance(cached, Exception):
        raise cached
    return cached


def _gather_issued(target: TargetSession, size: int) -> dict[str, list[str]]:
    """`size` (access, refresh) pairs, ISSUED_THREADS at a time; when that fails, one pair after
    another, as a serial run gathers them: a server that logs the user out of other sessions on
    a refresh (RT-22's concern, not RT-15's) spoils pairs gathered side by side."""
    try:
        return _gather_pairs(target, size, ISSUED_THREADS)
    except CannotEvaluate:
        return _gather_pairs(target, size, 1)


def _gather_pairs(target: TargetSession, size: int, threads: int) -> dict[str, list[str]]:
    """`size` (access, refresh) pairs, `threads` at a time, each task the calling check's
    (client.carry), in index order. The first failure by index is raised; once a pair has failed
    no login is started."""
    failed = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, min(threads, size)),
                            thread_name_prefix="issued-sample") as pool:
        futures = [pool.submit(carry(_issued_pair), target, failed) for _ in range(size)]
    for future in futures:  # the pool has finished them all
        error = future.exception()
        if error is not None:
            raise error
    pairs = [pair for pair in (future.result() for future in futures) if pair is not None]
    return {"access": [access for access, _ in pairs], "refresh": [refresh for _, refresh in pairs]}


def _issued_pair(target: TargetSession, failed: threading.Event) -> tuple[str, str] | None:
    """One fresh login's refresh: (access token, refresh token); None when another pair has
    already failed (the sample cannot be judged: no more logins for it)."""
    if failed.is_set():
        return None
    try:
        tokens = target.fresh_tokens()
        issued = target.refreshed(tokens.refresh_token, "refresh a freshly minted token").auth_token
        if not issued.token:
            raise CannotEvaluate("precondition failed: a refresh returned no access token "
                                 "(see RT-01)")
    except BaseException:
        failed.set()
        raise
    # Without rotation the refresh token in use is still the minted one.
    return issued.token, issued.refresh_token or tokens.refresh_token


def describe_sample(sample: dict[str, list[str]]) -> str:
    return ", ".join(f"{len(tokens)} {kind}" for kind, tokens in sample.items()) + \
        ", one refresh per fresh login"


# RT-21: access tokens expire ---------------------------------------------------------------------
# The clock each target's early RT-21 check started, for its judgement after the other checks.
RT21_CLOCKS: dict[str, ExpiryClock] = {}


@pytest.mark.requirement("RT-21")
@pytest.mark.early
def test_rt21_clock_starts_for_a_refreshed_access_token(target: TargetSession) -> None:
    """RT-21: its clock. Before every other check, take the access token the sample's refresh
    of a freshly minted token issued (conformance/samples.py: no token of its own, so a single
    static token serves it too), check that GetMe accepted it, and start its clock (RFC 6749
    §5.1: expires_in is the access token's lifetime; a JWT's `exp` when that is earlier, RFC
    7519 §4.1.4). `skip` when no lifetime is stated (expires_in 0, FT-16) or when its end plus
    the declared leeway (--expiry-leeway) lies beyond --expiry-wait. Skipped too when the clock
    runs: test_rt21_access_token_is_refused_once_expired gives RT-21's verdict."""
    gathered = sampled(target)
    received, wall = time.monotonic(), time.time()  # no earlier than the token was issued
    response = gathered.refresh.response
    if not gathered.refresh.ok or response is None or not response.auth_token.token:
        raise CannotEvaluate(f"precondition failed: the sample's refresh answered "
                             f"{gathered.refresh.status} without an access token (see CT-01 "
                             "and RT-01)")
    auth_token = response.auth_token
    if auth_token.expires_in <= 0:
        not_applicable(f"no lifetime is stated (expires_in {auth_token.expires_in}; see FT-15 and "
                    "FT-16): nothing to wait for")
    clock = start_clock(auth_token.token, auth_token.expires_in, received,
                        target.config.expiry_leeway, wall)
    bound = target.profile.expiry_wait
    if clock.wait > bound:
        not_judged(f"the access token's lifetime is {clock.lifetime:g} s ({clock.authority}): "
                    f"RT-21 would wait {clock.wait:g} s for it with the declared leeway of "
                    f"{clock.leeway:g} s, beyond --expiry-wait {bound:g} s (profile "
                    f"{target.profile.name}); --expiry-wait {math.ceil(clock.wait)} judges it")
    if not any(one.name == "GetMe response" for one in gathered.ok_responses):
        raise CannotEvaluate(f"precondition failed: GetMe refused the access token "
                             f"{redact(auth_token.token)} just issued (see RT-04)")
    RT21_CLOCKS[target.label] = clock
    not_applicable(f"the clock runs: {redact(auth_token.token)} is judged after the other checks, "
                f"{clock.wait:g} s after issue (test_rt21_access_token_is_refused_once_expired)")


@pytest.mark.requirement("RT-21")
@pytest.mark.expiry
def test_rt21_access_token_is_refused_once_expired(target: TargetSession,
                                                   request: pytest.FixtureRequest) -> None:
    """RT-21: GetMe with an access token issued by RefreshAccessToken is rejected with
    UNAUTHENTICATED once its expires_in seconds (or its JWT `exp`, when earlier) plus the
    declared clock-skew leeway have passed since it was issued (RFC 6749 §5.1; RFC 6750 §3.1
    invalid_token: expired; RFC 7519 §4.1.4). The token is the one
    test_rt21_clock_starts_for_a_refreshed_access_token took at the start of the run, so the
    wait overlaps the other checks; it sleeps only for what is left of it."""
    clock = RT21_CLOCKS.get(target.label)  # not popped: a check may run again (overlap)
    if clock is None:
        not_applicable("no access token to judge: test_rt21_clock_starts_for_a_refreshed_access_"
                    "token did not start a clock (see its outcome)")
    time.sleep(max(0.0, clock.due() - time.monotonic()))
    waited = clock.since_issue()
    reply = target.client.get_me(f"Bearer {clock.access_token}")
    ensure_status(reply, UNAUTHENTICATED, "Access token still accepted after its lifetime",
                  expected=f"UNAUTHENTICATED for {redact(clock.access_token)}, {waited:.1f} s "
                  f"after it was issued: past its lifetime of {clock.lifetime:g} s "
                  f"({clock.authority}) and the declared leeway of {clock.leeway:g} s")
    pass_note(request.node, f"GetMe refused the access token {waited:.1f} s after issue "
                     f"(lifetime {clock.lifetime:g} s, {clock.authority}; leeway "
                     f"{clock.leeway:g} s)")


# RT-22: independent token families -------------------------------------------------------------
@pytest.mark.requirement("RT-22")
def test_rt22_a_refresh_leaves_the_users_other_families_working(target: TargetSession) -> None:
    """RT-22: token families are independent: two logins of one user (two families), a chain of
    refreshes in the first (profile, at least 2), then the second's refresh token still works
    (RFC 6749 §6: a refresh token is bound to its grant; RFC 9700 §4.14.2: reuse revokes the
    family, no more). A server that logs out the user's other sessions on each refresh ("one
    session per user", a product choice) is judged only here: the checks it disturbs when they
    run side by side end differently alone, and are judged alone (conformance.run.overlap). `skip`
    when the two minted families belong to different users (a token command may give any
    user)."""
    other = target.fresh_tokens()
    first = target.fresh_tokens()
    if other.user_uuid and first.user_uuid and other.user_uuid != first.user_uuid:
        not_judged(f"the two minted families belong to different users ({other.user_uuid!r} "
                    f"and {first.user_uuid!r}): no two families of one user to compare")
    chain = refresh_chain(target, first.refresh_token, max(2, target.profile.chain_length))
    if not chain.replies:  # a chain broken later is RT-13's; its refreshes so far still count
        chain.require_complete()
    reply = target.refresh(other.refresh_token)
    ensure(reply.ok, "A refresh in one family logged out the user's other family",
           expected=f"status OK for {redact(other.refresh_token)}, the refresh token of another "
           f"login of the same user, after {len(chain.replies)} refreshes in a family minted "
           "later",
           received=f"{reply.status}: the server revokes the user's other sessions on a "
           "refresh (one session per user)", reply=reply)


# RT-23: HMAC-signed JWTs and well-known weak secrets ------------------------------------------
# Bounds the offline work (about 1 ms a token): a run sees a few hundred tokens.
MAX_JUDGED_JWTS = 400


@pytest.mark.requirement("RT-23")
def test_rt23_hmac_jwt_does_not_verify_with_a_weak_secret(target: TargetSession,
                                                          request: pytest.FixtureRequest) -> None:
    """RT-23: no token in JWT form signed with HS256, HS384 or HS512 verifies with a well-known
    weak secret (RFC 8725 §3.5: human-memorable keys MUST NOT be used; RFC 7518 §3.2: a key of
    the hash's size; RFC 6749 §10.10). Judged offline, without an RPC of its own: every access
    and refresh token issued in the run so far (the sample's login and refresh, then every OK
    response logged, up to 400 JWTs), against the list the suite ships
    (conformance/weak_jwt_secrets.txt, its sources named there). On a match for an access
    token, the suite forges one (the same header and claims, `sub` first of all, a new `jti`,
    `iat`/`nbf`/`exp` moved to now) and calls GetMe with it: accepted is the proof that anyone
    can sign in as any user; refused still fails (the key is public) and says so. A refresh
    token signed with a weak key fails by name; no refresh is spent forging one. `skip` when no
    token seen is an HMAC-signed JWT (opaque tokens; RS/ES/PS/EdDSA JWTs).

    Near-misses tried: each entry as its UTF-8 bytes, and as what it decodes to where it reads
    as hex, base64 or base64url (libraries that take the key encoded: jwt.io's "secret base64
    encoded", JJWT's `Decoders.BASE64` of the Spring tutorials); the empty key and `undefined`,
    `null`, `None` (a setting left unset, or coerced to text); HS384 and HS512 besides HS256;
    `alg` in any case (a lenient issuer's `hs256` signs with the same key); tutorial and
    framework defaults (jwt.io, FastAPI, Spring, Supabase, express-jwt, express-session).

    Not reachable from outside: a weak key that is not on the list (a short or guessable random
    key: brute force is an offline cracker's job, not a conformance run's); a server that signs
    with a strong key but also accepts a weak one or the `alg` a token names (RFC 8725 §2.1:
    forging with each entry would cost an RPC a key, beyond the run's budget; `alg: none` is
    RT-17's); asymmetric keys (a weak RSA key or HS256 with the public key as secret needs the
    public key, which the API does not publish); JWE (encrypted) tokens."""
    issued = issued_tokens(target)
    algs = {one.token: signing_alg(one.token) for one in issued}
    hmac_seen = [one for one in issued if (alg := algs[one.token]) and alg.upper() in HMAC_ALGS]
    hmac_jwts = hmac_seen[:MAX_JUDGED_JWTS]
    hmac = {one.token for one in hmac_seen}
    others = Counter(f"{algs[one.token]} JWTs" if algs[one.token] else "opaque"
                     for one in issued if one.token not in hmac)
    aside = ", ".join(f"{count} {what}" for what, count in sorted(others.items()))
    if not hmac_jwts:
        not_applicable(f"no token issued in the run is an HMAC-signed JWT ({aside} tokens): an "
                    "opaque token has no key to guess, an asymmetric one no shared secret")
    weak = [(one, key) for one in hmac_jwts if (key := find_weak_secret(one.token))]
    kinds = sorted({one.kind for one in hmac_jwts})
    if not weak:
        note = (f"{len(hmac_jwts)} HMAC-signed JWTs ({' and '.join(kinds)}) verify with none "
                f"of the {len(candidates())} keys of the {len(weak_secrets())} weak secrets"
                + (f"; {aside} tokens, not HMAC-signed, are outside the rule" if aside else ""))
        beyond = len(hmac_seen) - len(hmac_jwts)  # past the bound: a part of the rule unjudged
        if beyond:
            partly_judged(request.node, f"{note}; {beyond} more HMAC-signed JWTs not judged (at "
                          f"most {MAX_JUDGED_JWTS} a run)")
        else:
            pass_note(request.node, note)
        return
    found = "; ".join(f"the {one.kind} token {redact(one.token)} of the {one.origin} "
                      f"({algs[one.token]}) verifies with {key.describe()}"
                      for one, key in {one.kind: (one, key) for one, key in weak}.values())
    forged_reply, forgery = rt23_forgery(target, weak)
    raise violation("JWT signed with a well-known weak secret",
                    expected=f"no HMAC-signed token verifies with any of the {len(weak_secrets())} "
                    f"well-known weak secrets of {LIST_NAME} (nor the empty key)",
                    received=f"{found}; {len(weak)} of the {len(hmac_jwts)} HMAC-signed "
                    "tokens seen verify with a weak secret",
                    reply=forged_reply, details=forgery)


def rt23_forgery(target: TargetSession, weak: list[tuple[IssuedToken, Candidate]],
                 ) -> tuple[Reply[pb.GetMeResponse] | None, str]:
    """GetMe with an access token forged with the weak key found, and what its answer shows."""
    access = next(((one, key) for one, key in weak if one.kind == "access"), None)
    if access is None:
        return None, "no access token is signed with a weak key; no refresh is spent forging a " \
            "refresh token"
    one, key = access
    forged = forge(one.token, key, jti=secrets.token_urlsafe(32), now=int(time.time()))
    reply = target.client.get_me(f"Bearer {forged}")  # a working credential: redacted too
    parsed = parse_jws(one.token)
    sub = parsed[1].get("sub") if parsed else None
    if reply.code is Status.UNAVAILABLE:  # the key is public whatever GetMe answers
        return None, f"GetMe with a token forged with that key got {reply.status}"
    if reply.ok and reply.response is not None:
        return reply, (f"GetMe accepted {redact(forged)}, forged by the suite with that key (sub "
                       f"{sub!r}, a new jti, iat and exp moved to now), and answered user.uuid "
                       f"{reply.response.user.uuid!r}: anyone can sign in as any user")
    return reply, (f"GetMe refused {redact(forged)}, forged by the suite with that key (sub "
                   f"{sub!r}, a new jti): the target checks more than the signature (a jti it "
                   f"issued?), but the key is public all the same ({reply.status})")
