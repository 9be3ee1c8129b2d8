"""Issue 17: checks overlap per target, bounded by --max-inflight, with a serial run's outcomes.

The gate alone (conformance.transport.inflight), the cap counted at the server while the whole
suite runs (tests/helpers/inflight.py), and serial against overlapped runs of the reference
server, its flavours and the faults whose rules depend most on timing and on other checks' traffic
(bench/overlap_bench.py compares every fault).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from conformance.reference import ServerOptions
from conformance.reference.faults import FAULTS, FLAVORS
from conformance.transport.inflight import InflightGate
from tests.helpers.inflight import recorded_reference

PASSWORD_ENV = "OVERLAP_TEST_PASSWORD"


# The gate ----------------------------------------------------------------------------------
def _crowd(gate: InflightGate, threads: int, hold: float) -> int:
    """`threads` callers each take a slot for `hold` seconds: the most in flight at once."""
    in_flight, peak, lock = 0, 0, threading.Lock()

    def call() -> None:
        nonlocal in_flight, peak
        with gate.slot():
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(hold)
            with lock:
                in_flight -= 1

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    return peak


def test_the_gate_never_lets_more_than_its_limit_in_flight() -> None:
    gate = InflightGate(3)
    assert _crowd(gate, 12, 0.02) == 3 == gate.peak


def test_a_step_alone_waits_for_the_calls_in_flight_and_holds_every_other_back() -> None:
    gate = InflightGate(4)
    events: list[str] = []
    slot_taken = threading.Event()

    def long_call() -> None:
        with gate.slot():
            slot_taken.set()
            time.sleep(0.1)
            events.append("long call ends")

    def late_call() -> None:
        with gate.slot():
            events.append("late call")

    first = threading.Thread(target=long_call)
    first.start()
    slot_taken.wait(5)
    with gate.alone() as step:
        events.append("alone starts")
        late = threading.Thread(target=late_call)
        late.start()
        members = []
        for _ in range(6):  # more than the limit: a burst's calls take no slot
            def member() -> None:
                with step.admit(), gate.slot():
                    events.append("member")
            members.append(threading.Thread(target=member))
        for thread in members:
            thread.start()
        for thread in members:
            thread.join(5)
        time.sleep(0.05)
        events.append("alone ends")
    late.join(5)
    first.join(5)
    assert events[0] == "long call ends" and events[1] == "alone starts"
    assert events[2:8] == ["member"] * 6
    assert events[8:] == ["alone ends", "late call"]


def test_a_pending_step_alone_is_not_starved_by_a_stream_of_calls() -> None:
    gate = InflightGate(2)
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            with gate.slot():
                time.sleep(0.005)

    streams = [threading.Thread(target=stream) for _ in range(4)]
    for thread in streams:
        thread.start()
    started = time.monotonic()
    with gate.alone():
        waited = time.monotonic() - started
    stop.set()
    for thread in streams:
        thread.join(5)
    assert waited < 2.0


def test_the_limit_is_at_least_one() -> None:
    with pytest.raises(ValueError):
        InflightGate(0)


# The cap, counted at the server -------------------------------------------------------------
@pytest.mark.parametrize("limit", [1, 3])
def test_the_suite_never_exceeds_max_inflight_save_for_rt14s_burst_alone(
        run_suite: Any, limit: int) -> None:
    """The whole quick suite against a server that records every call: whenever more than
    `limit` calls were in flight, they were RT-14's burst (refreshes of one token) and nothing
    else; a burst never had another call beside it; and calls of different checks overlapped
    with 3, never with 1."""
    options = ServerOptions(password="Overlap-Passw0rd", latency_ms=5)
    with recorded_reference(options) as served:
        run = run_suite("--profile", "quick", "--max-inflight", str(limit),
                        *served.suite_args(PASSWORD_ENV), env={PASSWORD_ENV: served.password})
        recorder = served.recorder
        crowds, pairs = recorder.crowds(limit), recorder.crowds(1)
        bursts = recorder.bursts()
    assert run.exit_code == 0, run.stdout[-2000:]
    assert all(crowd.one_token_burst for crowd in crowds), [c.describe() for c in crowds][:3]
    assert len(bursts) >= 2 and all(not recorder.intruders(b) for b in bursts)
    assert recorder.peak() <= max(limit, 8)   # the quick profile's burst: 8
    overlap = run.results["targets"][0]["overlap"]
    assert overlap["max_inflight"] == limit
    assert (overlap["overlapped_checks"] > 0) == (limit > 1)
    # Overlap happened (calls of different checks in flight together) only when allowed.
    assert any(not crowd.one_token_burst for crowd in pairs) == (limit > 1)


# Serial and overlapped runs end the same ---------------------------------------------------
# One fault or flavour of each kind whose outcomes hang on timing, on a check's neighbours or
# on the phases: rotation and replay windows, reuse detection and its grace, families revoked by
# other checks' refreshes or replays, token samples, throttled logins, the campaign's damage, the
# run-wide scans, and a load-only fault, which must stay silent under the cap. Each costs two
# runs, so `make test` holds this choice and `make bench-overlap` (bench/overlap_bench.py)
# compares every fault and flavour, the expiry clock's and the stalls' (20-50 s a pair) too.
COMPARED_FAULTS = (
    "rotated-refresh-token-still-valid", "reuse-not-detected", "undeclared-reuse-grace",
    "refresh-revokes-other-families", "nul-byte-poisons-server",
    "error-message-not-printable-ascii", "low-entropy-refresh-tokens",
    "load-check-then-spend-race")
COMPARED_FLAVORS = (
    "reuse-revokes-every-family", "reuse-grace-1s", "aborted-race-losers", "login-throttled")


def _compare(run_suite: Any, *args: str) -> None:
    serial = run_suite("--profile", "quick", "--max-inflight", "1", *args)
    overlapped = run_suite("--profile", "quick", *args)
    assert serial.outcomes() == overlapped.outcomes(), {
        rid: (outcome, overlapped.outcomes()[rid]) for rid, outcome in serial.outcomes().items()
        if outcome != overlapped.outcomes()[rid]}
    assert serial.exit_code == overlapped.exit_code
    assert serial.results["targets"][0]["overlap"]["overlapped_checks"] == 0


def test_serial_and_overlapped_runs_of_the_reference_server_end_the_same(run_suite: Any) -> None:
    _compare(run_suite)


@pytest.mark.parametrize("flavor", COMPARED_FLAVORS)
def test_serial_and_overlapped_runs_of_a_flavour_end_the_same(run_suite: Any,
                                                              flavor: str) -> None:
    _compare(run_suite, "--reference-flavor", flavor, *FLAVORS[flavor].suite_args)


@pytest.mark.parametrize("fault", COMPARED_FAULTS)
def test_serial_and_overlapped_runs_of_a_fault_end_the_same(run_suite: Any, fault: str) -> None:
    _compare(run_suite, "--reference-fault", fault)


def test_the_compared_switches_exist() -> None:
    assert set(COMPARED_FAULTS) <= FAULTS.keys() and set(COMPARED_FLAVORS) <= FLAVORS.keys()


def test_checks_that_disturb_one_another_are_judged_alone(run_suite: Any) -> None:
    """A replay revoking every family of the user (a stricter, correct server) disturbs checks
    running beside it: the suite sees it, judges them alone, says so, and stays conformant."""
    run = run_suite("--profile", "quick", "--reference-flavor", "reuse-revokes-every-family")
    assert run.exit_code == 0, run.stdout[-2000:]
    overlap = run.results["targets"][0]["overlap"]
    assert overlap["serial_from"] == "ordinary" and "alone" in overlap["why"]
    assert "judged one after another from the ordinary phase on" in run.stdout
