"""The load command's options: the suite's target and token options, and Locust's own (names as
Locust's), validated into LoadSettings; UsageError (exit 2) names the problem in one line."""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from typing import NoReturn

from conformance.model.errors import UsageError
from conformance.model.redact import redact
from conformance.run.options import RunSettings, add_options, settings_from

__all__ = ["LoadSettings", "parse"]

DEFAULT_RUN_TIME = 30.0
DEFAULT_MASTER_PORT = 5557        # Locust's
DEFAULT_EXPECT_WORKERS_WAIT = 60.0
MAX_BURST = 64
# The default spawn rate: all users at once, up to the rate above which Locust warns.
MAX_SPAWN_RATE = 100
_TIMESPAN = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?")


@dataclass(frozen=True)
class LoadSettings:
    run: RunSettings            # targets (empty: the embedded server), deadline, report dir
    users: int
    spawn_rate: float
    run_time: float             # seconds
    burst: int
    processes: int              # 0: one process, no master; N: a master and N worker processes
    master: bool
    expect_workers: int
    expect_workers_max_wait: float
    worker: bool
    master_host: str
    master_port: int
    master_bind_host: str
    master_bind_port: int
    reproduce: str              # the command line that repeats this run (no secret in it)

    @property
    def distributed(self) -> bool:
        return self.master or self.processes > 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m conformance load", allow_abbrev=False,
                description="The LD requirements under sustained load, driven by Locust. "
                "Without --target the embedded reference server is started in a process of "
                "its own and certified.")
    add_options(p.add_argument)
    locust = p.add_argument_group("load (Locust's option names)")
    locust.add_argument("-u", "--users", type=int, help="simulated users, each owning a token "
                        "family at a time (default 20)")
    locust.add_argument("-r", "--spawn-rate", type=float, help="users started per second "
                        f"(default: all at once, at most {MAX_SPAWN_RATE} a second)")
    locust.add_argument("-t", "--run-time", help="how long the load runs: 30, 30s, 2m, 1h30m "
                        f"(default {DEFAULT_RUN_TIME:.0f}s)")
    locust.add_argument("--burst", type=int, default=8, help="K simultaneous refreshes of one "
                        "token, fired now and then by each user (default 8)")
    locust.add_argument("--processes", type=int, help="a master and N worker processes on this "
                        "machine")
    locust.add_argument("--master", action="store_true", help="wait for --expect-workers "
                        "workers (started elsewhere with --worker), then drive and judge them")
    locust.add_argument("--expect-workers", type=int, help="with --master: workers to wait for "
                        "(default 1)")
    locust.add_argument("--expect-workers-max-wait", type=float, help="seconds the master waits "
                        f"for them (default {DEFAULT_EXPECT_WORKERS_WAIT:.0f}); then exit 3")
    locust.add_argument("--master-bind-host", default="*", help="with --master: interface to "
                        "listen on (default all)")
    locust.add_argument("--master-bind-port", type=int, help="with --master: port to listen on "
                        f"(default {DEFAULT_MASTER_PORT})")
    locust.add_argument("--worker", action="store_true", help="a worker: run the users the "
                        "master gives it, report to it")
    locust.add_argument("--master-host", help="with --worker: the master's host")
    locust.add_argument("--master-port", type=int, help="with --worker: the master's port "
                        f"(default {DEFAULT_MASTER_PORT})")
    return p


def parse_run_time(value: str | None) -> float:
    if value is None:
        return DEFAULT_RUN_TIME
    found = _TIMESPAN.fullmatch(value.strip())
    if not value.strip() or found is None:
        raise UsageError(f"--run-time: {value!r} is not a time span such as 30, 30s, 2m, 1h30m")
    hours, minutes, seconds = found.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise UsageError(f"--run-time: {value!r} must be longer than 0 s")
    return total


