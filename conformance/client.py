"""The suite's gRPC client: every call has a deadline, returns a Reply, and is logged redacted."""

from __future__ import annotations

import contextlib
import contextvars
import json
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import grpc
from google.protobuf.message import Message

from conformance.errors import TargetStoppedAnswering
from conformance.inflight import InflightGate
from conformance.proto import GET_ME_METHOD, LOGIN_METHOD, REFRESH_METHOD, pb
from conformance.redact import SECRETS, authorization_credential, redact, show_authorization

__all__ = ["CURRENT_CHECK", "CallRecord", "ChannelSettings", "Reply", "UserApiClient", "carry"]

M = TypeVar("M", bound=Message, covariant=True)
T = TypeVar("T")
# The check whose calls these are (its pytest nodeid), for RPC counts, throttling costs and the
# critical path: set by the plugin and the scheduler for the thread that runs a check; a thread
# the check starts takes it along with `carry`.
CURRENT_CHECK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conformance_check", default=None)
# After this many consecutive calls that got no answer (UNAVAILABLE or DEADLINE_EXCEEDED), the
# target has stopped answering: further calls raise CannotEvaluate at once, which bounds a run
# against a dead or black-holed target to a few deadlines instead of one per remaining call.
STOPPED_ANSWERING_AFTER = 5
NO_ANSWER = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
# Above gRPC's 4 MiB default so that the suite itself never refuses what a server sends.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ChannelSettings:
    address: str
    plaintext: bool = False
    ca_file: str | None = None
    server_name: str | None = None
    cert_file: str | None = None   # client certificate chain and key (PEM): mutual TLS
    key_file: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    deadline: float = 5.0

    def open(self) -> grpc.Channel:
        options: list[tuple[str, int | str]] = [
                   ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        if self.plaintext:
            return grpc.insecure_channel(self.address, options=options)
        root_certificates = None
        if self.ca_file:
            with open(self.ca_file, "rb") as handle:
                root_certificates = handle.read()
        private_key = certificate_chain = None
        if self.cert_file and self.key_file:
            with open(self.key_file, "rb") as key, open(self.cert_file, "rb") as chain:
                private_key, certificate_chain = key.read(), chain.read()
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates,
                                                   private_key=private_key,
                                                   certificate_chain=certificate_chain)
        return grpc.secure_channel(self.address, credentials, options=options)


@dataclass(frozen=True)
class Reply(Generic[M]):
    """The outcome of one RPC, never an exception: checks decide what is acceptable."""

    method: str
    code: grpc.StatusCode
    details: str
    response: M | None
    elapsed: float
    reproduce: str
    # An error's trailing metadata as received (grpc-status-details-bin stays bytes): the token
    # source reads a google.rpc.RetryInfo from it (conformance.throttle).
    trailing: tuple[tuple[str, str | bytes], ...] = ()

    @property
    def ok(self) -> bool:
        return self.code is grpc.StatusCode.OK

    @property
    def status(self) -> str:
        """`UNAUTHENTICATED: "invalid refresh token"`, redacted."""
        if self.ok:
            return "OK"
        return f"{self.code.name}: {json.dumps(SECRETS.scrub(self.details))}"


@dataclass(frozen=True)
class CallRecord:
    """What the suite keeps of every call, for run-wide scans (FZ-04, and the field checks) and
    RPC counts."""

    method: str
    code: grpc.StatusCode
    details: str
    presented: str | None   # the credential sent, kept in memory only to look for echoes
    response: Message | None = None  # an OK response of the contract's RPCs (FT, CT-03, CT-04)
    trailers: str = ""  # an error's trailing metadata as text (FZ-04 scans it like the message)
    # When it ran (time.monotonic) and whether it gathered the shared sample: for the critical
    # path (conformance.critical_path).
    started: float = 0.0
    ended: float = 0.0
    in_sample: bool = False
    check: str | None = None   # the check that made it (CURRENT_CHECK)


def carry(function: Callable[..., T]) -> Callable[..., T]:
    """`function`, to run in threads the current check starts, as that check's: in a copy of the
    caller's context (contextvars, CURRENT_CHECK among them), so its calls are attributed to it.
    Each call runs in a copy of its own, so several threads may call it at once (a
    ThreadPoolExecutor's map), which one Context cannot be entered by."""
    context = contextvars.copy_context()

    def as_the_check(*args: object, **kwargs: object) -> T:
        return context.copy().run(function, *args, **kwargs)
    return as_the_check


