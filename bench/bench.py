"""Benchmark the suite's cost: wall time per profile, RPCs per family, fuzz throughput against a
plain gRPC loop, and runs over an imitated 50 ms network. Run by hand (`make bench`), not in
`make test`. Prints one table and writes reports/bench.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import grpc
from hypothesis import HealthCheck, given, settings

from conformance.client import ChannelSettings, UserApiClient
from conformance.profiles import PROFILES
from conformance.proto import REFRESH_METHOD, pb
from conformance.reference import ReferenceServer, ServerOptions
from conformance.strategies import malformed_tokens

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-Passw0rd-value"
# The targets on the 2-core machine, in seconds (and the throughput ratio).
TARGETS = {"quick": 5.0, "standard": 15.0, "quick@50ms": 20.0, "standard@50ms": 60.0,
           "fuzz_ratio": 0.5}


def run_suite(*args: str) -> tuple[float, dict[str, Any], Path]:
    """One run of `python -m conformance` in a subprocess: wall seconds, results.json, report dir."""
    report_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "conformance", "--report-dir", str(report_dir), *args],
                   cwd=ROOT, capture_output=True, timeout=1800, check=False,
                   env={**os.environ, "QA_PASSWORD": PASSWORD}, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    return elapsed, json.loads((report_dir / "results.json").read_text()), report_dir


def target_args(server: ReferenceServer) -> list[str]:
    return ["--target", server.address, "--plaintext", "--login-email", server.options.email,
            "--login-password-env", "QA_PASSWORD"]


def median_wall(args: list[str], runs: int) -> tuple[float, dict[str, Any]]:
    times, last = [], {}
    for _ in range(runs):
        elapsed, last, _ = run_suite(*args)
        times.append(elapsed)
    return statistics.median(times), last


def fuzz_tokens(server: ReferenceServer, count: int) -> list[str]:
    """The kind of requests FZ-01 sends: `count` draws from its own strategy, shaped by a live
    token, so that the plain loop below sends the same sort of (often long) tokens."""
    api = UserApiClient(ChannelSettings(server.address, plaintext=True, deadline=5))
    login = api.login(server.options.email, PASSWORD).response
    api.close()
    assert login is not None
    drawn: list[str] = []

    @settings(max_examples=count, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(malformed_tokens(login.auth_token.refresh_token, PROFILES["standard"].fuzz_max_length))
    def collect(token: str) -> None:
        drawn.append(token)

    collect()
    return drawn


def plain_loop_rate(server: ReferenceServer, tokens: list[str]) -> float:
    """Calls per second of a bare stub sending those tokens: the limit for FZ-01."""
    with grpc.insecure_channel(server.address) as channel:
        stub = channel.unary_unary(REFRESH_METHOD,
                                   request_serializer=pb.RefreshAccessTokenRequest.SerializeToString,
                                   response_deserializer=pb.RefreshAccessTokenResponse.FromString)
        started = time.monotonic()
        for token in tokens:
            try:
                stub(pb.RefreshAccessTokenRequest(refresh_token=token), timeout=5)
            except grpc.RpcError:
                pass
        return len(tokens) / (time.monotonic() - started)


def fz01_rate(report_dir: Path, examples: int) -> float | None:
    """FZ-01 generated tokens per second, from the test case's time in junit.xml (the explicit
    per-family examples it also sends are not counted: the figure errs low)."""
    for case in ET.parse(report_dir / "junit.xml").iter("testcase"):
        if case.get("name", "").startswith("test_fz01"):
            return examples / max(float(case.get("time", "0")), 1e-9)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--skip-nightly", action="store_true")
    args = parser.parse_args()
    rows: dict[str, Any] = {}
    for profile in ("quick", "standard", *(() if args.skip_nightly else ("nightly",))):
        wall, results = median_wall(["--profile", profile], args.runs)
        rows[profile] = {"wall_s": round(wall, 2),
                         "rpcs": results["targets"][0].get("rpc_count", {}),
                         "verdict": results["targets"][0]["verdict"]}
    with ReferenceServer(ServerOptions(password=PASSWORD)) as server:
        loop = plain_loop_rate(server, fuzz_tokens(server, PROFILES["standard"].fuzz_examples))
        _, _, report_dir = run_suite(*target_args(server), "--profile", "standard", "--only",
                                     "FZ-01")
        suite = fz01_rate(report_dir, PROFILES["standard"].fuzz_examples)
    rows["fuzz"] = {"plain_loop_calls_per_s": round(loop, 1),
                    "fz01_examples_per_s": round(suite, 1) if suite else None,
                    "ratio": round(suite / loop, 3) if suite else None}
    with ReferenceServer(ServerOptions(password=PASSWORD, latency_ms=50)) as slow:
        for profile in ("quick", "standard"):
            wall, results = median_wall([*target_args(slow), "--profile", profile], args.runs)
            rows[f"{profile}@50ms"] = {"wall_s": round(wall, 2),
                                       "rpcs": results["targets"][0].get("rpc_count", {}),
                                       "verdict": results["targets"][0]["verdict"]}
    print(f"{'measurement':<16} {'value':>10} {'target':>8}  rpcs (total; by family)")
    for name, row in rows.items():
        if name == "fuzz":
            ratio = row["ratio"]
            print(f"{'fuzz ratio':<16} {ratio if ratio is not None else 'n/a':>10} "
                  f"{'>=' + str(TARGETS['fuzz_ratio']):>8}  FZ-01 {row['fz01_examples_per_s']}/s "
                  f"vs plain loop {row['plain_loop_calls_per_s']}/s")
            continue
        limit = TARGETS.get(name)
        rpcs = row["rpcs"]
        print(f"{name:<16} {row['wall_s']:>9}s {('<=' + str(limit) + 's') if limit else '':>8}  "
              f"{rpcs.get('total', '?')}; {rpcs.get('by_family', {})} [{row['verdict']}]")
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": args.runs, "targets": TARGETS, "results": rows},
                              indent=2) + "\n")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
