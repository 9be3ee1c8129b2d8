"""The field rules (FT-01..FT-19, CT-03, CT-04) as plain functions over one response message.

Each rule takes a response (`RefreshAccessTokenResponse`, `AuthnWithPasswordResponse` or
`GetMeResponse`) and returns its findings: where, the offending value (tokens redacted) and the
rule in words. A rule judges only the parts the message has: `user` rules skip a response without
`user` (CT-02 reports that), `auth_token` rules skip GetMe. The live checks (checks/test_ft.py)
and the offline `inspect` command call these same functions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from conformance import formats
from conformance.model.contract import pb
from conformance.model.redact import redact
from conformance.rules.schemas import schema_errors

__all__ = [
    "FIELD_RULES",
    "MAX_EXPIRES_IN",
    "SHORT_LIVED_EXPIRES_IN",
    "Finding",
    "Rule",
    "ft01_uuid_is_uuid",
    "ft02_uuid_is_lower_case",
    "ft03_email_is_valid",
    "ft04_role_is_defined",
    "ft05_role_is_specified",
    "ft06_phone_is_international",
    "ft07_avatar_is_absolute_uri",
    "ft08_avatar_uses_https",
    "ft09_dids_are_dids",
    "ft10_dids_are_unique",
    "ft11_multibase_ids_are_base58btc",
    "ft12_no_control_characters",
    "ft13_access_token_is_b64token",
    "ft14_token_type_is_bearer",
    "ft15_expires_in_is_in_range",
    "ft16_expires_in_is_present",
    "ft17_access_token_is_short_lived",
    "ft18_refresh_token_is_vschar",
    "ft19_refresh_token_differs_from_access_token",
    "missing_user_or_auth_token",
    "schema_findings",
    "shown",
    "unknown_fields",
]

# FT-15: a year in seconds; more suggests milliseconds. FT-17: a day (RFC 6819 §5.1.5.3).
MAX_EXPIRES_IN = 31_536_000
# An expires_in this close to the current epoch seconds reads as an expiry instant (a JWT's exp).
INSTANT_WINDOW = 10 * MAX_EXPIRES_IN
SHORT_LIVED_EXPIRES_IN = 86_400
# Values shown in messages are cut here, so that one huge field cannot flood a report.
MAX_SHOWN = 80


@dataclass(frozen=True)
class Finding:
    """One broken rule in one response: `user.dids[1]: 'did:x' is not a DID (...)`."""

    requirement: str
    path: str      # where in the message, in proto field names: "user.uuid", "auth_token.token"
    detail: str    # the offending value (redacted when a token) and the rule it breaks

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


Rule = Callable[[Message], list[Finding]]


def shown(value: str) -> str:
    """A non-secret value for a message: quoted, escaped, cut to MAX_SHOWN characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 4] + "...'"


def _token_shown(value: str) -> str:
    # Never the token itself; empty is no secret, and "<empty>" is clearer than a hash.
    return "<empty>" if not value else redact(value)


def _user(message: Message) -> pb.User | None:
    has = "user" in message.DESCRIPTOR.fields_by_name and message.HasField("user")
    return message.user if has else None


def _auth_token(message: Message) -> pb.AuthToken | None:
    has = "auth_token" in message.DESCRIPTOR.fields_by_name and message.HasField("auth_token")
    return message.auth_token if has else None


# FT: user ----------------------------------------------------------------------------------------

