"""The target's reflected descriptors judged against the contract's: buf's breaking-change rules
(WIRE for CT-07, WIRE_JSON for CT-08), and what they leave out (a service, RPC, message or enum
of the contract missing), checked here under buf's rule names."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, struct_pb2

from conformance.model.contract import pb

__all__ = ["BufFailed", "BufMissing", "Finding", "breaking", "contract_files", "find_buf"]

WIRE, WIRE_JSON = "WIRE", "WIRE_JSON"
PACKAGE = "user_api.v1"
# One buf run; its start-up is a fraction of a second, its checks milliseconds.
BUF_TIMEOUT = 60.0
TYPE_NAMES = {number: name.removeprefix("TYPE_").lower()
              for name, number in descriptor_pb2.FieldDescriptorProto.Type.items()}
LABELS = {descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED: "repeated ",
          descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED: "required "}
# WIRE_JSON rules on the json_format feature (proto2 files: LEGACY_BEST_EFFORT, proto3: ALLOW):
# it sets how strictly protoc checks JSON name conflicts, not the JSON form, so a proto2
# description of the same fields and names is the same JSON (FIELD_SAME_JSON_NAME judges names).
NOT_THE_JSON_FORM = ("ENUM_SAME_JSON_FORMAT", "MESSAGE_SAME_JSON_FORMAT")
# buf's field rules say 'Field "3" with name "expires_in" on message "AuthToken"'.
BUF_FIELD = re.compile(r'[Ff]ield "(\d+)" with name "([^"]*)" on message "([^"]+)"')


class BufMissing(Exception):
    """buf is not installed (the optional extra `drift`)."""


class BufFailed(Exception):
    """buf did not judge the images (its message says why)."""


@dataclass(frozen=True)
class Finding:
    rule: str      # buf's rule ID, verbatim (or the same naming for the suite's own)
    subject: str   # the full name of what changed
    contract: str  # the contract's version of it
    target: str    # the target's version

    def render(self) -> str:
        return f"{self.rule} {self.subject}: contract `{self.contract}`, target `{self.target}`"


def contract_files() -> descriptor_pb2.FileDescriptorSet:
    """The contract (proto/user_api/v1/user.proto, as generated into the package) and its
    import."""
    files = descriptor_pb2.FileDescriptorSet()
    for file in (struct_pb2.DESCRIPTOR, pb.DESCRIPTOR):
        file.CopyToProto(files.file.add())
    return files


def with_effective_json_names(files: descriptor_pb2.FileDescriptorSet,
                              ) -> descriptor_pb2.FileDescriptorSet:
    """A copy whose fields all state their JSON name: protoc fills json_name in, Python's
    runtime leaves it empty, and buf compares the option as written. An empty json_name is
    the default lowerCamel form (the catalogue's CT-07)."""
    copy = descriptor_pb2.FileDescriptorSet()
    copy.CopyFrom(files)
    for _, message in _messages(copy):
        for field in message.field:
            if not field.json_name:
                field.json_name = json_name(field.name)
    return copy


def json_name(field_name: str) -> str:
    """protoc's default JSON name: each underscore dropped, the letter after it upper-cased."""
    parts = field_name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def find_buf() -> str:
    """The buf executable: the one the `drift` extra installs beside this Python, else PATH's."""
    beside = Path(sysconfig.get_path("scripts")) / "buf"
    found = str(beside) if beside.is_file() else shutil.which("buf")
    if not found:
        raise BufMissing("buf is not installed: pip install 'userapi-conformance[drift]' "
                         "(buf-bin) to judge drift")
    return found


def breaking(target: descriptor_pb2.FileDescriptorSet, category: str) -> list[Finding]:
    """What breaks the contract in `target`, by buf's `category` and the suite's own rules."""
    return missing(target) + _buf(with_effective_json_names(target),
                                  with_effective_json_names(contract_files()), category)


def missing(target: descriptor_pb2.FileDescriptorSet) -> list[Finding]:
    """A service, RPC, message or enum of the contract that the target lacks (buf's WIRE rules
    compare only what both sides have), or an enum value it numbers differently."""
    theirs_messages = {name for name, _ in _messages(target)}
    theirs_enums = {name for name, _ in _enums(target)}
    theirs_rpcs = {f"{s}.{m.name}" for s, service in _services(target) for m in service.method}
    theirs_services = {name for name, _ in _services(target)}
    contract = contract_files()
    found = []
    for name, service in _services(contract, PACKAGE):
        if name not in theirs_services:
            found.append(Finding("PACKAGE_SERVICE_NO_DELETE", name, f"service {service.name}",
                                 "(none)"))
            continue
        found += [Finding("RPC_NO_DELETE", f"{name}.{m.name}", _rpc(m), "(none)")
                  for m in service.method if f"{name}.{m.name}" not in theirs_rpcs]
    found += [Finding("PACKAGE_MESSAGE_NO_DELETE", name, f"message {m.name}", "(none)")
              for name, m in _messages(contract, PACKAGE) if name not in theirs_messages]
    found += [Finding("PACKAGE_ENUM_NO_DELETE", name, f"enum {e.name}", "(none)")
              for name, e in _enums(contract, PACKAGE) if name not in theirs_enums]
    return found + renumbered_enum_values(target, contract)


def renumbered_enum_values(target: descriptor_pb2.FileDescriptorSet,
                           contract: descriptor_pb2.FileDescriptorSet) -> list[Finding]:
    """A contract enum value the target numbers differently (CT-07's "same enum numbers"):
    buf's WIRE rules only ask that each number stay, so two values that swap numbers (ROLE_USER
    2, ROLE_ADMIN 1) pass them while a client decodes the one as the other."""
    theirs = dict(_enums(target))
    found = []
    for name, enum in _enums(contract, PACKAGE):
        numbers = {value.name: value.number for value in theirs[name].value} \
            if name in theirs else {}
        found += [Finding("ENUM_VALUE_SAME_NUMBER", f"{name}.{value.name}",
                          f"{value.name} = {value.number}",
                          f"{value.name} = {numbers[value.name]}")
                  for value in enum.value
                  if value.name in numbers and numbers[value.name] != value.number]
    return found


def _buf(target: descriptor_pb2.FileDescriptorSet, contract: descriptor_pb2.FileDescriptorSet,
         category: str) -> list[Finding]:
    buf = find_buf()
    config = json.dumps({"version": "v2", "breaking": {"use": [category],
                                                       "except": list(NOT_THE_JSON_FORM)}})
    with tempfile.TemporaryDirectory(prefix="conformance-buf-") as work:
        Path(work, "target.binpb").write_bytes(target.SerializeToString())
        Path(work, "contract.binpb").write_bytes(contract.SerializeToString())
        try:
            done = subprocess.run(
                [buf, "breaking", "target.binpb", "--against", "contract.binpb", "--config",
                 config, "--error-format", "json"], cwd=work, capture_output=True, text=True,
                timeout=BUF_TIMEOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "BUF_CACHE_DIR": str(Path(work, "cache"))})
        except (OSError, subprocess.TimeoutExpired) as error:
            raise BufFailed(f"buf breaking did not run: {error}") from None
    if done.returncode not in (0, 100):  # 100: breaking changes found
        text = (done.stderr or done.stdout).strip().splitlines()
        raise BufFailed(f"buf breaking exited {done.returncode}: {text[0] if text else ''}")
    try:
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    except json.JSONDecodeError:
        raise BufFailed(f"buf breaking printed what is not JSON: {done.stdout[:200]!r}") from None
    return [_finding(row, target, contract) for row in rows]


