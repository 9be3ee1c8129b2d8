"""The benchmark's plumbing (bench/bench.py is run by hand; these keep it from rotting)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conformance.run.profiles import PROFILES


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "bench" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fz01_records_its_campaign_for_the_benchmark(run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", "FZ-01")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "warning" not in run.stdout  # pytest's record_property warns under junit's xunit2
    campaign = _bench().fz01_campaign(run.report_dir)
    assert campaign["tokens"] >= PROFILES["quick"].fuzz_examples
    assert 0 < campaign["distinct"] <= campaign["tokens"]
    assert campaign["seconds"] > 0


def test_the_plain_loop_runs_against_a_reference_server_process() -> None:
    bench = _bench()
    with bench.reference_process() as address:
        tokens = bench.fuzz_tokens(address, "quick")
        assert len(tokens) == PROFILES["quick"].fuzz_examples
        assert bench.plain_loop_rate(address, tokens[:20]) > 0


def test_the_benchmark_prints_a_quick_run_s_critical_path(capsys: pytest.CaptureFixture[str],
                                                        ) -> None:
    """Issue 17: a run against a reference server process records its critical path, fewer round
    trips than RPCs, RT-14's bursts one step each; the benchmark prints it by the wall time."""
    bench = _bench()
    with bench.reference_process() as address:
        wall_s, results, _ = bench.run_suite(*bench.target_args(address), "--profile", "quick")
    target = results["targets"][0]
    assert target["verdict"] == "conformant"
    path = target["critical_path"]
    assert path["rpcs"] == target["rpc_count"]["total"] > 0
    assert 0 < path["round_trips"] < path["rpcs"]
    assert 0 < path["seconds"] < wall_s
    assert [p["phase"] for p in path["phases"]] == ["early", "ordinary", "fields", "late",
                                                    "liveness", "expiry", "last"]
    rt14 = next(chain for name, chain in path["chains"].items() if name.startswith("test_rt14"))
    assert rt14[0] < rt14[1]   # [round trips, RPCs]: its bursts overlap
    summary = bench.path_summary(target)
    bench.print_critical_paths({"quick@0ms": {"wall_s": round(wall_s, 2),
                                              "critical_path": summary}})
    table = capsys.readouterr().out
    assert "quick@0ms" in table and f" {path['round_trips']} " in table


def test_the_history_benchmark_runs(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "history-bench.json"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "bench" / "history_bench.py"), "--runs",
                           "12", "--samples", "2", "--out", str(out)], capture_output=True,
                          text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())["results"]
    assert results["append_ms_median"] > 0 and results["trend_of_all_15_runs_s"] > 0


def test_the_load_benchmark_s_plain_loop_runs() -> None:
    path = Path(__file__).resolve().parent.parent / "bench"
    sys.path.insert(0, str(path))   # load_bench imports bench as its script directory's module
    try:
        spec = importlib.util.spec_from_file_location("load_bench", path / "load_bench.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with _bench().reference_process() as address:
            assert module.plain_loop(address, 2, 0.5) > 0
    finally:
        sys.path.remove(str(path))


def _measured(wall_s: float, round_trips: int, outcomes: dict[str, str]) -> dict[str, Any]:
    """A row of wall_rows, as a suite run with that wall time and critical path gives it."""
    return {"wall_s": wall_s, "rpcs": {"total": 600}, "verdict": "conformant", "outcomes": outcomes,
            "critical_path": {"round_trips": round_trips, "seconds": round_trips * 0.05,
                              "rpcs": 600, "latency_s": 0.05, "at_latency_s": 0.0,
                              "longest": {"ordinary": [24, "test_rt15_issued_tokens[x]"],
                                          "fields": [3, "test_ct04_schema[x]"]}}}


def test_issue17_s_table_compares_serial_and_overlapped_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Canned runs (no suite run): a target met, one missed with what holds its path, and an
    overlapped run whose outcomes differ from the serial one's, which misses the target."""
    bench = _bench()
    assert set(bench.OVERLAP_MODES) == {"serial", "overlapped"}
    assert bench.OVERLAP_MODES["overlapped"] == ()   # the suite's default
    same = {"RT-01": "pass", "RT-17": "skip"}
    table = bench.overlap_table({
        "quick@0ms": {"serial": _measured(3.8, 60, same), "overlapped": _measured(1.4, 30, same)},
        "standard@50ms": {"serial": _measured(19.8, 81, same),
                          "overlapped": _measured(6.5, 40, same)},
        "standard@0ms": {"serial": _measured(3.9, 60, same),
                         "overlapped": _measured(1.2, 30, {**same, "RT-01": "fail"})},
    })
    assert table["quick@0ms"]["met"] and "holding" not in table["quick@0ms"]
    assert table["quick@0ms"]["overlapped"] == {"wall_s": 1.4, "round_trips": 30, "path_s": 1.5,
                                                "rpcs": 600, "verdict": "conformant"}
    assert table["quick@0ms"]["serial"]["wall_s"] == 3.8
    missed = table["standard@50ms"]
    assert not missed["met"] and missed["target_s"] == 6.0
    assert missed["holding"]["ordinary"] == [24, "test_rt15_issued_tokens[x]"]
    differing = table["standard@0ms"]
    assert not differing["met"] and differing["differing_outcomes"] == {"RT-01": ["pass", "fail"]}

    bench.print_overlap(table)
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert any(line.startswith("quick@0ms") and "overlapped" in line and " met" in line
               and "1.4s" in line for line in lines)
    assert any(line.startswith("quick@0ms") and "serial" in line and "3.8s" in line
               for line in lines)
    assert "standard@50ms: held by the longest chain per phase" in printed
    assert "test_rt15_issued_tokens[x]" in printed
    assert "standard@0ms: outcomes differ" in printed and "NOT met" in printed

    out = tmp_path / "bench.json"
    out.write_text('{"runs": 3, "results": {"quick": {"wall_s": 3.8}}}')
    bench.write_results(1, None, table, out)   # --overlap-only keeps the other measurements
    import json
    written = json.loads(out.read_text())
    assert written["results"] == {"quick": {"wall_s": 3.8}}
    assert written["issue17"]["rows"]["quick@0ms"]["met"] is True
    assert written["issue17"]["modes"]["serial"] == ["--max-inflight", "1"]
    bench.write_results(1, {"quick": _measured(3.8, 60, same)}, table, out)
    assert "outcomes" not in json.loads(out.read_text())["results"]["quick"]
