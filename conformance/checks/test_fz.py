"""FZ: robustness under malformed input (hypothesis).

These checks run after every other check of the run (marker `late`: fuzzing may damage a
target, and a crash must not be reported against other requirements), in this file's order:
the campaigns, then FZ-05 (liveness after them), then the scans of every call of the run,
FZ-04 and FZ-08 (marker `last`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.model.contract import GET_ME_METHOD, REFRESH_METHOD, pb
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import SECRETS, redact
from conformance.model.status import Status
from conformance.model.violations import Violation, ensure, ensure_status, violation
from conformance.rules.strategies import (
    FAMILIES,
    Tagged,
    family_examples,
    near_misses,
    padded_variants,
    tagged_tokens,
)
from conformance.run.check_context import (
    NO_WIRE_BYTES,
    hypothesis_database_dir,
    hypothesis_seed,
    not_applicable,
    pass_note,
)
from conformance.run.target import TargetSession
from conformance.transport.client import CallRecord, Reply, carry
from conformance.transport.frames import KINDS as FRAME_KINDS
from conformance.transport.frames import frame as malformed_frame
from conformance.transport.tokens import NeedsFreshTokens

pytestmark = pytest.mark.late

# Requirements preamble: "rejected" is UNAUTHENTICATED or INVALID_ARGUMENT within the deadline.
REJECTED = {"UNAUTHENTICATED", "INVALID_ARGUMENT"}
# FZ-06: a message-size limit may answer RESOURCE_EXHAUSTED (gRPC status codes); FZ-11 names
# the same three as the statuses of a refusal clients can read.
REFUSED = REJECTED | {"RESOURCE_EXHAUSTED"}
OVERSIZED = {"64 KiB": 64 * 1024, "1 MiB": 1024 * 1024}
# After a first failure, hypothesis shrinks it; against a target that answers at the deadline,
# each attempt costs the deadline, so shrinking stops after this long (the run never hangs).
SHRINK_SECONDS = 30.0
# FZ-01 presents its generated tokens in batches of this many concurrent calls: one hypothesis
# example per batch spreads hypothesis's per-example cost (about 1 ms) over the batch, and the
# calls overlap. A failing batch is shrunk like any example (each token shrinks on its own), and
# the finding is the one token that was not rejected. Not larger: the shrinker's cost per attempt
# grows faster than the batch (measured 17 ms at 8 tokens, 57 ms at 16, 125 ms at 32), and
# the generation gains little more. The batches are one chain (each example waits for the one
# before), the longest of a standard run: 40 round trips (issue 17's bench shows it); 16 would
# halve it and make a failing campaign's shrinking cost six times the calls (measured: 9,151
# against 1,407 in tests/test_fz_checks.py), which SHRINK_SECONDS would then cut short.
FUZZ_BATCH = 8


@pytest.mark.requirement("FZ-01")
def test_fz01_malformed_refresh_tokens_are_rejected(target: TargetSession,
                                                    request: pytest.FixtureRequest) -> None:
    """FZ-01: every malformed refresh token the fuzzer generates is rejected: UNAUTHENTICATED or
    INVALID_ARGUMENT within the deadline, never OK, never any other status (RFC 6749 §5.2
    invalid_grant; gRPC status codes).

    Families (conformance/strategies.py), all presented first by plain examples, then drawn
    uniformly for the profile's fuzz_examples, in concurrent batches: empty or white space only;
    control characters and NUL; non-ASCII and invalid-looking Unicode; very long; SQL, NoSQL and
    LDAP injection; path traversal and format strings; JWT-shaped garbage; `alg: none` JWTs;
    base64 and base64url noise; tokens shaped like the target's own (learnt from a live token,
    never the token).
    """
    live = _shape_source(target)
    campaign = _Campaign(target, live)
    finding = campaign.run()
    # The campaign's throughput, for the benchmark (bench/bench.py reads it from junit.xml),
    # written as the plugin writes each check's requirement.
    request.node.user_properties += [("fuzz_tokens", campaign.presented),
                                     ("fuzz_distinct", len(campaign.distinct)),
                                     ("fuzz_seconds", round(campaign.seconds, 4))]
    if finding is not None:
        reply = finding.reply
        if _shown_whole(finding.token, live):  # then the grpcurl line can carry it too
            reply = dataclasses.replace(reply, reproduce=target.client.reproduce(
                REFRESH_METHOD, {"refresh_token": finding.token}, secret=False))
        raise violation(
            "Malformed refresh token not rejected",
            expected="UNAUTHENTICATED or INVALID_ARGUMENT within "
            f"{target.config.channel.deadline:g} s for every malformed refresh token",
            received=f"{reply.status} after {reply.elapsed:.2f} s for "
            f"{_shown(finding.token, live)} (family: {FAMILIES[finding.family]})",
            reply=reply, details=campaign.replay_hint())


@pytest.mark.requirement("FZ-02")
def test_fz02_near_misses_of_a_live_refresh_token_are_rejected(target: TargetSession) -> None:
    """FZ-02: near-misses of a live refresh token are rejected (RFC 6749 §6, §10.4, §10.10): a
    refresh token is compared as issued, so any other string is unknown. Every near-miss is
    presented while the live token is still unused, so that a server matching loosely would
    find it active (one login; the first accepted near-miss ends the check).

    Near-miss tried (conformance/strategies.py)  | the server that takes it for the token
    ---------------------------------------------+---------------------------------------------
    truncated: last, first character; half       | a prefix match (LIKE :t || '%', startswith)
    extended by one character: end, start        | a substring or stored-length compare;
                                                 | bcrypt, which reads 72 bytes (CWE-1339)
    one character changed: start, middle, last   | a compare of part of the token (its first N
      but one; the last (half its class away, or | characters, a suffix; an off-by-one memcmp);
      only its spare bits in 4k+2/4k+3 base64)   | a base64 decoder ignoring spare bits
    case swapped                                 | a case-insensitive collation; bytes.fromhex,
                                                 | uuid.UUID
    followed by a NUL and more (CWE-158)         | a C string, cut at its first NUL
    one character fullwidth (U+FF01-FF5E)        | Unicode NFKC before the lookup (UAX #15)
    base64: = padding; - _ and + / swapped; four | a lookup by the decoded bytes: a decoder that
      characters outside the alphabet inserted   | pads, reads both alphabets, skips the rest
    JWT: signature stripped (with, without the   | a jti lookup without verifying the signature
      last dot); re-encoded with alg: none       | (or accepting alg: none)

    Not tried, and why: for a JWT, padding, the other alphabet and the spare bits of its
    signature (the standard libraries, PyJWT among them, decode it that leniently: a server
    verifying the signature takes the same signature, and cannot be told from one that
    compares loosely); a lenient decoder's white space and percent-decoding are FZ-03's;
    comparisons that depend on what the server stores beside the token (a lookup by user, a
    short hash, a cache keyed by prefix) or on timing cannot be provoked with a near-miss of
    one live token from outside."""
    live = target.fresh_tokens().refresh_token
    for description, near_miss in near_misses(live):
        reply = target.refresh(near_miss)
        ensure(reply.code.name in REJECTED, "Near-miss of a live refresh token not rejected",
               expected=f"UNAUTHENTICATED or INVALID_ARGUMENT for the live token {description}",
               received=f"{reply.status} for {redact(near_miss)} (the live token "
               f"{description}; live token {redact(live)})", reply=reply)


@pytest.mark.requirement("FZ-03")
def test_fz03_live_token_with_white_space_or_percent_encoding_is_rejected(
        target: TargetSession) -> None:
    """FZ-03: the live refresh token with leading or trailing white space, or percent-encoded,
    is rejected: a refresh token is 1*VSCHAR compared as issued, not trimmed or URL-decoded
    (RFC 6749 App. A.17)."""
    live = target.fresh_tokens().refresh_token
    for description, variant in padded_variants(live):
        reply = target.refresh(variant)
        ensure(reply.code.name in REJECTED, "Padded or encoded live refresh token not rejected",
               expected=f"UNAUTHENTICATED or INVALID_ARGUMENT for the live token {description}",
               received=f"{reply.status} for the live token {description} ({redact(live)})",
               reply=reply)


@pytest.mark.requirement("FZ-06")
@pytest.mark.parametrize("size", list(OVERSIZED), ids=list(OVERSIZED))
def test_fz06_oversized_refresh_tokens_are_refused_in_time(
        target: TargetSession, request: pytest.FixtureRequest, size: str) -> None:
    """FZ-06: an oversized refresh token (64 KiB, 1 MiB) is refused within the deadline, never
    OK: rejected, RESOURCE_EXHAUSTED, or refused by the target's front with HTTP 413 (gRPC status
    codes; RFC 9110 §15.5.14). Which status a front's refusal gives clients is FZ-11's."""
    reply = oversized_reply(target, size)
    if reply.front is not None and reply.front.oversized_refusal:
        pass_note(request.node, f"the {size} refresh token was refused by the target's front: "
                  f"{reply.front.describe()} (FZ-11 judges what clients can read of it)")
        return
    expected = (f"UNAUTHENTICATED, INVALID_ARGUMENT or RESOURCE_EXHAUSTED within "
                f"{target.config.channel.deadline:g} s for a {size} refresh token (or a front's "
                "HTTP 413)")
    title = "Oversized refresh token accepted" if reply.ok else \
        "Oversized refresh token not refused in time" if reply.code is Status.DEADLINE_EXCEEDED \
        else f"Oversized refresh token answered {reply.code.name}"
    ensure_status(reply, REFUSED, title, expected=expected)


@pytest.mark.requirement("FZ-11")
@pytest.mark.parametrize("size", list(OVERSIZED), ids=list(OVERSIZED))
def test_fz11_oversized_request_is_refused_with_a_grpc_status(target: TargetSession,
                                                              size: str) -> None:
    """FZ-11: an oversized request is refused with a gRPC status (RESOURCE_EXHAUSTED,
    INVALID_ARGUMENT, UNAUTHENTICATED), not by a front's HTTP error page, which clients can only
    read as UNKNOWN (gRPC status codes; gRPC's HTTP-to-status mapping,
    doc/http-grpc-status-mapping.md). The requests are FZ-06's."""
    reply = oversized_reply(target, size)
    front = reply.front
    if front is not None and front.oversized_refusal:
        raise Violation(
            "Oversized request refused by the target's front, not with a gRPC status",
            expected=f"a gRPC status ({', '.join(sorted(REFUSED))}) for a {size} refresh token",
            received=front.describe(), reproduce=reply.reproduce,
            details="clients can read only UNKNOWN; raise the front's body limit (nginx "
            "`client_max_body_size`), or map the proxy's 413 to `grpc-status: 8` "
            "(RESOURCE_EXHAUSTED)")
    if front is not None or reply.code.name not in REFUSED:
        raise CannotEvaluate(f"precondition failed: the {size} refresh token was not refused "
                             f"({front.describe() if front else reply.status}); see FZ-06")


