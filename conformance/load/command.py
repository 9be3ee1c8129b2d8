"""`python -m conformance load`: start the target (embedded) if need be, run Locust locally, as
a master (with worker processes of its own or elsewhere) or as a worker, judge LD-01..LD-04 and
write the outputs. Every run is bounded by --run-time plus a fixed grace; every process it
starts is stopped when it ends, on Ctrl-C and on SIGTERM too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.load import embedded
from conformance.load.judge import Tally
from conformance.load.ledger import Ledger
from conformance.load.options import LoadSettings, parse, usage_exit
from conformance.model.errors import TargetDown, UsageError
from conformance.model.redact import SECRETS
from conformance.reference.faults import FLAVORS
from conformance.transport.client import ChannelSettings
from conformance.transport.tokens import TokenSourceSpec

__all__ = ["main"]

TARGET_DOWN_EXIT = 3
# After --run-time: the most a run takes to stop its users, collect the last reports and write.
STOP_GRACE = 10.0
# Flags of the master's alone, not handed to the worker processes it starts (with their value).
MASTER_ONLY = {"--processes", "-u", "--users", "-r", "--spawn-rate", "-t", "--run-time",
               "--report-dir", "--reference-fault", "--reference-flavor", "--expect-workers",
               "--expect-workers-max-wait", "--master-bind-host", "--master-bind-port"}


@dataclass
class Target:
    label: str
    channel: ChannelSettings
    tokens: TokenSourceSpec
    password: str = ""             # the password token source's (never shown)
    server: embedded.EmbeddedServer | None = None
    worker_argv: list[str] = field(default_factory=list)   # target options for workers
    worker_env: dict[str, str] = field(default_factory=dict)
    reuse_grace: float = 0.0       # the target's declared reuse grace window (LD-01)


def main(argv: list[str]) -> int:
    try:
        settings = parse(argv)
    except UsageError as error:
        return usage_exit(error)
    if not settings.worker:
        settings.run.report_dir.mkdir(parents=True, exist_ok=True)
    try:
        target = _target(settings, argv)
    except TargetDown as error:
        return _down(str(error))
    children: list[subprocess.Popen[bytes]] = []
    try:
        from conformance.load import gevented  # noqa: F401  (patches before Locust runs)
        return _Run(settings, target, argv, children).run()
    except TargetDown as error:
        return _down(str(error))
    except UsageError as error:
        return usage_exit(error)
    except KeyboardInterrupt:
        print("conformance load: interrupted", file=sys.stderr)
        return 130
    finally:
        for child in children:
            _stop(child)
        if target.server is not None:
            target.server.stop()


def _down(message: str) -> int:
    print(SECRETS.scrub(f"conformance load: error: {message}"), file=sys.stderr)
    return TARGET_DOWN_EXIT


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _target(settings: LoadSettings, argv: list[str]) -> Target:
    """The target of the run: the one given, or the embedded server started now."""
    run = settings.run
    worker_argv = _for_workers(argv)
    if run.targets:
        config = run.targets[0]
        password = os.environ.get(config.tokens.secret_env or "", "") \
            if config.tokens.kind == "password" else ""
        SECRETS.remember(password, "password")
        return Target(config.label, config.channel, config.tokens, password,
                      worker_argv=worker_argv, reuse_grace=config.reuse_grace)
    server = embedded.start(run.reference_faults, run.reference_flavors)
    channel = ChannelSettings(server.address, plaintext=True, deadline=run.deadline)
    tokens = TokenSourceSpec("embedded", email=server.email)
    return Target(server.address, channel, tokens, server.password, server,
                  worker_argv=[*worker_argv, "--target", server.address, "--plaintext",
                               "--login-email", server.email, "--login-password-env",
                               embedded.PASSWORD_ENV],
                  worker_env={embedded.PASSWORD_ENV: server.password},
                  # A flavour's window is the embedded server's (as the plugin declares it).
                  reuse_grace=max([0.0, *(FLAVORS[name].reuse_grace
                                          for name in run.reference_flavors)]))


def _for_workers(argv: list[str]) -> list[str]:
    """The command line less the master's own flags: the target and token options, --burst."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        flag = arg.partition("=")[0]
        if flag in MASTER_ONLY:
            skip = "=" not in arg
            continue
        kept.append(arg)
    return kept


