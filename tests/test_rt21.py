"""RT-21 against short-lived access tokens (2-3 s): the declared leeway and --expiry-wait decide
when and whether a token is judged; its clock starts before the other checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import ReferenceServer, ServerOptions
from conformance.reference.faults import FLAVORS
from conformance.rules.expiry import start_clock
from conformance.run.targets_file import load_targets_file
from conformance.transport.client import ChannelSettings, UserApiClient

PASSWORD = "rt21-Passw0rd-example"


@pytest.fixture
def short_lived() -> Iterator[ReferenceServer]:
    """A correct reference server whose access tokens live 2 s."""
    with ReferenceServer(ServerOptions(password=PASSWORD, access_token_lifetime=2)) as server:
        yield server


def _against(server: ReferenceServer, *args: str) -> tuple[str, ...]:
    return ("--target", server.address, "--plaintext", "--login-email", server.options.email,
            "--login-password-env", "RT21_PASSWORD", "--profile", "quick", *args)


def _rt21(run: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = run.results["targets"][0]["requirements"]
    return next(row for row in rows if row["id"] == "RT-21")


def test_an_expiring_token_is_judged_and_passes(run_suite: Any, short_lived: ReferenceServer,
                                                ) -> None:
    run = run_suite(*_against(short_lived, "--only", "RT-21"), env={"RT21_PASSWORD": PASSWORD})
    row = _rt21(run)
    assert row["outcome"] == "pass", row
    assert "lifetime 2 s, expires_in 2; leeway 5 s" in row["message"]
    # judged once 2 s + 5 s (+ the margin) had passed, not long after
    assert 8.0 <= run.results["duration_s"] < 12.0


def test_a_wait_beyond_expiry_wait_is_a_skip_naming_it(run_suite: Any,
                                                       short_lived: ReferenceServer) -> None:
    run = run_suite(*_against(short_lived, "--only", "RT-21", "--expiry-wait", "6"),
                    env={"RT21_PASSWORD": PASSWORD})
    row = _rt21(run)
    assert row["outcome"] == "skip"
    assert "would wait 7 s" in row["message"] and "--expiry-wait 6 s" in row["message"]
    assert run.results["duration_s"] < 4.0  # no waiting at all


def test_no_stated_lifetime_is_a_skip(run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", "RT-21", "--reference-fault",
                    "expires-in-zero")
    row = _rt21(run)
    assert row["outcome"] == "skip" and "expires_in 0" in row["message"], row


def test_the_leeway_flavour_fails_without_its_declared_leeway(run_suite: Any) -> None:
    """The flavour accepts its tokens 20 s past expires_in: judged with the default 5 s of
    leeway, that is a failure; with --expiry-leeway 20 (its suite_args) it passes."""
    assert "--expiry-leeway" in FLAVORS["expiry-leeway-20s"].suite_args
    run = run_suite("--profile", "quick", "--only", "RT-21", "--expiry-wait", "25",
                    "--reference-flavor", "expiry-leeway-20s")
    row = _rt21(run)
    assert row["outcome"] == "fail", row
    assert "Received: OK" in row["message"] and "leeway of 5 s" in row["message"]


def test_a_jwt_exp_earlier_than_expires_in_is_the_authority() -> None:
    import jwt
    token = jwt.encode({"sub": "u", "exp": 1003}, "k" * 32, algorithm="HS256")
    clock = start_clock(token, 900, received=50.0, leeway=5.0, wall_at_receipt=1000.0)
    assert clock.lifetime == 3.0 and clock.wait == 8.0 and "JWT exp" in clock.authority
    later = jwt.encode({"sub": "u", "exp": 5000}, "k" * 32, algorithm="HS256")
    assert start_clock(later, 900, 50.0, 5.0, 1000.0).lifetime == 900
    assert start_clock("opaque-token", 900, 50.0, 5.0, 1000.0).authority == "expires_in 900"


def test_a_jwt_exp_is_read_against_its_iat_on_the_servers_clock() -> None:
    """A server whose clock runs 30 s behind ours: exp - iat is its 900 s, not 870."""
    import jwt
    token = jwt.encode({"sub": "u", "iat": 970, "exp": 1870}, "k" * 32, algorithm="HS256")
    clock = start_clock(token, 900, received=50.0, leeway=5.0, wall_at_receipt=1000.0)
    assert clock.lifetime == 900 and clock.authority == "expires_in 900"
    early = jwt.encode({"sub": "u", "iat": 1000, "exp": 1003}, "k" * 32, algorithm="HS256")
    assert start_clock(early, 900, 50.0, 5.0, 1000.0).lifetime == 3.0
    millis = jwt.encode({"sub": "u", "iat": 1_000_000, "exp": 1900}, "k" * 32, algorithm="HS256")
    assert start_clock(millis, 900, 50.0, 5.0, 1000.0).lifetime == 900


def test_the_targets_file_declares_a_leeway(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RT21_PASSWORD", PASSWORD)
    (tmp_path / "t.toml").write_text(
        '[[target]]\naddress = "127.0.0.1:1"\nlogin_email = "qa@example.com"\n'
        'login_password_env = "RT21_PASSWORD"\nexpiry_leeway = 30\n'
        '[[target]]\naddress = "127.0.0.1:2"\nlogin_email = "qa@example.com"\n'
        'login_password_env = "RT21_PASSWORD"\n')
    first, second = load_targets_file(str(tmp_path / "t.toml"), deadline=5.0, reuse_grace=0.0,
                                      expiry_leeway=7.0)
    assert (first.expiry_leeway, second.expiry_leeway) == (30.0, 7.0)


def test_a_single_static_token_serves_rt21_and_the_sample(run_suite: Any,
                                                          short_lived: ReferenceServer) -> None:
    """RT-21 judges the sample's access token: it spends no refresh token of its own, so one
    static token still serves it and the field checks."""
    api = UserApiClient(ChannelSettings(short_lived.address, plaintext=True))
    login = api.login(short_lived.options.email, PASSWORD)
    api.close()
    assert login.response is not None
    run = run_suite("--target", short_lived.address, "--plaintext", "--refresh-token-env", "RT",
                    "--profile", "quick", "--only", "RT-21,CT-01,FT-13",
                    env={"RT": login.response.auth_token.refresh_token})
    outcomes = run.outcomes()
    assert (outcomes["RT-21"], outcomes["CT-01"], outcomes["FT-13"]) == ("pass",) * 3, outcomes
