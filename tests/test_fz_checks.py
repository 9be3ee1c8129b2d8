"""The FZ checks' own machinery: the leak and character scans (FZ-04, FZ-08), how a fuzz example
is shown, how a hypothesis failure becomes a Violation with its shrunk input, and FZ-09's
frames."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shlex
import sqlite3
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks import test_fz as fz
from conformance.model.contract import GET_ME_METHOD, REFRESH_METHOD
from conformance.model.redact import SECRETS, redact
from conformance.model.status import Status
from conformance.reference import ReferenceServer
from conformance.reference.lenient import decode_leniently
from conformance.rules.strategies import Tagged, near_misses
from conformance.run.profiles import PROFILES
from conformance.transport.client import CallRecord, ChannelSettings, Reply, UserApiClient
from conformance.transport.frames import KINDS, frame, malformed

TOKEN = "Zk3_a9-QpL0xYw2Vb7Nc4Md1Re8Sf5Tg6Uh0Ij9Kl2Mn"


def _record(details: str, presented: str | None = TOKEN, method: str = REFRESH_METHOD,
            code: Status = Status.UNAUTHENTICATED) -> CallRecord:
    return CallRecord(method, code, details, presented)


LEAKS = {
    "echoed token": f"invalid refresh token {TOKEN!r}",
    "echoed token, trimmed": "unknown token: " + TOKEN,
    "Python traceback": 'Traceback (most recent call last): File "x", line 3, in f',
    "exception class": "ValueError: invalid literal for int()",
    "Django's DoesNotExist": "User.DoesNotExist: User matching query does not exist.",
    "gRPC Python wrapper of an unhandled exception": "Exception calling application: boom",
    "SQL": "SELECT user_uuid FROM refresh_tokens WHERE token_hash = ?",
    "SQLite": "sqlite3.OperationalError: database is locked",
    "Postgres": 'ERROR: syntax error at or near "OR"',
    "file path": 'error in /usr/lib/python3.11/site-packages/app/store.py',
    "Go panic": "panic: runtime error: index out of range [3] with length 3",
    "Java frame": "at com.example.Tokens.find(Tokens.java:42)",
    "Windows path": "cannot open C:\\srv\\tokens.db",
    "a trace behind the asyncio library's words": "Unexpected <class 'google.protobuf.message."
    "DecodeError'>: Error parsing message with type 'x': Traceback (most recent call last)",
}
CLEAN = {
    "fixed text": "invalid refresh token",
    "OAuth wording": "invalid_grant: the refresh token is invalid, expired or revoked",
    "required field": "refresh_token is required",
    "gRPC Python, undecodable bytes": "Exception deserializing request!",
    "gRPC Python asyncio, undecodable bytes": "Unexpected <class 'google.protobuf.message."
    "DecodeError'>: Error parsing message with type 'user_api.v1.RefreshAccessTokenRequest': "
    "Wire format was corrupt",
    "gRPC Python asyncio, bad UTF-8": "Unexpected <class 'google.protobuf.message.DecodeError'>: "
    "Error parsing message with type 'user_api.v1.RefreshAccessTokenRequest': String field had "
    "bad UTF-8",
    "gRPC Go, undecodable bytes": "grpc: error unmarshalling request: proto: cannot parse "
                                  "invalid wire-format data",
    "message size limit": "Received message larger than max (1048581 vs. 65536)",
    "plain word Error": "Error: token rejected",
    "lower-case English": "please select a token from your account",
    "client deadline": "Deadline Exceeded",
    "documentation URL": "invalid_grant, see https://docs.example.com/app/errors#invalid-grant",
}


@pytest.mark.parametrize("details", list(LEAKS.values()), ids=list(LEAKS))
def test_fz04_scan_finds_each_kind_of_leak(details: str) -> None:
    leaks = list(fz._leaks(_record(details)))
    assert leaks
    assert all(TOKEN not in leak for leak in leaks)  # quoted, but redacted


@pytest.mark.parametrize("details", list(CLEAN.values()), ids=list(CLEAN))
def test_fz04_scan_passes_messages_of_correct_servers(details: str) -> None:
    assert list(fz._leaks(_record(details))) == []


def test_fz04_scan_reads_the_trailing_metadata_too() -> None:
    status_details = ("grpc-status-details-bin: \x08\x10\x12\x15invalid refresh token\x1a6\n("
                      "type.googleapis.com/google.rpc.ErrorInfo\x12\x0f\n\rINVALID_GRANT")
    clean = dataclasses.replace(_record("invalid refresh token"), trailers=status_details)
    assert list(fz._leaks(clean)) == []
    for trailer in ('x-debug: Traceback (most recent call last): File "/srv/a.py", line 3',
                    f"x-presented: {TOKEN}",
                    "grpc-status-details-bin: \x12\x1cjava.lang.NullPointerException"):
        leaks = list(fz._leaks(dataclasses.replace(clean, trailers=trailer)))
        assert leaks and all("trailing metadata" in leak and TOKEN not in leak for leak in leaks)


def test_fz04_scan_looks_for_the_bearer_credential_and_ignores_short_ones() -> None:
    echoed = _record(f"bad token {TOKEN}", presented=f"Bearer {TOKEN}", method=GET_ME_METHOD)
    assert any(redact(TOKEN) in leak for leak in fz._leaks(echoed))
    assert list(fz._leaks(_record("invalid token abc", presented="abc"))) == []
    assert list(fz._leaks(_record("        ", presented="        "))) == []


def test_fz04_quote_never_cuts_a_token_in_half() -> None:
    details = "x" * 30 + TOKEN + " then " + "y" * 50 + " ValueError"
    for leak in fz._leaks(_record(details)):
        assert TOKEN[:12] not in leak and TOKEN[-12:] not in leak


def test_fz04_names_an_unhandled_exceptions_text_not_a_class_name() -> None:
    """Issue 11 (f): gRPC Python's fixed prefix is no class name; what leaks is the text after it,
    from a real gRPC Python server whose servicer lets an exception escape."""
    def lookup(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise sqlite3.OperationalError("database is locked")

    server = grpc.server(ThreadPoolExecutor(max_workers=1))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "user_api.v1.UserApiService", {"RefreshAccessToken": grpc.unary_unary_rpc_method_handler(
            lookup)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        api = UserApiClient(ChannelSettings(f"127.0.0.1:{port}", plaintext=True, deadline=5))
        reply = api.refresh(TOKEN)
        api.close()
    finally:
        server.stop(0)
    assert reply.details == "Exception calling application: database is locked"
    (leak,) = fz._leaks(api.log.snapshot()[0])
    assert "an unhandled exception's own text" in leak and "class name" not in leak, leak


@pytest.mark.parametrize("name", ["OperationalError", "DoesNotExist", "NullPointerException",
                                  "Exception"])
def test_fz04_names_real_exception_class_names_as_such(name: str) -> None:
    leaks = list(fz._leaks(_record(f"{name}: lookup failed")))
    assert leaks and all("an exception class name" in leak for leak in leaks), leaks


def test_fz08_accepts_printable_ascii_only() -> None:
    assert fz.PRINTABLE.fullmatch("invalid refresh token (see docs: https://x/y?a=1)")
    for bad in ("invalid\r\ntoken", "jeton invalid\u00e9", "tab\there", "nul\x00"):
        assert not fz.PRINTABLE.fullmatch(bad)


def test_an_example_is_shown_as_a_literal_to_paste() -> None:
    example = "' OR '1'='1 -- and \x00 more"
    assert json.loads(SECRETS.scrub(fz._shown(example, TOKEN))) == example


def test_a_finding_comes_with_a_grpcurl_line_that_repeats_it(run_suite: Any) -> None:
    """A generated token is not a credential: the reproduce line carries it, ready to paste."""
    run = run_suite("--reference-fault", "non-ascii-refresh-token-crashes", "--only", "FZ-01",
                    "--profile", "quick")
    fz01 = next(r for r in run.results["targets"][0]["requirements"] if r["id"] == "FZ-01")
    line = next(line for line in fz01["message"].splitlines()
                if line.startswith("Reproduce with: grpcurl"))
    pasted = json.loads(shlex.split(line)[shlex.split(line).index("-d") + 1])
    assert fz01["outcome"] == "fail" and not pasted["refresh_token"].isascii(), line


def test_an_example_shaped_like_a_real_token_is_redacted() -> None:
    lookalike = "A" * len(TOKEN)
    assert fz._shown(lookalike, TOKEN).startswith(redact(lookalike))
    assert "(70000 characters)" in fz._shown("B" * 70000, TOKEN)


class _FakeTarget:
    """Answers INTERNAL to base64 with a single '=' pad (only generated examples have that),
    and rejects anything else."""

    def __init__(self) -> None:
        self.profile = dataclasses.replace(PROFILES["quick"], fuzz_examples=400)
        self.calls = 0

    def refresh(self, token: str, *, secret: bool = True) -> Reply[Any]:
        self.calls += 1
        broken = re.fullmatch(r"[A-Za-z0-9+/_-]+=", token) is not None
        code = Status.INTERNAL if broken else Status.UNAUTHENTICATED
        return Reply(REFRESH_METHOD, code, "boom" if broken else "invalid", None, 0.0,
                     "grpcurl ...")


def test_a_generated_failure_is_shrunk_and_replayable(monkeypatch: pytest.MonkeyPatch) -> None:
    import hypothesis.core
    monkeypatch.setattr(hypothesis.core, "global_force_seed", 7)  # as --hypothesis-seed=7 does
    monkeypatch.setattr(fz, "hypothesis_seed", lambda: "7")
    # Hypothesis ends the shrinking itself here, on a machine of any speed; the budget's own
    # path is tested below.
    monkeypatch.setattr(fz, "SHRINK_SECONDS", 600.0)
    target = _FakeTarget()
    campaign = fz._Campaign(target, TOKEN)  # type: ignore[arg-type]
    finding = campaign.run()
    assert finding is not None and finding.reply.code is Status.INTERNAL
    assert finding.family == "base64" and len(finding.token) <= 8  # shrunk
    hint = campaign.replay_hint()
    assert "--hypothesis-seed=7" in hint and "@reproduce_failure" in hint
    assert "budget" not in hint
    # Without hypothesis's explain phase; with it, this run made 7,583 calls (1,407 without).
    assert target.calls < 3000


class _RejectingTarget:
    """A correct server: rejects every token. Keeps each token and whether it came as a secret."""

    def __init__(self) -> None:
        self.profile = PROFILES["quick"]
        self.calls: list[tuple[str, bool]] = []

    def refresh(self, token: str, *, secret: bool = True) -> Reply[Any]:
        self.calls.append((token, secret))
        return Reply(REFRESH_METHOD, Status.UNAUTHENTICATED, "invalid", None, 0.0, "")


def test_a_clean_campaign_presents_every_example_and_finds_nothing() -> None:
    target = _RejectingTarget()
    assert fz._Campaign(target, TOKEN).run() is None  # type: ignore[arg-type]
    tokens = [token for token, _ in target.calls]
    assert "\x00" in tokens and "" in tokens
    assert len(tokens) >= PROFILES["quick"].fuzz_examples


def test_shrinking_stops_when_its_time_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fz, "SHRINK_SECONDS", 0.0)
    target = _FakeTarget()
    campaign = fz._Campaign(target, TOKEN)  # type: ignore[arg-type]
    finding = campaign.run()
    assert finding is not None and finding.family == "base64"
    assert target.calls <= len(fz.family_examples(TOKEN, 1)) + target.profile.fuzz_examples
    assert "shrinking stopped after its 0 s budget" in campaign.replay_hint()


def test_the_first_example_after_the_shrink_budget_ends_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Not shrunk as one more failure, which hypothesis would pursue for many seconds. (A budget
    of 50 ms: far shorter than any shrinking of a batch, on a machine of any speed.)"""
    monkeypatch.setattr(fz, "SHRINK_SECONDS", 0.05)
    campaign = fz._Campaign(_FakeTarget(), TOKEN)  # type: ignore[arg-type]
    probe, over_budget = campaign.probe, []

    def counting_probe(batch: list[Tagged], pool: Any) -> None:
        if campaign.findings and time.monotonic() >= campaign._shrink_until:
            over_budget.append(batch)
        probe(batch, pool)

    monkeypatch.setattr(campaign, "probe", counting_probe)
    finding = campaign.run()
    assert finding is not None and finding.family == "base64"
    assert len(over_budget) == 1


