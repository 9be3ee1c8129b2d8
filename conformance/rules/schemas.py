"""JSON Schema validation of responses in canonical proto3 JSON form (CT-04).

jsonschema and referencing are imported on first use: a run that judges no field (`--only`
without CT-04 or FT) never pays for them."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError
    from referencing import Registry, Resource

from conformance.formats import is_absolute_uri, is_did, is_email
from conformance.model.data import data_dir

__all__ = [
    "MESSAGE_SCHEMAS",
    "SCHEMA_DIR",
    "format_checker",
    "load_registry",
    "schema_errors",
    "validator_for",
]

SCHEMA_DIR = data_dir("schemas")

# Message name -> schema file in SCHEMA_DIR.
MESSAGE_SCHEMAS: dict[str, str] = {
    "RefreshAccessTokenResponse": "refresh_access_token_response.schema.json",
    "AuthnWithPasswordResponse": "authn_with_password_response.schema.json",
    "GetMeResponse": "get_me_response.schema.json",
}

_IDENTIFIER = re.compile("[A-Za-z_][A-Za-z0-9_]*")


def _string_format(check: Callable[[str], bool]) -> Callable[[object], bool]:
    # JSON Schema applies a format only to strings (2020-12 validation §7.1);
    # another type is the "type" keyword's business.
    return lambda instance: not isinstance(instance, str) or check(instance)


def format_checker() -> FormatChecker:
    """Return a FormatChecker whose formats are the suite's own validators.

    Starting empty keeps the verdict independent of which optional packages
    jsonschema finds (its "uri" needs rfc3987) and aligned with the FT checks.
    """
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("email")(_string_format(is_email))
    checker.checks("uri")(_string_format(is_absolute_uri))
    checker.checks("did")(_string_format(is_did))
    return checker


@functools.cache
def load_registry() -> Registry[Any]:
    """Return a registry of every ``*.schema.json`` in SCHEMA_DIR, keyed by its ``$id``."""
    from referencing import Registry, Resource

    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


@functools.cache
def validator_for(message_name: str) -> Draft202012Validator:
    """Return the (cached) validator for a response message, e.g. "GetMeResponse"."""
    try:
        file_name = MESSAGE_SCHEMAS[message_name]
    except KeyError:
        allowed = ", ".join(sorted(MESSAGE_SCHEMAS))
        raise ValueError(f"no schema for message {message_name!r}; known: {allowed}") from None
    schema = json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, registry=load_registry(), format_checker=format_checker())


def schema_errors(message_name: str, instance: object) -> list[str]:
    """Validate ``instance`` and return one ``<json path>: <message>`` line per error.

    Lines are sorted by path (array indices numerically). An invalid instance
    never raises; an unknown ``message_name`` raises ValueError.
    """
    errors = validator_for(message_name).iter_errors(instance)
    ordered = sorted(errors, key=lambda error: (_sort_key(error.absolute_path), _message(error)))
    return [f"{_json_path(error.absolute_path)}: {_message(error)}" for error in ordered]


def _json_path(path: Iterable[str | int]) -> str:
    text = "$"
    for element in path:
        if isinstance(element, int):
            text += f"[{element}]"
        elif _IDENTIFIER.fullmatch(element):
            text += f".{element}"
        else:
            # Map keys are arbitrary strings: quote them so the path stays unambiguous.
            text += f"[{json.dumps(element, ensure_ascii=False)}]"
    return text


def _sort_key(path: Iterable[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, e, "") if isinstance(e, int) else (1, 0, e) for e in path)


def _message(error: ValidationError) -> str:
    # {"dependentSchemas": {A: {"not": {"required": [B]}}}} means "not both A
    # and B" (the schemas use it for the two spellings of one field);
    # jsonschema's own message would print the whole object.
    schema_path = list(error.relative_schema_path)
    negated = error.validator_value if error.validator == "not" else None
    if (
        isinstance(negated, dict)
        and list(negated) == ["required"]
        and len(schema_path) >= 3
        and schema_path[-3] == "dependentSchemas"
    ):
        names = [str(schema_path[-2]), *map(str, negated["required"])]
        return " and ".join(repr(name) for name in names) + " must not both be present"
    # anyOf over "required" names a field that may be spelled two ways.
    if error.validator == "anyOf" and error.context:
        return " or ".join(dict.fromkeys(child.message for child in error.context))
    return str(error.message)