def _positive(name: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if not 0 < value < math.inf:   # inf: Locust's traceback (spawn rate), an endless wait
        raise UsageError(f"{name}: {value!r} must be a positive finite number")
    return value


def _contradictions(a: argparse.Namespace) -> None:
    roles = [name for name, given in (("--processes", a.processes is not None),
                                      ("--master", a.master), ("--worker", a.worker)) if given]
    if len(roles) > 1:
        raise UsageError(f"{' and '.join(roles)} exclude each other")
    for flag, given, role in (("--expect-workers", a.expect_workers, "--master"),
                              ("--master-bind-port", a.master_bind_port, "--master"),
                              ("--master-host", a.master_host, "--worker"),
                              ("--master-port", a.master_port, "--worker")):
        if given is not None and not (a.master if role == "--master" else a.worker):
            raise UsageError(f"{flag} needs {role}")
    if a.expect_workers_max_wait is not None and not (a.master or a.processes):
        raise UsageError("--expect-workers-max-wait needs --master or --processes")
    if a.worker:
        given = [flag for flag, value in (("--users", a.users), ("--spawn-rate", a.spawn_rate),
                                          ("--run-time", a.run_time)) if value is not None]
        if given:
            raise UsageError(f"--worker: {', '.join(given)} belong to the master, which decides")
        if not a.master_host:
            raise UsageError("--worker needs --master-host HOST")
        if not a.conformance_targets and not a.conformance_targets_file:
            raise UsageError("--worker needs --target and the token options (each worker reads "
                             "its secrets from its own environment)")
    if a.master and not (a.conformance_targets or a.conformance_targets_file):
        raise UsageError("--master needs --target: workers on other machines cannot reach the "
                         "embedded server (use --processes N on one machine)")


def parse(argv: list[str]) -> LoadSettings:
    a = parser().parse_args(argv)
    _contradictions(a)
    run = settings_from(lambda dest: getattr(a, dest))
    if run.reference_faults or run.reference_flavors:
        from conformance.reference.faults import unknown_switches  # the server's whole package

        problem = unknown_switches(run.reference_faults, run.reference_flavors)
        if problem:
            raise UsageError(problem)
    if len(run.targets) > 1:
        raise UsageError("load: give one target (a load run judges one target)")
    if run.targets and run.targets[0].tokens.kind == "static":
        raise UsageError("load: --refresh-token-env holds one token, and the load needs a "
                         "token family per user; use --login-email or --token-command")
    if not 2 <= a.burst <= MAX_BURST:
        raise UsageError(f"--burst: {a.burst} must be from 2 to {MAX_BURST}")
    users = int(_positive("--users", a.users, 20))
    processes = int(_positive("--processes", a.processes, 0)) if a.processes is not None else 0
    for flag, port in (("--master-port", a.master_port), ("--master-bind-port",
                                                          a.master_bind_port)):
        if port is not None and not 0 < port < 65536:
            raise UsageError(f"{flag}: {port} is not a port (1-65535)")
    return LoadSettings(
        run=run, users=users,
        spawn_rate=_positive("--spawn-rate", a.spawn_rate, float(min(users, MAX_SPAWN_RATE))),
        run_time=parse_run_time(a.run_time), burst=a.burst, processes=processes,
        master=a.master, expect_workers=int(_positive("--expect-workers", a.expect_workers, 1)),
        expect_workers_max_wait=_positive("--expect-workers-max-wait",
                                          a.expect_workers_max_wait,
                                          DEFAULT_EXPECT_WORKERS_WAIT),
        worker=a.worker, master_host=a.master_host or "",
        master_port=a.master_port or DEFAULT_MASTER_PORT, master_bind_host=a.master_bind_host,
        master_bind_port=a.master_bind_port or DEFAULT_MASTER_PORT,
        reproduce="python -m conformance load " + " ".join(_quoted(_shown(argv))))


def _shown(argv: list[str]) -> list[str]:
    """argv as the reports may show it: a --metadata value (an API gateway key, say) redacted,
    as the main run's grpcurl lines show it."""
    shown: list[str] = []
    for arg in argv:
        if shown and shown[-1] == "--metadata":
            arg = _redacted_pair(arg)
        elif arg.startswith("--metadata="):
            arg = "--metadata=" + _redacted_pair(arg.removeprefix("--metadata="))
        shown.append(arg)
    return shown


def _redacted_pair(pair: str) -> str:
    key, sep, value = pair.partition("=")
    return f"{key}={redact(value, 'value')}" if sep else pair


def _quoted(argv: list[str]) -> list[str]:
    import shlex
    return [shlex.quote(arg) for arg in argv]


def usage_exit(error: UsageError) -> int:
    print(f"conformance load: usage error: {error}", file=sys.stderr)
    return 2