class _RaceAbortingTarget:
    """A correct server that answers ABORTED while the same token is already in flight (RT-14
    allows it) and UNAUTHENTICATED otherwise: FZ-01 must not make that race itself."""

    def __init__(self) -> None:
        self.profile = dataclasses.replace(PROFILES["quick"], fuzz_examples=400)
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def refresh(self, token: str, *, secret: bool = True) -> Reply[Any]:
        with self._lock:
            raced = token in self._in_flight
            self._in_flight.add(token)
        try:
            time.sleep(0.002)  # long enough for a duplicate in the same batch to overlap
            code = Status.ABORTED if raced else Status.UNAUTHENTICATED
            return Reply(REFRESH_METHOD, code, "busy" if raced else "invalid", None, 0.0, "")
        finally:
            with self._lock:
                if not raced:
                    self._in_flight.discard(token)


def test_a_batch_never_presents_one_token_twice_at_once() -> None:
    assert fz._Campaign(_RaceAbortingTarget(), TOKEN).run() is None  # type: ignore[arg-type]


def test_generated_tokens_stay_out_of_the_secret_registry() -> None:
    """They are not credentials: registered, any report text equal to one (eight spaces, an
    SQL fragment) would be shown redacted."""
    target = _RejectingTarget()
    assert fz._Campaign(target, TOKEN).run() is None  # type: ignore[arg-type]
    assert target.calls and not any(secret for _, secret in target.calls)


