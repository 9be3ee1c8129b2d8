"""A target under test for one run: its client, its token source and its preflight verdict."""

from __future__ import annotations

import threading

from conformance.model.contract import pb
from conformance.model.errors import CannotEvaluate, TargetDown
from conformance.model.violations import front_answered
from conformance.run.profiles import Profile
from conformance.run.target_config import TargetConfig
from conformance.transport.client import NO_ANSWER, Reply, UserApiClient
from conformance.transport.factory import open_transport
from conformance.transport.native import speaks_tls
from conformance.transport.throttle import Throttling
from conformance.transport.tokens import PasswordSource, TokenPair, TokenSource, make_token_source

__all__ = ["TargetSession"]
# What gRPC's message for a failed TLS handshake says, in one form or another.
TLS_WORDS = ("ssl", "tls", "handshake", "certificate", "verification")
# Tokens minted at once for one target when checks overlap (a login, or a run of the token
# command). A serial run mints one at a time; sandboxes throttle and lock accounts on bursts of
# logins, so overlap never makes more than this many at once (one at --max-inflight 1), and the
# pacer (conformance.transport.throttle) slows them further once the target refuses one as
# throttling.
MINTING_AT_ONCE = 2
# The longest the TLS probe of a plaintext target that closed the connection may take.
TLS_PROBE_SECONDS = 2.0


class TargetSession:
    """Shared by every check of one target: one channel reused, tokens minted per check."""

    def __init__(self, config: TargetConfig, profile: Profile,
                 embedded_password: str | None = None) -> None:
        self.config = config
        self.profile = profile
        self.client = UserApiClient(
            config.channel, open_transport(config.transport, config.channel, config.base_url),
            max_inflight=config.max_inflight)
        self.source: TokenSource = make_token_source(config.tokens, self.client, embedded_password)
        self._lock = threading.Lock()
        self._minting = threading.BoundedSemaphore(min(MINTING_AT_ONCE, config.max_inflight))
        self._checked = False
        self._cause: str | None = None
        self._spare: TokenPair | None = None

    @property
    def label(self) -> str:
        return self.config.label

    @property
    def transport(self) -> str:
        """The transport this session certifies the target over (`grpc`, `grpc-web`, ...)."""
        return self.config.transport

    @property
    def reuse_grace(self) -> float:
        return self.config.reuse_grace

    def ensure_evaluable(self) -> None:
        """Preflight once per run: the target answers, and a first token can be minted."""
        with self._lock:
            if not self._checked:
                self._checked = True
                self._cause = self._preflight()
        if self._cause:
            raise TargetDown(self.label, self._cause)

    def _preflight(self) -> str | None:
        probe = self.client.get_me(None)
        if probe.front is not None and probe.front.http_status == 404:
            return str(front_answered(probe))   # a wrong address (or base URL) is no verdict
        if probe.code in NO_ANSWER:
            return self._no_answer_cause(probe.status, probe.details.lower())
        if self.source.kind == "static":
            return None  # minting would spend the single token
        try:
            self._spare = self.source.mint()
        except CannotEvaluate as error:
            return str(error)
        return None

    def _no_answer_cause(self, status: str, details: str) -> str:
        channel = self.config.channel
        if channel.plaintext and ("socket closed" in details or "http1.x" in details) and \
                speaks_tls(channel.address, min(channel.deadline, TLS_PROBE_SECONDS)):
            # A TLS port: a proxy answers the plaintext HTTP/2 preface with an HTTP/1.x 400
            # ("Trying to connect an http1.x server"), a grpcio server closes the socket. Only
            # those answers are probed: a silent target costs no second wait.
            return f"the target seems to want TLS (drop --plaintext): {status}"
        if not channel.plaintext and "socket closed" in details:
            # Over TLS the connection's first bytes are the handshake: a server that requires a
            # client certificate closes the socket without one, and gRPC says only that.
            hint = "the server may not accept the client certificate (--cert-file)" \
                if channel.cert_file else \
                "the server may require a client certificate (--cert-file/--key-file)"
            return f"TLS failure: handshake failed, the server closed the connection; {hint}: " \
                   f"{status}"
        tls = any(word in details for word in TLS_WORDS)
        return f"{'TLS failure' if tls else 'unreachable'}: {status}"

    def fresh_tokens(self) -> TokenPair:
        """A refresh token no other check has seen (NeedsFreshTokens when the source is spent)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            return spare
        with self._minting:
            return self.source.mint()

    def refreshed(self, refresh_token: str, step: str) -> pb.RefreshAccessTokenResponse:
        """A refresh that a check needs as a step, not as its subject: failure is `error`."""
        reply = self.client.refresh(refresh_token)
        if not reply.ok or reply.response is None:
            raise CannotEvaluate(f"precondition failed ({step}): RefreshAccessToken answered "
                                 f"{reply.status}; see CT-01 and RT-01")
        return reply.response

    def refresh(self, refresh_token: str, *, secret: bool = True,
                ) -> Reply[pb.RefreshAccessTokenResponse]:
        return self.client.refresh(refresh_token, secret=secret)

    def throttling(self, check: str | None = None) -> Throttling:
        """Logins refused as throttling so far, and the time spent waiting for them (of the run,
        or of one check's logins)."""
        source = self.source
        return source.pacer.stats(check) if isinstance(source, PasswordSource) else Throttling()

    def close(self) -> None:
        self.client.close()
