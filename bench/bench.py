"""Benchmark the suite's cost: wall time per profile, RPCs per family, fuzz throughput against a
plain gRPC loop, and runs over an imitated 0 and 50 ms network with their critical path (the
round trips a run would cost if independent checks overlapped, conformance.run.critical_path). Run
by hand (`make bench`), not in `make test`. Prints the tables and writes reports/bench.json.

The profile runs use the embedded reference server, as `make report` does. The fuzz and latency
measurements use a reference server in a process of its own, as any real target is: the plain
loop and the suite are then both clients in other processes, so that neither shares the
server's interpreter (in one process, a loop and a server would share one GIL and skip a
process switch per call, which no client of a real target does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings

from conformance.model.contract import REFRESH_METHOD, pb
from conformance.reference.server import DEFAULT_EMAIL
from conformance.rules.strategies import malformed_tokens
from conformance.run.profiles import PROFILES
from conformance.transport.client import ChannelSettings, UserApiClient

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-Passw0rd-value"
# The issue's targets on the 2-core machine, in seconds (and the throughput ratio).
TARGETS = {"quick": 5.0, "standard": 15.0, "quick@50ms": 20.0, "standard@50ms": 60.0,
           "fuzz_ratio": 0.5}
# Fuzz throughput is measured on the default profile and on nightly's: the standard campaign
# (300 tokens) lasts under half a second, short enough for one run to be noisy on a busy machine;
# nightly's (3,000 tokens, up to 48 KiB long) gives a steadier rate.
FUZZ_PROFILES = ("standard", "nightly")
FUZZ_RUNS = 5   # at least: a campaign is short, and the ratio is the median of per-run ratios


def run_suite(*args: str) -> tuple[float, dict[str, Any], Path]:
    """One run of `python -m conformance` in a subprocess: wall seconds, results.json and the
    report dir."""
    report_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "conformance", "--report-dir", str(report_dir), *args],
                   cwd=ROOT, capture_output=True, timeout=1800, check=False,
                   env={**os.environ, "QA_PASSWORD": PASSWORD}, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    return elapsed, json.loads((report_dir / "results.json").read_text()), report_dir


@contextlib.contextmanager
def reference_process(latency_ms: int = 0) -> Iterator[str]:
    """`python -m conformance.reference` in a process of its own, on a free loopback port: its
    address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.reference", "--port", "0", "--password-env",
         "QA_PASSWORD", "--latency-ms", str(latency_ms)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env={**os.environ, "QA_PASSWORD": PASSWORD})
    try:
        assert process.stdout is not None
        found = re.search(r"listening on (\S+);", process.stdout.readline())
        if not found:
            raise SystemExit("bench: the reference server did not start")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def target_args(address: str) -> list[str]:
    return ["--target", address, "--plaintext", "--login-email", DEFAULT_EMAIL,
            "--login-password-env", "QA_PASSWORD"]


def wall_row(args: list[str], runs: int) -> dict[str, Any]:
    """Median wall time of `runs` suite runs with `args`; RPCs and verdict of the last one."""
    return wall_rows({"": args}, runs)[""]