def test_the_client_registers_presented_credentials_unless_told_otherwise(
        client: Any) -> None:
    garbage, credential = "        ' OR 1=1 garbage", "credential-" + "x" * 32
    client.refresh(garbage, secret=False)
    client.refresh(credential)
    assert SECRETS.scrub(garbage) == garbage
    assert SECRETS.scrub(credential) == redact(credential)


# FZ-09: the frames around a live token -------------------------------------------------------
TOKEN_SHAPES = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=300),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=200))


@given(TOKEN_SHAPES)
def test_fz09_every_frame_is_malformed_and_a_lenient_decoder_reads_the_token(token: str) -> None:
    """A conformant parser (protobuf's own, upb) rejects every frame the check presents, so a
    stock server cannot fail; the fault's decoder reads each as the token, so the check trips."""
    for kind in KINDS:
        built = frame(kind, token)
        if built is None:  # only a start group that the token's bytes close
            assert "start group" in kind
            continue
        assert malformed(built.payload(token))
        assert decode_leniently(built.payload(token)).refresh_token == token


@pytest.mark.parametrize("token", [TOKEN, "a" * 64, "eyJhbGciOiJIUzI1NiJ9." + "x" * 180])
def test_fz09_presents_every_kind_of_frame_for_ordinary_tokens(token: str) -> None:
    assert all(frame(kind, token) is not None for kind in KINDS)