# Requirements FZ-06 and FZ-11 judge the same two requests, sent once per target.
OVERSIZED_REPLIES: dict[tuple[str, str], Reply[pb.RefreshAccessTokenResponse]] = {}
OVERSIZING = threading.Lock()


def oversized_reply(target: TargetSession, size: str) -> Reply[pb.RefreshAccessTokenResponse]:
    """The answer to a refresh token of `size`: `A`s, a value the suite made up, so that reports
    show it (the reproduce line makes it in the shell: conformance.transport.reproduce)."""
    with OVERSIZING:
        key = (target.label, size)
        if key not in OVERSIZED_REPLIES:
            token = "A" * OVERSIZED[size]
            reply = target.refresh(token, secret=False)
            OVERSIZED_REPLIES[key] = dataclasses.replace(reply, reproduce=target.client.reproduce(
                REFRESH_METHOD, {"refresh_token": token}, secret=False))
        return OVERSIZED_REPLIES[key]


# Protobuf encoding: field 1 (refresh_token) is tag 0x0a (field 1, wire type 2, length-delimited).
WIRE_GARBAGE: dict[str, bytes] = {
    "overlong length varint": b"\x0a" + b"\xff" * 10 + b"\x01",
    "unterminated tag varint": b"\xff" * 11,
    "field 1 as varint (wrong wire type)": b"\x08\x96\x01",
    "field 1 as fixed32 (wrong wire type)": b"\x0d\x01\x02\x03\x04",
    "field 1 as a group start (wrong wire type)": b"\x0b\x0a\x01A",
    "unmatched group end": b"\x0c",
    "truncated length": b"\x0a\x10abc",
    "missing length": b"\x0a",
    "invalid UTF-8 in field 1": b"\x0a\x04ab\xc3\x28",
    "UTF-8-encoded surrogate U+D800 in field 1": b"\x0a\x03\xed\xa0\x80",
    "lone continuation byte in field 1": b"\x0a\x01\x80",
}


