"""RT: OAuth 2.0 refresh semantics."""

from __future__ import annotations

import pytest

from conformance.errors import CannotEvaluate
from conformance.lookalike import lookalike
from conformance.redact import redact
from conformance.target import TargetSession
from conformance.violations import ensure, ensure_status

# RFC 6750 §3.1 / RFC 6749 §5.2: a bad credential is a failed authentication.
UNAUTHENTICATED = {"UNAUTHENTICATED"}


@pytest.mark.requirement("RT-01")
def test_rt01_valid_refresh_token_gets_new_access_token(target: TargetSession) -> None:
    """RT-01: a valid refresh token gets a new access token (RFC 6749 §6)."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    ensure(reply.ok, "Valid refresh token refused", expected="status OK with a new access token",
           received=reply.status, reply=reply)
    assert reply.response is not None
    ensure(bool(reply.response.auth_token.token), "No access token in refresh response",
           expected="a non-empty auth_token.token", received="an empty auth_token.token",
           reply=reply)


@pytest.mark.requirement("RT-04")
def test_rt04_refreshed_access_token_works_for_get_me(target: TargetSession) -> None:
    """RT-04: the refreshed access token works: GetMe with `authorization: Bearer <token>`
    answers OK with the same user uuid (RFC 6750 §2.1)."""
    tokens = target.fresh_tokens()
    response = target.refreshed(tokens.refresh_token, "refresh a freshly minted token")
    access_token = response.auth_token.token
    if not access_token:
        raise CannotEvaluate("precondition failed: the refresh response has no access token "
                             "(see RT-01)")
    expected_uuid = tokens.user_uuid or response.user.uuid
    reply = target.client.get_me(f"Bearer {access_token}")
    ensure(reply.ok, "Refreshed access token refused by GetMe",
           expected="GetMe answers OK to the access token just issued", received=reply.status,
           reply=reply)
    assert reply.response is not None
    ensure(not expected_uuid or reply.response.user.uuid == expected_uuid,
           "GetMe returned another user for the refreshed access token",
           expected=f"user.uuid {expected_uuid!r}", received=f"user.uuid "
           f"{reply.response.user.uuid!r}", reply=reply)


@pytest.mark.requirement("RT-05")
def test_rt05_unknown_refresh_token_is_unauthenticated(target: TargetSession) -> None:
    """RT-05: an unknown refresh token, shaped like the target's own (same length and character
    classes), is rejected with UNAUTHENTICATED (RFC 6749 §5.2 invalid_grant)."""
    unknown = lookalike(target.fresh_tokens().refresh_token)
    reply = target.refresh(unknown)
    ensure_status(reply, UNAUTHENTICATED, "Unknown refresh token not rejected as UNAUTHENTICATED",
                  expected=f"UNAUTHENTICATED for the never-issued token {redact(unknown)}")


# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. Each of these breaks that syntax.
MALFORMED_AUTHORIZATION = {
    "empty value": "",
    "scheme only": "Bearer",
    "scheme and space": "Bearer ",
    "Basic scheme": "Basic cWFAZXhhbXBsZS5jb206cGFzc3dvcmQ=",
    "two credentials": "Bearer abc def",
    "non-b64token character": "Bearer abc,def",
    "no scheme": "c29tZS1vcGFxdWUtdG9rZW4",
}


@pytest.mark.requirement("RT-09")
@pytest.mark.parametrize("authorization", [None, *MALFORMED_AUTHORIZATION.values()],
                         ids=["no metadata", *MALFORMED_AUTHORIZATION])
def test_rt09_get_me_without_valid_authorization_is_unauthenticated(
        target: TargetSession, authorization: str | None) -> None:
    """RT-09: GetMe with no `authorization` metadata, or a malformed one, is rejected with
    UNAUTHENTICATED (RFC 6750 §3.1)."""
    reply = target.client.get_me(authorization)
    ensure_status(reply, UNAUTHENTICATED, "GetMe without a valid bearer token not rejected",
                  expected="UNAUTHENTICATED for "
                  + ("a call without authorization metadata" if authorization is None
                     else f"authorization {authorization!r}"))
