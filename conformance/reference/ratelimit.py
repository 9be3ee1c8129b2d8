"""Flavour login-throttled: a sandbox's login rate limit, answered the standard way (gRPC
RESOURCE_EXHAUSTED with a google.rpc.RetryInfo saying when to retry, AIP-194)."""

from __future__ import annotations

import math
import threading
import time

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = ["LOGINS_PER_SECOND", "TokenBucket", "throttled"]

LOGINS_PER_SECOND = 8.0


class TokenBucket:
    """`rate` calls a second with bursts of up to `rate`: take() spends one call, or says how
    long until one is available."""

    def __init__(self, rate: float = LOGINS_PER_SECOND) -> None:
        self.rate, self.capacity = rate, rate
        self._tokens, self._at = rate, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when the call is admitted, else the seconds until the next one would be."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate


def throttled(delay: float) -> grpc.Status:
    """RESOURCE_EXHAUSTED with RetryInfo(retry_delay) in grpc-status-details-bin."""
    millis = max(1, math.ceil(delay * 1000))
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
        seconds=millis // 1000, nanos=(millis % 1000) * 1_000_000))
    detail = any_pb2.Any()
    detail.Pack(retry)
    return rpc_status.to_status(status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED, message="too many logins; retry later",
        details=[detail]))
