"""The load run's outputs in --report-dir: load-results.json (the results.json shape, the LD
requirements only, plus throughput and latency per RPC), load.html (Locust's report) and the
console summary. Locust's CSV files (prefix `load`) are written by Locust's own writer while the
run goes. Everything passes through the secret registry's scrub on its way out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import conformance
from conformance.load.judge import LD_IDS, Judgement
from conformance.model.catalogue import requirement
from conformance.model.redact import SECRETS
from conformance.model.results import CheckResult, Results

__all__ = ["CSV_PREFIX", "HTML_FILE", "RESULTS_FILE", "record", "rpc_figures", "summary",
           "write_html"]

RESULTS_FILE = "load-results.json"
HTML_FILE = "load.html"
CSV_PREFIX = "load"
PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


def check_name(requirement_id: str) -> str:
    """The name a load judge goes by in results (the `checks` of its requirement's row)."""
    return f"load:{requirement_id}"


def record(target: str, judgements: list[Judgement], cause: str = "", calls: int = 0,
           ) -> Results:
    results = Results([target], ids=frozenset(LD_IDS))
    results.count_rpcs(target, LD_IDS[0], calls)
    if cause:
        results.causes[target] = cause
    for judgement in judgements:
        results.record(check_name(judgement.requirement_id), CheckResult(
            check_name(judgement.requirement_id), target, judgement.requirement_id,
            judgement.outcome, judgement.message))
    return results


def rpc_figures(stats: Any) -> dict[str, Any]:
    """Throughput (calls per second between the first and the last call, as Locust reckons it)
    and latency per RPC from Locust's statistics (on a master, the workers' merged)."""
    rpcs = {}
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        rpcs[entry.name] = {
            "calls": entry.num_requests, "failures": entry.num_failures,
            "per_s": round(entry.total_rps, 1),
            **{key: entry.get_response_time_percentile(p) for key, p in PERCENTILES.items()}}
    return {"calls": stats.total.num_requests, "per_s": round(stats.total.total_rps, 1),
            "by_rpc": rpcs}


def write_results(path: Path, results: Results, *, started_at: str, duration_s: float,
                  load: dict[str, Any]) -> None:
    target = results.targets[0]
    results.write_json(path, suite_version=conformance.__version__, profile="load",
                       started_at=started_at, duration_s=duration_s,
                       extra={target: {"load": load}})


def write_html(path: Path, environment: Any) -> None:
    from locust import html

    report: Any = html.get_html_report   # untyped in Locust
    path.write_text(SECRETS.scrub(report(environment, show_download_link=False)),
                    encoding="utf-8")


def summary(results: Results, load: dict[str, Any]) -> None:
    """One line per LD requirement, the figures, and the verdict."""
    target = results.targets[0]
    for row in results.requirements(target):
        head = f"{row.requirement.id} {row.requirement.level.value:<6} {row.outcome.value:<5}"
        first = row.message.splitlines()[0] if row.message else requirement(
            row.requirement.id).title
        print(SECRETS.scrub(f"{head} {first}"))
        for line in row.message.splitlines()[1:]:
            print(SECRETS.scrub(f"    {line}"))
    figures = load["throughput"]
    refresh = figures["by_rpc"].get("RefreshAccessToken", {})
    print(f"load: {figures['calls']} calls, {figures['per_s']}/s; RefreshAccessToken "
          f"{refresh.get('per_s', 0)}/s, p50 {refresh.get('p50_ms', 0)} ms, p99 "
          f"{refresh.get('p99_ms', 0)} ms")
    print(f"load: target {target}: {results.verdict(target).value}")
    sys.stdout.flush()