@pytest.mark.requirement("FZ-07")
def test_fz07_wire_garbage_never_succeeds_and_the_server_keeps_serving(
        target: TargetSession) -> None:
    """FZ-07: undecodable or ill-typed request bytes (protobuf encoding: bad varints, wrong wire
    type for field 1, truncated length, invalid UTF-8 in field 1) never get OK, any non-OK status
    allowed; and a valid refresh works after them as it did before."""
    if target.transport == "connect-json":
        not_applicable(NO_WIRE_BYTES)
    target.refreshed(target.fresh_tokens().refresh_token,
                     "a valid refresh before the wire garbage (see FZ-05)")
    for name, payload in WIRE_GARBAGE.items():
        reply = target.client.refresh_raw(payload)
        ensure(not reply.ok, "Wire-level garbage answered OK",
               expected=f"any non-OK status for {name} ({payload.hex()})", received=reply.status,
               reply=reply)
    ensure_still_serving(target, "Server stopped serving after wire-level garbage",
                         "after the garbage")


@pytest.mark.requirement("FZ-09")
def test_fz09_malformed_frames_around_a_live_token_are_not_accepted(
        target: TargetSession) -> None:
    """FZ-09: a malformed frame around a live refresh token never gets OK, any non-OK status
    allowed (protobuf encoding: a length past the end is a truncated message; a wire type must
    match the field's type): field 1 whose length runs past the end of the message, field 1 with
    a wrong wire type, the token followed by a truncated extra field (conformance/frames.py).
    Each frame carries a freshly minted token: an accepted frame would rotate it."""
    if target.transport == "connect-json":
        not_applicable(NO_WIRE_BYTES)
    presented = 0
    accepted: list[tuple[str, Reply[Message]]] = []
    for kind in FRAME_KINDS:
        live = target.fresh_tokens().refresh_token
        frame = malformed_frame(kind, live)
        if frame is None:  # this token's bytes make the frame well-formed: not a malformed frame
            continue
        presented += 1
        reply = target.client.refresh_raw(frame.payload(live), presented=live,
                                          shown=frame.shown(redact(live)))
        if reply.ok:
            accepted.append((kind, reply))
    rotated = sum(_issued_a_refresh_token(reply) for _, reply in accepted)
    taken = f"{rotated} of them with a new refresh token: taken as the token" if rotated \
        else "none with a new refresh token"
    ensure(not accepted, "Malformed frame around a live refresh token accepted",
           expected="any non-OK status for every malformed frame around a live refresh token",
           received=f"OK for {len(accepted)} of {presented} frames, each around a freshly "
           f"minted token ({taken}): {'; '.join(kind for kind, _ in accepted)}",
           reply=accepted[0][1] if accepted else None)