@dataclass
class CallLog:
    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The calls this thread makes now gather the shared sample (see `sampling`).
    _sampling: threading.local = field(default_factory=threading.local)
    # The checks that used the shared sample (conformance.samples), and each check's calls.
    sample_users: set[str | None] = field(default_factory=set)
    _by_check: dict[str | None, list[CallRecord]] = field(default_factory=dict)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        """Calls made in this block, in this thread, are marked as gathering the sample."""
        self._sampling.active = True
        try:
            yield
        finally:
            self._sampling.active = False

    def in_sample(self) -> bool:
        return bool(getattr(self._sampling, "active", False))

    def note_sample_use(self) -> None:
        with self._lock:
            self.sample_users.add(CURRENT_CHECK.get())

    def used_sample(self, check: str) -> bool:
        with self._lock:
            return check in self.sample_users

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)
            self._by_check.setdefault(record.check, []).append(record)

    def of(self, check: str | None) -> list[CallRecord]:
        """The calls `check` made (None: calls made outside any check)."""
        with self._lock:
            return list(self._by_check.get(check, ()))

    def count(self) -> int:
        with self._lock:
            return len(self.records)

    def snapshot(self) -> list[CallRecord]:
        with self._lock:
            return list(self.records)


def _identity(data: bytes) -> bytes:
    return data


class UserApiClient:
    """The three RPCs of the contract (and raw bytes to RefreshAccessToken), with deadlines."""

    def __init__(self, settings: ChannelSettings, channel: grpc.Channel | None = None, *,
                 max_inflight: int = 1) -> None:
        self.settings = settings
        self.channel = channel or settings.open()
        self.log = CallLog()
        self.gate = InflightGate(max_inflight)
        self._answers = threading.Lock()
        self._unanswered = 0    # consecutive calls without an answer
        self._refresh = self.channel.unary_unary(
            REFRESH_METHOD, request_serializer=pb.RefreshAccessTokenRequest.SerializeToString,
            response_deserializer=pb.RefreshAccessTokenResponse.FromString)
        self._login = self.channel.unary_unary(
            LOGIN_METHOD, request_serializer=pb.AuthnWithPasswordRequest.SerializeToString,
            response_deserializer=pb.AuthnWithPasswordResponse.FromString)
        self._get_me = self.channel.unary_unary(
            GET_ME_METHOD, request_serializer=pb.GetMeRequest.SerializeToString,
            response_deserializer=pb.GetMeResponse.FromString)
        self._refresh_raw = self.channel.unary_unary(
            REFRESH_METHOD, request_serializer=_identity, response_deserializer=_identity)

    def close(self) -> None:
        self.channel.close()

    # RPCs ------------------------------------------------------------------
    def refresh(self, refresh_token: str, *, deadline: float | None = None, secret: bool = True,
                ) -> Reply[pb.RefreshAccessTokenResponse]:
        """`secret=False` for generated garbage (FZ-01): not a credential, so it stays out of the
        secret registry, whose scrubbing would redact that text wherever a report shows it."""
        request = pb.RefreshAccessTokenRequest(refresh_token=refresh_token)
        return self._call(self._refresh, REFRESH_METHOD, request, presented=refresh_token,
                          secret=secret, deadline=deadline, shown={"refresh_token": refresh_token})

    def login(self, email: str, password: str) -> Reply[pb.AuthnWithPasswordResponse]:
        SECRETS.remember(password, "password")
        request = pb.AuthnWithPasswordRequest(email=email, password=password)
        return self._call(self._login, LOGIN_METHOD, request, presented=None,
                          shown={"email": email, "password": redact(password, "password")})

    def get_me(self, authorization: str | None, *, secret: bool = True,
               made_up: tuple[tuple[str, str], ...] = ()) -> Reply[pb.GetMeResponse]:
        """GetMe with `authorization` as the whole metadata value, or without the header.
        `secret=False` for a value the suite made up (RT-09's malformed ones): shown as it is
        (see show_authorization); else its credential is a secret, the scheme word is not.
        `made_up`: further metadata the suite made up (RT-24's identity headers), shown as it is."""
        extra = () if authorization is None else (("authorization", authorization),)
        if secret and authorization:
            SECRETS.remember(authorization_credential(authorization))
        return self._call(self._get_me, GET_ME_METHOD, pb.GetMeRequest(), presented=authorization,
                          extra_metadata=extra, shown={}, secret=False,
                          authorization_secret=secret, made_up=made_up)

    def refresh_raw(self, payload: bytes, *, deadline: float | None = None,
                    presented: str | None = None, shown: str | None = None) -> Reply[Message]:
        """Arbitrary bytes as the request body of RefreshAccessToken (wire-level garbage).
        `presented`: a credential the bytes carry (registered, and looked for in echoes, FZ-04);
        `shown`: the bytes as the reproduce line shows them instead of their hex, which would
        carry that credential in clear."""
        reply: Reply[Message] = self._call(self._refresh_raw, REFRESH_METHOD, payload,
                                           presented=presented, deadline=deadline,
                                           shown={"<raw bytes>": shown or payload.hex()})
        return reply

    # plumbing --------------------------------------------------------------
    def _call(self, stub: Callable[..., object], method: str, request: object, *,
              presented: str | None, shown: dict[str, str], deadline: float | None = None,
              extra_metadata: tuple[tuple[str, str], ...] = (), secret: bool = True,
              authorization_secret: bool = True,
              made_up: tuple[tuple[str, str], ...] = ()) -> Reply[M]:
        if secret:
            SECRETS.remember(presented)
        if self._unanswered >= STOPPED_ANSWERING_AFTER:
            raise TargetStoppedAnswering(self.settings.address, f"stopped answering "
                                         f"({self._unanswered} consecutive calls got no answer)")
        metadata = self.settings.metadata + extra_metadata + made_up
        timeout = self.settings.deadline if deadline is None else deadline
        response: M | None = None
        trailers = ""
        trailing: tuple[tuple[str, str | bytes], ...] = ()
        with self.gate.slot():  # the deadline runs from the send, not from the wait for a slot
            started = time.monotonic()
            try:
                response = stub(request, timeout=timeout, metadata=metadata)  # type: ignore[assignment]
                code, details = grpc.StatusCode.OK, ""
            except grpc.RpcError as error:
                code, details = error.code(), error.details() or ""
                trailing = _trailing(error)
                trailers = _trailer_text(trailing)
            elapsed = time.monotonic() - started
        with self._answers:  # calls end in several threads at once
            self._unanswered = self._unanswered + 1 if code in NO_ANSWER else 0
        if isinstance(response, Message):
            _remember_tokens(response)
        self.log.add(CallRecord(method, code, details, presented,
                                response if isinstance(response, Message) else None, trailers,
                                started, started + elapsed, self.log.in_sample(),
                                CURRENT_CHECK.get()))
        return Reply(method, code, details, response, elapsed,
                     self.grpcurl(method, shown, extra_metadata,
                                  authorization_secret=authorization_secret, made_up=made_up),
                     trailing)

    def grpcurl(self, method: str, shown: dict[str, str],
                extra_metadata: tuple[tuple[str, str], ...] = (), *, secret: bool = True,
                authorization_secret: bool = True,
                made_up: tuple[tuple[str, str], ...] = ()) -> str:
        """A grpcurl command that repeats the call, with every credential redacted (`secret=False`:
        the refresh token is generated garbage, shown as it is; `authorization_secret=False`: the
        call's authorization value is made up, shown as show_authorization shows it; `made_up`:
        metadata the suite made up, shown as it is save for any issued token inside it)."""
        parts = ["grpcurl"]
        if self.settings.plaintext:
            parts.append("-plaintext")
        if self.settings.ca_file:
            parts += ["-cacert", self.settings.ca_file]
        if self.settings.server_name:
            parts += ["-servername", self.settings.server_name]
        if self.settings.cert_file and self.settings.key_file:
            parts += ["-cert", self.settings.cert_file, "-key", self.settings.key_file]
        headers = [(key, value, True) for key, value in self.settings.metadata]
        headers += [(key, value, authorization_secret) for key, value in extra_metadata]
        for key, value, is_secret in headers:
            shown_value = show_authorization(value, secret=is_secret) \
                if key.lower() == "authorization" else redact(value, "value")
            parts += ["-H", f"{key}: {shown_value}"]
        parts += [part for key, value in made_up
                  for part in ("-H", f"{key}: {SECRETS.scrub(value)}")]
        shown = {k: (redact(v) if k == "refresh_token" and v and secret else v)
                 for k, v in shown.items()}
        parts += ["-d", json.dumps(shown), self.settings.address, method.lstrip("/")]
        return " ".join(shlex.quote(part) for part in parts)