def _finding(row: dict[str, str], target: descriptor_pb2.FileDescriptorSet,
             contract: descriptor_pb2.FileDescriptorSet) -> Finding:
    rule, message = str(row.get("type", "?")), str(row.get("message", ""))
    field = BUF_FIELD.search(message)
    if field is None:
        return Finding(rule, message, "see the rule", "see the rule")
    number, name, owner = int(field[1]), field[2], field[3]
    package = _package_of(contract, str(row.get("path", ""))) or PACKAGE
    full = f"{package}.{owner}"
    return Finding(rule, f"{full}.{name}", _field(contract, full, number),
                   _field(target, full, number, name))


def _package_of(files: descriptor_pb2.FileDescriptorSet, path: str) -> str:
    return next((f.package for f in files.file if f.name == path), "")


def _field(files: descriptor_pb2.FileDescriptorSet, message: str, number: int,
           name: str = "") -> str:
    found = dict(_messages(files)).get(message)
    if found is None:
        return f"(no message {message})"
    field = next((f for f in found.field if f.number == number), None)
    if field is None:
        moved = next((f for f in found.field if f.name == name), None)
        return f"(no field {number}" + (f"; {name} is field {moved.number})" if moved else ")")
    kind = field.type_name.lstrip(".") if field.type_name else TYPE_NAMES[field.type]
    label = LABELS.get(field.label, "")
    if field.proto3_optional:
        label = "optional "
    return f"{label}{kind} {field.name} = {field.number} (JSON {field.json_name})"


def _rpc(method: descriptor_pb2.MethodDescriptorProto) -> str:
    return f"rpc {method.name}({method.input_type.lstrip('.')}) returns " \
           f"({method.output_type.lstrip('.')})"


def _messages(files: descriptor_pb2.FileDescriptorSet, package: str | None = None,
              ) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
    for file in files.file:
        if package is None or file.package == package:
            prefix = f"{file.package}." if file.package else ""
            yield from _nested(prefix, file.message_type)


def _nested(prefix: str, messages: object) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
    for message in messages:  # type: ignore[attr-defined]
        name = f"{prefix}{message.name}"
        yield name, message
        yield from _nested(f"{name}.", message.nested_type)


def _enums(files: descriptor_pb2.FileDescriptorSet, package: str | None = None,
           ) -> Iterator[tuple[str, descriptor_pb2.EnumDescriptorProto]]:
    for file in files.file:
        if package is None or file.package == package:
            prefix = f"{file.package}." if file.package else ""
            for enum in file.enum_type:
                yield f"{prefix}{enum.name}", enum
            for name, message in _nested(prefix, file.message_type):
                for enum in message.enum_type:
                    yield f"{name}.{enum.name}", enum


def _services(files: descriptor_pb2.FileDescriptorSet, package: str | None = None,
              ) -> Iterator[tuple[str, descriptor_pb2.ServiceDescriptorProto]]:
    for file in files.file:
        if package is None or file.package == package:
            prefix = f"{file.package}." if file.package else ""
            for service in file.service:
                yield f"{prefix}{service.name}", service