def _issued_a_refresh_token(reply: Reply[Message]) -> bool:
    try:
        response = pb.RefreshAccessTokenResponse.FromString(reply.raw or b"")
    except DecodeError:
        return False
    SECRETS.remember(response.auth_token.token)  # a raw call leaves that to its caller
    SECRETS.remember(response.auth_token.refresh_token)
    return bool(response.auth_token.refresh_token)


@pytest.mark.requirement("FZ-05")
@pytest.mark.liveness
def test_fz05_target_still_serves_a_valid_refresh_after_the_campaign(
        target: TargetSession) -> None:
    """FZ-05: after the fuzz campaign (FZ-01, FZ-02, FZ-03, FZ-06, FZ-07, FZ-09 ran before it) the
    target still serves a valid refresh."""
    ensure_still_serving(target, "Target no longer serves valid refreshes after the fuzz campaign",
                         "after the fuzz campaign")


def ensure_still_serving(target: TargetSession, title: str, when: str) -> None:
    """A freshly minted refresh token refreshes OK (a fresh one, so that a broken rotation chain,
    RT-13's concern, is not blamed on liveness). A target that answers nothing at all is `error`
    (the catalogue's "stopped answering"): from outside, a crash cannot be told from an outage."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    ensure(reply.ok, title, expected=f"status OK for a freshly minted refresh token {when}",
           received=reply.status, reply=reply)


# Probes the scans send themselves, so that each has something to scan even when run alone.
def _scan_probes() -> list[str]:
    canary = "fz-canary-" + secrets.token_urlsafe(12)
    return [canary, canary + "' OR '1'='1", canary + "\u00e9", canary + "\x00", canary[:4]]


@pytest.mark.requirement("FZ-04")
@pytest.mark.last
def test_fz04_no_error_response_leaks_the_token_or_internals(target: TargetSession) -> None:
    """FZ-04: no error response of the whole run (every call of every check, scanned at the end:
    its message and its trailing metadata) contains the presented credential (8+ characters) or
    internals: stack traces, exception class names, an unhandled exception's own text (after gRPC
    Python's `Exception calling application:`), SQL, file paths (RFC 6749 §10.4; ASVS 5.0
    16.5.1)."""
    for probe in _scan_probes():
        target.refresh(probe)
    errors = _error_records(target)
    leaking = [leaks for leaks in map(list, map(_leaks, errors)) if leaks]
    ensure(not leaking, "Error response leaks the presented token or internals",
           expected="error messages and trailing metadata without the presented credential or "
           "server internals",
           received=f"{len(leaking)} of {len(errors)} error responses leak; first: "
           f"{'; '.join(leaking[0]) if leaking else ''}")


@pytest.mark.requirement("FZ-08")
@pytest.mark.last
def test_fz08_error_messages_are_printable_ascii(target: TargetSession) -> None:
    """FZ-08: every error message of the run is printable ASCII (%x20-7E) without CR or LF, as
    RFC 6749 §5.2 restricts error_description (scanned at the end of the run)."""
    for probe in _scan_probes():
        target.refresh(probe)
    errors = _error_records(target)
    bad = [record for record in errors if not PRINTABLE.fullmatch(record.details)]
    ensure(not bad, "Error message is not printable ASCII",
           expected="error messages of characters %x20-7E only (no CR, LF or non-ASCII)",
           received=f"{len(bad)} of {len(errors)} error messages; first: "
           f"{_method_name(bad[0]) if bad else ''} {bad[0].code.name if bad else ''} "
           f"{ascii(bad[0].details[:120]) if bad else ''}")


# FZ-01 campaign ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Finding:
    family: str
    token: str
    reply: Reply[pb.RefreshAccessTokenResponse]


class _NotRejected(Exception):
    """Raised inside the hypothesis test for a token the target did not reject."""


class _ShrinkBudgetSpent(BaseException):
    """Ends hypothesis's run once SHRINK_SECONDS are over. A BaseException, not an Exception:
    hypothesis would count an Exception as one more failure and go on shrinking it (for up to
    its own five minutes); a BaseException it lets through at once, as it does KeyboardInterrupt
    and pytest's outcomes."""


