"""Benchmark the nightly history (--history): appending a run to a history of 1,000 runs, and
rendering the report's trend from it, for the full catalogue on one target. Run by hand
(`.venv/bin/python bench/history_bench.py`), not in `make test`; writes
reports/history-bench.json. Targets: append under 50 ms, the trend section under 1 s."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.model.catalogue import catalogue  # noqa: E402
from conformance.nightly import history  # noqa: E402
from conformance.nightly.compare import compare_documents  # noqa: E402
from conformance.nightly.html import TREND_RUNS, history_fragment, history_of_run  # noqa: E402

TARGETS = {"append_ms": 50.0, "trend_s": 1.0}
TARGET = "vendor-a.example.com:443"


def document(night: int, rng: random.Random) -> dict[str, Any]:
    """A results.json of the full catalogue, a few outcomes changing from night to night."""
    rows = [{"id": rid, "level": r.level.value,
             "outcome": rng.choice(("fail", "warn", "error", "skip")) if rng.random() < 0.05
             else "pass"} for rid, r in catalogue().items()]
    counts = {o: sum(row["outcome"] == o for row in rows)
              for o in ("pass", "fail", "warn", "skip", "error")}
    return {"suite_version": "0.1.0", "catalogue": {"version": 2, "sha256": "0" * 64},
            "profile": "nightly", "started_at": f"night {night}", "duration_s": 60.0,
            "run": {"only": None}, "targets": [
                {"target": TARGET, "verdict": "non-conformant" if counts["fail"] else "conformant",
                 "counts": counts, "requirements": rows}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="runs in the history")
    parser.add_argument("--samples", type=int, default=20, help="timed appends (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "history-bench.json")
    args = parser.parse_args()
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "history.sqlite")
        for night in range(args.runs):
            history.append(path, document(night, rng))
        appends = []
        for night in range(args.samples):
            doc = document(args.runs + night, rng)
            started = time.perf_counter()
            history.append(path, doc)
            appends.append((time.perf_counter() - started) * 1000)
        doc = document(args.runs + args.samples, rng)
        started = time.perf_counter()
        section = history_of_run(path, doc)  # what a run with --history does: append and render
        report_s = time.perf_counter() - started
        started = time.perf_counter()
        every = history.trend(path, TARGET, limit=args.runs + args.samples + 1)
        previous = history.previous_document(path, TARGET, every.runs[-1].run_id)
        assert previous is not None
        whole = history_fragment(every, compare_documents(previous, doc))
        all_s = time.perf_counter() - started
    rows = {"append_ms_median": round(statistics.median(appends), 2),
            "append_ms_max": round(max(appends), 2),
            f"report_section_s (append + trend of the last {TREND_RUNS})": round(report_s, 3),
            f"trend_of_all_{len(every.runs)}_runs_s": round(all_s, 3),
            "trend_html_kib": round(len(whole) / 1024, 1), "section_html_kib":
            round(len(section) / 1024, 1)}
    for name, value in rows.items():
        print(f"{name:<52} {value}")
    print(f"targets: append < {TARGETS['append_ms']} ms, trend < {TARGETS['trend_s']} s")
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": args.runs, "targets": TARGETS, "results": rows},
                              indent=2) + "\n")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
