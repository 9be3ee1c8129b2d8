"""The contract's generated messages and its method paths under short names (the code is in
_generated; the stubs, which need grpc, are conformance.transport.stubs)."""

from conformance._generated.user_api.v1 import user_pb2 as pb

SERVICE = "user_api.v1.UserApiService"
REFRESH_METHOD = f"/{SERVICE}/RefreshAccessToken"
LOGIN_METHOD = f"/{SERVICE}/AuthnWithPassword"
GET_ME_METHOD = f"/{SERVICE}/GetMe"

__all__ = ["GET_ME_METHOD", "LOGIN_METHOD", "REFRESH_METHOD", "SERVICE", "pb"]
