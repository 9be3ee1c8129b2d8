"""gRPC-Web (binary and text mode) and Connect (proto and JSON codecs) behind the transport seam,
on httpx: HTTP/1.1, or HTTP/2 over TLS when `h2` is installed (the `web` extra).

Every call is one POST to `BASE/package.Service/Method`, with the deadline sent as the protocol's
own header (`grpc-timeout`, `connect-timeout-ms`) and enforced by the client as well (httpx's
timeout), so no call can hang. `--metadata` and the authorization value travel as HTTP headers.
The answer's status comes from the protocol's own carrier (gRPC-Web: `grpc-status` in the headers
of a trailers-only answer or in the trailer frame; Connect: HTTP 200 for OK, else the JSON error
body's `code`); an HTTP answer without it is a front's (transport.fronts' FrontAnswer).
"""

from __future__ import annotations

import base64
import json
import shlex
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

from conformance.model.calls import Metadata
from conformance.model.contract import GET_ME_METHOD, LOGIN_METHOD, REFRESH_METHOD, pb
from conformance.model.data import data_dir
from conformance.model.status import Status
from conformance.transport.fronts import header, http_front_answer
from conformance.transport.grpc_web_frames import (
    FramingError,
    decode_text,
    encode_frame,
    parse_frames,
    parse_trailers,
)
from conformance.transport.reproduce import stdin_body
from conformance.transport.seam import Exchange
from conformance.transport.settings import ChannelSettings

__all__ = ["CONNECT_CODES", "ConnectTransport", "GrpcWebTransport", "web_base_url"]

USER_AGENT = "userapi-conformance"
# The contract's messages by method, for the JSON codec (it carries messages, not bytes).
_TYPES: dict[str, tuple[Any, Any]] = {
    REFRESH_METHOD: (pb.RefreshAccessTokenRequest, pb.RefreshAccessTokenResponse),
    LOGIN_METHOD: (pb.AuthnWithPasswordRequest, pb.AuthnWithPasswordResponse),
    GET_ME_METHOD: (pb.GetMeRequest, pb.GetMeResponse),
}
# Connect's error codes are the gRPC code names in lower snake case (connectrpc.com/docs/protocol).
CONNECT_CODES = {status.name.lower(): status for status in Status if status is not Status.OK}
# What a Connect client takes for an error answer without a Connect error body (the protocol's
# HTTP-to-code mapping, the same as gRPC's doc/http-grpc-status-mapping.md).
_HTTP_TO_CODE = {400: Status.INTERNAL, 401: Status.UNAUTHENTICATED, 403: Status.PERMISSION_DENIED,
                 404: Status.UNIMPLEMENTED, 429: Status.UNAVAILABLE, 502: Status.UNAVAILABLE,
                 503: Status.UNAVAILABLE, 504: Status.UNAVAILABLE}


def web_base_url(settings: ChannelSettings, url: str | None) -> str:
    """The base URL of a web transport: `url` when given, else the target's HOST:PORT as https
    (http with --plaintext), as a proxy such as Envoy serves gRPC and gRPC-Web on one port."""
    if url:
        return url.rstrip("/")
    return f"{'http' if settings.plaintext else 'https'}://{settings.address}"


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: Metadata
    body: bytes


class _Http:
    """One httpx client (its own connection pool) with the target's TLS settings."""

    def __init__(self, settings: ChannelSettings, base_url: str) -> None:
        import httpx  # the `web` extra: only a web transport needs it

        self.settings, self.base_url = settings, base_url
        self._httpx = httpx
        verify: ssl.SSLContext | bool = False
        if base_url.startswith("https://"):
            verify = ssl.create_default_context(cafile=settings.ca_file)
            if settings.cert_file and settings.key_file:
                verify.load_cert_chain(settings.cert_file, settings.key_file)
        try:
            import h2  # noqa: F401  (HTTP/2 over TLS when available)
            http2 = base_url.startswith("https://")
        except ImportError:
            http2 = False
        self.client = httpx.Client(verify=verify, http2=http2, follow_redirects=False,
                                   trust_env=False)

    def post(self, method: str, body: bytes, headers: list[tuple[str, str]],
             timeout: float) -> _Answer | Exchange:
        """The HTTP answer, or an Exchange for a call that got none (timeout, no connection)."""
        extensions = {"sni_hostname": self.settings.server_name} if self.settings.server_name \
            else None
        try:
            response = self.client.post(self.base_url + method, content=body, headers=headers,
                                        timeout=timeout, extensions=extensions)
        except self._httpx.TimeoutException:
            return Exchange(Status.DEADLINE_EXCEEDED, f"no answer within the deadline of "
                            f"{timeout:g} s")
        except self._httpx.HTTPError as error:
            return Exchange(Status.UNAVAILABLE, f"{type(error).__name__}: {error}")
        return _Answer(response.status_code, tuple(response.headers.multi_items()),
                       response.content)

    def close(self) -> None:
        self.client.close()


