"""`python -m conformance load` (LD-01..LD-04 on Locust): short runs against the embedded
reference server and its load-only faults, a master with workers, bad input and dying targets.
Each run is a few seconds; the whole file stays well under two minutes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.load import embedded
from conformance.load import options as load_options
from conformance.load.judge import LD_IDS, Tally
from conformance.load.ledger import Ledger
from conformance.model.catalogue import Level, catalogue
from conformance.model.results import Outcome, Results
from conformance.reference.faults import FAULTS
from tests.conftest import SuiteRun

ROOT = Path(__file__).resolve().parent.parent
# Bounds every load run of these tests (a short --run-time plus the fixed grace, and start-up).
LOAD_TIMEOUT = 60
SHORT = ("--run-time", "3", "--users", "12")
LOAD_RESULTS = "load-results.json"


def run_load(report_dir: Path, *args: str, env: dict[str, str] | None = None,
             timeout: float = LOAD_TIMEOUT) -> SuiteRun:
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "load", "--report-dir", str(report_dir), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})})
    return SuiteRun(done.returncode, done.stdout, done.stderr, report_dir, LOAD_RESULTS)


@pytest.fixture
def load(tmp_path: Path) -> Any:
    counter = iter(range(100))

    def run(*args: str, **kwargs: Any) -> SuiteRun:
        return run_load(tmp_path / f"load-{next(counter)}", *args, **kwargs)

    return run


def test_the_embedded_reference_server_passes_every_ld_requirement(load: Any) -> None:
    run = load(*SHORT)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outcomes() == dict.fromkeys(("LD-01", "LD-02", "LD-03", "LD-04"), "pass")
    target = run.results["targets"][0]
    assert target["verdict"] == "conformant"
    figures = target["load"]["throughput"]["by_rpc"]
    assert set(figures) == {"AuthnWithPassword", "RefreshAccessToken", "GetMe"}
    assert all(f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"] for f in figures.values())
    assert target["load"]["bursts"] > 0
    written = {path.name for path in run.report_dir.iterdir()}
    assert {"load-results.json", "load.html", "load_stats.csv", "load_failures.csv",
            "load_stats_history.csv"} <= written


def test_a_declared_reuse_grace_skips_ld01_and_the_rest_is_judged(load: Any) -> None:
    """The bursts' simultaneous uses of one token fall within the window (RT-14 skips too)."""
    run = load(*SHORT, "--reference-flavor", "reuse-grace-1s")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outcomes() == {"LD-01": "skip", "LD-02": "pass", "LD-03": "pass",
                              "LD-04": "pass"}
    assert "reuse grace window of 1 s is declared" in run.results["targets"][0][
        "requirements"][0]["message"]


GATEWAY_KEY = "gateway-key-5e3f1c"


def test_no_password_or_token_in_any_output(load: Any, reference: Any) -> None:
    """The password the run logs in with, a --metadata value (an API gateway key), and any
    string of the reference server's token shape appear in no output file nor on the console."""
    run = load(*SHORT, "--target", reference.address, "--plaintext", "--login-email",
               reference.options.email, "--login-password-env", "LOAD_PASSWORD",
               "--metadata", f"x-api-key={GATEWAY_KEY}",
               env={"LOAD_PASSWORD": reference.options.password})
    assert run.exit_code == 0, run.stdout + run.stderr
    texts = {path.name: path.read_text() for path in run.report_dir.iterdir()}
    texts["console"] = run.stdout + run.stderr
    for name, text in texts.items():
        assert reference.options.password not in text, name
        assert GATEWAY_KEY not in text, name
        if name != "load.html":  # Locust's bundled scripts hold long identifiers
            assert not re.search(r"(?<![\w-])[\w-]{43}(?![\w-])", text), name


def test_the_reproduce_line_shows_a_metadata_value_redacted(monkeypatch: Any) -> None:
    """What LD findings give as the command that repeats the run shows --metadata values (API
    gateway keys) redacted, in both spellings, as the main run's grpcurl lines do."""
    monkeypatch.setenv("LOAD_PASSWORD", "pw")
    settings = load_options.parse([
        "--target", "127.0.0.1:1", "--plaintext", "--login-email", "qa@example.com",
        "--login-password-env", "LOAD_PASSWORD", "--metadata", f"x-api-key={GATEWAY_KEY}",
        f"--metadata=x-other={GATEWAY_KEY}2"])
    assert GATEWAY_KEY not in settings.reproduce
    assert "x-api-key=<value sha256:" in settings.reproduce
    assert "--metadata=x-other=<value sha256:" in settings.reproduce


