"""The status of an answer, whatever carried it: the gRPC status codes by their names.

Native gRPC, gRPC-Web and Connect each map their own carrier to this one enum, so that a rule
reads `reply.code is Status.UNAUTHENTICATED` on every transport (the model knows no transport).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Status"]


class Status(Enum):
    """gRPC status codes (grpc/grpc `doc/statuscodes.md`): the names are the contract's words, the
    values the numbers on the wire (`grpc-status`)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16