def _shape_source(target: TargetSession) -> str | None:
    """A live refresh token, only to learn the target's token shape (never presented)."""
    try:
        return target.fresh_tokens().refresh_token
    except NeedsFreshTokens:
        return None  # a static token source: the lookalike family is left out


class _Campaign:
    """One hypothesis run of FZ-01 against the target, keeping every token it did not reject."""

    def __init__(self, target: TargetSession, live: str | None) -> None:
        self.target = target
        self.live = live
        self.findings: list[_Finding] = []
        # With --hypothesis-seed, hypothesis seeds the run itself and uses no database;
        # otherwise its seed is random and the database replays earlier failures first.
        self.seed = hypothesis_seed()
        self.database_dir = None if self.seed else hypothesis_database_dir()
        self.reproduce_failure = ""
        self._shrink_until = 0.0
        self.shrink_cut_short = False
        # Its throughput: tokens sent, how many of them distinct (hypothesis repeats some across
        # examples; hashes, not the tokens, are kept), and its wall time.
        self.presented = 0
        self.distinct: set[int] = set()
        self.seconds = 0.0

    def probe(self, batch: list[Tagged], pool: ThreadPoolExecutor) -> None:
        """Present a batch of tokens concurrently; the first one not rejected fails the example."""
        if self.findings and time.monotonic() >= self._shrink_until:
            raise _ShrinkBudgetSpent
        replies = list(pool.map(carry(lambda tagged: self.target.refresh(tagged[1], secret=False)),
                                batch))
        self.presented += len(batch)
        self.distinct.update(hash(token) for _, token in batch)
        for (family, token), reply in zip(batch, replies, strict=True):
            if reply.code.name not in REJECTED:
                if not self.findings:
                    self._shrink_until = time.monotonic() + SHRINK_SECONDS
                self.findings.append(_Finding(family, token, reply))
                raise _NotRejected

    def run(self) -> _Finding | None:
        profile = self.target.profile
        pool = ThreadPoolExecutor(max_workers=FUZZ_BATCH)

        def fuzz_refresh_tokens(batch: list[Tagged]) -> None:
            self.probe(batch, pool)

        tokens = tagged_tokens(self.live, profile.fuzz_max_length)
        # Distinct tokens in a batch: duplicates would waste calls, and two copies in flight
        # would be a race of the suite's making, which a correct server may answer ABORTED
        # (RT-14), not FZ-01's rule.
        test = given(st.lists(tokens, min_size=FUZZ_BATCH, max_size=FUZZ_BATCH,
                              unique_by=lambda tagged: tagged[1]))(
            fuzz_refresh_tokens)
        # The plain examples of every family, as one batch before anything generated.
        test = example(family_examples(self.live, profile.fuzz_max_length))(test)
        test = settings(
            max_examples=math.ceil(profile.fuzz_examples / FUZZ_BATCH), deadline=None,
            print_blob=True,
            report_multiple_bugs=False,
            # No explain phase: its notes (which parts of an example could vary) are never shown,
            # and it cost four times the calls of generating and shrinking together.
            phases=[phase for phase in Phase if phase is not Phase.explain],
            # Network calls are slow and the inputs large on purpose; nothing here is a fixture.
            suppress_health_check=list(HealthCheck),
            database=DirectoryBasedExampleDatabase(self.database_dir)
            if self.database_dir else None)(test)
        started = time.monotonic()
        try:
            with pool:
                test()
        except _ShrinkBudgetSpent:
            self.shrink_cut_short = True
            return self._shortest()
        except Exception as error:
            if not self.findings:
                raise  # the suite's own error, reported as such by the plugin
            notes = getattr(error, "__notes__", [])
            self.reproduce_failure = next((n for n in notes if "@reproduce_failure" in n), "")
            # Normally hypothesis ends by replaying the minimal example; when shrinking was cut
            # short or the target answered a replay differently, take the shortest seen.
            if isinstance(error, _NotRejected):
                return self.findings[-1]
            return self._shortest()
        finally:
            self.seconds = time.monotonic() - started
        # A token seen not rejected stays a finding even when hypothesis ended without reporting
        # it (a target that answered its replay differently).
        return self._shortest() if self.findings else None

    def _shortest(self) -> _Finding:
        return min(self.findings, key=lambda f: (len(f.token), f.token))

    def replay_hint(self) -> str:
        hints = []
        if self.database_dir:
            hints.append(f"the next run with this --report-dir replays it first (hypothesis "
                         f"example database {self.database_dir})")
        if self.seed:
            hints.append(f"found with `-- --hypothesis-seed={self.seed}`, which repeats the run")
        if self.reproduce_failure:
            hints.append(self.reproduce_failure.strip())
        if self.shrink_cut_short:
            hints.append(f"shrinking stopped after its {SHRINK_SECONDS:g} s budget: the "
                         "shortest token seen is shown")
        return "; ".join(hints)


