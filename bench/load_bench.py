"""Benchmark the load command (`make bench-load`, by hand, not in `make test`): the load
generator's refresh throughput in one process against a reference server in a process of its
own, next to a plain gRPC loop (threads refreshing along chains, one process, the same
concurrency) in the same run; and the load command's throughput with `--processes 1` and `2`
on the embedded server. Prints one table and writes reports/bench-load.json.

On a shared machine the figures move with what else runs: each is the median of --runs."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from bench import PASSWORD, ROOT, reference_process  # bench/ is the script's sys.path[0]
from conformance.model.contract import pb
from conformance.reference.server import DEFAULT_EMAIL
from conformance.transport.stubs import pb_grpc

TARGETS = {"generator_ratio": 0.5, "refreshes_per_s": 500.0}


def load_run(*args: str) -> dict[str, Any]:
    """One `python -m conformance load` run: its load-results.json target entry."""
    report_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    subprocess.run([sys.executable, "-m", "conformance", "load", "--report-dir",
                    str(report_dir), *args], cwd=ROOT, capture_output=True, timeout=600,
                   check=False, env={**os.environ, "QA_PASSWORD": PASSWORD},
                   stdin=subprocess.DEVNULL)
    data: dict[str, Any] = json.loads((report_dir / "load-results.json").read_text())
    target: dict[str, Any] = data["targets"][0]
    return target


def refreshes_per_s(target: dict[str, Any]) -> float:
    return float(target["load"]["throughput"]["by_rpc"].get("RefreshAccessToken", {})
                 .get("per_s", 0.0))


def plain_loop(address: str, threads: int, seconds: float) -> float:
    """Refreshes per second of `threads` threads, each refreshing along its own chain."""
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.UserApiServiceStub(channel)  # type: ignore[no-untyped-call]
    done = [0] * threads
    until = time.monotonic() + seconds

    def chain(index: int) -> None:
        token = stub.AuthnWithPassword(pb.AuthnWithPasswordRequest(
            email=DEFAULT_EMAIL, password=PASSWORD), timeout=5).auth_token.refresh_token
        while time.monotonic() < until:
            token = stub.RefreshAccessToken(pb.RefreshAccessTokenRequest(
                refresh_token=token), timeout=5).auth_token.refresh_token
            done[index] += 1

    workers = [threading.Thread(target=chain, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    channel.close()
    return sum(done) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--users", type=int, default=20, help="load users (and loop threads)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    args = parser.parse_args()
    rows: dict[str, Any] = {}
    generator, loop = [], []
    with reference_process() as address:
        target = ["--target", address, "--plaintext", "--login-email", DEFAULT_EMAIL,
                  "--login-password-env", "QA_PASSWORD"]
        for _ in range(args.runs):   # alternately, so that both see the same machine
            generator.append(refreshes_per_s(load_run(
                *target, "--users", str(args.users), "--run-time", f"{args.seconds:g}")))
            loop.append(plain_loop(address, args.users, args.seconds))
    ratios = [g / p for g, p in zip(generator, loop, strict=True) if p]
    rows["generator"] = {"refreshes_per_s": round(statistics.median(generator), 1),
                         "plain_loop_per_s": round(statistics.median(loop), 1),
                         "ratio": round(statistics.median(ratios), 2) if ratios else None}
    for processes in (1, 2):
        runs = [load_run("--users", str(args.users), "--run-time", f"{args.seconds:g}",
                         "--processes", str(processes)) for _ in range(args.runs)]
        rows[f"processes={processes}"] = {
            "refreshes_per_s": round(statistics.median(map(refreshes_per_s, runs)), 1),
            "verdicts": sorted({run["verdict"] for run in runs}),
            "outcomes": sorted({row["outcome"] for run in runs for row in run["requirements"]})}
    generator_row = rows["generator"]
    print(f"load generator (1 process, {args.users} users): {generator_row['refreshes_per_s']} "
          f"refreshes/s; plain gRPC loop ({args.users} threads): "
          f"{generator_row['plain_loop_per_s']}/s; ratio {generator_row['ratio']} "
          f"(target >= {TARGETS['generator_ratio']})")
    for processes in (1, 2):
        row = rows[f"processes={processes}"]
        print(f"--processes {processes}: {row['refreshes_per_s']} refreshes/s (target >= "
              f"{TARGETS['refreshes_per_s']:g}), verdicts {row['verdicts']}, LD outcomes "
              f"{row['outcomes']}")
    out = ROOT / "reports" / "bench-load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": args.runs, "users": args.users,
                               "seconds": args.seconds, "load_average": os.getloadavg(),
                               "targets": TARGETS, "results": rows}, indent=2) + "\n")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