def _trailing(error: grpc.RpcError) -> tuple[tuple[str, str | bytes], ...]:
    """An error's trailing metadata as received (binary values stay bytes)."""
    metadata: Iterable[tuple[str, str | bytes]] = (
        error.trailing_metadata() or () if isinstance(error, grpc.Call) else ())
    return tuple(metadata)


def _trailer_text(trailing: Iterable[tuple[str, str | bytes]]) -> str:
    """Trailing metadata, a `key: value` line each; binary values (`-bin` keys, such as
    grpc-status-details-bin with its google.rpc.DebugInfo) read as UTF-8, which shows the
    strings a protobuf message embeds."""
    return "\n".join(f"{key}: {_text(value)}" for key, value in trailing)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _remember_tokens(response: Message) -> None:
    """Every token the target issues becomes a secret to scrub from all output."""
    auth_token = getattr(response, "auth_token", None)
    if auth_token is not None:
        SECRETS.remember(auth_token.token)
        SECRETS.remember(auth_token.refresh_token)


def canonical_json(message: Message) -> dict[str, object]:
    """The canonical proto3 JSON form (lowerCamelCase names, defaults omitted)."""
    from google.protobuf import json_format  # lazily: a run that judges no field never needs it

    result: dict[str, object] = json_format.MessageToDict(message)
    return result
