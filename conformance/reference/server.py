"""Build, start and stop the reference server in-process (port 0 picks a free loopback port)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from conformance.model.contract import SERVICE, pb
from conformance.reference.described import described_pool
from conformance.reference.faults import FAULTS, FLAVORS
from conformance.reference.lenient import decode_leniently
from conformance.reference.proxied import V1ALPHA, add_cancelled_reflection, cancelled_reflection
from conformance.reference.servicer import (
    SHORT_LIFETIMES,
    UNDECODABLE,
    Behaviour,
    UserApiServicer,
)
from conformance.reference.store import Store, StoredUser
from conformance.transport.stubs import pb_grpc

if TYPE_CHECKING:  # the web face is imported only when asked for (--web-port)
    from conformance.reference.web import WebFront

__all__ = ["DEFAULT_EMAIL", "DEFAULT_WEB_ORIGIN", "TEST_USER_PROFILE", "ReferenceServer",
           "ServerOptions"]

DEFAULT_EMAIL = "qa@example.com"
# Every optional field set, each in the form the catalogue asks for.
TEST_USER_PROFILE: dict[str, Any] = {
    "first_name": "Quinn",
    "last_name": "Ashby",
    "role": "ROLE_USER",
    "avatar": "https://avatars.example.com/qa.png",
    "phone": "+44 20 7946 0958",
    "dids": ["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
             "did:web:example.com%3A8443:users:qa"],
    "external_ids": {"crm": "C-1001"},
    "metadata": {"plan": "sandbox", "seats": 3},
    "account": "15436675",
}
# Enough workers that a burst of concurrent refreshes really runs concurrently.
MAX_WORKERS = 32
# Flavour small-message-limit: requests above this size get RESOURCE_EXHAUSTED (FZ-06 allows it).
SMALL_MESSAGE_LIMIT = 64 * 1024
MESSAGE_LIMIT = 4 * 1024 * 1024  # gRPC's default receive limit
DEFAULT_WEB_ORIGIN = "http://localhost:8080"


@dataclass
class ServerOptions:
    port: int = 0
    db: str = ":memory:"
    email: str = DEFAULT_EMAIL
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    faults: frozenset[str] = frozenset()
    flavors: frozenset[str] = frozenset()
    latency_ms: int = 0
    reuse_grace: float = 0.0
    access_token_lifetime: int = 900
    tls_cert_file: str | None = None   # PEM certificate chain and key: serve TLS instead
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None  # with TLS: require client certificates it signed
    unavailable_every: int = 0
    stop_after_calls: int = 0
    web_port: int | None = None  # also gRPC-Web and Connect on 127.0.0.1:web_port (0: any)
    web_origin: str = DEFAULT_WEB_ORIGIN  # the one CORS origin the web face allows

    def __post_init__(self) -> None:
        unknown = (set(self.faults) - FAULTS.keys()) | (set(self.flavors) - FLAVORS.keys())
        if unknown:
            raise ValueError(f"unknown fault or flavor: {', '.join(sorted(unknown))}")
        if self.web_port is not None and self.tls_cert_file:
            raise ValueError("the web face (gRPC-Web and Connect) is served over plain HTTP "
                             "to a plain gRPC port: it does not go with TLS")
        # A flavour with a grace window widens the one asked for, never narrows it.
        self.reuse_grace = max([self.reuse_grace, *(FLAVORS[f].reuse_grace for f in self.flavors)])


# Auth0's refresh-token reuse interval and Okta's grace period are set in seconds; left on and
# undeclared, a few seconds hide a replay from a client that replays at once.
UNDECLARED_REUSE_GRACE = 3.0


class ReferenceServer:
    """The three RPCs plus health checking and reflection, on 127.0.0.1."""

    def __init__(self, options: ServerOptions | None = None,
                 interceptors: Sequence[grpc.ServerInterceptor[Any, Any]] = ()) -> None:
        """`interceptors` are extra gRPC server interceptors, for self-tests that watch the
        calls (tests/helpers/inflight.py); none by default, and none change a behaviour."""
        self.options = options or ServerOptions()
        self.store = Store(self.options.db)
        self.user: StoredUser = self.store.seed_user(
            self.options.email, self.options.password, TEST_USER_PROFILE)
        behaviour = Behaviour(
            faults=frozenset(self.options.faults), flavors=frozenset(self.options.flavors),
            access_token_lifetime=next((SHORT_LIFETIMES[name] for name in sorted(
                self.options.faults | self.options.flavors) if name in SHORT_LIFETIMES),
                self.options.access_token_lifetime),
            # Fault undeclared-reuse-grace: a window the suite is not told of (ServerOptions's
            # stays what was declared).
            reuse_grace=max(self.options.reuse_grace, UNDECLARED_REUSE_GRACE
                            if "undeclared-reuse-grace" in self.options.faults else 0.0),
            latency=self.options.latency_ms / 1000,
            unavailable_every=self.options.unavailable_every,
            stop_after_calls=self.options.stop_after_calls, on_stop=self._stop_soon)
        # The request size limit, of the gRPC server and of the Connect server alike.
        self._message_limit = SMALL_MESSAGE_LIMIT if "small-message-limit" in behaviour.flavors \
            else MESSAGE_LIMIT
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=MAX_WORKERS),
            options=[("grpc.max_receive_message_length", self._message_limit)],
            interceptors=list(interceptors))
        self._web: WebFront | None = None
        self.servicer = UserApiServicer(self.store, behaviour)
        self._refresh_decoder: Callable[[bytes], pb.RefreshAccessTokenRequest] | None = (
            _lenient_refresh_request if "refresh-accepts-wire-garbage" in behaviour.faults
            else decode_leniently if "lenient-request-decoder" in behaviour.faults else None)
        if self._refresh_decoder is not None:
            _add_with_lenient_refresh_decoding(self.servicer, self._server,
                                               self._refresh_decoder)
        else:
            pb_grpc.add_UserApiServiceServicer_to_server(  # type: ignore[no-untyped-call]
                self.servicer, self._server)
        health_servicer = health.HealthServicer()
        for name in ("", SERVICE):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, self._server)
        if "no-reflection" not in behaviour.flavors:
            self._add_reflection(behaviour.faults | behaviour.flavors)
        if "unknown-method-answered-ok" in behaviour.faults:  # last: it takes what is left
            self._server.add_generic_rpc_handlers((_AnswersAnything(),))
        address = f"127.0.0.1:{self.options.port}"
        if self.options.tls_cert_file and self.options.tls_key_file:
            self.port = self._server.add_secure_port(address, self._credentials())
        elif self.options.tls_client_ca_file:
            raise ValueError("a client CA (mutual TLS) needs a TLS certificate and key")
        else:
            self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on 127.0.0.1:{self.options.port}")

    def _add_reflection(self, switches: frozenset[str]) -> None:
        # CT-07/CT-08's faults and flavours describe another contract than they serve, or show
        # reflection as a broken front passes it on (reference/proxied.py).
        cancelled = cancelled_reflection(switches)
        add_cancelled_reflection(self._server, cancelled)
        if V1ALPHA in cancelled:  # grpcio-reflection's handler, registered, would answer first
            return
        reflection.enable_server_reflection(
            (pb.DESCRIPTOR.services_by_name["UserApiService"].full_name,
             health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), self._server, pool=described_pool(switches))

    def _credentials(self) -> grpc.ServerCredentials:
        assert self.options.tls_cert_file and self.options.tls_key_file
        with open(self.options.tls_key_file, "rb") as key, \
                open(self.options.tls_cert_file, "rb") as chain:
            pair = (key.read(), chain.read())
        if not self.options.tls_client_ca_file:
            return grpc.ssl_server_credentials([pair])
        with open(self.options.tls_client_ca_file, "rb") as client_ca:
            roots = client_ca.read()
        if b"-----BEGIN CERTIFICATE-----" not in roots:  # else gRPC says only "Failed to bind"
            raise ValueError(f"client CA {self.options.tls_client_ca_file!r} holds no PEM "
                             "certificate")
        # Mutual TLS: a client without a certificate this CA signed fails the handshake.
        return grpc.ssl_server_credentials([pair], root_certificates=roots,
                                           require_client_auth=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def web_url(self) -> str | None:
        """The base URL of gRPC-Web and Connect (`http://127.0.0.1:P`) once started with a
        web port; POST `{web_url}/user_api.v1.UserApiService/METHOD`."""
        return self._web.url if self._web else None

    @property
    def envoy_pid(self) -> int | None:
        """The PID of the Envoy in front of the web face, once started with a web port."""
        return self._web.envoy_pid if self._web else None

    def start(self) -> ReferenceServer:
        self._server.start()
        if self.options.web_port is not None:
            try:
                self._web = self._start_web(self.options.web_port)
            except BaseException:
                self.stop(0)
                raise
        return self

    def _start_web(self, port: int) -> WebFront:
        from conformance.reference.web import WebFront  # connectrpc only when asked for

        decoders = {pb.RefreshAccessTokenRequest: self._refresh_decoder} \
            if self._refresh_decoder else {}
        return WebFront(self.servicer, grpc_port=self.port, port=port,
                        origin=self.options.web_origin, decoders=decoders,
                        read_max_bytes=self._message_limit).start()

    def _stop_soon(self) -> None:
        """Die as a crashed server would: stop at once, from outside the calling thread (a
        front before the web face stays up)."""
        def die() -> None:
            self._server.stop(0)
            if self._web:
                self._web.crash()
        threading.Thread(target=die, daemon=True).start()

    def stop(self, grace: float = 1.0) -> None:
        if self._web:
            self._web.stop()
        self._server.stop(grace).wait(grace + 1)
        self.store.close()

    def wait(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _HandlerCapture:
    """Stands in for a grpc.Server to capture the generated code's method handlers."""

    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass

    def add_registered_method_handlers(self, service: str,
                                       handlers: dict[str, grpc.RpcMethodHandler[Any, Any]],
                                       ) -> None:
        self.handlers = handlers