class _Run:
    """One load run in this process, in the role its options give it."""

    def __init__(self, settings: LoadSettings, target: Target, argv: list[str],
                 children: list[subprocess.Popen[bytes]]) -> None:
        import gevent.event
        from locust.env import Environment

        from conformance.load.user import RefreshUser, Workload
        from conformance.transport.tokens import CommandSource

        self.settings, self.target, self.argv, self.children = settings, target, argv, children
        self.ledger = Ledger()
        self.tally = Tally()
        self.interrupted = gevent.event.Event()
        source = CommandSource(target.tokens.command) if target.tokens.kind == "command" \
            else None
        RefreshUser.workload = Workload(target.channel, source, target.tokens.email or "",
                                        target.password, settings.burst, self.ledger)
        RefreshUser.host = target.label
        self.environment = Environment(user_classes=[RefreshUser], host=target.label)
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.started = time.monotonic()

    def run(self) -> int:
        import gevent

        for signum in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(signum, self.interrupted.set)
        if self.settings.worker:
            return self._work()
        if self.settings.distributed:
            return self._master()
        self._preflight()
        return self._local()

    # roles ---------------------------------------------------------------------
    def _local(self) -> int:
        runner = self.environment.create_local_runner()
        writer = self._csv()
        runner.start(self.settings.users, self.settings.spawn_rate)
        cause = self._wait_run(lambda: self.ledger.down)
        runner.stop()
        self.ledger.stopped = True
        self.tally.add("local", self.ledger.report())
        return self._finish(writer, cause, workers=0)

    def _master(self) -> int:
        import gevent
        from locust.exception import RPCError
        from locust.runners import WORKER_REPORT_INTERVAL

        settings = self.settings
        host = "127.0.0.1" if settings.processes else settings.master_bind_host
        port = 0 if settings.processes else settings.master_bind_port
        try:
            runner = self.environment.create_master_runner(host, port)
        except SystemExit:   # Locust exits when the port is taken
            raise UsageError(f"--master-bind-port: cannot listen on {host}:{port} (in use?)") \
                from None
        except RPCError as error:   # an address no interface has (zmq's bind failure)
            raise UsageError(f"--master-bind-host: cannot listen on {host}:{port} ({error})") \
                from None

        def on_report(client_id: str, data: dict[str, Any]) -> None:
            if "ld" in data:
                self.tally.add(client_id, data["ld"])

        events: Any = self.environment.events   # Locust's event hooks are untyped
        events.worker_report.add_listener(on_report)
        expected = settings.processes or settings.expect_workers
        # Before this process opens a gRPC channel: gevent's subprocess forks, and a fork of a
        # process whose gRPC threads are polling can abort in the child before it execs.
        for _ in range(settings.processes):
            self.children.append(self._spawn_worker(runner.server.port))
        self._preflight()
        waited = time.monotonic() + settings.expect_workers_max_wait
        while runner.worker_count < expected and time.monotonic() < waited and \
                not self.interrupted.is_set() and not self._child_died():
            gevent.sleep(0.1)
        if runner.worker_count < expected:
            runner.quit()
            died = [str(child.returncode) for child in self.children
                    if child.returncode is not None]
            why = f"a worker process exited (status {', '.join(died)})" if died else \
                f"within {settings.expect_workers_max_wait:g} s (--expect-workers-max-wait)"
            raise TargetDown(self.target.label, f"{runner.worker_count} of {expected} load "
                             f"workers connected: {why}")
        workers = {client.id for client in runner.clients.all}
        writer = self._csv()
        runner.start(settings.users, settings.spawn_rate)
        cause = self._wait_run(lambda: self.tally.down)
        with gevent.Timeout(STOP_GRACE, False):
            runner.stop()
        last = time.monotonic() + 2 * WORKER_REPORT_INTERVAL + 1
        while not self.tally.stopped(workers) and time.monotonic() < last:
            gevent.sleep(0.1)
        if not self.tally.stopped(workers) and not cause:
            cause = "a load worker sent no last report (its part of the run is unknown)"
        runner.quit()
        return self._finish(writer, cause, workers=len(workers))

    def _work(self) -> int:
        import gevent

        settings = self.settings
        try:
            runner = self.environment.create_worker_runner(settings.master_host,
                                                           settings.master_port)
        except ConnectionError:   # Locust's, after its connection retries (about a minute)
            raise TargetDown(f"master {settings.master_host}:{settings.master_port}",
                             "the load master did not answer") from None
        events: Any = self.environment.events

        def on_report(client_id: str, data: dict[str, Any]) -> None:
            data["ld"] = self.ledger.report()

        def on_start(**_: Any) -> None:
            self.ledger.stopped = False

        def on_stop(**_: Any) -> None:
            self.ledger.stopped = True

        events.report_to_master.add_listener(on_report)
        events.test_start.add_listener(on_start)
        events.test_stop.add_listener(on_stop)
        while len(runner.greenlet) and not self.interrupted.is_set():   # until the master quits
            gevent.sleep(0.2)
        runner.quit()
        return 0

    # helpers -------------------------------------------------------------------
    def _preflight(self) -> None:
        """One login (or token command) before the load: the target answers and mints."""
        from conformance.load.user import RefreshUser

        user = RefreshUser(self.environment)
        family = user.mint()
        if family is None:
            codes = ", ".join(f"{key}: {n}" for key, n in sorted(self.ledger.codes.items()))
            raise TargetDown(self.target.label, "no token could be minted before the load "
                             f"({codes or 'the token command failed'})")
        self.ledger.codes.clear()
        self.ledger.families = 0
        self.ledger.no_answer_run = 0

    def _wait_run(self, down: Any) -> str:
        """Sleep out --run-time; end early when the target is down or on Ctrl-C."""
        import gevent

        until = time.monotonic() + self.settings.run_time
        while time.monotonic() < until:
            if self.interrupted.is_set():
                return "the run was interrupted before --run-time"
            if down():
                return str(down())
            gevent.sleep(0.1)
        return ""

    def _child_died(self) -> bool:
        return any(child.poll() is not None for child in self.children)

    def _spawn_worker(self, port: int) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "conformance", "load", *self.target.worker_argv,
                "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                env={**os.environ, **self.target.worker_env})

    def _csv(self) -> Any:
        import gevent
        from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter

        from conformance.load.outputs import CSV_PREFIX

        writer = StatsCSVFileWriter(self.environment, PERCENTILES_TO_REPORT,
                                    str(self.settings.run.report_dir / CSV_PREFIX))
        return writer, gevent.spawn(writer.stats_writer)

    def _finish(self, writer: Any, cause: str, *, workers: int) -> int:
        import gevent
        from locust.stats import CSV_STATS_INTERVAL_SEC

        from conformance.load import outputs

        csv_writer, greenlet = writer
        gevent.sleep(CSV_STATS_INTERVAL_SEC)   # one more pass of Locust's CSV writer
        greenlet.kill()
        csv_writer.close_files()
        seconds = time.monotonic() - self.started
        judgements = self.tally.judge(self.settings.reproduce, cause, self.target.reuse_grace)
        stats = self.environment.runner.stats if self.environment.runner else None
        figures = outputs.rpc_figures(stats)
        results = outputs.record(self.target.label, judgements, cause, figures["calls"])
        load = {"users": self.settings.users, "spawn_rate": self.settings.spawn_rate,
                "run_time_s": self.settings.run_time, "burst": self.settings.burst,
                "workers": workers, "bursts": self.tally.total("bursts"),
                "families": self.tally.total("families"),
                "throughput": figures}
        report_dir: Path = self.settings.run.report_dir
        outputs.write_results(report_dir / outputs.RESULTS_FILE, results,
                              started_at=self.started_at, duration_s=seconds, load=load)
        outputs.write_html(report_dir / outputs.HTML_FILE, self.environment)
        outputs.summary(results, load)
        if cause and results.exit_code() == TARGET_DOWN_EXIT:
            return _down(f"target {self.target.label} could not be evaluated: {cause}")
        return results.exit_code()


