"""RT-21's clock: an access token issued early in the run, and when it is due to have expired.

The token is taken from a refresh at the start of the run and judged after the other checks
(plugin.RUN_PHASES), so that its lifetime runs out while they run instead of after them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from numbers import Real

from conformance.rules.token_analysis import parse_jws

__all__ = ["EXPIRY_MARGIN", "ExpiryClock", "start_clock"]

# The suite starts the clock when the response arrives, which is after the server issued the
# token; a JWT's `exp` is in whole seconds. This margin keeps a correct server from being judged
# a moment before its own instant.
EXPIRY_MARGIN = 1.0


@dataclass(frozen=True)
class ExpiryClock:
    """An access token and the instants that bound its life, on the suite's monotonic clock."""

    access_token: str
    expires_in: int
    received: float               # time.monotonic() when the refresh response arrived
    exp_after: float | None       # a JWT's `exp`, in seconds after `received` (our clock)
    leeway: float                 # the target's declared clock-skew leeway

    @property
    def lifetime(self) -> float:
        """Seconds after issue until the token ends: `exp` is the authority when earlier."""
        if self.exp_after is not None and self.exp_after < self.expires_in:
            return round(max(0.0, self.exp_after), 1)
        return float(self.expires_in)

    @property
    def authority(self) -> str:
        if self.exp_after is not None and self.exp_after < self.expires_in:
            return f"its JWT exp, {max(0.0, self.exp_after):.0f} s after issue, earlier than " \
                   f"expires_in {self.expires_in}"
        return f"expires_in {self.expires_in}"

    @property
    def wait(self) -> float:
        """What RT-21 has to wait after issue: the lifetime and the declared leeway."""
        return self.lifetime + self.leeway

    def due(self) -> float:
        """The monotonic instant from which the token must be refused."""
        return self.received + self.wait + EXPIRY_MARGIN

    def since_issue(self) -> float:
        return time.monotonic() - self.received


def start_clock(access_token: str, expires_in: int, received: float, leeway: float,
                wall_at_receipt: float) -> ExpiryClock:
    """The clock of a token received at monotonic `received` (wall clock `wall_at_receipt`).
    A JWT's `exp` is read against our clock and against its own `iat` (RFC 9068 §2.2 requires
    it; both the server's clock, which may run behind ours), and the later end is taken: a
    clock that runs behind, or an `iat` in milliseconds, never has a token judged early."""
    exp_after = None
    parsed = parse_jws(access_token)
    claims = parsed[1] if parsed else {}
    exp, iat = _instant(claims.get("exp")), _instant(claims.get("iat"))
    if exp is not None:
        exp_after = max(exp - wall_at_receipt, exp - iat if iat is not None else -math.inf)
    return ExpiryClock(access_token, expires_in, received, exp_after, leeway)


def _instant(claim: object) -> float | None:
    """A NumericDate claim (RFC 7519 §2), else None."""
    if isinstance(claim, Real) and not isinstance(claim, bool) and math.isfinite(float(claim)):
        return float(claim)
    return None
