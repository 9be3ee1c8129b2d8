"""`python -m conformance inspect FILE`: the offline FT and CT-04 checks on captured responses.

FILE holds RefreshAccessTokenResponse (or AuthnWithPasswordResponse: the same fields) objects in
proto3 JSON: one, JSON Lines, or several objects one after another as grpcurl prints them. Each
is parsed into the contract's message and judged by the rules the live checks use
(conformance.rules.fields): FT-01..FT-19, CT-04 on the canonical JSON re-printed from the
message, and CT-03 for JSON keys the contract does not know. One line per requirement; exit 0
when no MUST failed, 1 when one did, 2 when FILE cannot be read as responses (one line, no
traceback).

The service documentation's renderer prints a map as a list of `{"key", "value"}` entries and a
Struct as `{"fields": [...]}` (api.md): that form is read too, normalised to proto3 JSON first,
and the output says so. No rule looks inside `metadata`, so reading `{"fields": []}` as an empty
Struct (rather than a Struct holding an empty list named "fields") changes no verdict.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from conformance.model.catalogue import Level, requirement
from conformance.model.command_parser import CommandParser
from conformance.model.contract import pb
from conformance.model.redact import SECRETS
from conformance.rules.fields import FIELD_RULES, Finding, schema_findings

__all__ = ["InspectError", "Inspection", "inspect_text", "main"]

EXIT_CONFORMANT, EXIT_MUST_FAILED, EXIT_UNREADABLE = 0, 1, 2
# The requirements inspect can judge without a server, in catalogue order.
OFFLINE_REQUIREMENTS = ("CT-03", "CT-04", *FIELD_RULES)
TOKEN_KEYS = ("token", "refreshToken", "refresh_token")


class InspectError(Exception):
    """FILE is not a sequence of responses: exit 2 with this one-line message."""


@dataclass
class Inspection:
    """What inspect found: findings by requirement, each tagged with its response number."""

    responses: int = 0
    renderer_form: list[int] = field(default_factory=list)   # responses read in renderer form
    findings: dict[str, list[tuple[int, Finding]]] = field(
        default_factory=lambda: {rid: [] for rid in OFFLINE_REQUIREMENTS})

    def outcome(self, requirement_id: str) -> str:
        if not self.findings[requirement_id]:
            return "pass"
        return "fail" if requirement(requirement_id).level is Level.MUST else "warn"

    @property
    def must_failed(self) -> bool:
        return any(self.outcome(rid) == "fail" for rid in OFFLINE_REQUIREMENTS)

    def lines(self) -> Iterator[str]:
        many = self.responses > 1
        for rid in OFFLINE_REQUIREMENTS:
            req = requirement(rid)
            found = "; ".join(f"{f'response {n}: ' if many else ''}{finding}"
                              for n, finding in self.findings[rid])
            yield f"{rid} {req.level.value:<6} {self.outcome(rid):<4}  {found}".rstrip()


def inspect_text(text: str) -> Inspection:
    """Judge every response in `text`; InspectError when it is not responses."""
    inspection = Inspection()
    for number, document in enumerate(_documents(text), start=1):
        if not isinstance(document, dict):
            raise InspectError(f"response {number} is a JSON {type(document).__name__}, "
                               "not an object")
        _remember_tokens(document)
        if _normalise_renderer_form(document):
            inspection.renderer_form.append(number)
        unknown = list(_unknown_keys(document, pb.RefreshAccessTokenResponse.DESCRIPTOR))
        message = _parse(document, unknown, number)
        inspection.responses = number
        found = [Finding("CT-03", _json_path(path), "a key unknown to the contract")
                 for path in unknown]
        found += schema_findings(message)
        for rule in FIELD_RULES.values():
            found += rule(message)
        for finding in found:
            inspection.findings[finding.requirement].append((number, finding))
    if inspection.responses == 0:
        raise InspectError("no response in the file (expected a JSON object per response)")
    return inspection


def _documents(text: str) -> Iterator[object]:
    """The JSON values of `text`: one, JSON Lines, or pretty-printed objects back to back."""
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        if index == len(text):
            return
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as error:
            raise InspectError(f"not JSON at line {error.lineno} column {error.colno}: "
                               f"{error.msg}") from None
        yield value


def _remember_tokens(document: dict[str, Any]) -> None:
    auth = document.get("authToken", document.get("auth_token"))
    if isinstance(auth, dict):
        for key in TOKEN_KEYS:
            if isinstance(auth.get(key), str):
                SECRETS.remember(auth[key])


def _parse(document: dict[str, Any], unknown: list[tuple[str, ...]], number: int) -> Message:
    known = _without(document, unknown)
    message = pb.RefreshAccessTokenResponse()
    try:
        json_format.ParseDict(known, message)
    except json_format.ParseError as error:
        reason = SECRETS.scrub(str(error).splitlines()[0])
        raise InspectError(f"response {number} is not a RefreshAccessTokenResponse: "
                           f"{reason}") from None
    return message


# The docs renderer's form ---------------------------------------------------------------------

def _normalise_renderer_form(document: dict[str, Any]) -> bool:
    """Turn a map given as entries and a Struct given as `{"fields": [...]}` into proto3 JSON,
    in place. True when something was in the renderer's form."""
    user = document.get("user")
    if not isinstance(user, dict):
        return False
    changed = False
    for key in ("external_ids", "externalIds"):
        if _is_entries(user.get(key)):
            user[key] = {entry["key"]: entry.get("value", "") for entry in user[key]}
            changed = True
    struct = _struct_from_fields(user.get("metadata"))
    if struct is not None:
        user["metadata"] = struct
        changed = True
    return changed


