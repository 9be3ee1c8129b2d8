"""The field rules (conformance.rules.fields) one by one, and CT-06's rule, which never dials."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.checks import test_ct as ct_checks  # the module: pytest must not collect checks
from conformance.model.contract import pb
from conformance.model.redact import redact
from conformance.model.violations import Violation
from conformance.rules import fields
from conformance.run.target_config import TargetConfig
from conformance.transport.client import ChannelSettings, UserApiClient
from conformance.transport.tokens import TokenSourceSpec

ACCESS = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V"
REFRESH = "r9Q8p7O6n5M4l3K2j1I0h9G8f7E6d5C4b3A2z1Y0x9W"


def good_user(**changes: Any) -> pb.User:
    user = pb.User(uuid="0b4c2e5a-7f3d-4e8b-9a61-2c0d5e7f8a9b", first_name="Quinn",
                   last_name="Ashby", email="qa@example.com", role=pb.ROLE_USER,
                   avatar="https://avatars.example.com/qa.png", phone="+44 20 7946 0958",
                   dids=["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                         "did:web:example.com%3A8443:users:qa"],
                   external_ids={"crm": "C-1001"}, account="15436675")
    for name, value in changes.items():
        if name == "dids":
            del user.dids[:]
            user.dids.extend(value)
        elif name == "external_ids":
            user.external_ids.clear()
            user.external_ids.update(value)
        else:
            setattr(user, name, value)
    return user


def good_auth_token(**changes: Any) -> pb.AuthToken:
    token = pb.AuthToken(token=ACCESS, token_type="Bearer", expires_in=900, refresh_token=REFRESH)
    for name, value in changes.items():
        setattr(token, name, value)
    return token


def response(user: pb.User | None = None, auth_token: pb.AuthToken | None = None,
             ) -> pb.RefreshAccessTokenResponse:
    return pb.RefreshAccessTokenResponse(user=user or good_user(),
                                         auth_token=auth_token or good_auth_token())


def test_a_correct_response_breaks_no_rule() -> None:
    for rid, rule in fields.FIELD_RULES.items():
        assert rule(response()) == [], rid
    assert fields.unknown_fields(response()) == []
    assert fields.schema_findings(response()) == []


# (requirement, broken response, path of the finding)
BROKEN = [
    ("FT-01", response(good_user(uuid="UUID")), "user.uuid"),
    ("FT-01", response(good_user(uuid="")), "user.uuid"),
    ("FT-01", response(good_user(uuid="0b4c2e5a7f3d4e8b9a612c0d5e7f8a9b")), "user.uuid"),
    ("FT-02", response(good_user(uuid="0B4C2E5A-7F3D-4E8B-9A61-2C0D5E7F8A9B")), "user.uuid"),
    ("FT-03", response(good_user(email="Quinn <qa@example.com>")), "user.email"),
    ("FT-03", response(good_user(email="[email protected]")), "user.email"),
    ("FT-04", response(good_user(role=7)), "user.role"),
    ("FT-05", response(good_user(role=pb.ROLE_UNSPECIFIED)), "user.role"),
    ("FT-06", response(good_user(phone="020 7946 0958")), "user.phone"),
    ("FT-06", response(good_user(phone="+44-20-7946-0958")), "user.phone"),
    ("FT-07", response(good_user(avatar="/avatars/qa.png")), "user.avatar"),
    ("FT-07", response(good_user(avatar="AVATAR_URL")), "user.avatar"),
    ("FT-08", response(good_user(avatar="http://avatars.example.com/qa.png")), "user.avatar"),
    ("FT-09", response(good_user(dids=["did:method-name:zabc"])), "user.dids[0]"),
    ("FT-09", response(good_user(dids=["did:web:example.com", "did:web:example.com#key-1"])),
     "user.dids[1]"),
    ("FT-10", response(good_user(dids=["did:web:example.com", "did:web:example.com"])),
     "user.dids[1]"),
    ("FT-11", response(good_user(dids=["did:key:z6Mk0OIl"])), "user.dids[0]"),
    ("FT-11", response(good_user(dids=["did:example:zQ3sI"])), "user.dids[0]"),
    ("FT-12", response(good_user(first_name="Quinn\n")), "user.first_name"),
    ("FT-12", response(good_user(account="1\x7f")), "user.account"),
    ("FT-12", response(good_user(dids=["did:web:example.com"], external_ids={"crm": "C\x00"})),
     "user.external_ids['crm']"),
    ("FT-13", response(auth_token=good_auth_token(token="")), "auth_token.token"),
    ("FT-13", response(auth_token=good_auth_token(token=ACCESS[:10] + " " + ACCESS[10:])),
     "auth_token.token"),
    ("FT-14", response(auth_token=good_auth_token(token_type="TOKEN_TYPE")),
     "auth_token.token_type"),
    ("FT-15", response(auth_token=good_auth_token(expires_in=-1)), "auth_token.expires_in"),
    ("FT-15", response(auth_token=good_auth_token(expires_in=31_536_001)),
     "auth_token.expires_in"),
    ("FT-16", response(auth_token=good_auth_token(expires_in=0)), "auth_token.expires_in"),
    ("FT-17", response(auth_token=good_auth_token(expires_in=86_401)), "auth_token.expires_in"),
    ("FT-18", response(auth_token=good_auth_token(refresh_token=REFRESH + "\u00e9")),
     "auth_token.refresh_token"),
    ("FT-18", response(auth_token=good_auth_token(refresh_token=REFRESH + "\t")),
     "auth_token.refresh_token"),
    ("FT-19", response(auth_token=good_auth_token(refresh_token=ACCESS)),
     "auth_token.refresh_token"),
]


# A negative expires_in is also not above 0 (FT-16), a huge one not short-lived (FT-17).
COMPANIONS = {"FT-15": {"FT-16", "FT-17"}}


@pytest.mark.parametrize(("rid", "message", "path"), BROKEN,
                         ids=[f"{rid}-{i}" for i, (rid, _, _) in enumerate(BROKEN)])
def test_each_rule_finds_its_breakage(rid: str, message: pb.RefreshAccessTokenResponse,
                                      path: str) -> None:
    found = fields.FIELD_RULES[rid](message)
    assert [(f.requirement, f.path) for f in found] == [(rid, path)]
    text = str(found[0])
    assert text.startswith(f"{path}: ")
    for token in (message.auth_token.token, message.auth_token.refresh_token):
        if token:   # the offending token is shown redacted, never in clear
            assert token not in text
    # Every other rule keeps quiet but the one the same value also breaks.
    others = {other for other, rule in fields.FIELD_RULES.items() if other != rid and rule(message)}
    assert others <= COMPANIONS.get(rid, set()), others


# Correct but different: every rule passes these.
CORRECT = [
    response(good_user(email="qa@corp.local")),
    response(good_user(email='"quinn ashby"@example.com')),
    response(good_user(role=pb.ROLE_ADMIN, avatar="data:image/png;base64,iVBORw0KGgo=")),
    response(pb.User(uuid="00000000-0000-0000-0000-000000000000", role=pb.ROLE_USER)),
    response(good_user(dids=["did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a",
                             "did:ion:EiDyOQbbZAa3aiRzeCkV7LOx3SERjjH93EXoIM3UoN4oWg:eyJk"])),
    # Ids that start with a `z` but are no multibase value (FT-11): a host, a base32 id.
    response(good_user(dids=["did:web:zoom.us", "did:web:zlib.example:users:alice",
                             "did:plc:zl7i7hdynmk6r22z27h6tvur"])),
    response(auth_token=good_auth_token(token="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
                                        token_type="bearer", refresh_token="rt.a~b c")),
    response(auth_token=good_auth_token(refresh_token="", expires_in=86_400)),
]


@pytest.mark.parametrize("message", CORRECT, ids=range(len(CORRECT)))
def test_correct_but_different_values_break_no_rule(message: pb.RefreshAccessTokenResponse,
                                                    ) -> None:
    for rid, rule in fields.FIELD_RULES.items():
        assert rule(message) == [], rid
    assert fields.schema_findings(message) == []


def test_rules_skip_the_parts_a_response_lacks() -> None:
    # No user: CT-02's finding, not FT-01's. GetMe has no auth_token at all.
    no_user = pb.RefreshAccessTokenResponse(auth_token=good_auth_token())
    get_me = pb.GetMeResponse(user=good_user())
    for rid, rule in fields.FIELD_RULES.items():
        assert rule(no_user) == [] and rule(get_me) == [], rid
    assert fields.schema_findings(get_me) == []
    assert [f.path for f in fields.schema_findings(no_user)] == ["$"]


def test_ft10_names_each_repeat_and_its_first_occurrence() -> None:
    found = fields.ft10_dids_are_unique(response(good_user(dids=["did:a:1", "did:b:2", "did:a:1",
                                                                 "did:a:1"])))
    assert [str(f) for f in found] == [
        "user.dids[2]: 'did:a:1' is a duplicate of user.dids[0] (W3C DID Core 1.0 §3.1)",
        "user.dids[3]: 'did:a:1' is a duplicate of user.dids[0] (W3C DID Core 1.0 §3.1)"]


def test_ft13_says_where_the_token_breaks_without_showing_it() -> None:
    token = ACCESS[:10] + " " + ACCESS[10:]
    (finding,) = fields.ft13_access_token_is_b64token(response(
        auth_token=good_auth_token(token=token)))
    assert finding.detail.startswith(f"{redact(token)} (character ' ' at index 10 of 44)")


def test_long_values_are_cut() -> None:
    (finding,) = fields.ft07_avatar_is_absolute_uri(response(good_user(avatar="x" * 500)))
    assert len(finding.detail) < 200


def test_ct03_reports_unknown_field_numbers_at_every_level() -> None:
    message = response()
    message.MergeFromString(bytes([0x9A, 0x06, 1]) + b"x")          # field 99 of the response
    message.user.MergeFromString(bytes([5 << 3 | 0, 1]))           # field 5 of User, a varint
    assert [str(f) for f in fields.unknown_fields(message)] == [
        "field 99: unknown to the contract (wire type 2)",
        "user field 5: unknown to the contract (wire type 0)"]


def test_ct04_schema_findings_redact_tokens() -> None:
    token = ACCESS[:10] + " " + ACCESS[10:]
    found = fields.schema_findings(response(auth_token=good_auth_token(token=token)))
    assert [f.path for f in found] == ["$.authToken.token"]
    assert token not in str(found[0]) and redact(token) in str(found[0])


# CT-06: a rule on configuration. Nothing below opens a connection.
LOOPBACK = ["127.0.0.1:50051", "127.8.9.10:1", "[::1]:443", "localhost:50051", "LOCALHOST:1"]
REMOTE = ["192.0.2.1:443", "user-mgmt.sandbox.example:443", "[2001:db8::1]:443", "10.0.0.1:80"]


@pytest.mark.parametrize("address", LOOPBACK)
@pytest.mark.parametrize("plaintext", [True, False])
def test_ct06_loopback_is_not_applicable(address: str, plaintext: bool) -> None:
    reason = ct_checks.plaintext_off_loopback(address, plaintext)
    assert reason and "loopback" in reason


@pytest.mark.parametrize("address", REMOTE)
def test_ct06_plaintext_to_a_remote_host_fails_and_tls_passes(address: str) -> None:
    with pytest.raises(Violation, match="Plaintext to a non-loopback host"):
        ct_checks.plaintext_off_loopback(address, True)
    assert ct_checks.plaintext_off_loopback(address, False) is None


def test_ct06_check_judges_configuration_only() -> None:
    # A stand-in target with a configuration and no client: dialling would raise AttributeError.
    config = TargetConfig(ChannelSettings("192.0.2.1:443", plaintext=True),
                          TokenSourceSpec("static", secret_env="UNUSED"))
    check: Any = ct_checks.test_ct06_non_loopback_target_uses_tls
    with pytest.raises(Violation) as raised:
        check(SimpleNamespace(config=config))
    assert "192.0.2.1" in str(raised.value)
    check(SimpleNamespace(config=TargetConfig(ChannelSettings("192.0.2.1:443"), config.tokens)))


def test_ct06_is_skip_on_loopback_in_a_real_run(run_suite: Any) -> None:
    # Also guards the results model: the passing teardown of a skipped check must not turn it
    # into a pass.
    run = run_suite("--profile", "quick", "--only", "CT-06")
    row = next(r for r in run.results["targets"][0]["requirements"] if r["id"] == "CT-06")
    assert (row["outcome"], run.exit_code) == ("skip", 0)
    assert "loopback" in row["message"]


def test_one_static_token_serves_every_field_check(reference: Any, client: UserApiClient,
                                                   run_suite: Any) -> None:
    # The field checks share one sample per target, so a single refresh token is enough.
    login = client.login("qa@example.com", "s3cret-Passw0rd")
    assert login.response is not None
    run = run_suite("--target", reference.address, "--plaintext", "--refresh-token-env", "RT",
                    "--profile", "quick", "--only", "CT-01,CT-02,CT-04,FT-01,FT-13,FT-19",
                    env={"RT": login.response.auth_token.refresh_token})
    assert run.exit_code == 0, run.stdout[-2000:]
    assert set(run.outcomes().values()) - {"skip"} == {"pass"}
    assert {rid for rid, o in run.outcomes().items() if o == "pass"} == {
        "CT-01", "CT-02", "CT-04", "FT-01", "FT-13", "FT-19"}


def test_ft15_names_an_expiry_instant_for_what_it_is() -> None:
    # The expiry instant in epoch seconds where the lifetime belongs: not milliseconds.
    instant = int(time.time()) + 900
    found = fields.FIELD_RULES["FT-15"](response(auth_token=good_auth_token(expires_in=instant)))
    assert "expiry instant in epoch seconds" in str(found[0])
    found = fields.FIELD_RULES["FT-15"](response(auth_token=good_auth_token(
        expires_in=86_400_000)))
    assert "(milliseconds?)" in str(found[0])


def test_ct02_rule_names_what_an_ok_refresh_response_lacks() -> None:
    assert fields.missing_user_or_auth_token(response()) == []
    lacking = pb.RefreshAccessTokenResponse(auth_token=good_auth_token())
    assert [f.path for f in fields.missing_user_or_auth_token(lacking)] == ["user"]
    assert [f.path for f in fields.missing_user_or_auth_token(
        pb.RefreshAccessTokenResponse())] == ["user", "auth_token"]
    # GetMe's response has no auth_token by contract: not CT-02's to judge.
    assert fields.missing_user_or_auth_token(pb.GetMeResponse()) == []