LOAD_FAULTS = sorted(name for name, fault in FAULTS.items() if fault.load_only)
# Enough users, over an imitated network of NETWORK_MS, that the servicer holds
# LOAD_CONTENTION calls at once, as the LD faults need, however fast the machine is (calls in
# flight are the calls a second times their time: a busy machine's slow server, or a quiet
# one's network).
CONTENDED = ("--run-time", "4", "--users", "48")
NETWORK_MS = 30


@pytest.mark.parametrize("fault", LOAD_FAULTS)
def test_each_load_fault_trips_exactly_its_ld_requirement(load: Any, server_process: Any,
                                                          fault: str) -> None:
    server = server_process(fault, latency_ms=NETWORK_MS)
    run = load(*CONTENDED, *_target_args(server), env={embedded.PASSWORD_ENV: server.password})
    assert run.tripped() == FAULTS[fault].breaks, run.stdout
    must = any(catalogue()[rid].level is Level.MUST for rid in FAULTS[fault].breaks)
    assert run.exit_code == (1 if must else 0), run.stdout + run.stderr
    assert "error" not in run.outcomes().values(), run.stdout


def test_the_contended_correct_server_passes(load: Any, server_process: Any) -> None:
    """The load the faults are caught at, on the correct server: no false failure."""
    server = server_process(latency_ms=NETWORK_MS)
    run = load(*CONTENDED, *_target_args(server), env={embedded.PASSWORD_ENV: server.password})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert set(run.outcomes().values()) == {"pass"}, run.stdout


def test_an_ordinary_run_skips_ld_and_says_which_command_judges_it() -> None:
    results = Results(["t"])
    rows = {row.requirement.id: row for row in results.requirements("t")}
    for rid in LD_IDS:
        assert rows[rid].outcome is Outcome.SKIP
        assert rows[rid].message == "run `python -m conformance load`"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server_process() -> Any:
    """Reference servers in processes of their own (as the load command starts its own)."""
    started: list[embedded.EmbeddedServer] = []

    def start(*faults: str, latency_ms: int = 0) -> embedded.EmbeddedServer:
        started.append(embedded.start(frozenset(faults), frozenset(), latency_ms))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _target_args(server: embedded.EmbeddedServer) -> tuple[str, ...]:
    return ("--target", server.address, "--plaintext", "--login-email", server.email,
            "--login-password-env", embedded.PASSWORD_ENV)


def test_a_master_with_two_workers_gives_the_verdict_of_one_process(
        load: Any, server_process: Any, tmp_path: Path) -> None:
    """The master judges from its workers' reports (hashes of accepted tokens, counts): the race
    fault trips LD-01 alone, as in one process."""
    server = server_process("load-check-then-spend-race", latency_ms=NETWORK_MS)
    target, env = _target_args(server), {embedded.PASSWORD_ENV: server.password}
    contended = CONTENDED
    single = load(*contended, *target, env=env)
    port = str(_free_port())
    worker_argv = [sys.executable, "-m", "conformance", "load", *target, "--worker",
                   "--master-host", "127.0.0.1", "--master-port", port]
    workers = [subprocess.Popen(worker_argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, **env}) for _ in range(2)]
    try:
        master = load(*contended, *target, "--master", "--expect-workers", "2",
                      "--expect-workers-max-wait", "20", "--master-bind-port", port, env=env)
        for worker in workers:
            assert worker.wait(timeout=20) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert single.outcomes() == master.outcomes(), master.stdout
    assert master.tripped() == {"LD-01"} and master.exit_code == single.exit_code == 1
    assert master.results["targets"][0]["load"]["workers"] == 2


def test_processes_two_certifies_the_embedded_server(load: Any) -> None:
    run = load(*SHORT, "--processes", "2")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert set(run.outcomes().values()) == {"pass"}
    assert run.results["targets"][0]["load"]["workers"] == 2


