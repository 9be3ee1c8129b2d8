"""What the reference server's reflection describes: the contract, or under CT-07/CT-08's
faults and flavour a drifted or extended description of it (the RPCs themselves stay the
contract's, so that only the description differs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2
from grpc_health.v1 import health_pb2

from conformance.model.contract import pb

__all__ = ["DESCRIPTIONS", "described_pool"]

FileProto: TypeAlias = descriptor_pb2.FileDescriptorProto
Field: TypeAlias = descriptor_pb2.FieldDescriptorProto


def _message(file: FileProto, name: str) -> descriptor_pb2.DescriptorProto:
    return next(m for m in file.message_type if m.name == name)


def _field(file: FileProto, message: str, name: str) -> Field:
    return next(f for f in _message(file, message).field if f.name == name)


def _type_changed(file: FileProto) -> None:
    _field(file, "AuthToken", "expires_in").type = Field.TYPE_STRING  # int32 -> string


def _renumbered(file: FileProto) -> None:
    _field(file, "User", "email").number = 14  # 6 -> 14


def _json_name_changed(file: FileProto) -> None:
    _field(file, "AuthToken", "token_type").json_name = "tokenKind"  # was tokenType


def _rpc_missing(file: FileProto) -> None:
    methods = file.service[0].method
    del methods[[m.name for m in methods].index("GetMe")]


def _enum_values_swapped(file: FileProto) -> None:
    values = {v.name: v for v in file.enum_type[0].value}  # ROLE_USER 1 <-> ROLE_ADMIN 2
    values["ROLE_USER"].number, values["ROLE_ADMIN"].number = 2, 1


def _proto2(file: FileProto) -> None:
    file.syntax = "proto2"  # the same fields, all optional with explicit presence


def _additions(file: FileProto) -> None:
    _message(file, "User").field.add(name="nickname", number=20, type=Field.TYPE_STRING,
                                     label=Field.LABEL_OPTIONAL, json_name="nickname")
    file.message_type.add(name="ListSessionsResponse").field.add(
        name="session_ids", number=1, type=Field.TYPE_STRING, label=Field.LABEL_REPEATED)
    file.service[0].method.add(name="ListSessions", input_type=".user_api.v1.GetMeRequest",
                               output_type=".user_api.v1.ListSessionsResponse")


# Fault or flavour name -> how its description departs from the contract.
DESCRIPTIONS: dict[str, Callable[[FileProto], None]] = {
    "reflection-field-type-changed": _type_changed,
    "reflection-field-renumbered": _renumbered,
    "reflection-field-renumbered-v1-cancelled": _renumbered,  # behind a front (proxied.py)
    "reflection-json-name-changed": _json_name_changed,
    "reflection-rpc-missing": _rpc_missing,
    "reflection-describes-additions": _additions,
    "reflection-enum-values-swapped": _enum_values_swapped,
    "reflection-proto2": _proto2,
}


def described_pool(switches: frozenset[str]) -> descriptor_pool.DescriptorPool | None:
    """A pool holding the described contract; None for the contract itself (the default
    pool, where the generated code registered it)."""
    changes = [DESCRIPTIONS[name] for name in sorted(switches) if name in DESCRIPTIONS]
    if not changes:
        return None
    pool = descriptor_pool.DescriptorPool()
    for file in (struct_pb2.DESCRIPTOR, health_pb2.DESCRIPTOR, pb.DESCRIPTOR):
        proto = FileProto()
        file.CopyToProto(proto)
        if file is pb.DESCRIPTOR:
            for change in changes:
                change(proto)
        pool.Add(proto)
    return pool