def _grpc_status(pairs: Metadata) -> tuple[Status, str] | None:
    code = header(pairs, "grpc-status")
    if not code:
        return None
    try:
        status = Status(int(code))
    except ValueError:
        return Status.UNKNOWN, f"an invalid grpc-status {code!r}"
    return status, urllib.parse.unquote(header(pairs, "grpc-message"))


class GrpcWebTransport:
    """gRPC-Web, binary (`application/grpc-web+proto`) or text mode
    (`application/grpc-web-text`, what grpc-web's code generator makes by default)."""

    def __init__(self, settings: ChannelSettings, base_url: str, *, text: bool = False) -> None:
        self.settings, self.base_url, self.text = settings, base_url, text
        self.name = "grpc-web-text" if text else "grpc-web"
        self.content_type = "application/grpc-web-text" if text else "application/grpc-web+proto"
        self._http = _Http(settings, base_url)

    def unary(self, method: str, request: bytes, *, metadata: tuple[tuple[str, str], ...],
              timeout: float) -> Exchange:
        framed = encode_frame(request)
        body = base64.b64encode(framed) if self.text else framed
        headers = [("content-type", self.content_type), ("accept", self.content_type),
                   ("x-grpc-web", "1"), ("x-user-agent", USER_AGENT),
                   ("grpc-timeout", f"{max(1, int(timeout * 1000))}m"), *metadata]
        answer = self._http.post(method, body, headers, timeout)
        if isinstance(answer, Exchange):
            return answer
        return self.read(answer.status_code, answer.headers, answer.body)

    def read(self, status_code: int, headers: Metadata, body: bytes) -> Exchange:
        """What a gRPC-Web client makes of an HTTP answer."""
        in_headers = _grpc_status(headers)
        if status_code != 200 and in_headers is None:
            return _front(status_code, headers)
        try:
            frames = parse_frames(decode_text(body) if self.text else body)
        except FramingError as error:
            return Exchange(Status.INTERNAL, f"malformed gRPC-Web body: {error}",
                            headers=headers)
        messages = [f.data for f in frames if not f.is_trailer]
        trailer_frames = [f for f in frames if f.is_trailer]
        trailers: Metadata = tuple(pair for f in trailer_frames for pair in parse_trailers(f.data))
        status = in_headers or _grpc_status(trailers)
        if status is None:
            return Exchange(Status.UNKNOWN, "the answer carries no status: neither a trailer "
                            "frame nor grpc-status in its headers", headers=headers)
        code, details = status
        return Exchange(code, details, messages[0] if messages and code is Status.OK else None,
                        headers, trailers)

    def fresh(self) -> GrpcWebTransport:
        return GrpcWebTransport(self.settings, self.base_url, text=self.text)

    def reproduce(self, method: str, headers: list[tuple[str, str]],
                  body: dict[str, str]) -> str:
        if self.text:  # what buf curl does not speak: curl with the body base64-framed
            return _curl(self.settings, self.base_url + method,
                         [("content-type", self.content_type), ("x-grpc-web", "1"), *headers],
                         f"python3 -c {shlex.quote(_TEXT_FRAME)} {shlex.quote(json.dumps(body))}")
        return _buf_curl(self.settings, "grpcweb", self.base_url + method, headers, body)

    def close(self) -> None:
        self._http.close()


class ConnectTransport:
    """Connect's unary protocol, proto (`application/proto`) or JSON (`application/json`)."""

    def __init__(self, settings: ChannelSettings, base_url: str, *, json_codec: bool = False,
                 ) -> None:
        self.settings, self.base_url, self.json_codec = settings, base_url, json_codec
        self.name = "connect-json" if json_codec else "connect"
        self.content_type = "application/json" if json_codec else "application/proto"
        self._http = _Http(settings, base_url)

    def unary(self, method: str, request: bytes, *, metadata: tuple[tuple[str, str], ...],
              timeout: float) -> Exchange:
        body = _to_json(method, request) if self.json_codec else request
        headers = [("content-type", self.content_type), ("connect-protocol-version", "1"),
                   ("connect-timeout-ms", str(max(1, int(timeout * 1000)))),
                   ("user-agent", USER_AGENT), *metadata]
        answer = self._http.post(method, body, headers, timeout)
        if isinstance(answer, Exchange):
            return answer
        return self.read(method, answer.status_code, answer.headers, answer.body)

    def read(self, method: str, status_code: int, headers: Metadata, body: bytes) -> Exchange:
        """What a Connect client makes of a unary HTTP answer."""
        plain = tuple((k, v) for k, v in headers if not k.lower().startswith("trailer-"))
        trailers = tuple((k[len("trailer-"):], v) for k, v in headers
                         if k.lower().startswith("trailer-"))
        if status_code == 200:
            message = _from_json(method, body) if self.json_codec else body
            if message is None:
                return Exchange(Status.INTERNAL, "an OK answer that is not the method's "
                                "response in JSON", headers=plain, trailers=trailers)
            return Exchange(Status.OK, "", message, plain, trailers)
        error = _connect_error(body)
        if error is None:   # no Connect error body: a front's answer, or an empty one
            return _front(status_code, headers, _HTTP_TO_CODE.get(status_code, Status.UNKNOWN))
        code, details = error
        return Exchange(code, details, headers=plain, trailers=trailers)

    def fresh(self) -> ConnectTransport:
        return ConnectTransport(self.settings, self.base_url, json_codec=self.json_codec)

    def reproduce(self, method: str, headers: list[tuple[str, str]],
                  body: dict[str, str]) -> str:
        if self.json_codec:
            return _curl(self.settings, self.base_url + method,
                         [("content-type", "application/json"),
                          ("connect-protocol-version", "1"), *headers], None, json.dumps(body))
        return _buf_curl(self.settings, "connect", self.base_url + method, headers, body)

    def close(self) -> None:
        self._http.close()