def test_a_token_accepted_once_in_each_of_two_workers_is_accepted_twice() -> None:
    """LD-01 is judged across workers: each one alone saw the token accepted once."""
    tally = Tally()
    for worker in ("w1", "w2"):
        ledger = Ledger()
        ledger.call("RefreshAccessToken", "OK")
        ledger.accept("the-same-refresh-token-value")
        ledger.sequential(None, "the-same-refresh-token-value")
        tally.add(worker, ledger.report())
    outcomes = {j.requirement_id: j.outcome for j in tally.judge("python -m conformance load")}
    assert outcomes["LD-01"] is Outcome.FAIL
    assert outcomes["LD-02"] is outcomes["LD-03"] is outcomes["LD-04"] is Outcome.PASS


def test_workers_that_do_not_arrive_exit_3_in_one_line(load: Any, server_process: Any) -> None:
    server = server_process()
    started = time.monotonic()
    run = load(*SHORT, *_target_args(server), "--master", "--expect-workers", "2",
               "--expect-workers-max-wait", "1", "--master-bind-port", str(_free_port()),
               env={embedded.PASSWORD_ENV: server.password})
    assert run.exit_code == 3, run.stdout + run.stderr
    assert time.monotonic() - started < 15
    assert run.stderr.count("\n") == 1 and "0 of 2 load workers" in run.stderr, run.stderr


@pytest.mark.parametrize("args", [
    ("--no-such-option",),
    ("--processes", "2", "--master"),
    ("--worker", "--master-host", "127.0.0.1"),         # a worker needs --target
    ("--master-host", "127.0.0.1"),                      # only a worker has a master
    ("--users", "0"),
    ("--run-time", "soon"),
    ("--burst", "1"),
    ("--spawn-rate", "inf"),                             # Locust's traceback
    ("--master", "--target", "127.0.0.1:1", "--plaintext", "--login-email", "a@example.com",
     "--login-password-env", "HOME", "--master-bind-host", "999.1.1.1"),   # zmq's traceback
    ("--processes", "1", "--expect-workers-max-wait", "inf"),
    ("--target", "127.0.0.1:1", "--plaintext", "--refresh-token-env", "HOME"),
])
def test_bad_options_exit_2_in_one_line(load: Any, args: tuple[str, ...]) -> None:
    run = load(*args)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "usage error" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_an_unreachable_target_exits_3_in_one_line(load: Any) -> None:
    run = load(*SHORT, "--target", f"127.0.0.1:{_free_port()}", "--plaintext", "--login-email",
               "qa@example.com", "--login-password-env", "HOME")
    assert run.exit_code == 3, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "no token could be minted" in run.stderr


def test_a_target_dying_mid_run_ends_it_within_the_deadline_and_a_grace(
        server_process: Any, tmp_path: Path) -> None:
    server = server_process()
    started = time.monotonic()
    run = subprocess.Popen(
        [sys.executable, "-m", "conformance", "load", "--report-dir", str(tmp_path),
         "--run-time", "60", "--users", "8", "--deadline", "2", *_target_args(server)],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, embedded.PASSWORD_ENV: server.password})
    time.sleep(3)
    server.process.kill()   # dies, as a crashed server does
    stdout, stderr = run.communicate(timeout=LOAD_TIMEOUT)
    assert run.returncode == 3, stdout + stderr
    assert time.monotonic() - started < 3 + 2 + 15   # the deadline plus a fixed grace
    assert stderr.count("\n") == 1 and "stopped answering" in stderr, stderr
    result = SuiteRun(run.returncode, stdout, stderr, tmp_path, LOAD_RESULTS)
    assert set(result.outcomes().values()) == {"error"}
    assert result.results["targets"][0]["verdict"] == "error"


def test_ctrl_c_stops_every_process_the_run_started(tmp_path: Path) -> None:
    import psutil

    run = subprocess.Popen(
        [sys.executable, "-m", "conformance", "load", "--report-dir", str(tmp_path),
         "--run-time", "60", "--users", "4", "--processes", "2"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    parent = psutil.Process(run.pid)
    bound = time.monotonic() + 30
    while len(parent.children()) < 3 and time.monotonic() < bound:   # server and two workers
        time.sleep(0.2)
    started = parent.children(recursive=True)
    assert len(started) >= 3
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=30)
    _, alive = psutil.wait_procs(started, timeout=10)
    assert not alive, alive
