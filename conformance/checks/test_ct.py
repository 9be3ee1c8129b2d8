"""CT: contract and transport."""

from __future__ import annotations

import ipaddress
import secrets
import threading

import pytest
from google.protobuf.message import DecodeError

from conformance.drift.compare import WIRE, WIRE_JSON, BufFailed, BufMissing, breaking
from conformance.drift.reflection import NotDescribed, Reflected, reflect
from conformance.model.contract import REFRESH_METHOD, SERVICE, pb
from conformance.model.errors import CannotEvaluate
from conformance.model.redact import redact
from conformance.model.results import SkipKind
from conformance.model.status import Status
from conformance.model.violations import Violation, ensure, front_answered, violation
from conformance.rules.fields import missing_user_or_auth_token, schema_findings, unknown_fields
from conformance.run.check_context import (
    NO_WIRE_BYTES,
    KindedSkip,
    not_applicable,
    not_judged,
    pass_note,
)
from conformance.run.samples import ensure_every_response, sampled
from conformance.run.target import TargetSession
from conformance.transport.client import NO_ANSWER
from conformance.transport.frames import FIELD_1_LEN, Frame, varint
from conformance.transport.native import GrpcTransport


@pytest.mark.requirement("CT-01")
def test_ct01_refresh_is_served_at_its_full_path(target: TargetSession) -> None:
    """CT-01: RefreshAccessToken is a unary RPC at /user_api.v1.UserApiService/RefreshAccessToken,
    and a valid refresh token gets status OK within the deadline (api.md, RPCs)."""
    reply = sampled(target).refresh
    ensure(reply.ok, "Valid refresh token not answered OK",
           expected=f"status OK from {REFRESH_METHOD} within {target.config.channel.deadline:g} s",
           received=f"{reply.status} after {reply.elapsed:.2f} s", reply=reply)


@pytest.mark.requirement("CT-02")
@pytest.mark.fields
def test_ct02_ok_response_has_user_and_auth_token(target: TargetSession) -> None:
    """CT-02: every OK RefreshAccessTokenResponse has both `user` (1) and `auth_token` (2) set
    (api.md, Messages): the sample's refresh, then every other OK refresh the run has logged
    (RT's chains, races and replays), as CT-04 judges them. A server that drops one only after
    a family's first refresh (the sample is one) fails too."""
    ensure_every_response(target, missing_user_or_auth_token,
                          "OK refresh response lacks user or auth_token",
                          "both `user` and `auth_token` set in every OK refresh response")


@pytest.mark.requirement("CT-03")
@pytest.mark.fields
def test_ct03_response_has_no_unknown_fields(target: TargetSession) -> None:
    """CT-03: responses carry no fields unknown to the contract; their numbers are reported
    (proto3 language guide, unknown fields)."""
    ensure_every_response(target, unknown_fields, "Response carries fields unknown to the contract",
                          "only the fields of user_api.v1 (api.md, Messages)")


@pytest.mark.requirement("CT-04")
@pytest.mark.fields
def test_ct04_canonical_json_validates_against_the_schema(target: TargetSession) -> None:
    """CT-04: the canonical proto3 JSON form of each response validates against the suite's JSON
    Schema in schemas/ (api.md; proto3 JSON mapping)."""
    ensure_every_response(target, schema_findings, "Canonical JSON of a response fails its schema",
                          "each response valid against schemas/*.schema.json")


# An unknown field for the request: number 99 (not in RefreshAccessTokenRequest), wire type 2
# (LEN): the tag 99 << 3 | 2 = 794 is the varint 0x9a 0x06, then the length and a string.
UNKNOWN_REQUEST_FIELD = bytes([0x9A, 0x06, len(b"conformance")]) + b"conformance"


