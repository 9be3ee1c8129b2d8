"""Tests of schemas/ and conformance.rules.schemas: metaschema, good, bad and published responses."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from jsonschema import Draft202012Validator

from conformance import formats
from conformance.rules.schemas import (
    MESSAGE_SCHEMAS,
    SCHEMA_DIR,
    load_registry,
    schema_errors,
    validator_for,
)

SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.schema.json"))
RESPONSES_WITH_TOKEN = ["RefreshAccessTokenResponse", "AuthnWithPasswordResponse"]

UUID = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
JWT = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJmODFkNGZhZSJ9.c2lnbmF0dXJlLWJ5dGVz"

# What json_format.MessageToJson prints for a conformant response.
GOOD_RESPONSE: dict[str, Any] = {
    "user": {
        "uuid": UUID,
        "firstName": "John",
        "lastName": "Doe",
        "email": "qa@example.com",
        "role": "ROLE_USER",
        "avatar": "https://cdn.example.com/avatars/f81d4fae.png",
        "phone": "+1 555 555 5555",
        "dids": [
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "did:web:example.com%3A8443:user:alice",
        ],
        "externalIds": {"github": "jdoe", "crm": "C-0042"},
        "metadata": {"plan": "pro", "seats": 3, "tags": ["a", "b"], "trial": False, "parent": None},
        "account": "15436675",
    },
    "authToken": {
        "token": JWT,
        "tokenType": "Bearer",
        "expiresIn": 900,
        "refreshToken": "rt_9f2c1e7a0b3d4c5e6f708192a3b4c5d6",
    },
}

# api.md's published example, as canonical proto3 JSON: the list of map
# entries becomes an object, {"fields": []} an empty Struct, role 0 (the
# default) is omitted.
PUBLISHED_EXAMPLE: dict[str, Any] = {
    "user": {
        "uuid": "UUID",
        "firstName": "John",
        "lastName": "Doe",
        "email": "[email\u00a0protected]",
        "avatar": "AVATAR_URL",
        "phone": "+1 555 555 5555",
        "dids": [
            "did:method-name:zDIDMultibase58Encoded",
            "did:method-name:zDIDMultibase58Encoded",
        ],
        "externalIds": {"KEY1": "VALUE1", "KEY2": "VALUE2"},
        "metadata": {},
        "account": "15436675",
    },
    "authToken": {
        "token": "TOKEN",
        "tokenType": "TOKEN_TYPE",
        "expiresIn": 100,
        "refreshToken": "REFRESH_TOKEN",
    },
}

MINIMAL_RESPONSE: dict[str, Any] = {"user": {"uuid": UUID}, "authToken": {"token": "abc", "tokenType": "Bearer"}}


def _paths(errors: list[str]) -> set[str]:
    return {line.split(": ", 1)[0] for line in errors}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://userapi-conformance.example/schemas/{path.name}"


def test_registry_holds_every_schema_by_id() -> None:
    registry = load_registry()
    for path in SCHEMA_FILES:
        assert f"https://userapi-conformance.example/schemas/{path.name}" in registry
    assert {"User", "AuthToken", "Role"} <= set(json.loads((SCHEMA_DIR / "user.schema.json").read_text())["$defs"])


def test_every_property_cites_its_source() -> None:
    user = json.loads((SCHEMA_DIR / "user.schema.json").read_text())
    for definition in ("User", "AuthToken"):
        for name, prop in user["$defs"][definition]["properties"].items():
            assert prop.get("description"), f"{definition}.{name} has no description"


def test_validator_for_is_cached_and_rejects_unknown_messages() -> None:
    assert validator_for("GetMeResponse") is validator_for("GetMeResponse")
    with pytest.raises(ValueError, match="known: "):
        validator_for("User")


@pytest.mark.parametrize("message", RESPONSES_WITH_TOKEN)
def test_good_response_validates(message: str) -> None:
    assert schema_errors(message, GOOD_RESPONSE) == []


@pytest.mark.parametrize("message", RESPONSES_WITH_TOKEN)
def test_minimal_response_validates(message: str) -> None:
    assert schema_errors(message, MINIMAL_RESPONSE) == []


def test_get_me_response_validates() -> None:
    assert schema_errors("GetMeResponse", {"user": GOOD_RESPONSE["user"]}) == []
    assert _paths(schema_errors("GetMeResponse", GOOD_RESPONSE)) == {"$"}  # authToken is not a GetMe field


def test_published_example_is_flagged() -> None:
    errors = schema_errors("RefreshAccessTokenResponse", PUBLISHED_EXAMPLE)
    assert {
        "$.user.uuid",
        "$.user.email",
        "$.user.avatar",
        "$.user.dids",
        "$.user.dids[0]",
        "$.user.dids[1]",
        "$.authToken.tokenType",
    } == _paths(errors)
    assert any(line.startswith("$.user.dids: ") and "non-unique" in line for line in errors)
    assert errors == sorted(errors, key=lambda line: line.split(": ", 1)[0])


def test_response_printed_by_json_format_validates() -> None:
    from conformance._generated.user_api.v1 import user_pb2

    response = user_pb2.RefreshAccessTokenResponse()
    json_format.ParseDict(GOOD_RESPONSE, response)
    printed = json.loads(json_format.MessageToJson(response))
    assert schema_errors("RefreshAccessTokenResponse", printed) == []
    snake = json.loads(json_format.MessageToJson(response, preserving_proto_field_name=True))
    assert "first_name" in snake["user"]
    assert schema_errors("RefreshAccessTokenResponse", snake) == []


def test_proto_field_names_are_accepted() -> None:
    instance = {
        "user": {"uuid": UUID, "first_name": "John", "last_name": "Doe", "external_ids": {"k": "v"}, "role": 2},
        "auth_token": {"token": "abc", "token_type": "bearer", "expires_in": 60, "refresh_token": "r t"},
    }
    assert schema_errors("RefreshAccessTokenResponse", instance) == []


@pytest.mark.parametrize(
    ("where", "camel", "snake"),
    [
        ("user", "firstName", "first_name"),
        ("user", "lastName", "last_name"),
        ("user", "externalIds", "external_ids"),
        ("authToken", "tokenType", "token_type"),
        ("authToken", "expiresIn", "expires_in"),
        ("authToken", "refreshToken", "refresh_token"),
    ],
)
def test_both_spellings_of_one_field_are_an_error(where: str, camel: str, snake: str) -> None:
    instance = copy.deepcopy(GOOD_RESPONSE)
    instance[where][snake] = instance[where][camel]
    assert schema_errors("RefreshAccessTokenResponse", instance) == [
        f"$.{where}: {snake!r} and {camel!r} must not both be present"
    ]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: r.update(extra=1), "$"),
        (lambda r: r["user"].update(password="x"), "$.user"),
        (lambda r: r["authToken"].update(scope="openid"), "$.authToken"),
    ],
)
def test_unknown_property_is_an_error(mutate: Any, path: str) -> None:
    instance = copy.deepcopy(GOOD_RESPONSE)
    mutate(instance)
    assert _paths(schema_errors("RefreshAccessTokenResponse", instance)) == {path}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: r.pop("authToken"), "$"),  # CT-02
        (lambda r: r.pop("user"), "$"),
        (lambda r: r["user"].pop("uuid"), "$.user"),
        (lambda r: r["authToken"].pop("token"), "$.authToken"),
        (lambda r: r["authToken"].pop("tokenType"), "$.authToken"),
        (lambda r: r["user"].update(uuid="F81D4FAE7DEC11D0A76500A0C91E6BF6"), "$.user.uuid"),
        (lambda r: r["user"].update(uuid=UUID + "\n"), "$.user.uuid"),
        (lambda r: r["user"].update(email="John <qa@example.com>"), "$.user.email"),
        (lambda r: r["user"].update(role="ROLE_ROOT"), "$.user.role"),
        (lambda r: r["user"].update(role=3), "$.user.role"),
        (lambda r: r["user"].update(role=True), "$.user.role"),
        (lambda r: r["user"].update(avatar="/avatars/1.png"), "$.user.avatar"),
        (lambda r: r["user"].update(avatar="https://cdn.example.com/a.png#x"), "$.user.avatar"),
        (lambda r: r["user"].update(dids=["did:example:a#key-1"]), "$.user.dids[0]"),
        (lambda r: r["user"].update(dids=["did:example:a\n"]), "$.user.dids[0]"),
        (lambda r: r["user"].update(dids="did:example:a"), "$.user.dids"),
        (lambda r: r["user"].update(firstName="Jo\x00hn"), "$.user.firstName"),
        (lambda r: r["user"].update(account="1543\n"), "$.user.account"),
        (lambda r: r["user"]["externalIds"].update({"github": "x\ty"}), "$.user.externalIds.github"),
        (lambda r: r["user"]["externalIds"].update({"git hub": 7}), '$.user.externalIds["git hub"]'),
        (lambda r: r["user"].update(metadata=[]), "$.user.metadata"),
        (lambda r: r["authToken"].update(token=""), "$.authToken.token"),
        (lambda r: r["authToken"].update(token="a b"), "$.authToken.token"),
        (lambda r: r["authToken"].update(tokenType="MAC"), "$.authToken.tokenType"),
        (lambda r: r["authToken"].update(tokenType="Bearer\n"), "$.authToken.tokenType"),
        (lambda r: r["authToken"].update(expiresIn=-1), "$.authToken.expiresIn"),
        (lambda r: r["authToken"].update(expiresIn=31536001), "$.authToken.expiresIn"),
        (lambda r: r["authToken"].update(expiresIn="900"), "$.authToken.expiresIn"),
        (lambda r: r["authToken"].update(expiresIn=1.5), "$.authToken.expiresIn"),
        (lambda r: r["authToken"].update(refreshToken="r\u00e9"), "$.authToken.refreshToken"),
    ],
)
def test_broken_field_is_reported_at_its_path(mutate: Any, path: str) -> None:
    instance = copy.deepcopy(GOOD_RESPONSE)
    mutate(instance)
    assert _paths(schema_errors("RefreshAccessTokenResponse", instance)) == {path}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", ""),
        ("avatar", ""),
        ("phone", "555 555 5555"),  # FT-06 is a SHOULD: not this schema's business
        ("avatar", "http://cdn.example.com/a.png"),  # FT-08 is a SHOULD
        ("uuid", UUID.upper()),  # FT-02 is a SHOULD
        ("role", "ROLE_UNSPECIFIED"),  # FT-05 is a SHOULD
        ("role", 0),
        ("dids", []),
        ("externalIds", {}),
    ],
)
def test_defaults_and_should_level_values_validate(field: str, value: object) -> None:
    instance = copy.deepcopy(GOOD_RESPONSE)
    instance["user"][field] = value
    assert schema_errors("RefreshAccessTokenResponse", instance) == []


@pytest.mark.parametrize("instance", [None, [], "text", 3, {"user": None}, {"user": [], "authToken": "x"}])
def test_schema_errors_never_raises_on_invalid_instances(instance: object) -> None:
    errors = schema_errors("RefreshAccessTokenResponse", instance)
    assert errors
    assert all(re.match(r"^\$\S*: ", line) for line in errors)


def _user_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / "user.schema.json").read_text())
    return schema


@pytest.mark.parametrize(
    "value",
    [
        "did:example:123456789abcdefghi",
        "did:web:example.com%3A8443:user:alice",
        "did:example::a",
        "did:method-name:zabc",
        "did:Example:1",
        "did:example:abc:",
        "did:example:a%2",
        "did:example:a/b",
        "did:example:a#k",
        "did:example:a\n",
        "DID:example:1",
    ],
)
def test_did_pattern_agrees_with_is_did(value: str) -> None:
    pattern = _user_schema()["$defs"]["User"]["properties"]["dids"]["items"]["pattern"]
    assert (re.search(pattern, value) is not None) is formats.is_did(value)


@pytest.mark.parametrize(
    ("prop", "validator", "values"),
    [
        ("uuid", formats.is_uuid, [UUID, UUID.upper(), "UUID", UUID + "\n", "{" + UUID + "}"]),
        ("token", formats.is_bearer_token, [JWT, "a==", "=", "a=b", "a b", "a\n", ""]),
        ("refreshToken", lambda v: v == "" or formats.is_vschar_token(v), ["r t", "", "\x7f", "a\n", "\u00e9", "~"]),
    ],
)
def test_token_and_uuid_patterns_agree_with_formats(prop: str, validator: Any, values: list[str]) -> None:
    defs = _user_schema()["$defs"]
    properties = {**defs["User"]["properties"], **defs["AuthToken"]["properties"]}
    for value in values:
        assert (re.search(properties[prop]["pattern"], value) is not None) is validator(value), value


def test_message_schemas_name_existing_files() -> None:
    for file_name in MESSAGE_SCHEMAS.values():
        assert (SCHEMA_DIR / file_name).is_file()
