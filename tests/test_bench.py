"""The benchmark's plumbing (bench/bench.py is run by hand; these keep it from rotting)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conformance.profiles import PROFILES


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
                                                    "expiry", "last"]
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
