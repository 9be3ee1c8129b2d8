"""A gRPC server reflection client (v1, then v1alpha): the files that define a service, with
their dependencies, as a FileDescriptorSet. One stream per version, each bounded by the deadline."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass, replace

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from conformance.model.redact import SECRETS
from conformance.model.results import SkipKind

__all__ = ["NotDescribed", "Reflected", "reflect"]

# v1 and v1alpha have the same messages; only the service's package differs.
VERSIONS = ("grpc.reflection.v1", "grpc.reflection.v1alpha")
# Bounds the files asked for one by one (a service and its imports are a handful).
MAX_FILES = 64
# A status's details in a skip's reason: enough to recognise a proxy's text, never a page.
MAX_DETAILS = 120


class NotDescribed(Exception):
    """Reflection does not describe the service: its message is the reason (a `skip`), its kind
    not-applicable when the target serves none or describes other services only, else
    not-judged (reflection failed, or what it served cannot be judged)."""

    def __init__(self, reason: str, kind: SkipKind = SkipKind.NOT_JUDGED) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Reflected:
    files: descriptor_pb2.FileDescriptorSet
    version: str   # the reflection protocol that answered
    services: tuple[str, ...]
    fallback: str = ""  # how v1 failed when v1alpha answered instead (empty: v1 unimplemented)


@dataclass(frozen=True)
class Failure:
    """Why one version of reflection gave no description."""

    version: str   # v1 or v1alpha
    reason: str    # what it answered, without the version
    kind: SkipKind
    unimplemented: bool = False  # the target does not serve this version

    def render(self) -> str:
        return f"{self.version}: {self.reason}"


def reflect(channel: grpc.Channel, service: str, *, deadline: float,
            metadata: tuple[tuple[str, str], ...] = ()) -> Reflected:
    """The files describing `service` as the target's reflection serves them. v1alpha is asked
    after any failure of v1, not only UNIMPLEMENTED: a front can break one version and pass the
    other (HAProxy 2.6 turns the RST_STREAM(NO_ERROR) after an upstream's UNIMPLEMENTED into
    CANCEL, haproxy/haproxy#1219, so the client sees CANCELLED). Each version's stream has its
    own deadline, so that a v1 that hangs leaves v1alpha its chance: two deadlines at most."""
    failures: list[Failure] = []
    for version in VERSIONS:
        answer = _attempt(channel, version, service, deadline, metadata)
        if isinstance(answer, Reflected):
            return replace(answer, fallback="; ".join(
                failure.render() for failure in failures if not failure.unimplemented))
        failures.append(answer)
    raise _not_described(failures)


def _attempt(channel: grpc.Channel, version: str, service: str, deadline: float,
             metadata: tuple[tuple[str, str], ...]) -> Reflected | Failure:
    short = version.rpartition(".")[2]
    try:
        return _reflect(channel, version, service, deadline, metadata)
    except grpc.RpcError as error:
        code = error.code() if isinstance(error, grpc.Call) else None
        if code is grpc.StatusCode.UNIMPLEMENTED:
            return Failure(short, _status(error), SkipKind.NOT_APPLICABLE, unimplemented=True)
        return Failure(short, _status(error), SkipKind.NOT_JUDGED)
    except NotDescribed as error:
        return Failure(short, str(error), error.kind)


def _not_described(failures: list[Failure]) -> NotDescribed:
    """Why neither version described the service. Not applicable only when each answered as
    a target without the service's description does (UNIMPLEMENTED, other services only);
    anything else is a failure that may hide a description: not judged, naming both."""
    if all(failure.unimplemented for failure in failures):
        return NotDescribed("the target serves no gRPC server reflection (neither "
                            f"{' nor '.join(VERSIONS)}: UNIMPLEMENTED)", SkipKind.NOT_APPLICABLE)
    if all(failure.kind is SkipKind.NOT_APPLICABLE for failure in failures):
        return NotDescribed("; ".join(f"reflection ({failure.version}) {failure.reason}"
                                      for failure in failures if not failure.unimplemented),
                            SkipKind.NOT_APPLICABLE)
    return NotDescribed("reflection failed: " + "; ".join(f.render() for f in failures))


def _status(error: grpc.RpcError) -> str:
    """A failed stream's status and details, short and scrubbed of the run's secrets (a
    target may echo the metadata it was sent)."""
    if not isinstance(error, grpc.Call):
        return f"no status ({_short(str(error))})"
    details = _short(error.details() or "")
    return f"{error.code().name} {details!r}" if details else error.code().name


def _short(text: str) -> str:
    line = " ".join(SECRETS.scrub(text).split())
    return line if len(line) <= MAX_DETAILS else line[:MAX_DETAILS - 3] + "..."


def _reflect(channel: grpc.Channel, version: str, service: str, deadline: float,
             metadata: tuple[tuple[str, str], ...]) -> Reflected:
    requests: queue.Queue[rpb.ServerReflectionRequest | None] = queue.Queue()
    stream = channel.stream_stream(
        f"/{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString)
    # The whole stream has one deadline: a reflection service that hangs ends with it.
    call = stream(iter(requests.get, None), timeout=deadline, metadata=metadata or None)
    responses: Iterator[rpb.ServerReflectionResponse] = iter(call)
    try:
        def ask(**request: str) -> rpb.ServerReflectionResponse:
            requests.put(rpb.ServerReflectionRequest(**request))
            answer = next(responses, None)
            if answer is None:
                raise NotDescribed("the stream ended without an answer")
            return answer

        listed = ask(list_services="")
        services = tuple(s.name for s in listed.list_services_response.service)
        if service not in services:
            raise NotDescribed(f"describes other services only: "
                               f"{', '.join(services) or '(none)'}", SkipKind.NOT_APPLICABLE)
        files = _files(ask(file_containing_symbol=service), service)
        for _ in range(MAX_FILES):
            missing = sorted({dep for f in files.values() for dep in f.dependency} - set(files))
            if not missing:
                break
            answered = _files(ask(file_by_filename=missing[0]), missing[0],
                              fallback=missing[0])
            if missing[0] not in answered:  # other files only: asking again would not help
                answered[missing[0]] = _well_known(
                    missing[0], f"asked for it, reflection answered {', '.join(answered)}")
            files.update(answered)
        else:
            raise NotDescribed(f"names more than {MAX_FILES} files")
    finally:
        requests.put(None)
        # A stream left open after a failure (an unexpected answer) would live to its deadline.
        # (grpc-stubs 1.53 leave RpcContext.cancel untyped; it returns a bool.)
        call.cancel()  # type: ignore[no-untyped-call]
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.extend(_in_import_order(files))
    return Reflected(fds, version, services)


def _in_import_order(files: dict[str, descriptor_pb2.FileDescriptorProto],
                     ) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files, each after its imports, once they build together as protoc would: a cycle
    or an undefined type is a description no client could load (buf would refuse the image,
    which is the target's word, not a failure of the suite)."""
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    pool = descriptor_pool.DescriptorPool()
    left = dict(files)
    while left:
        ready = [name for name, file in left.items()
                 if all(dep not in left for dep in file.dependency)]
        if not ready:
            raise NotDescribed("describes files that import each other in a cycle: "
                               f"{', '.join(sorted(left))}")
        for name in sorted(ready):
            try:
                pool.Add(left[name])
            except (TypeError, ValueError, KeyError) as error:
                raise NotDescribed(f"describes {name}, which does not build: {error}") from None
            ordered.append(left.pop(name))
    return ordered


def _files(answer: rpb.ServerReflectionResponse, asked: str, fallback: str = "",
           ) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    if answer.HasField("error_response"):
        error = answer.error_response
        if fallback:  # an import the target does not serve: the runtime's, if a well-known one
            return {fallback: _well_known(fallback, error.error_message)}
        raise NotDescribed(f"does not describe {asked}: error {error.error_code} "
                           f"{_short(error.error_message)!r}")
    found = {}
    for data in answer.file_descriptor_response.file_descriptor_proto:
        try:
            file = descriptor_pb2.FileDescriptorProto.FromString(data)
        except DecodeError as error:
            raise NotDescribed(f"answered an undecodable file descriptor for {asked} "
                               f"({len(data)} bytes: {error})") from None
        found[file.name] = file
    if not found:
        raise NotDescribed(f"answered no file for {asked}")
    return found


def _well_known(name: str, why: str) -> descriptor_pb2.FileDescriptorProto:
    try:
        known = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        raise NotDescribed(f"does not serve {name}, an import of the service's file "
                           f"({why!r})") from None
    file = descriptor_pb2.FileDescriptorProto()
    known.CopyToProto(file)
    return file
