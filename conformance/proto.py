"""The contract's generated messages and stub under short names (the code is in _generated)."""

from conformance._generated.user_api.v1 import user_pb2 as pb
from conformance._generated.user_api.v1 import user_pb2_grpc as pb_grpc

SERVICE = "user_api.v1.UserApiService"
REFRESH_METHOD = f"/{SERVICE}/RefreshAccessToken"
LOGIN_METHOD = f"/{SERVICE}/AuthnWithPassword"
GET_ME_METHOD = f"/{SERVICE}/GetMe"

__all__ = ["GET_ME_METHOD", "LOGIN_METHOD", "REFRESH_METHOD", "SERVICE", "pb", "pb_grpc"]
