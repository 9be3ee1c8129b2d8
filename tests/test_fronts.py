"""Answers from a front, not the service (requirements.md's preamble): the classifier of native
gRPC answers (conformance.transport.fronts), what a check makes of such an answer (error, naming
the HTTP status and content type; a bare 404 on the contract's RPCs as a wrong address), FZ-06's
titles, and reproduce lines whose body is too long for one shell argument."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from conformance.model.calls import FrontAnswer, Reply
from conformance.model.contract import GET_ME_METHOD, REFRESH_METHOD, SERVICE
from conformance.model.errors import CannotEvaluate, TargetDown
from conformance.model.status import Status
from conformance.model.violations import ensure_status, violation
from conformance.run.profiles import PROFILES
from conformance.run.target import TargetSession
from conformance.run.target_config import TargetConfig
from conformance.transport.fronts import native_front_answer
from conformance.transport.reproduce import LONGEST_ARGUMENT, stdin_body
from conformance.transport.settings import ChannelSettings
from conformance.transport.tokens import TokenSourceSpec

NGINX_413 = 'Received http2 header with status: 413'


def test_an_http_status_without_grpc_status_is_a_fronts() -> None:
    front = native_front_answer(Status.UNKNOWN, NGINX_413, (("content-type", "text/html"),), ())
    assert front == FrontAnswer(413, "text/html", f'UNKNOWN "{NGINX_413}"')
    assert front.oversized_refusal
    # grpc-core maps 502 to UNAVAILABLE, and says where it came from
    lb = native_front_answer(Status.UNAVAILABLE, "Received http2 header with status: 502", (), ())
    assert lb is not None and lb.http_status == 502 and not lb.oversized_refusal


def test_envoys_own_reply_to_an_oversized_request_is_a_fronts() -> None:
    """Envoy's buffer filter: a gRPC answer of Envoy's own, without the mark Envoy puts on what
    an upstream answered."""
    own = native_front_answer(Status.UNKNOWN, "Payload Too Large", (), (("server", "envoy"),))
    assert own is not None and own.http_status == 413 and own.oversized_refusal
    upstream = native_front_answer(Status.UNKNOWN, "Payload Too Large", (),
                                   (("x-envoy-upstream-service-time", "3"),))
    assert upstream is None   # the service itself said so: judged as its answer


@pytest.mark.parametrize(("status", "details"), [
    (Status.UNAUTHENTICATED, "invalid refresh token"),
    (Status.UNKNOWN, "Exception calling application: boom"),
    (Status.UNAVAILABLE, "failed to connect to all addresses"),
    (Status.RESOURCE_EXHAUSTED, "Received message larger than max (1048581 vs. 4194304)"),
])
def test_the_services_own_answers_are_not_a_fronts(status: Status, details: str) -> None:
    assert native_front_answer(status, details, (), ()) is None


def _reply(method: str, front: FrontAnswer | None, code: Status = Status.UNKNOWN) -> Reply[Any]:
    return Reply(method, code, "details", None, 0.01, "grpcurl ...", front=front)


def test_a_fronts_answer_is_error_naming_its_http_status_and_content_type() -> None:
    page = _reply(REFRESH_METHOD, FrontAnswer(502, "text/html", "UNAVAILABLE ..."),
                  Status.UNAVAILABLE)
    made = violation("Unknown refresh token not rejected", expected="UNAUTHENTICATED",
                     received="UNAVAILABLE", reply=page)
    assert isinstance(made, CannotEvaluate)
    assert "HTTP 502 (text/html) from the target's front" in str(made)
    # a front's status never passes a rule either: 401 read as UNAUTHENTICATED
    gateway = _reply(REFRESH_METHOD, FrontAnswer(401, "text/plain"), Status.UNAUTHENTICATED)
    with pytest.raises(CannotEvaluate, match="HTTP 401"):
        ensure_status(gateway, {"UNAUTHENTICATED"}, "Unknown refresh token not rejected")


def test_a_bare_404_on_the_contracts_rpcs_is_no_verdict() -> None:
    lost = _reply(GET_ME_METHOD, FrontAnswer(404, "text/html"), Status.UNIMPLEMENTED)
    wrong_address = re.escape(f"nothing serves {SERVICE} at this address")
    with pytest.raises(CannotEvaluate, match=wrong_address):
        ensure_status(lost, {"UNAUTHENTICATED"}, "GetMe without a token not rejected")


def test_a_404_at_preflight_makes_the_target_not_evaluable() -> None:
    config = TargetConfig(ChannelSettings("127.0.0.1:9", plaintext=True),
                          TokenSourceSpec("static", secret_env="UNUSED"))
    session = TargetSession(config, PROFILES["quick"])
    try:
        session.client.get_me = lambda *_, **__: _reply(  # type: ignore[method-assign]
            GET_ME_METHOD, FrontAnswer(404, "text/html"), Status.UNIMPLEMENTED)
        with pytest.raises(TargetDown, match=re.escape(f"nothing serves {SERVICE}")):
            session.ensure_evaluable()
    finally:
        session.close()


@pytest.mark.parametrize("body", [
    json.dumps({"refresh_token": "A" * (1 << 20)}),          # FZ-06's 1 MiB token
    json.dumps({"refresh_token": "x'y\"z " * 40000}),        # no run to make, quotes inside
])
def test_a_body_over_100_kib_goes_through_stdin_and_is_exact(body: str) -> None:
    command = stdin_body(body)
    assert command is not None and len(body) > LONGEST_ARGUMENT
    # As a pasted line: the shell reads it (printf is its builtin: no argument-size limit).
    written = subprocess.run(["bash"], input=command, capture_output=True, text=True,
                             timeout=30, check=True).stdout
    assert written == body


def test_a_short_body_stays_an_argument() -> None:
    assert stdin_body('{"refresh_token": "abc"}') is None


def _row(run: Any, rid: str) -> dict[str, Any]:
    [row] = [r for r in run.results["targets"][0]["requirements"] if r["id"] == rid]
    return dict(row)


@pytest.mark.parametrize(("fault", "title"), [
    ("huge-refresh-token-stalls", "Oversized refresh token not refused in time"),
    ("refresh-unimplemented", "Oversized refresh token answered UNIMPLEMENTED"),
])
def test_fz06s_title_says_what_happened(run_suite: Any, fault: str, title: str) -> None:
    """It said "not rejected in time" for a wrong status answered in 6 ms."""
    run = run_suite("--profile", "quick", "--only", "FZ-06", "--reference-fault", fault)
    fz06 = _row(run, "FZ-06")
    assert fz06["outcome"] == "fail"
    assert fz06["message"].splitlines()[0] == f"[FZ-06 MUST] {title}"


def test_fz06s_reproduce_line_shows_the_made_up_token_and_reruns(run_suite: Any) -> None:
    """It showed the suite's own 1 MiB string of As as <token sha256:4e29ad18>."""
    run = run_suite("--profile", "quick", "--only", "FZ-06,FZ-11",
                    "--reference-fault", "front-refuses-oversized-as-unknown")
    assert _row(run, "FZ-11")["outcome"] == "warn" and _row(run, "FZ-06")["outcome"] == "pass"
    junit = (run.report_dir / "junit.xml").read_text()
    assert "<token sha256:4e29ad18>" not in junit
    assert "head -c 1048576 /dev/zero | tr" in junit and "-d @" in junit