def _lenient_refresh_request(data: bytes) -> pb.RefreshAccessTokenRequest:
    try:
        request: pb.RefreshAccessTokenRequest = pb.RefreshAccessTokenRequest.FromString(data)
        return request
    except Exception:  # any failure to decode: the fault lets undecodable bytes pass
        return UNDECODABLE


def _add_with_lenient_refresh_decoding(
        servicer: UserApiServicer, server: grpc.Server,
        decoder: Callable[[bytes], pb.RefreshAccessTokenRequest] = _lenient_refresh_request,
) -> None:
    """Fault refresh-accepts-wire-garbage: the service with a RefreshAccessToken decoder that
    lets undecodable bytes through (as UNDECODABLE) instead of failing the call; fault
    lenient-request-decoder: with the decoder of reference/lenient.py."""
    capture = _HandlerCapture()
    pb_grpc.add_UserApiServiceServicer_to_server(  # type: ignore[no-untyped-call]
        servicer, capture)
    handlers = dict(capture.handlers)
    # grpc's handlers are namedtuples; its type stubs (older than grpcio 1.62's registered
    # method handlers) know neither _replace nor add_registered_method_handlers.
    refresh = handlers["RefreshAccessToken"]
    handlers["RefreshAccessToken"] = refresh._replace(  # type: ignore[attr-defined]
        request_deserializer=decoder)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)  # type: ignore[attr-defined]


class _AnswersAnything(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Fault unknown-method-answered-ok: a catch-all route (a proxy's default rule, a framework's
    fallback handler) answers every method no service has with an empty OK."""

    def service(self, handler_call_details: grpc.HandlerCallDetails,
                ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        return grpc.unary_unary_rpc_method_handler(lambda request, context: b"")
