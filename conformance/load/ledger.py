"""What one load process saw of the target, kept for judging: hashes of the refresh tokens each
OK refresh accepted (never the tokens themselves) and counts. A worker sends it to the master in
Locust's worker reports; a single process judges its own."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NO_ANSWER", "SERVER_ERRORS", "SHED", "Ledger", "shown", "token_hash"]

# gRPC status names, as the catalogue's LD rows list them.
NO_ANSWER = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})         # LD-02: rotated or not?
SHED = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"})  # LD-04
SERVER_ERRORS = frozenset({"INTERNAL", "UNKNOWN", "DATA_LOSS"})    # LD-03
# This many calls in a row without an answer (across the process's users): the target is down,
# and the run ends at once instead of at --run-time.
DOWN_AFTER = 20


def token_hash(token: str) -> str:
    """128 bits of the token's SHA-256: what the ledger keeps and sends (no collision among the
    millions of tokens of a long run), never the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def shown(digest: str) -> str:
    """The redacted form every output uses (conformance.model.redact.redact gives the same)."""
    return f"<token sha256:{digest[:8]}>"


@dataclass
class Ledger:
    """Thread- and greenlet-safe record of one process's calls, drained into reports."""

    _accepted: list[str] = field(default_factory=list)   # since the last report
    codes: Counter[str] = field(default_factory=Counter)  # "RPC STATUS" -> calls
    examples: dict[str, str] = field(default_factory=dict)  # requirement -> first example
    ld02_judged: int = 0      # sequential refreshes of clean families (LD-02's population)
    ld02_rejected: int = 0
    bursts: int = 0
    families: int = 0
    no_answer_run: int = 0    # calls in a row without an answer
    down: str = ""            # why the target is taken for down ("" while it answers)
    stopped: bool = False     # this process's users are stopped: its next report is its last
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, rpc: str, code: str) -> None:
        with self._lock:
            self.codes[f"{rpc} {code}"] += 1
            if code in SERVER_ERRORS:
                self.examples.setdefault("LD-03", f"{rpc} answered {code}")
            self.no_answer_run = self.no_answer_run + 1 if code in NO_ANSWER else 0
            if self.no_answer_run >= DOWN_AFTER and not self.down:
                self.down = f"the target stopped answering: {DOWN_AFTER} calls in a row got " \
                    f"no answer (the last: {rpc} {code})"

    def accept(self, presented: str) -> None:
        """An OK refresh of `presented`: LD-01 counts these per token across every process."""
        with self._lock:
            self._accepted.append(token_hash(presented))

    def sequential(self, rejected: str | None, presented: str) -> None:
        """A sequential refresh with the newest token of a clean family (LD-02): `rejected` is
        the status it was refused with, None when it rotated."""
        with self._lock:
            self.ld02_judged += 1
            if rejected is not None:
                self.ld02_rejected += 1
                self.examples.setdefault(
                    "LD-02", f"the newest refresh token {shown(token_hash(presented))} of a "
                    f"family with no replay, burst, shed or unanswered call got {rejected}")

    def count(self, *, bursts: int = 0, families: int = 0) -> None:
        with self._lock:
            self.bursts += bursts
            self.families += families

    def report(self) -> dict[str, Any]:
        """The accepted hashes since the last report, and every count so far (a JSON-able dict
        for Locust's worker report)."""
        with self._lock:
            accepted, self._accepted = self._accepted, []
            return {"accepted": accepted, "codes": dict(self.codes),
                    "examples": dict(self.examples), "ld02_judged": self.ld02_judged,
                    "ld02_rejected": self.ld02_rejected, "bursts": self.bursts,
                    "families": self.families, "down": self.down, "stopped": self.stopped}