def ft01_uuid_is_uuid(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or formats.is_uuid(user.uuid):
        return []
    return [Finding("FT-01", "user.uuid", f"{shown(user.uuid)} is not a UUID in the 8-4-4-4-12 "
                    "hexadecimal form (RFC 9562 §4)")]


def ft02_uuid_is_lower_case(message: Message) -> list[Finding]:
    # Only a UUID can be judged for case; anything else is FT-01's finding.
    user = _user(message)
    if user is None or not formats.is_uuid(user.uuid) or formats.is_lowercase_uuid(user.uuid):
        return []
    return [Finding("FT-02", "user.uuid", f"{shown(user.uuid)} is not lower case (RFC 9562 §4)")]


def ft03_email_is_valid(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or not user.email or formats.is_email(user.email):
        return []
    return [Finding("FT-03", "user.email", f"{shown(user.email)} is not a syntactically valid "
                    "address (RFC 5322 §3.4.1 addr-spec; RFC 6531)")]


def ft04_role_is_defined(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or user.role in pb.Role.values():
        return []
    defined = ", ".join(f"{v} ({pb.Role.Name(v)})" for v in pb.Role.values())
    return [Finding("FT-04", "user.role", f"{user.role} is not a value of Role ({defined})")]


def ft05_role_is_specified(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or user.role != pb.ROLE_UNSPECIFIED:
        return []
    return [Finding("FT-05", "user.role", "0 (ROLE_UNSPECIFIED), but an authenticated user has a "
                    "role")]


def ft06_phone_is_international(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or not user.phone or formats.is_phone(user.phone):
        return []
    return [Finding("FT-06", "user.phone", f"{shown(user.phone)} is not an international number "
                    "('+', country code, possible length; ITU-T E.164, E.123)")]


def ft07_avatar_is_absolute_uri(message: Message) -> list[Finding]:
    user = _user(message)
    if user is None or not user.avatar or formats.is_absolute_uri(user.avatar):
        return []
    return [Finding("FT-07", "user.avatar", f"{shown(user.avatar)} is not an absolute URI "
                    "(RFC 3986 §4.3)")]


def ft08_avatar_uses_https(message: Message) -> list[Finding]:
    # Only an absolute URI has a scheme to judge; anything else is FT-07's finding.
    user = _user(message)
    scheme = formats.uri_scheme(user.avatar) if user is not None else None
    if user is None or scheme is None or scheme in ("https", "data"):
        return []
    return [Finding("FT-08", "user.avatar", f"{shown(user.avatar)} has scheme {scheme!r}, not "
                    "'https' or 'data' (RFC 9700 §4)")]


def ft09_dids_are_dids(message: Message) -> list[Finding]:
    user = _user(message)
    return [Finding("FT-09", f"user.dids[{i}]", f"{shown(did)} is not a DID ('did:' method-name "
                    "':' method-specific-id, no path, query or fragment; W3C DID Core 1.0 §3.1)")
            for i, did in enumerate(user.dids if user else []) if not formats.is_did(did)]


def ft10_dids_are_unique(message: Message) -> list[Finding]:
    user = _user(message)
    first: dict[str, int] = {}
    findings = []
    for i, did in enumerate(user.dids if user else []):
        if did in first:
            findings.append(Finding("FT-10", f"user.dids[{i}]", f"{shown(did)} is a duplicate of "
                                    f"user.dids[{first[did]}] (W3C DID Core 1.0 §3.1)"))
        first.setdefault(did, i)
    return findings


# Method-specific-ids that start with `z` without being multibase: a host name or path (`.`, `:`
# or `%` are in no multibase alphabet: did:web:zoom.us), or a method whose id is base32
# (did:plc). The `z` of these is a letter, not the base58btc prefix.
_NOT_MULTIBASE = re.compile(r"did:plc:.*|did:[a-z0-9]+:[^.:%]*[.:%].*")


def ft11_multibase_ids_are_base58btc(message: Message) -> list[Finding]:
    # Only a DID has a method-specific-id; anything else is FT-09's finding.
    user = _user(message)
    findings = []
    for i, did in enumerate(user.dids if user else []):
        msid = formats.did_method_specific_id(did)
        if msid and msid.startswith("z") and not _NOT_MULTIBASE.fullmatch(did) and \
                not formats.is_base58btc_multibase(msid):
            findings.append(Finding("FT-11", f"user.dids[{i}]", f"{shown(did)}: its "
                                    "method-specific-id starts with 'z' (multibase base58btc) but "
                                    "has characters outside the base58btc alphabet"))
    return findings


def _user_strings(user: pb.User) -> Iterator[tuple[str, str]]:
    """(path, value) of every string of `user` but the free-form `metadata` Struct."""
    for name in ("uuid", "first_name", "last_name", "email", "avatar", "phone", "account"):
        yield f"user.{name}", getattr(user, name)
    for i, did in enumerate(user.dids):
        yield f"user.dids[{i}]", did
    for key, value in sorted(user.external_ids.items()):
        yield f"user.external_ids key {shown(key)}", key
        yield f"user.external_ids[{shown(key)}]", value


def ft12_no_control_characters(message: Message) -> list[Finding]:
    user = _user(message)
    return [Finding("FT-12", path, f"{shown(value)} holds a control character "
                    "(U+0000-U+001F, U+007F)")
            for path, value in (_user_strings(user) if user else ())
            if formats.has_control_characters(value)]


# FT: auth_token ----------------------------------------------------------------------------------

def _first_outside(value: str, allowed: Callable[[str], bool]) -> str:
    """Where a token breaks its grammar, without showing the token: one character is no secret."""
    for index, char in enumerate(value):
        if not allowed(char):
            return f" (character {char!r} at index {index} of {len(value)})"
    return ""


def ft13_access_token_is_b64token(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or formats.is_bearer_token(auth.token):
        return []
    where = _first_outside(auth.token, lambda c: formats.is_bearer_token(c) or c == "=")
    return [Finding("FT-13", "auth_token.token", f"{_token_shown(auth.token)}{where} is not a "
                    "non-empty b64token (RFC 6750 §2.1)")]


def ft14_token_type_is_bearer(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or auth.token_type.lower() == "bearer":
        return []
    return [Finding("FT-14", "auth_token.token_type", f"{shown(auth.token_type)} is not 'Bearer' "
                    "(case-insensitive; RFC 6749 §5.1, §7.1; RFC 6750 §4)")]


def ft15_expires_in_is_in_range(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or 0 <= auth.expires_in <= MAX_EXPIRES_IN:
        return []
    hint = " (milliseconds?)" if auth.expires_in > MAX_EXPIRES_IN else ""
    if abs(auth.expires_in - time.time()) <= INSTANT_WINDOW:
        hint = " (an expiry instant in epoch seconds, not a lifetime?)"
    return [Finding("FT-15", "auth_token.expires_in", f"{auth.expires_in}{hint} is not seconds "
                    f"between 0 and {MAX_EXPIRES_IN} (RFC 6749 §5.1)")]


def ft16_expires_in_is_present(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or auth.expires_in > 0:
        return []
    return [Finding("FT-16", "auth_token.expires_in", f"{auth.expires_in} is not above 0 "
                    "(0 is absent in proto3; RFC 6749 §5.1 RECOMMENDED)")]


def ft17_access_token_is_short_lived(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or auth.expires_in <= SHORT_LIVED_EXPIRES_IN:
        return []
    return [Finding("FT-17", "auth_token.expires_in", f"{auth.expires_in} is above "
                    f"{SHORT_LIVED_EXPIRES_IN} s, not short-lived (RFC 6819 §5.1.5.3)")]


def ft18_refresh_token_is_vschar(message: Message) -> list[Finding]:
    auth = _auth_token(message)
    if auth is None or not auth.refresh_token or formats.is_vschar_token(auth.refresh_token):
        return []
    where = _first_outside(auth.refresh_token, formats.is_vschar_token)
    return [Finding("FT-18", "auth_token.refresh_token", f"{_token_shown(auth.refresh_token)}"
                    f"{where} is not 1*VSCHAR (%x20-7E; RFC 6749 App. A.17)")]


def ft19_refresh_token_differs_from_access_token(message: Message) -> list[Finding]:
    # Without a refresh token there is nothing to tell apart (an empty access token is FT-13's).
    auth = _auth_token(message)
    if auth is None or not auth.refresh_token or auth.refresh_token != auth.token:
        return []
    return [Finding("FT-19", "auth_token.refresh_token", f"{_token_shown(auth.refresh_token)} "
                    "is the same as auth_token.token (RFC 6749 §1.5)")]


FIELD_RULES: dict[str, Rule] = {
    "FT-01": ft01_uuid_is_uuid,
    "FT-02": ft02_uuid_is_lower_case,
    "FT-03": ft03_email_is_valid,
    "FT-04": ft04_role_is_defined,
    "FT-05": ft05_role_is_specified,
    "FT-06": ft06_phone_is_international,
    "FT-07": ft07_avatar_is_absolute_uri,
    "FT-08": ft08_avatar_uses_https,
    "FT-09": ft09_dids_are_dids,
    "FT-10": ft10_dids_are_unique,
    "FT-11": ft11_multibase_ids_are_base58btc,
    "FT-12": ft12_no_control_characters,
    "FT-13": ft13_access_token_is_b64token,
    "FT-14": ft14_token_type_is_bearer,
    "FT-15": ft15_expires_in_is_in_range,
    "FT-16": ft16_expires_in_is_present,
    "FT-17": ft17_access_token_is_short_lived,
    "FT-18": ft18_refresh_token_is_vschar,
    "FT-19": ft19_refresh_token_differs_from_access_token,
}


# CT ----------------------------------------------------------------------------------------------

def unknown_fields(message: Message, path: str = "") -> list[Finding]:
    """CT-03: fields the contract does not know, by number, in the message and its sub-messages."""
    prefix = f"{path} " if path else ""
    findings = [Finding("CT-03", f"{prefix}field {field.field_number}".strip(),
                        f"unknown to the contract (wire type {field.wire_type})")
                for field in UnknownFieldSet(message)]
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None or descriptor.message_type.GetOptions().map_entry:
            continue
        children = value if descriptor.is_repeated else [value]
        for index, child in enumerate(children):
            where = f"{path}.{descriptor.name}" if path else descriptor.name
            where += f"[{index}]" if descriptor.is_repeated else ""
            findings += unknown_fields(child, where)
    return findings


def missing_user_or_auth_token(message: Message) -> list[Finding]:
    """CT-02: `user` and `auth_token` unset in a RefreshAccessTokenResponse (other messages:
    none)."""
    if not isinstance(message, pb.RefreshAccessTokenResponse):
        return []
    return [Finding("CT-02", name, "not set in an OK RefreshAccessTokenResponse")
            for name in ("user", "auth_token") if not message.HasField(name)]


def schema_findings(message: Message) -> list[Finding]:
    """CT-04: the canonical proto3 JSON of `message` against its schema, tokens redacted."""
    lines = schema_errors(message.DESCRIPTOR.name, canonical_json(message))
    auth = _auth_token(message)
    tokens = [t for t in (auth.token, auth.refresh_token) if t] if auth else []
    findings = []
    for line in lines:
        path, _, text = line.partition(": ")
        for token in tokens:  # jsonschema quotes the instance with repr()
            text = text.replace(repr(token), redact(token))
        findings.append(Finding("CT-04", path, text))
    return findings


def canonical_json(message: Message) -> dict[str, object]:
    """The canonical proto3 JSON form (lowerCamelCase names, defaults omitted)."""
    from google.protobuf import json_format  # lazily: a run that judges no field never needs it

    result: dict[str, object] = json_format.MessageToDict(message)
    return result