def wall_rows(variants: dict[str, list[str]], runs: int) -> dict[str, dict[str, Any]]:
    """wall_row of each variant's args, their runs interleaved (on a busy machine the load
    drifts between runs: variants run back to back see the same), with each one's outcomes."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, dict[str, Any]] = {}
    for _ in range(runs):
        for name, args in variants.items():
            elapsed, results[name], _ = run_suite(*args)
            times[name].append(elapsed)
    rows = {}
    for name in variants:
        target = results[name]["targets"][0]
        rows[name] = {"wall_s": round(statistics.median(times[name]), 2),
                      "rpcs": target.get("rpc_count", {}), "verdict": target["verdict"],
                      "critical_path": path_summary(target),
                      "outcomes": {row["id"]: row["outcome"] for row in target["requirements"]}}
    return rows


def path_summary(target: dict[str, Any]) -> dict[str, Any]:
    """A target's critical path as results.json has it (conformance.run.critical_path), with what
    its round trips cost at the run's median call duration and each phase's longest chain."""
    path = target.get("critical_path", {})
    return {key: path.get(key) for key in ("round_trips", "seconds", "latency_s", "rpcs")} | {
        "at_latency_s": round(path.get("round_trips", 0) * path.get("latency_s", 0), 3),
        "longest": {p["phase"]: [p["round_trips"], p["longest"].split("::")[-1]]
                    for p in path.get("phases", [])}}


# Issue 17: the critical path next to the wall time, against a reference server process at each
# imitated latency.
PATH_LATENCIES_MS = (0, 50)


def critical_path_rows(runs: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for latency in PATH_LATENCIES_MS:
        with reference_process(latency_ms=latency) as address:
            for profile in ("quick", "standard"):
                rows[f"{profile}@{latency}ms"] = wall_row(
                    [*target_args(address), "--profile", profile], runs)
    return rows


def print_critical_paths(rows: dict[str, Any]) -> None:
    """Wall time against the critical path: round trips, their measured seconds, and round trips
    times the run's median call duration."""
    print(f"{'run':<16} {'wall':>7} {'rpcs':>5} {'path rt':>8} {'path s':>7} {'rt*lat s':>8}  "
          "median call")
    for name, row in rows.items():
        path = row["critical_path"]
        print(f"{name:<16} {row['wall_s']:>6}s {path['rpcs']:>5} {path['round_trips']:>8} "
              f"{path['seconds']:>6}s {path['at_latency_s']:>7}s  {path['latency_s']}s")
    for name, row in rows.items():
        print(f"{name}: longest chain per phase {row['critical_path']['longest']}")


# Issue 17's view: each row of the critical-path table run serially and overlapped (the suite's
# default), the two differing only by these args; the targets are the overlapped run's wall time.
OVERLAP_MODES: dict[str, tuple[str, ...]] = {"serial": ("--max-inflight", "1"), "overlapped": ()}
ISSUE17_TARGETS = {"quick@0ms": 1.5, "standard@0ms": 2.0, "quick@50ms": 5.0,
                   "standard@50ms": 6.0}