def test_fz09_a_stock_server_rejects_each_frame_and_the_reproduce_line_hides_the_token(
        client: UserApiClient, reference: ReferenceServer) -> None:
    login = client.login(reference.options.email, "s3cret-Passw0rd")
    assert login.response is not None
    live = login.response.auth_token.refresh_token
    for kind in KINDS:
        built = frame(kind, live)
        assert built is not None
        reply = client.refresh_raw(built.payload(live), presented=live,
                                   shown=built.shown(redact(live)))
        assert not reply.ok, kind
        assert live not in reply.reproduce and live.encode().hex() not in reply.reproduce
        assert redact(live) in reply.reproduce
    # the calls carry the token for FZ-04's echo scan
    assert all(record.presented == live for record in client.log.snapshot()[1:])
    assert client.refresh(live).ok  # and it is still live: no frame spent it


# FZ-02: the servers that almost compare as issued, and the near-miss that reaches each --------
def _b64(text: str, *, strict: bool = True) -> bytes | None:
    """What a base64 decoder reads from text, padded as needed (None: undecodable)."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=strict)
    except ValueError:  # binascii.Error is one
        return None


def _same_b64(presented: str, live: str) -> bool:
    return _b64(presented) is not None and _b64(presented) == _b64(live)


def _jti(token: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("jti")
    except jwt.PyJWTError:
        return None


URLSAFE_43 = TOKEN[:43]   # 4k+3 characters, with - and _: the shape of token_urlsafe(32)
URLSAFE_42 = TOKEN[:42]   # 4k+2
HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TILDE_DOT = "rt.Zk3a9QpL0xYw2Vb7Nc4M~d1Re8Sf5Tg6Uh0Ij9Kl2Mn"
UUID = "0f8c9d2e-4b1a-4c3d-9e8f-7a6b5c4d3e2f"
JWT = jwt.encode({"jti": "Zk3a9QpL0xYw", "iat": 1}, "k" * 32, algorithm="HS256")
ALL_SHAPES = (TOKEN, URLSAFE_43, URLSAFE_42, HEX, TILDE_DOT, UUID, JWT)
SHAPE_NAMES = dict(zip(ALL_SHAPES, ("urlsafe-44", "urlsafe-43", "urlsafe-42", "hex", "tilde-dot",
                                    "uuid", "jwt"), strict=True))
# (server, how it compares the presented refresh token with the live one, the live shapes for
# which FZ-02 must reach it). Each row fails if FZ-02 stops trying the near-miss that reaches it.
NEAR_MISS_SERVERS: list[tuple[str, Callable[[str, str], bool], tuple[str, ...]]] = [
    ("cut at the first NUL (a C string, CWE-158)",
     lambda p, live: p.partition("\x00")[0] == live, ALL_SHAPES),
    ("Unicode NFKC before the lookup",
     lambda p, live: unicodedata.normalize("NFKC", p) == live, ALL_SHAPES),
    ("trailing = stripped", lambda p, live: p.rstrip("=") == live, (URLSAFE_43, URLSAFE_42)),
    ("one base64 alphabet for both (+/ read as -_)",
     lambda p, live: p.translate(str.maketrans("+/", "-_")) == live,
     (TOKEN, URLSAFE_43, URLSAFE_42)),
    ("base64-decoded, of the same length (spare bits ignored)",
     lambda p, live: len(p) == len(live) and p[:-1] == live[:-1] and _same_b64(p, live),
     (URLSAFE_43, URLSAFE_42)),
    ("base64-decoded (a strict alphabet)", _same_b64, (TOKEN, URLSAFE_43, URLSAFE_42)),
    ("base64-decoded, characters outside the alphabet skipped",
     lambda p, live: len(p) > len(live) + 1 and _b64(p, strict=False) == _b64(live),
     (TOKEN, URLSAFE_43, HEX)),
    ("all but the last character compared",
     lambda p, live: len(p) == len(live) and p[:-1] == live[:-1],
     (TOKEN, URLSAFE_43, URLSAFE_42, HEX, TILDE_DOT, UUID)),
    ("the first 32 characters compared", lambda p, live: p[:32] == live[:32], ALL_SHAPES),
    ("case-insensitive", lambda p, live: p.lower() == live.lower(), ALL_SHAPES),
    ("hex-decoded (bytes.fromhex)", lambda p, live: _fromhex(p) == bytes.fromhex(live), (HEX,)),
    ("parsed as a UUID", lambda p, live: _uuid(p) == uuid.UUID(live), (UUID,)),
    ("a JWT's jti looked up, its signature not verified",
     lambda p, live: _jti(p) == _jti(live), (JWT,)),
]


def _fromhex(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@pytest.mark.parametrize(("server", "live"), [
    pytest.param(server, live, id=f"{server} | {SHAPE_NAMES[live]}")
    for server, _, shapes in NEAR_MISS_SERVERS for live in shapes])
def test_fz02_reaches_each_server_that_almost_compares_as_issued(server: str, live: str) -> None:
    accepts = next(accepts for name, accepts, _ in NEAR_MISS_SERVERS if name == server)
    reached = [description for description, variant in near_misses(live) if accepts(variant, live)]
    assert reached, f"no near-miss of {live!r} reaches a server that is {server}"


def test_fz02_a_correct_jwt_server_rejects_every_near_miss() -> None:
    """PyJWT decodes a signature leniently (padding, the other alphabet, spare bits): FZ-02 does
    not send those for a JWT, and everything it sends fails verification."""
    for description, variant in near_misses(JWT):
        with pytest.raises(jwt.PyJWTError):
            jwt.decode(variant, "k" * 32, algorithms=["HS256"])
        assert "base64" not in description


def test_fz02_the_encoding_near_misses_differ_only_as_strings() -> None:
    variants = dict(near_misses(URLSAFE_43))
    assert variants["followed by a NUL and more characters (CWE-158)"].startswith(
        URLSAFE_43 + "\x00")
    decoded = {_b64(variants[description]) for description in (
        "padded with = to a multiple of four (base64)",
        "in the other base64 alphabet (- _ and + / swapped)",
        "with its last character's spare base64 bits set (a non-canonical encoding)")}
    assert decoded == {_b64(URLSAFE_43)}   # the same bytes for a decoder; other strings
