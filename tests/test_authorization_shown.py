"""One rule shows an `authorization` value in a grpcurl line and in a violation's text alike: the
scheme word and a value the suite made up itself are shown; an issued token never is."""

from __future__ import annotations

import pytest

from conformance.model.redact import redact, show_authorization
from conformance.model.violations import Violation, violation
from conformance.reference import ReferenceServer
from conformance.transport.client import UserApiClient

ISSUED = "{issued}"  # stands for the access token the reference server issues


@pytest.fixture
def issued(client: UserApiClient, reference: ReferenceServer) -> str:
    login = client.login(reference.options.email, reference.options.password)
    assert login.ok and login.response is not None
    return login.response.auth_token.token


# (value sent, secret, how every line shows it)
CASES = [
    ("Bearer", False, "Bearer"),
    ("Basic dXNlcjpwYXNz", False, "Basic dXNlcjpwYXNz"),
    (f"Bearer {ISSUED}", True, f"Bearer {ISSUED}"),
    (ISSUED, True, ISSUED),
    # A made-up value may hold an issued token: that stays redacted (RT-09's near-misses).
    (f"Bearer {ISSUED} {ISSUED}", False, f"Bearer {ISSUED} {ISSUED}"),
    (ISSUED, False, ISSUED),
]


@pytest.mark.parametrize(("template", "secret", "shown"), CASES,
                         ids=[f"{t}-{'secret' if s else 'made up'}" for t, s, _ in CASES])
def test_grpcurl_line_and_violation_show_authorization_alike(
        client: UserApiClient, issued: str, template: str, secret: bool, shown: str) -> None:
    value = template.replace(ISSUED, issued)
    expected_shown = shown.replace(ISSUED, redact(issued))
    reply = client.get_me(value, secret=secret)
    assert f"-H 'authorization: {expected_shown}'" in reply.reproduce
    failure = violation("GetMe not rejected", reply=reply, received=reply.status,
                        expected=f"UNAUTHENTICATED for `authorization: "
                        f"{show_authorization(value, secret=secret)}`")
    assert isinstance(failure, Violation)
    text = failure.render(None)
    assert f"Expected: UNAUTHENTICATED for `authorization: {expected_shown}`" in text
    assert f"-H 'authorization: {expected_shown}'" in text  # the reproduce line, scrubbed
    assert issued not in text


def test_a_secret_scheme_alone_keeps_its_scheme() -> None:
    assert show_authorization("Bearer ") == "Bearer "
    assert show_authorization("Bearer  abc") == f"Bearer  {redact('abc')}"