def _front(status_code: int, headers: Metadata, status: Status = Status.UNKNOWN) -> Exchange:
    return Exchange(status, f"HTTP {status_code} from the target's front", headers=headers,
                    front=http_front_answer(status_code, headers))


def _connect_error(body: bytes) -> tuple[Status, str] | None:
    """A Connect error body's code and message, or None when the body is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("code") not in CONNECT_CODES:
        return None
    message = data.get("message", "")
    return CONNECT_CODES[data["code"]], message if isinstance(message, str) else ""


def _to_json(method: str, request: bytes) -> bytes:
    """The request as ProtoJSON; bytes that are not the method's request go as they are."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError

    types = _TYPES.get(method)
    if types is None:
        return request or b"{}"   # a method outside the contract (CT-09): an empty message
    try:
        message = types[0].FromString(request)
    except DecodeError:
        return request
    text: str = json_format.MessageToJson(message, indent=None)
    return text.encode()


def _from_json(method: str, body: bytes) -> bytes | None:
    from google.protobuf import json_format

    types = _TYPES.get(method)
    if types is None:
        return b""
    try:
        message = json_format.Parse(body, types[1](), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError):
        return None
    return bytes(message.SerializeToString())


# Text mode's request body, from the body a reproduce line shows (JSON of the request's string
# fields, or `<raw bytes>` in hex): the message encoded, framed and base64-encoded, with nothing
# but Python's standard library (every request field of the contract is a string).
_TEXT_FRAME = (
    "import base64,json,struct,sys;b=json.loads(sys.argv[1]);"
    "f={'refresh_token':1,'email':1,'password':2};"
    "v=lambda n:bytes([n]) if n<128 else bytes([n&127|128])+v(n>>7);"
    "m=bytes.fromhex(b['<raw bytes>']) if '<raw bytes>' in b else b''.join("
    "bytes([f[k]<<3|2])+v(len(x.encode()))+x.encode() for k,x in b.items());"
    "sys.stdout.write(base64.b64encode(struct.pack('>BI',0,len(m))+m).decode())")


def _tls_flags(settings: ChannelSettings, *, buf: bool) -> list[str]:
    flags = []
    if settings.ca_file:
        flags += ["--cacert", settings.ca_file]
    if settings.cert_file and settings.key_file:
        flags += (["--cert", settings.cert_file, "--key", settings.key_file])
    if settings.server_name and buf:
        flags += ["--servername", settings.server_name]
    return flags


def _buf_curl(settings: ChannelSettings, protocol: str, url: str,
              headers: list[tuple[str, str]], body: dict[str, str]) -> str:
    """`buf curl --protocol grpcweb|connect` with the contract's schema (the drift extra)."""
    text = json.dumps(body)
    piped = stdin_body(text)
    parts = ["buf", "curl", "--protocol", protocol, "--schema", str(data_dir("proto")),
             *_tls_flags(settings, buf=True)]
    for key, value in headers:
        parts += ["-H", f"{key}: {value}"]
    parts += ["-d", "@-" if piped else text, url]
    line = " ".join(shlex.quote(part) for part in parts)
    return f"{piped} | {line}" if piped else line


def _curl(settings: ChannelSettings, url: str, headers: list[tuple[str, str]],
          body_command: str | None, body: str = "") -> str:
    """curl with the exact body: given, or written by `body_command` (`--data-binary @-`)."""
    parts = ["curl", "-sS", "-i", "-X", "POST", *_tls_flags(settings, buf=False)]
    for key, value in headers:
        parts += ["-H", f"{key}: {value}"]
    piped = body_command or stdin_body(body)
    parts += ["--data-binary", "@-" if piped else body, url]
    line = " ".join(shlex.quote(part) for part in parts)
    return f"{piped} | {line}" if piped else line
