"""CT: contract and transport."""

from __future__ import annotations

import pytest

from conformance.errors import CannotEvaluate
from conformance.proto import REFRESH_METHOD
from conformance.target import TargetSession
from conformance.violations import ensure


@pytest.mark.requirement("CT-01")
def test_ct01_refresh_is_served_at_its_full_path(target: TargetSession) -> None:
    """CT-01: RefreshAccessToken is a unary RPC at /user_api.v1.UserApiService/RefreshAccessToken,
    and a valid refresh token gets status OK within the deadline (api.md, RPCs)."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    ensure(reply.ok, "Valid refresh token not answered OK",
           expected=f"status OK from {REFRESH_METHOD} within {target.config.channel.deadline:g} s",
           received=f"{reply.status} after {reply.elapsed:.2f} s", reply=reply)


@pytest.mark.requirement("CT-02")
def test_ct02_ok_response_has_user_and_auth_token(target: TargetSession) -> None:
    """CT-02: an OK RefreshAccessTokenResponse has both `user` (1) and `auth_token` (2) set
    (api.md, Messages)."""
    reply = target.refresh(target.fresh_tokens().refresh_token)
    if not reply.ok or reply.response is None:
        raise CannotEvaluate(f"precondition failed: refresh answered {reply.status} (see CT-01)")
    missing = [name for name in ("user", "auth_token") if not reply.response.HasField(name)]
    ensure(not missing, "OK refresh response lacks user or auth_token",
           expected="both `user` and `auth_token` set", received=f"missing: {', '.join(missing)}",
           reply=reply)
