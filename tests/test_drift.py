"""CT-07/CT-08's parts on their own: the reflection client's skips (no reflection, other
services only, a stream that hangs), its fallback to v1alpha after any failure of v1 (a front's
CANCELLED), and both versions failing (not judged, naming both); the comparison's rules on
descriptors made here, and a run without buf, which skips both checks and never passes them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from conformance.checks import test_ct
from conformance.drift import compare
from conformance.drift.compare import WIRE, WIRE_JSON, BufMissing, breaking, contract_files
from conformance.drift.reflection import MAX_DETAILS, NotDescribed, reflect
from conformance.model.contract import SERVICE, pb
from conformance.model.redact import SECRETS, redact
from conformance.model.results import SkipKind
from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.proxied import (
    RESET_BY_PEER,
    V1,
    V1ALPHA,
    add_cancelled_reflection,
)
from conformance.run.profiles import PROFILES
from conformance.run.target import TargetSession
from conformance.run.target_config import TargetConfig
from conformance.transport.client import ChannelSettings
from conformance.transport.tokens import TokenSourceSpec

Files = descriptor_pb2.FileDescriptorSet


def _served(add: Callable[[grpc.Server], None]) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add(server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


def _add_v1(server: grpc.Server, behaviour: Callable[..., Iterator[Any]],
            **serializers: Callable[..., Any]) -> None:
    """Serve `behaviour` as reflection v1's ServerReflectionInfo (raw bytes without
    serializers)."""
    handler = grpc.stream_stream_rpc_method_handler(behaviour, **serializers)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        V1, {"ServerReflectionInfo": handler}),))


def _add_v1alpha(server: grpc.Server) -> None:
    """grpcio-reflection's v1alpha, describing the contract (from the default pool)."""
    reflection.enable_server_reflection((SERVICE, reflection.SERVICE_NAME), server)


@pytest.fixture
def health_only() -> Iterator[str]:
    """A server whose reflection describes its health service only."""
    def add(server: grpc.Server) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
        reflection.enable_server_reflection(
            (health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), server)
    yield from _served(add)


@pytest.fixture
def hanging_reflection() -> Iterator[str]:
    """A reflection service (v1) that reads the requests and never answers."""
    yield from _served(lambda server: _add_v1(server, _hang))


