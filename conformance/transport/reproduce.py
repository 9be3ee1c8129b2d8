"""Reproduce lines a user can paste: a request body too long for one shell argument (over 100 KiB,
such as FZ-06's 1 MiB token) is written to the command's standard input by the line itself (the
client reads it with `-d @`), its long runs of one character made by `head -c N /dev/zero | tr`,
so that the line stays short and reruns exactly."""

from __future__ import annotations

import re
import shlex

__all__ = ["LONGEST_ARGUMENT", "stdin_body"]

# One shell argument the line may carry as it is; above it the body goes through stdin.
LONGEST_ARGUMENT = 100 * 1024
# A run of one safe character this long is made in the shell rather than written out.
_RUN = re.compile(r"([A-Za-z0-9])\1{1023,}")


def stdin_body(body: str) -> str | None:
    """A shell command group that writes `body` to standard output (`{ ...; }`), or None when
    the body fits one argument."""
    if len(body) <= LONGEST_ARGUMENT:
        return None
    parts: list[str] = []
    at = 0
    for run in _RUN.finditer(body):
        parts += _literal(body[at:run.start()])
        parts.append(f"head -c {run.end() - run.start()} /dev/zero | tr '\\0' "
                     f"{shlex.quote(run.group(1))}")
        at = run.end()
    parts += _literal(body[at:])
    return "{ " + "; ".join(parts) + "; }"


def _literal(text: str) -> list[str]:
    """printf commands for `text`, each argument well under the kernel's 128 KiB a one."""
    step = LONGEST_ARGUMENT // 2
    return [f"printf '%s' {shlex.quote(text[at:at + step])}" for at in range(0, len(text), step)]