@pytest.mark.requirement("CT-05")
def test_ct05_unknown_request_field_is_ignored(target: TargetSession) -> None:
    """CT-05: the server ignores unknown fields in the request: a valid request that also carries
    field 99 (a string) succeeds (proto3 language guide, unknown fields)."""
    if target.transport == "connect-json":
        not_applicable(NO_WIRE_BYTES)
    token = target.fresh_tokens().refresh_token
    # The request's bytes are field 1 (the token) then field 99; the reproduce line shows them
    # with the token redacted (their hex would carry it in clear).
    request = Frame("field 1, then unknown field 99",
                    bytes([FIELD_1_LEN]) + varint(len(token.encode())), UNKNOWN_REQUEST_FIELD)
    reply = target.client.refresh_raw(request.payload(token), presented=token,
                                      shown=request.shown(redact(token)))
    ensure(reply.ok, "Request with an unknown field refused",
           expected="status OK: unknown field 99 is ignored", received=reply.status, reply=reply)
    try:
        pb.RefreshAccessTokenResponse.FromString(reply.raw or b"")
    except DecodeError as error:
        raise violation("Response to a request with an unknown field is undecodable",
                        expected="a RefreshAccessTokenResponse", received=f"{error}",
                        reply=reply) from None


def plaintext_off_loopback(address: str, plaintext: bool) -> str | None:
    """CT-06 as a rule on configuration: why `address` is not judged (loopback), else None.
    Raises the Violation when plaintext goes to a non-loopback host. Dials nothing."""
    host = address.rpartition(":")[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower().rstrip(".") == "localhost"
    if loopback:
        return f"{address} is a loopback address: no network to protect"
    ensure(not plaintext, "Plaintext to a non-loopback host",
           expected=f"TLS to {address} (omit --plaintext)",
           received=f"--plaintext: tokens would cross the network to {host} in clear")
    return None


@pytest.mark.requirement("CT-06")
def test_ct06_non_loopback_target_uses_tls(target: TargetSession) -> None:
    """CT-06: over a non-loopback network the target is served with TLS; plaintext to a
    non-loopback host fails, on loopback the check is skipped (RFC 6749 §10.3, §10.4;
    RFC 6750 §5.3)."""
    channel = target.config.channel
    loopback = plaintext_off_loopback(channel.address, channel.plaintext)
    if loopback:
        not_applicable(loopback)


# CT-07/CT-08: the target's description of the API, read once per target by reflection.
# Server reflection is a streaming RPC: CT-07 and CT-08 read it over native gRPC only
# (requirements.md, "Transports (v3)").
NATIVE_ONLY = "reflection is judged over native gRPC: certify the gRPC address too"
# What reflection gave for a target: its description, or why it gave none, with the skip's kind.
Known = Reflected | tuple[str, SkipKind]
REFLECTED: dict[str, Known] = {}
REFLECTING = threading.Lock()


@pytest.mark.requirement("CT-07")
def test_ct07_reflected_description_is_wire_compatible(target: TargetSession,
                                                       request: pytest.FixtureRequest) -> None:
    """CT-07: the user_api.v1 types and RPCs the target's gRPC server reflection describes are
    wire-compatible with the contract (proto/): buf's WIRE breaking rules (field numbers, wire
    types, cardinality, request and response types, enum numbers), with no service, RPC,
    message or enum of the contract missing, which WIRE does not cover (gRPC server reflection
    protocol; buf breaking rules, WIRE). Additions are compatible. v1alpha is read after any
    failure of v1. `skip` without reflection or when it does not describe
    user_api.v1.UserApiService (not applicable), when both versions fail (not judged, naming
    both answers), or without buf (the `drift` extra)."""
    judge_drift(target, request, WIRE, "Reflected description breaks the contract on the wire")


@pytest.mark.requirement("CT-08")
def test_ct08_reflected_description_is_json_compatible(target: TargetSession,
                                                       request: pytest.FixtureRequest) -> None:
    """CT-08: as CT-07, and JSON-compatible too: buf's WIRE_JSON rules (WIRE's, and the same
    field names, JSON names and enum value names), so that grpc-gateway and proto3 JSON clients
    keep working (buf breaking rules, WIRE_JSON; proto3 JSON mapping). JSON names compare as
    effective names: an empty json_name is the default lowerCamel form."""
    judge_drift(target, request, WIRE_JSON,
                "Reflected description breaks the contract's JSON (or wire) form")


def judge_drift(target: TargetSession, request: pytest.FixtureRequest, category: str,
                title: str) -> None:
    reflected = reflected_description(target)
    try:
        findings = breaking(reflected.files, category)
    except BufMissing as error:
        not_judged(str(error))
    except BufFailed as error:
        raise CannotEvaluate(str(error)) from None
    files = len(reflected.files.file)
    # A v1 that failed (a front's CANCELLED) is worth knowing even when v1alpha was judged.
    served = reflected.version + (f", after {reflected.fallback}" if reflected.fallback else "")
    if not findings:
        pass_note(request.node, f"the description reflection ({served}) "
                         f"serves, {files} files, keeps every rule of buf's {category} "
                         "category, and every service, RPC, message and enum of the contract")
        return
    channel = target.config.channel
    raise Violation(title, expected=f"the description of {SERVICE} that reflection serves "
                    f"keeps every rule of buf's {category} category against the contract, and "
                    "every service, RPC, message and enum of it",
                    received="; ".join(finding.render() for finding in findings),
                    reproduce=f"grpcurl {'-plaintext ' if channel.plaintext else ''}"
                    f"{channel.address} describe {SERVICE}",
                    details=f"{len(findings)} breaking change(s), from {files} files served "
                    f"by {served}")


def reflected_description(target: TargetSession) -> Reflected:
    """What the target's reflection describes (read once per target); `skip` with the reason
    when it describes nothing of the contract."""
    with REFLECTING:  # CT-07 and CT-08 may ask at once (conformance.run.overlap): one reads it
        transport = target.client.transport
        if target.label not in REFLECTED and not isinstance(transport, GrpcTransport):
            REFLECTED[target.label] = (NATIVE_ONLY, SkipKind.NOT_JUDGED)
        if target.label not in REFLECTED:
            assert isinstance(transport, GrpcTransport)
            channel = target.config.channel
            # Reflection's calls (one after another) count against --max-inflight as any other.
            with target.client.gate.slot():
                try:
                    REFLECTED[target.label] = reflect(transport.channel, SERVICE,
                                                      deadline=channel.deadline,
                                                      metadata=channel.metadata)
                except NotDescribed as error:
                    REFLECTED[target.label] = (str(error), error.kind)
        known = REFLECTED[target.label]
    if isinstance(known, tuple):
        why, kind = known
        raise KindedSkip(why, kind)
    return known


# CT-09's probes: names no contract has and no server plausibly serves. A fresh random suffix
# per run, so that no deployment can special-case them; never a name reflection lists.
@pytest.mark.requirement("CT-09")
def test_ct09_unknown_methods_and_services_are_unimplemented(target: TargetSession) -> None:
    """CT-09: a method the contract does not have and an unknown service get UNIMPLEMENTED in
    the transport's own carrier (Connect: `unimplemented`), or an HTTP 404 with no answer of the
    transport; never OK, and the target keeps serving (gRPC status codes; gRPC interop
    unimplemented_method, unimplemented_service; Connect protocol, error codes)."""
    suffix = secrets.token_hex(4)
    probes = {"an unknown method": f"/{SERVICE}/ConformanceProbe{suffix}",
              "an unknown service": f"/user_api.v1.ConformanceProbe{suffix}Service/Probe"}
    listed = _listed_methods(target)
    for kind, method in probes.items():
        assert method not in listed, f"suite error: {method} is listed by reflection"
        reply = target.client.call_raw(method)
        routed_nowhere = reply.front is not None and reply.front.http_status == 404
        if routed_nowhere or (reply.front is None and reply.code is Status.UNIMPLEMENTED):
            continue
        if reply.front is not None and not reply.ok:
            raise front_answered(reply)
        raise violation(f"Unknown {kind.split()[-1]} not answered UNIMPLEMENTED",
                        expected=f"UNIMPLEMENTED (or an HTTP 404 of a router) for {kind}, "
                        f"{method}", received=reply.status, reply=reply)
    after = target.client.get_me(None)
    ensure(after.front is None and after.code not in NO_ANSWER,
           "Target stopped serving after unknown methods",
           expected="GetMe answered by the service after the probes",
           received=after.status, reply=after)


def _listed_methods(target: TargetSession) -> set[str]:
    """The methods the target's reflection described, when CT-07 read it already."""
    known = REFLECTED.get(target.label)
    if not isinstance(known, Reflected):
        return set()
    return {f"/{service.name if not file.package else file.package + '.' + service.name}/"
            f"{method.name}" for file in known.files.file for service in file.service
            for method in service.method}
