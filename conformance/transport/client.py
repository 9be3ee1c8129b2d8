"""The client of the contract's RPCs over the transport seam: every call has a deadline, returns
a Reply, and is logged redacted."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from conformance.model.calls import CallRecord, Metadata, Reply
from conformance.model.contract import GET_ME_METHOD, LOGIN_METHOD, REFRESH_METHOD, pb
from conformance.model.errors import TargetStoppedAnswering
from conformance.model.redact import SECRETS, authorization_credential, redact, show_authorization
from conformance.model.status import Status
from conformance.transport.inflight import InflightGate
from conformance.transport.seam import Transport
from conformance.transport.settings import ChannelSettings

__all__ = ["CURRENT_CHECK", "NO_ANSWER", "CallRecord", "ChannelSettings", "Reply",
           "UserApiClient", "carry"]

M = TypeVar("M", bound=Message)
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
NO_ANSWER = {Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED}
# What grpcio says of a response it cannot decode; the client decodes now, and says the same.
UNDECODABLE = "Exception deserializing response!"


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
    # The checks that used the shared sample (conformance.run.samples), and each check's calls.
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


class UserApiClient:
    """The three RPCs of the contract (and raw bytes to RefreshAccessToken), with deadlines, over
    one transport (native gRPC unless another is given)."""

    def __init__(self, settings: ChannelSettings, transport: Transport | None = None, *,
                 max_inflight: int = 1, log: CallLog | None = None,
                 gate: InflightGate | None = None) -> None:
        self.settings = settings
        if transport is None:
            from conformance.transport.native import GrpcTransport
            transport = GrpcTransport(settings)
        self.transport = transport
        self.log = log if log is not None else CallLog()
        self.gate = gate if gate is not None else InflightGate(max_inflight)
        self._answers = threading.Lock()
        self._unanswered = 0    # consecutive calls without an answer

    def close(self) -> None:
        self.transport.close()

    def on_fresh_connection(self) -> UserApiClient:
        """A client of the same target on a new connection of its own, whose calls are logged and
        gated with this one's (the caller closes it)."""
        return UserApiClient(self.settings, self.transport.fresh(), log=self.log, gate=self.gate)

    # RPCs ------------------------------------------------------------------
    def refresh(self, refresh_token: str, *, deadline: float | None = None, secret: bool = True,
                ) -> Reply[pb.RefreshAccessTokenResponse]:
        """`secret=False` for generated garbage (FZ-01): not a credential, so it stays out of the
        secret registry, whose scrubbing would redact that text wherever a report shows it."""
        request = pb.RefreshAccessTokenRequest(refresh_token=refresh_token)
        return self._call(REFRESH_METHOD, request, pb.RefreshAccessTokenResponse,
                          presented=refresh_token,
                          secret=secret, deadline=deadline, shown={"refresh_token": refresh_token})

    def login(self, email: str, password: str) -> Reply[pb.AuthnWithPasswordResponse]:
        SECRETS.remember(password, "password")
        request = pb.AuthnWithPasswordRequest(email=email, password=password)
        return self._call(LOGIN_METHOD, request, pb.AuthnWithPasswordResponse, presented=None,
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
        return self._call(GET_ME_METHOD, pb.GetMeRequest(), pb.GetMeResponse,
                          presented=authorization,
                          extra_metadata=extra, shown={}, secret=False,
                          authorization_secret=secret, made_up=made_up)

    def refresh_raw(self, payload: bytes, *, deadline: float | None = None,
                    presented: str | None = None, shown: str | None = None) -> Reply[Message]:
        """Arbitrary bytes as the request body of RefreshAccessToken (wire-level garbage); the
        answer is left undecoded, as `reply.raw`.
        `presented`: a credential the bytes carry (registered, and looked for in echoes, FZ-04);
        `shown`: the bytes as the reproduce line shows them instead of their hex, which would
        carry that credential in clear."""
        return self._call(REFRESH_METHOD, payload, None, presented=presented, deadline=deadline,
                          shown={"<raw bytes>": shown or payload.hex()})

    def call_raw(self, method: str, payload: bytes = b"") -> Reply[Message]:
        """`payload` to any method (`/package.Service/Method`), the answer left undecoded: for
        methods the contract does not have (CT-09)."""
        return self._call(method, payload, None, presented=None, shown={})

    # plumbing --------------------------------------------------------------
    def _call(self, method: str, request: Message | bytes, response_type: type[M] | None, *,
              presented: str | None, shown: dict[str, str], deadline: float | None = None,
              extra_metadata: tuple[tuple[str, str], ...] = (), secret: bool = True,
              authorization_secret: bool = True,
              made_up: tuple[tuple[str, str], ...] = ()) -> Reply[M]:
        """One call; `response_type` None: the answer's bytes are kept, not decoded."""
        if secret:
            SECRETS.remember(presented)
        if self._unanswered >= STOPPED_ANSWERING_AFTER:
            raise TargetStoppedAnswering(self.settings.address, f"stopped answering "
                                         f"({self._unanswered} consecutive calls got no answer)")
        metadata = self.settings.metadata + extra_metadata + made_up
        timeout = self.settings.deadline if deadline is None else deadline
        payload = request if isinstance(request, bytes) else request.SerializeToString()
        with self.gate.slot():  # the deadline runs from the send, not from the wait for a slot
            started = time.monotonic()
            exchange = self.transport.unary(method, payload, metadata=metadata, timeout=timeout)
            elapsed = time.monotonic() - started
        code, details = exchange.status, exchange.details
        response: M | None = None
        if code is Status.OK and response_type is not None:
            try:
                response = response_type.FromString(exchange.body or b"")
            except DecodeError:
                code, details = Status.INTERNAL, UNDECODABLE
        trailing = () if code is Status.OK else exchange.trailers
        with self._answers:  # calls end in several threads at once
            self._unanswered = self._unanswered + 1 if code in NO_ANSWER else 0
        if response is not None:
            _remember_tokens(response)
        self.log.add(CallRecord(method, code, details, presented, response,
                                _trailer_text(trailing), started, started + elapsed,
                                self.log.in_sample(), CURRENT_CHECK.get()))
        return Reply(method, code, details, response, elapsed,
                     self.reproduce(method, shown, extra_metadata,
                                    authorization_secret=authorization_secret, made_up=made_up),
                     trailing, exchange.headers, exchange.body, exchange.front)

    def reproduce(self, method: str, shown: dict[str, str],
                  extra_metadata: tuple[tuple[str, str], ...] = (), *, secret: bool = True,
                  authorization_secret: bool = True,
                  made_up: tuple[tuple[str, str], ...] = ()) -> str:
        """A command that repeats the call (the transport's: grpcurl for native gRPC), with every
        credential redacted (`secret=False`: the refresh token is generated garbage, shown as it
        is; `authorization_secret=False`: the call's authorization value is made up, shown as
        show_authorization shows it; `made_up`: metadata the suite made up, shown as it is save
        for any issued token inside it)."""
        headers = [(key, value, True) for key, value in self.settings.metadata]
        headers += [(key, value, authorization_secret) for key, value in extra_metadata]
        shown_headers = [(key, show_authorization(value, secret=is_secret)
                          if key.lower() == "authorization" else redact(value, "value"))
                         for key, value, is_secret in headers]
        shown_headers += [(key, SECRETS.scrub(value)) for key, value in made_up]
        body = {k: (redact(v) if k == "refresh_token" and v and secret else v)
                for k, v in shown.items()}
        return self.transport.reproduce(method, shown_headers, body)


def _trailer_text(trailing: Metadata) -> str:
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