def _is_entries(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(entry, dict) and isinstance(entry.get("key"), str)
        and set(entry) <= {"key", "value"} for entry in value)


_KINDS = {"null_value": "nullValue", "number_value": "numberValue", "string_value": "stringValue",
          "bool_value": "boolValue", "struct_value": "structValue", "list_value": "listValue"}


def _struct_from_fields(value: object) -> dict[str, Any] | None:
    """A Struct in message form `{"fields": [{"key", "value": Value}]}` as a JSON object."""
    if not (isinstance(value, dict) and list(value) == ["fields"] and _is_entries(value["fields"])):
        return None
    result = {}
    for entry in value["fields"]:
        converted = _value_from_message(entry.get("value"))
        if converted is _NOT_A_VALUE:
            return None
        result[entry["key"]] = converted
    return result


_NOT_A_VALUE = object()


def _value_from_message(value: object) -> object:
    if not isinstance(value, dict) or len(value) != 1:
        return _NOT_A_VALUE
    (kind, inner), = value.items()
    kind = _KINDS.get(kind, kind)
    if kind == "nullValue":
        return None
    if kind in ("numberValue", "stringValue", "boolValue"):
        return inner
    if kind == "structValue":
        struct = _struct_from_fields(inner)
        return _NOT_A_VALUE if struct is None else struct
    values = inner.get("values", []) if isinstance(inner, dict) else None
    if kind == "listValue" and isinstance(values, list):
        items = [_value_from_message(item) for item in values]
        return _NOT_A_VALUE if _NOT_A_VALUE in items else items
    return _NOT_A_VALUE


# CT-03 on JSON ---------------------------------------------------------------------------------

def _field(descriptor: Descriptor, key: str) -> FieldDescriptor | None:
    found = descriptor.fields_by_name.get(key)
    if found is None:
        found = next((f for f in descriptor.fields if f.json_name == key), None)
    return found


def _unknown_keys(document: dict[str, Any], descriptor: Descriptor,
                  path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Keys (as paths) that name no field of `descriptor` or of the contract's nested messages."""
    for key, value in document.items():
        found = _field(descriptor, key)
        if found is None:
            yield (*path, key)
        elif (found.message_type is not None and not found.message_type.GetOptions().map_entry
              and found.message_type.full_name.startswith("user_api.")
              and isinstance(value, dict)):
            yield from _unknown_keys(value, found.message_type, (*path, key))


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join(f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"
                         for key in path)


def _without(document: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(document))
    for *parents, last in paths:
        node = result
        for parent in parents:
            node = node[parent]
        del node[last]
    return result


# Command line ----------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    parser = CommandParser(
        "inspect",
        description="Check captured RefreshAccessToken (or login) responses offline: "
        "FT-01..FT-19, CT-03 and CT-04. Exit 0: no MUST failed; 1: a MUST failed; "
        "2: FILE unreadable.")
    parser.add_argument("file", metavar="FILE",
                        help="proto3 JSON: one response, JSON Lines or grpcurl output; - for stdin")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        inspection = inspect_text(text)
    except (OSError, UnicodeDecodeError) as error:
        return _unreadable(args.file, f"cannot read: {getattr(error, 'strerror', None) or error}")
    except InspectError as error:
        return _unreadable(args.file, str(error))
    count = f"{inspection.responses} response{'s' if inspection.responses > 1 else ''}"
    print(f"inspect {args.file}: {count}")
    if inspection.renderer_form:
        numbers = ", ".join(map(str, inspection.renderer_form))
        print(f"note: response {numbers} read in the docs renderer's form (map as key/value "
              "entries, Struct as fields), normalised to proto3 JSON")
    for line in inspection.lines():
        print(SECRETS.scrub(line))
    verdict = "non-conformant: a MUST failed" if inspection.must_failed else "conformant"
    print(f"verdict: {verdict}")
    return EXIT_MUST_FAILED if inspection.must_failed else EXIT_CONFORMANT


def _unreadable(file: str, reason: str) -> int:
    print(f"conformance: inspect: {file}: {reason}", file=sys.stderr)
    return EXIT_UNREADABLE