def overlap_runs(runs: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Quick and standard at 0 and 50 ms, each in every mode of OVERLAP_MODES (wall_rows)."""
    measured: dict[str, dict[str, dict[str, Any]]] = {}
    for latency in PATH_LATENCIES_MS:
        with reference_process(latency_ms=latency) as address:
            for profile in ("quick", "standard"):
                base = [*target_args(address), "--profile", profile]
                measured[f"{profile}@{latency}ms"] = wall_rows(
                    {mode: [*base, *args] for mode, args in OVERLAP_MODES.items()}, runs)
    return measured


def overlap_table(measured: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Issue 17's table from overlap_runs: one overlap_row per run."""
    return {name: overlap_row(name, modes) for name, modes in measured.items()}


def overlap_row(name: str, modes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One row of issue 17's table from wall_rows' serial and overlapped rows: each mode's wall
    time, critical path and RPCs; whether the overlapped run meets the target and gives every
    outcome of the serial run; where not, what holds its path (each phase's longest chain)."""
    row: dict[str, Any] = {}
    for mode, measured in modes.items():
        path = measured["critical_path"]
        row[mode] = {"wall_s": measured["wall_s"], "round_trips": path["round_trips"],
                     "path_s": path["seconds"], "rpcs": path["rpcs"],
                     "verdict": measured["verdict"]}
    overlapped = modes["overlapped"]
    serial_outcomes = modes.get("serial", overlapped)["outcomes"]
    row["differing_outcomes"] = {
        rid: [serial_outcomes.get(rid), outcome] for rid, outcome in
        sorted(overlapped["outcomes"].items()) if serial_outcomes.get(rid) != outcome}
    row["target_s"] = ISSUE17_TARGETS.get(name)
    row["met"] = row["target_s"] is not None and overlapped["wall_s"] <= row["target_s"] \
        and not row["differing_outcomes"]
    if not row["met"]:
        row["holding"] = overlapped["critical_path"]["longest"]
    return row


def print_overlap(rows: dict[str, Any]) -> None:
    """Issue 17's table: serial against overlapped, and whether the target is met."""
    print(f"{'issue 17':<14} {'mode':<11} {'wall':>7} {'path rt':>8} {'path s':>7} {'rpcs':>5}"
          f"  target")
    for name, row in rows.items():
        for mode in OVERLAP_MODES:
            if mode not in row:
                continue
            one = row[mode]
            verdict = "" if mode != "overlapped" else \
                f"<={row['target_s']}s {'met' if row['met'] else 'NOT met'}"
            print(f"{name:<14} {mode:<11} {one['wall_s']:>6}s {one['round_trips']:>8} "
                  f"{one['path_s']:>6}s {one['rpcs']:>5}  {verdict}")
        if row["differing_outcomes"]:
            print(f"{name}: outcomes differ from the serial run's (serial, overlapped): "
                  f"{row['differing_outcomes']}")
        if not row["met"]:
            print(f"{name}: held by the longest chain per phase {row['holding']}")


def fuzz_tokens(address: str, profile: str) -> list[str]:
    """The kind of requests FZ-01 sends: as many draws from its own strategy as the profile's
    campaign, shaped by a live token, so that the plain loop sends the same sort of tokens."""
    api = UserApiClient(ChannelSettings(address, plaintext=True, deadline=5))
    login = api.login(DEFAULT_EMAIL, PASSWORD).response
    api.close()
    assert login is not None
    drawn: list[str] = []

    @settings(max_examples=PROFILES[profile].fuzz_examples, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(malformed_tokens(login.auth_token.refresh_token, PROFILES[profile].fuzz_max_length))
    def collect(token: str) -> None:
        drawn.append(token)

    collect()
    return drawn


def plain_loop_rate(address: str, tokens: list[str]) -> float:
    """Calls per second of a bare stub sending those tokens one after another: the limit for
    FZ-01, which draws each token before sending it."""
    with grpc.insecure_channel(address) as channel:
        stub = channel.unary_unary(
            REFRESH_METHOD, request_serializer=pb.RefreshAccessTokenRequest.SerializeToString,
            response_deserializer=pb.RefreshAccessTokenResponse.FromString)
        started = time.monotonic()
        for token in tokens:
            with contextlib.suppress(grpc.RpcError):
                stub(pb.RefreshAccessTokenRequest(refresh_token=token), timeout=5)
        return len(tokens) / (time.monotonic() - started)


def fz01_campaign(report_dir: Path) -> dict[str, float]:
    """What FZ-01 records of its campaign in junit.xml: tokens presented (plain and generated
    examples, shrinking if any), how many distinct, and its seconds."""
    for case in ET.parse(report_dir / "junit.xml").iter("testcase"):
        if case.get("name", "").startswith("test_fz01"):
            return {str(p.get("name")).removeprefix("fuzz_"): float(p.get("value", "0"))
                    for p in case.iter("property") if p.get("name", "").startswith("fuzz_")}
    return {}


def fuzz_throughput(profile: str, runs: int) -> dict[str, Any]:
    """FZ-01 at `profile` against the plain loop, `runs` times, medians. Each campaign is compared
    with the mean of the loop run just before and just after it: on a busy machine the loop's rate
    drifts between runs more than within one."""
    loops, suites, distinct = [], [], []
    with reference_process() as address:
        tokens = fuzz_tokens(address, profile)
        before = plain_loop_rate(address, tokens)
        for _ in range(runs):
            _, _, report_dir = run_suite(*target_args(address), "--profile", profile,
                                         "--only", "FZ-01")
            after = plain_loop_rate(address, tokens)
            campaign = fz01_campaign(report_dir)
            if campaign.get("seconds"):
                loops.append((before + after) / 2)
                suites.append(campaign["tokens"] / campaign["seconds"])
                distinct.append(campaign["distinct"] / campaign["tokens"])
            before = after
    if not suites:
        return {"ratio": None, "error": "FZ-01 recorded no campaign (see its junit.xml)"}
    ratios = [suite / loop for suite, loop in zip(suites, loops, strict=True)]
    return {"plain_loop_calls_per_s": round(statistics.median(loops), 1),
            "fz01_examples_per_s": round(statistics.median(suites), 1),
            "fz01_distinct_share": round(statistics.median(distinct), 3),
            "ratio": round(statistics.median(ratios), 3),
            "ratios_per_run": [round(ratio, 3) for ratio in ratios]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--skip-nightly", action="store_true", help="no nightly wall-time run")
    parser.add_argument("--fuzz-only", action="store_true", help="only the fuzz throughput")
    parser.add_argument("--critical-path-only", action="store_true",
                        help="only quick and standard at 0 and 50 ms, with their critical path")
    parser.add_argument("--overlap-only", action="store_true",
                        help="only issue 17's table: those four runs serial and overlapped")
    args = parser.parse_args()
    if args.critical_path_only:
        paths = critical_path_rows(args.runs)
        print_critical_paths(paths)
        return 0
    if args.overlap_only:
        overlap = overlap_table(overlap_runs(args.runs))
        print_overlap(overlap)
        write_results(args.runs, None, overlap)
        return 0
    rows: dict[str, Any] = {}
    profiles = () if args.fuzz_only else ("quick", "standard", *(
        () if args.skip_nightly else ("nightly",)))
    for profile in profiles:
        rows[profile] = wall_row(["--profile", profile], args.runs)
    for profile in FUZZ_PROFILES:
        rows[f"fuzz@{profile}"] = fuzz_throughput(profile, max(args.runs, FUZZ_RUNS))
    measured = overlap_runs(args.runs) if not args.fuzz_only else {}
    # The overlapped runs are the critical-path rows (the suite's default), not run twice.
    paths = {name: modes["overlapped"] for name, modes in measured.items()}
    rows.update(paths)   # quick@50ms and standard@50ms among them, with their targets
    overlap = overlap_table(measured)
    print(f"{'measurement':<16} {'value':>10} {'target':>8}  rpcs (total; by family)")
    for name, row in rows.items():
        if name.startswith("fuzz@"):
            if row["ratio"] is None:
                print(f"{name:<16} {'n/a':>10} {'':>8}  {row['error']}")
                continue
            print(f"{name:<16} {row['ratio']:>10} "
                  f"{'>=' + str(TARGETS['fuzz_ratio']):>8}  FZ-01 {row['fz01_examples_per_s']}/s "
                  f"({row['fz01_distinct_share']} distinct) vs plain loop "
                  f"{row['plain_loop_calls_per_s']}/s; ratio per run {row['ratios_per_run']}")
            continue
        limit = TARGETS.get(name)
        rpcs = row["rpcs"]
        print(f"{name:<16} {row['wall_s']:>9}s {('<=' + str(limit) + 's') if limit else '':>8}  "
              f"{rpcs.get('total', '?')}; {rpcs.get('by_family', {})} [{row['verdict']}]")
    if paths:
        print_critical_paths(paths)
    if overlap:
        print_overlap(overlap)
    write_results(args.runs, rows, overlap)
    return 0


def write_results(runs: int, rows: dict[str, Any] | None, overlap: dict[str, Any],
                  out: Path = ROOT / "reports" / "bench.json") -> None:
    """reports/bench.json: the measurements, and issue 17's table under a key of its own. Without
    `rows` (--overlap-only) only that key is replaced, the file's other measurements kept."""
    data: dict[str, Any] = {}
    if rows is None:
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(out.read_text())
    else:
        rows = {name: {key: value for key, value in row.items() if key != "outcomes"}
                for name, row in rows.items()}  # compared in issue 17's table; too long to keep
        data = {"runs": runs, "fuzz_runs": max(runs, FUZZ_RUNS), "targets": TARGETS,
                "results": rows}
    data["issue17"] = {"runs": runs, "targets": ISSUE17_TARGETS,
                       "modes": {mode: list(args) for mode, args in OVERLAP_MODES.items()},
                       "rows": overlap}
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    sys.exit(main())