SHOWN_CHARACTERS = 70


def _shaped_like(token: str, live: str | None) -> bool:
    return live is not None and len(token) == len(live)


def _shown_whole(token: str, live: str | None) -> bool:
    return len(token) <= SHOWN_CHARACTERS and not _shaped_like(token, live)


def _shown(token: str, live: str | None) -> str:
    """The example as a JSON string literal (at most SHOWN_CHARACTERS), which a vendor can paste;
    redacted when it has the shape of a real token. (Generated tokens are not in the secret
    registry: the report's scrubber leaves them alone.)"""
    if _shaped_like(token, live):
        return f"{redact(token)} ({len(token)} characters, shaped like the target's tokens)"
    head = token[:SHOWN_CHARACTERS]
    more = f" ... ({len(token)} characters)" if len(token) > len(head) else ""
    return json.dumps(head) + more


# FZ-04 and FZ-08: run-wide scans of the client's call log ----------------------------------
PRINTABLE = re.compile(r"[\x20-\x7e]*")
# The answers of gRPC Python's libraries to undecodable request bytes (FZ-07; the spec's
# preamble), not the target's words: they name the protobuf runtime's error, nothing of the target.
LIBRARY_MESSAGES = re.compile(
    r"Exception deserializing request!"  # grpc (synchronous server)
    r"|Unexpected <class 'google\.protobuf\.message\.DecodeError'>: Error parsing message with "
    r"type '[\w.]+'(?:: [\w ,-]+)?")     # grpc.aio, with protobuf's reason ("Wire format was ...")
INTERNALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a stack trace", re.compile(
        r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|goroutine \d+ \[|"
        r"\bpanic: |\bat [\w$.]+\([\w$]+\.(?:java|kt|scala):\d+\)")),
    # gRPC Python answers an exception its servicer let escape with this fixed prefix and the
    # exception's str(): what leaks is that text ("database is locked"), not a class name.
    ("an unhandled exception's own text (after gRPC Python's 'Exception calling application:')",
     re.compile(r"Exception calling application: \S.*")),
    # Class names: ...Error and ...Exception (a bare Exception too, but not gRPC Python's prefix
    # above), Java's java.lang., and a few well-known ones of other names (Django's DoesNotExist
    # and MultipleObjectsReturned, Rails' RecordNotFound).
    ("an exception class name", re.compile(
        r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception)\b|\bException\b(?! calling application:)|"
        r"\bjava\.lang\.|\b(?:DoesNotExist|MultipleObjectsReturned|RecordNotFound)\b")),
    ("SQL", re.compile(
        r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.*\bSET\b|\bDELETE FROM\b|SQLSTATE|"
        r"(?i:sqlite)|\bORA-\d{5}\b|syntax error at or near|no such (?:table|column)|psycopg")),
    ("a file path", re.compile(
        r"(?<![\w.:/-])/(?:usr|home|var|opt|srv|app|root|lib|tmp)/|\b[A-Za-z]:\\\w|\.py\b\"?|"
        r"\.(?:go|java|js|ts|rb|php|cs|rs):\d+|site-packages|node_modules")),
)


def _error_records(target: TargetSession) -> list[CallRecord]:
    return [record for record in target.client.log.snapshot()
            if record.code is not Status.OK and (record.details or record.trailers)]


def _method_name(record: CallRecord) -> str:
    return record.method.rsplit("/", 1)[-1]


def _credentials(record: CallRecord) -> list[str]:
    """What was presented, as it could be echoed: whole, trimmed, and (GetMe) without scheme."""
    value = (record.presented or "").strip()
    found = {value}
    if record.method == GET_ME_METHOD:
        found.add(value.partition(" ")[2].strip())
    return sorted((c for c in found if len(c) >= 8), key=len, reverse=True)


def _leaks(record: CallRecord) -> Iterator[str]:
    """Each leak in the record's error message and trailing metadata, quoted with the credential
    redacted."""
    credentials = _credentials(record)
    for part, text in (("", record.details), (" trailing metadata", record.trailers)):
        if not text or (not part and LIBRARY_MESSAGES.fullmatch(text)):
            continue
        shown = text  # quotes come from the redacted text: a window never cuts a token
        for credential in credentials:
            shown = shown.replace(credential, redact(credential))
        where = f"{_method_name(record)} {record.code.name}{part}"
        for credential in credentials:
            if credential in text:
                yield f"{where}: the presented token in {_quote(shown, redact(credential))}"
                break
        for what, pattern in INTERNALS:
            if pattern.search(text):
                match = pattern.search(shown)
                yield f"{where}: {what} in {_quote(shown, match.group() if match else '')}"


def _quote(text: str, part: str) -> str:
    start = max(text.find(part), 0)
    return ascii(text[max(0, start - 40):start + len(part) + 40])
