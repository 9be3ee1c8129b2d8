"""Native gRPC (HTTP/2) behind the transport seam, on grpcio: channels, the status mapping, and
grpcurl reproduce lines."""

from __future__ import annotations

import json
import shlex
import socket
import ssl
from collections.abc import Iterable

import grpc

from conformance.model.calls import Metadata
from conformance.model.status import Status
from conformance.transport.fronts import native_front_answer
from conformance.transport.reproduce import stdin_body
from conformance.transport.seam import Exchange
from conformance.transport.settings import ChannelSettings

__all__ = ["GrpcTransport", "open_channel", "speaks_tls", "status_of"]

# Above gRPC's 4 MiB default so that the suite itself never refuses what a server sends.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def open_channel(settings: ChannelSettings, *, own_connection: bool = False) -> grpc.Channel:
    """A channel to the target. grpcio shares one connection between channels with equal
    arguments (the global subchannel pool); `own_connection` gives this one a pool of its own,
    hence a connection of its own."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    if own_connection:
        options.append(("grpc.use_local_subchannel_pool", 1))
    if settings.plaintext:
        return grpc.insecure_channel(settings.address, options=options)
    root_certificates = None
    if settings.ca_file:
        with open(settings.ca_file, "rb") as handle:
            root_certificates = handle.read()
    private_key = certificate_chain = None
    if settings.cert_file and settings.key_file:
        with open(settings.key_file, "rb") as key, open(settings.cert_file, "rb") as chain:
            private_key, certificate_chain = key.read(), chain.read()
    if settings.server_name:
        options.append(("grpc.ssl_target_name_override", settings.server_name))
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates,
                                               private_key=private_key,
                                               certificate_chain=certificate_chain)
    return grpc.secure_channel(settings.address, credentials, options=options)


def status_of(code: grpc.StatusCode | None) -> Status:
    """grpcio's status code as the model's (a call grpcio ends without one is UNKNOWN)."""
    return Status[code.name] if code is not None else Status.UNKNOWN


def _identity(data: bytes) -> bytes:
    return data


class GrpcTransport:
    """Native gRPC: one channel, unary calls of raw bytes."""

    name = "grpc"

    def __init__(self, settings: ChannelSettings, channel: grpc.Channel | None = None, *,
                 own_connection: bool = False) -> None:
        self.settings = settings
        self.channel = channel or open_channel(settings, own_connection=own_connection)
        self._methods: dict[str, grpc.UnaryUnaryMultiCallable[bytes, bytes]] = {}

    def unary(self, method: str, request: bytes, *, metadata: tuple[tuple[str, str], ...],
              timeout: float) -> Exchange:
        call = self._methods.get(method)
        if call is None:  # one multicallable per method, made once (dicts are thread-safe here)
            call = self._methods.setdefault(method, self.channel.unary_unary(
                method, request_serializer=_identity, response_deserializer=_identity))
        try:
            body, outcome = call.with_call(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as error:
            status = status_of(error.code() if isinstance(error, grpc.Call) else None)
            details = (error.details() if isinstance(error, grpc.Call) else "") or ""
            headers = _metadata(error, initial=True)
            trailers = _metadata(error, initial=False)
            return Exchange(status, details, headers=headers, trailers=trailers,
                            front=native_front_answer(status, details, headers, trailers))
        return Exchange(Status.OK, "", body, _metadata(outcome, initial=True),
                        _metadata(outcome, initial=False))

    def fresh(self) -> GrpcTransport:
        return GrpcTransport(self.settings, own_connection=True)

    def reproduce(self, method: str, headers: list[tuple[str, str]],
                  body: dict[str, str]) -> str:
        """A grpcurl command (body as JSON, `<raw bytes>` where a check sent bytes; a body over
        100 KiB on its standard input, `-d @`)."""
        parts = ["grpcurl"]
        if self.settings.plaintext:
            parts.append("-plaintext")
        if self.settings.ca_file:
            parts += ["-cacert", self.settings.ca_file]
        if self.settings.server_name:
            parts += ["-servername", self.settings.server_name]
        if self.settings.cert_file and self.settings.key_file:
            parts += ["-cert", self.settings.cert_file, "-key", self.settings.key_file]
        for key, value in headers:
            parts += ["-H", f"{key}: {value}"]
        text = json.dumps(body)
        piped = stdin_body(text)   # a body too long for one argument: through stdin
        parts += ["-d", "@" if piped else text, self.settings.address, method.lstrip("/")]
        line = " ".join(shlex.quote(part) for part in parts)
        return f"{piped} | {line}" if piped else line

    def close(self) -> None:
        self.channel.close()


def _metadata(call: object, *, initial: bool) -> Metadata:
    """A call's initial or trailing metadata as received (binary values stay bytes)."""
    if not isinstance(call, grpc.Call):
        return ()
    found: Iterable[tuple[str, str | bytes]] | None = (
        call.initial_metadata() if initial else call.trailing_metadata())
    return tuple(found or ())


def speaks_tls(address: str, timeout: float) -> bool:
    """Whether `address` (HOST:PORT) completes a TLS handshake (any certificate): a target
    dialled in plaintext that does is a TLS port (a grpcio TLS server just closes the socket; a
    proxy answers an HTTP/1.x 400)."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE   # only whether it speaks TLS, not whom to trust
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host.strip("[]") or None):
            return True
    except (OSError, ValueError):
        return False