def _hang(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    # Bounded: a client gone (its deadline) ends it, and so do 5 s.
    until = time.monotonic() + 5
    while context.is_active() and time.monotonic() < until:
        time.sleep(0.05)
    yield from ()


def test_reflection_of_other_services_only_is_not_a_description(health_only: str) -> None:
    with grpc.insecure_channel(health_only) as channel, pytest.raises(NotDescribed) as error:
        reflect(channel, SERVICE, deadline=5)
    assert "reflection (v1alpha) describes other services only: grpc.health.v1.Health" \
        in str(error.value)
    assert error.value.kind is SkipKind.NOT_APPLICABLE


def test_no_reflection_at_all_is_not_applicable() -> None:
    """v1 and v1alpha both UNIMPLEMENTED: the target has not the feature."""
    for address in _served(lambda server: None):
        with grpc.insecure_channel(address) as channel, pytest.raises(NotDescribed) as error:
            reflect(channel, SERVICE, deadline=5)
        assert str(error.value) == ("the target serves no gRPC server reflection (neither "
                                    "grpc.reflection.v1 nor grpc.reflection.v1alpha: "
                                    "UNIMPLEMENTED)")
        assert error.value.kind is SkipKind.NOT_APPLICABLE


def test_a_hanging_reflection_stream_ends_with_the_deadline(hanging_reflection: str) -> None:
    started = time.monotonic()
    with grpc.insecure_channel(hanging_reflection) as channel, \
            pytest.raises(NotDescribed) as error:
        reflect(channel, SERVICE, deadline=0.5)
    assert time.monotonic() - started < 3
    assert "v1: DEADLINE_EXCEEDED" in str(error.value)
    # Something answered v1 and failed: not the target's lack of reflection.
    assert error.value.kind is SkipKind.NOT_JUDGED


# After any failure of v1, v1alpha ----------------------------------------------------------
def _ends_without_answer(requests: Iterator[bytes], context: grpc.ServicerContext,
                         ) -> Iterator[bytes]:
    yield from ()  # status OK, no message


def _internal(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    context.abort(grpc.StatusCode.INTERNAL, "upstream connect error")
    yield from ()


def _undecodable(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for _ in requests:
        yield b"\xff\xff\xff"  # no ServerReflectionResponse


@pytest.mark.parametrize("broken, failure", [
    (lambda server: add_cancelled_reflection(server, frozenset({V1})),
     f"v1: CANCELLED {RESET_BY_PEER!r}"),
    (lambda server: _add_v1(server, _ends_without_answer), "v1: the stream ended without an "
     "answer"),
    (lambda server: _add_v1(server, _undecodable), "v1: INTERNAL 'Exception deserializing "
     "response!'"),
    (lambda server: _add_v1(server, _internal), "v1: INTERNAL 'upstream connect error'"),
    (lambda server: _add_v1(server, _hang), "v1: DEADLINE_EXCEEDED"),
], ids=["cancelled-by-a-front", "ends-without-answer", "undecodable", "internal", "hangs"])
def test_any_failure_of_v1_falls_back_to_v1alpha(broken: Callable[[grpc.Server], None],
                                                 failure: str) -> None:
    def add(server: grpc.Server) -> None:
        broken(server)
        _add_v1alpha(server)

    for address in _served(add):
        started = time.monotonic()
        with grpc.insecure_channel(address) as channel:
            described = reflect(channel, SERVICE, deadline=1)
        assert described.version == "grpc.reflection.v1alpha"
        assert described.fallback.startswith(failure), described.fallback
        assert "user_api/v1/user.proto" in {f.name for f in described.files.file}
        assert time.monotonic() - started < 2 * 1 + 1  # a deadline for each version at most


@pytest.mark.parametrize("cancelled, unimplemented", [(V1, "v1alpha"), (V1ALPHA, "v1")],
                         ids=["v1-cancelled", "v1alpha-cancelled"])
def test_one_version_failing_and_the_other_unimplemented_is_not_judged(
        cancelled: str, unimplemented: str) -> None:
    """The version that answered may be the only one the target serves: its failure hides the
    description, so the rule is not judged, rather than not applicable."""
    for address in _served(lambda server: add_cancelled_reflection(server,
                                                                   frozenset({cancelled}))):
        with grpc.insecure_channel(address) as channel, pytest.raises(NotDescribed) as error:
            reflect(channel, SERVICE, deadline=5)
        assert error.value.kind is SkipKind.NOT_JUDGED
        assert f"{unimplemented}: UNIMPLEMENTED" in str(error.value)
        assert f"CANCELLED {RESET_BY_PEER!r}" in str(error.value)


def test_both_versions_failing_is_not_judged_naming_both() -> None:
    with ReferenceServer(ServerOptions(flavors=frozenset({"reflection-cancelled-by-proxy"}))) \
            as server, grpc.insecure_channel(server.address) as channel, \
            pytest.raises(NotDescribed) as error:
        reflect(channel, SERVICE, deadline=5)
    assert error.value.kind is SkipKind.NOT_JUDGED
    assert str(error.value) == (f"reflection failed: v1: CANCELLED {RESET_BY_PEER!r}; "
                                f"v1alpha: CANCELLED {RESET_BY_PEER!r}")


def test_a_failed_streams_details_are_short_and_scrubbed() -> None:
    secret = "refresh-token-value-7f3a9c2e"
    SECRETS.remember(secret)

    def echoes(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        context.abort(grpc.StatusCode.UNAVAILABLE, f"bad {secret} " + "x" * 500)
        yield from ()

    for address in _served(lambda server: _add_v1(server, echoes)):
        with grpc.insecure_channel(address) as channel, pytest.raises(NotDescribed) as error:
            reflect(channel, SERVICE, deadline=5)
        reason = str(error.value)
        assert secret not in reason and f"v1: UNAVAILABLE 'bad {redact(secret)} xx" in reason
        assert len(reason) < 2 * MAX_DETAILS + 100, reason


def test_both_versions_cancelled_skip_ct07_and_ct08_as_not_judged(run_suite: Any) -> None:
    """The reference flavour whose front cancels both versions: results.json's rows are skips
    of kind not-judged that name both answers."""
    run = run_suite("--profile", "quick", "--only", "CT-07,CT-08",
                    "--reference-flavor", "reflection-cancelled-by-proxy")
    assert run.exit_code == 0, run.stdout[-3000:]
    rows = {row["id"]: row for row in run.results["targets"][0]["requirements"]}
    for rid in ("CT-07", "CT-08"):
        assert (rows[rid]["outcome"], rows[rid].get("skip_kind")) == ("skip", "not-judged")
        assert rows[rid]["message"] == (f"reflection failed: v1: CANCELLED {RESET_BY_PEER!r}; "
                                        f"v1alpha: CANCELLED {RESET_BY_PEER!r}")


def _odd_reflection(answer_file: Callable[[rpb.ServerReflectionRequest], list[bytes]],
                    ) -> Iterator[str]:
    """A reflection service (v1) listing the contract's service, its files from answer_file."""
    def answer(requests: Iterator[rpb.ServerReflectionRequest],
               context: grpc.ServicerContext) -> Iterator[rpb.ServerReflectionResponse]:
        for request in requests:
            response = rpb.ServerReflectionResponse()
            if request.HasField("list_services"):
                response.list_services_response.service.add(name=SERVICE)
            else:
                response.file_descriptor_response.file_descriptor_proto.extend(
                    answer_file(request))
            yield response

    yield from _served(lambda server: _add_v1(
        server, answer, request_deserializer=rpb.ServerReflectionRequest.FromString,
        response_serializer=rpb.ServerReflectionResponse.SerializeToString))


def _contract_importing(name: str) -> bytes:
    file = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(file)
    file.dependency.append(name)
    return file.SerializeToString()


def _undefined_type() -> bytes:
    file = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(file)
    field = next(m for m in file.message_type if m.name == "AuthToken").field[0]
    field.type, field.type_name = field.TYPE_MESSAGE, ".acme.Missing"
    return file.SerializeToString()


@pytest.mark.parametrize("answers, reason", [
    (lambda request: [b"\xff\xff\xff"], "an undecodable file descriptor for "
     "user_api.v1.UserApiService (3 bytes"),
    # Asked for acme/auth.proto, it answers another file, every time.
    (lambda request: [_contract_importing("acme/auth.proto")] if request.HasField(
        "file_containing_symbol") else [descriptor_pb2.FileDescriptorProto(
            name="acme/other.proto").SerializeToString()],
     "does not serve acme/auth.proto, an import of the service's file ('asked for it, "
     "reflection answered acme/other.proto')"),
    (lambda request: [_contract_importing("acme/a.proto")] if request.HasField(
        "file_containing_symbol") else [descriptor_pb2.FileDescriptorProto(
            name="acme/a.proto", dependency=["user_api/v1/user.proto"]).SerializeToString()],
     "files that import each other in a cycle: acme/a.proto, user_api/v1/user.proto"),
    (lambda request: [_undefined_type()],
     "describes user_api/v1/user.proto, which does not build"),
], ids=["undecodable", "answers-another-file", "import-cycle", "undefined-type"])
def test_an_odd_reflection_answer_is_a_reason_to_skip(
        answers: Callable[[rpb.ServerReflectionRequest], list[bytes]], reason: str) -> None:
    for address in _odd_reflection(answers):
        with grpc.insecure_channel(address) as channel, pytest.raises(NotDescribed) as error:
            reflect(channel, SERVICE, deadline=5)
        assert reason in str(error.value)
        # v1 answered what no client could load, v1alpha is not served: nothing was judged.
        assert str(error.value).endswith("; v1alpha: UNIMPLEMENTED 'Method not found!'")
        assert error.value.kind is SkipKind.NOT_JUDGED


def test_the_reference_is_described_by_v1alpha_after_v1_is_unimplemented(
        reference: ReferenceServer) -> None:
    with grpc.insecure_channel(reference.address) as channel:
        described = reflect(channel, SERVICE, deadline=5)
    assert described.version == "grpc.reflection.v1alpha"
    assert described.fallback == ""  # v1 not served is no failure worth a note
    assert {f.name for f in described.files.file} == {"user_api/v1/user.proto",
                                                     "google/protobuf/struct.proto"}


# The comparison, on descriptors made here ---------------------------------------------------
def _changed(change: Callable[[descriptor_pb2.FileDescriptorProto], None]) -> Files:
    files = contract_files()
    change(next(f for f in files.file if f.package == "user_api.v1"))
    return files


def _message(file: descriptor_pb2.FileDescriptorProto, name: str) -> Any:
    return next(m for m in file.message_type if m.name == name)


def test_json_names_compare_as_effective_names() -> None:
    """protoc fills every json_name in (tokenType), Python's runtime leaves it empty: the same
    JSON name, so no FIELD_SAME_JSON_NAME."""
    def explicit(file: descriptor_pb2.FileDescriptorProto) -> None:
        for message in file.message_type:
            for field in message.field:
                field.json_name = compare.json_name(field.name)
    assert breaking(_changed(explicit), WIRE_JSON) == []


def test_cardinality_and_enum_numbers_are_wire_rules() -> None:
    def singular_dids(file: descriptor_pb2.FileDescriptorProto) -> None:
        dids = next(f for f in _message(file, "User").field if f.name == "dids")
        dids.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL

    def admin_renumbered(file: descriptor_pb2.FileDescriptorProto) -> None:
        next(v for v in file.enum_type[0].value if v.name == "ROLE_ADMIN").number = 3

    found = breaking(_changed(singular_dids), WIRE)
    assert [f.rule for f in found] == ["FIELD_WIRE_COMPATIBLE_CARDINALITY"]
    assert found[0].subject == "user_api.v1.User.dids"
    assert found[0].contract.startswith("repeated string dids = 10")
    rules = {f.rule for f in breaking(_changed(admin_renumbered), WIRE)}
    assert "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED" in rules


def test_enum_values_that_swap_numbers_break_the_wire() -> None:
    """Each number stays, so buf's WIRE rules pass a swap; a client still reads ROLE_ADMIN."""
    def swapped(file: descriptor_pb2.FileDescriptorProto) -> None:
        values = {v.name: v for v in file.enum_type[0].value}
        values["ROLE_USER"].number, values["ROLE_ADMIN"].number = 2, 1

    found = breaking(_changed(swapped), WIRE)
    assert {(f.rule, f.subject, f.target) for f in found} == {
        ("ENUM_VALUE_SAME_NUMBER", "user_api.v1.Role.ROLE_USER", "ROLE_USER = 2"),
        ("ENUM_VALUE_SAME_NUMBER", "user_api.v1.Role.ROLE_ADMIN", "ROLE_ADMIN = 1")}


def test_a_proto2_description_of_the_contract_is_json_compatible() -> None:
    """proto2's json_format feature (LEGACY_BEST_EFFORT) is protoc's check of JSON name
    conflicts, not the JSON form: the same fields and names are the same JSON."""
    def proto2(file: descriptor_pb2.FileDescriptorProto) -> None:
        file.syntax = "proto2"

    assert breaking(_changed(proto2), WIRE_JSON) == []


def test_a_missing_message_and_enum_are_named() -> None:
    def dropped(file: descriptor_pb2.FileDescriptorProto) -> None:
        file.service[0].ClearField("method")
        del file.message_type[[m.name for m in file.message_type].index("GetMeRequest")]

    found = {(f.rule, f.subject) for f in compare.missing(_changed(dropped))}
    assert ("PACKAGE_MESSAGE_NO_DELETE", "user_api.v1.GetMeRequest") in found
    assert ("RPC_NO_DELETE", "user_api.v1.UserApiService.RefreshAccessToken") in found


def test_without_buf_both_checks_skip_and_say_why(reference: ReferenceServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def absent() -> str:
        raise BufMissing("buf is not installed: pip install 'userapi-conformance[drift]'")

    monkeypatch.setattr(compare, "find_buf", absent)
    session = TargetSession(TargetConfig(ChannelSettings(reference.address, plaintext=True),
                                         TokenSourceSpec("embedded", email="qa@example.com")),
                            PROFILES["quick"], reference.options.password)
    try:
        for category in (WIRE, WIRE_JSON):
            with pytest.raises(pytest.skip.Exception, match="buf is not installed"):
                test_ct.judge_drift(session, Any, category, "drift")  # type: ignore[arg-type]
    finally:
        test_ct.REFLECTED.pop(session.label, None)
        session.close()
