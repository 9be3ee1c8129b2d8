"""The reference implementation of the three RPCs, with hooks for the named faults."""

from __future__ import annotations

import re
import secrets
import time
import uuid as uuid_lib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import jwt
from google.protobuf import json_format
from google.protobuf.unknown_fields import UnknownFieldSet

from conformance.proto import pb, pb_grpc
from conformance.reference import mutations
from conformance.reference.store import RotationOutcome, Store, StoredUser

__all__ = ["Behaviour", "UserApiServicer"]

# One message for every failed credential, so the answer is no oracle (RFC 6749 §5.2).
INVALID_GRANT = "invalid refresh token"
INVALID_BEARER = "missing or invalid bearer token"
MAX_TOKEN_LENGTH = 4096
VSCHAR = re.compile(r"[\x20-\x7e]+")
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 7235).
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")

Request = TypeVar("Request")
Response = TypeVar("Response")


@dataclass(frozen=True)
class Behaviour:
    """What the servicer does: correct by default; faults and flavours switch parts of it."""

    faults: frozenset[str] = frozenset()
    flavors: frozenset[str] = frozenset()
    access_token_lifetime: int = 900
    reuse_grace: float = 0.0
    latency: float = 0.0


def _with_latency(method: Callable[[Any, Request, grpc.ServicerContext], Response],
                  ) -> Callable[[Any, Request, grpc.ServicerContext], Response]:
    def timed(self: UserApiServicer, request: Request, context: grpc.ServicerContext) -> Response:
        if self.behaviour.latency:
            time.sleep(self.behaviour.latency)
        return method(self, request, context)
    return timed


class UserApiServicer(pb_grpc.UserApiServiceServicer):
    def __init__(self, store: Store, behaviour: Behaviour) -> None:
        self.store = store
        self.behaviour = behaviour
        self._jwt_key = secrets.token_bytes(32)
        self._switches = behaviour.faults | behaviour.flavors

    def fault(self, name: str) -> bool:
        return name in self.behaviour.faults

    def flavor(self, name: str) -> bool:
        return name in self.behaviour.flavors

    # RPCs ------------------------------------------------------------------
    @_with_latency
    def AuthnWithPassword(self, request: pb.AuthnWithPasswordRequest,
                          context: grpc.ServicerContext) -> pb.AuthnWithPasswordResponse:
        if not request.email or not request.password:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "email and password are required")
        user = self.store.authenticate(request.email, request.password)
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid credentials")
        refresh_token = self._new_refresh_token()
        self.store.add_refresh_token(refresh_token, user.uuid, family_id=str(uuid_lib.uuid4()))
        return pb.AuthnWithPasswordResponse(
            user=self._user_message(user), auth_token=self._auth_token(user, refresh_token))

    @_with_latency
    def RefreshAccessToken(self, request: pb.RefreshAccessTokenRequest,
                           context: grpc.ServicerContext) -> pb.RefreshAccessTokenResponse:
        if self.fault("refresh-unimplemented"):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented")
        if self.fault("request-unknown-field-rejected") and len(UnknownFieldSet(request)):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown field in request")
        presented = request.refresh_token
        if not presented:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refresh_token is required")
        # Under that fault the server issues non-VSCHAR refresh tokens, and accepts its own.
        if len(presented) > MAX_TOKEN_LENGTH or not (
                VSCHAR.fullmatch(presented) or self.fault("refresh-token-not-vschar")):
            code = (grpc.StatusCode.INVALID_ARGUMENT if self.flavor("invalid-argument-for-malformed")
                    else grpc.StatusCode.UNAUTHENTICATED)
            context.abort(code, INVALID_GRANT)
        successor = self._new_refresh_token()
        rotation = self.store.rotate(presented, successor, reuse_grace=self.behaviour.reuse_grace)
        if rotation.outcome is not RotationOutcome.ROTATED:
            code = grpc.StatusCode.UNAUTHENTICATED
            if rotation.outcome is RotationOutcome.UNKNOWN and self.fault(
                    "unknown-refresh-token-permission-denied"):
                code = grpc.StatusCode.PERMISSION_DENIED
            context.abort(code, INVALID_GRANT)
        assert rotation.user_uuid is not None
        user = self.store.user(rotation.user_uuid)
        if user is None:  # the user was deleted after the token was issued
            context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_GRANT)
        auth_token = self._auth_token(user, successor, usable=not self.fault(
            "refreshed-access-token-unusable"))
        if self.fault("refresh-empty-access-token"):
            auth_token.token = ""
        response = pb.RefreshAccessTokenResponse(auth_token=auth_token)
        if not self.fault("refresh-omits-user"):
            response.user.CopyFrom(self._user_message(user))
        return response

    @_with_latency
    def GetMe(self, request: pb.GetMeRequest, context: grpc.ServicerContext) -> pb.GetMeResponse:
        authorization = dict(context.invocation_metadata()).get("authorization")
        if authorization is None and self.fault("get-me-without-authorization-ok"):
            user = self.store.any_user()
            if user is not None:
                return pb.GetMeResponse(user=self._user_message(user))
        match = BEARER.fullmatch(authorization or "")
        user_uuid = self.store.access_token_user(match.group(1)) if match else None
        user = self.store.user(user_uuid) if user_uuid else None
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_BEARER)
        return pb.GetMeResponse(user=self._user_message(user))

    # helpers ---------------------------------------------------------------
    def _new_refresh_token(self) -> str:
        # 256 bits from the OS CSPRNG
        return mutations.issued_refresh_token(secrets.token_urlsafe(32), self._switches)

    def _new_access_token(self, user: StoredUser) -> str:
        if self.flavor("jwt-access-tokens"):
            now = int(time.time())
            claims = {"sub": user.uuid, "iat": now, "exp": now + self.behaviour.access_token_lifetime,
                      "jti": secrets.token_urlsafe(16)}
            return jwt.encode(claims, self._jwt_key, algorithm="HS256")
        return secrets.token_urlsafe(32)

    def _auth_token(self, user: StoredUser, refresh_token: str, *, usable: bool = True,
                    ) -> pb.AuthToken:
        access_token = mutations.issued_access_token(self._new_access_token(user), refresh_token,
                                                     self._switches)
        if usable:
            self.store.add_access_token(access_token, user.uuid, self.behaviour.access_token_lifetime)
        auth_token = pb.AuthToken(token=access_token, token_type="Bearer",
                                  expires_in=self.behaviour.access_token_lifetime,
                                  refresh_token=refresh_token)
        return mutations.rewrite_auth_token(auth_token, self._switches)

    def _user_message(self, user: StoredUser) -> pb.User:
        message = pb.User(uuid=user.uuid, email=user.email)
        profile = dict(user.profile)
        metadata = profile.pop("metadata", None)
        json_format.ParseDict(profile, message, ignore_unknown_fields=False)
        if metadata:
            message.metadata.update(metadata)
        return mutations.rewrite_user(message, self._switches)
