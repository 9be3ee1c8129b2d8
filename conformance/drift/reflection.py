"""A gRPC server reflection client (v1, then v1alpha): the files that define a service, with
their dependencies, as a FileDescriptorSet. One stream, bounded by the deadline."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError
from grpc_reflection.v1alpha import reflection_pb2 as rpb

from conformance.model.results import SkipKind

__all__ = ["NotDescribed", "Reflected", "reflect"]

# v1 and v1alpha have the same messages; only the service's package differs.
VERSIONS = ("grpc.reflection.v1", "grpc.reflection.v1alpha")
# Bounds the files asked for one by one (a service and its imports are a handful).
MAX_FILES = 64


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


def reflect(channel: grpc.Channel, service: str, *, deadline: float,
            metadata: tuple[tuple[str, str], ...] = ()) -> Reflected:
    """The files describing `service` as the target's reflection serves them."""
    for version in VERSIONS:
        try:
            return _reflect(channel, version, service, deadline, metadata)
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else None
            if code is grpc.StatusCode.UNIMPLEMENTED:
                continue
            status = code.name if code else "no status"
            details = error.details() if isinstance(error, grpc.Call) else str(error)
            raise NotDescribed(f"the reflection stream ({version}) failed: {status} "
                               f"{details!r}") from None
    raise NotDescribed("the target serves no gRPC server reflection (neither "
                       f"{' nor '.join(VERSIONS)}: UNIMPLEMENTED)", SkipKind.NOT_APPLICABLE)


def _reflect(channel: grpc.Channel, version: str, service: str, deadline: float,
             metadata: tuple[tuple[str, str], ...]) -> Reflected:
    requests: queue.Queue[rpb.ServerReflectionRequest | None] = queue.Queue()
    stream = channel.stream_stream(
        f"/{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString)
    # The whole stream has one deadline: a reflection service that hangs ends with it.
    responses: Iterator[rpb.ServerReflectionResponse] = iter(stream(
        iter(requests.get, None), timeout=deadline, metadata=metadata or None))
    try:
        def ask(**request: str) -> rpb.ServerReflectionResponse:
            requests.put(rpb.ServerReflectionRequest(**request))
            answer = next(responses, None)
            if answer is None:
                raise NotDescribed(f"the reflection stream ({version}) ended without an answer")
            return answer

        listed = ask(list_services="")
        services = tuple(s.name for s in listed.list_services_response.service)
        if service not in services:
            raise NotDescribed(f"reflection ({version}) describes other services only: "
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
            raise NotDescribed(f"reflection ({version}) names more than {MAX_FILES} files")
    finally:
        requests.put(None)
    fds = descriptor_pb2.FileDescriptorSet()
    fds.file.extend(_in_import_order(files, version))
    return Reflected(fds, version, services)


def _in_import_order(files: dict[str, descriptor_pb2.FileDescriptorProto], version: str,
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
            raise NotDescribed(f"reflection ({version}) describes files that import each other "
                               f"in a cycle: {', '.join(sorted(left))}")
        for name in sorted(ready):
            try:
                pool.Add(left[name])
            except (TypeError, ValueError, KeyError) as error:
                raise NotDescribed(f"reflection ({version}) describes {name}, which does not "
                                   f"build: {error}") from None
            ordered.append(left.pop(name))
    return ordered


def _files(answer: rpb.ServerReflectionResponse, asked: str, fallback: str = "",
           ) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    if answer.HasField("error_response"):
        error = answer.error_response
        if fallback:  # an import the target does not serve: the runtime's, if a well-known one
            return {fallback: _well_known(fallback, error.error_message)}
        raise NotDescribed(f"reflection does not describe {asked}: error {error.error_code} "
                           f"{error.error_message!r}")
    found = {}
    for data in answer.file_descriptor_response.file_descriptor_proto:
        try:
            file = descriptor_pb2.FileDescriptorProto.FromString(data)
        except DecodeError as error:
            raise NotDescribed(f"reflection answered an undecodable file descriptor for "
                               f"{asked} ({len(data)} bytes: {error})") from None
        found[file.name] = file
    if not found:
        raise NotDescribed(f"reflection answered no file for {asked}")
    return found


def _well_known(name: str, why: str) -> descriptor_pb2.FileDescriptorProto:
    try:
        known = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        raise NotDescribed(f"reflection does not serve {name}, an import of the service's "
                           f"file ({why!r})") from None
    file = descriptor_pb2.FileDescriptorProto()
    known.CopyToProto(file)
    return file
