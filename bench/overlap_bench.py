"""Serial against overlapped runs of every fault and flavour of the reference server: the same
per-requirement outcomes and exit code, or a list of what differs. Run by hand (`make
bench-overlap`), not in `make test`, which compares a bounded choice (tests/test_overlap.py):
each switch costs two quick runs, about 4-50 s. Prints one line per switch and writes
reports/overlap-bench.json."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from conformance.reference.faults import FAULTS, FLAVORS

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 300.0   # one quick run of the embedded server, bounded


def _run(folder: Path, *args: str) -> tuple[int, dict[str, str]]:
    """A quick run; its exit code and its outcomes by requirement ID."""
    done = subprocess.run([sys.executable, "-m", "conformance", "--profile", "quick",
                           "--report-dir", str(folder), *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, check=False)
    rows = json.loads((folder / "results.json").read_text())["targets"][0]["requirements"]
    return done.returncode, {row["id"]: row["outcome"] for row in rows}


def compare(switch: list[str]) -> dict[str, Any]:
    """Serial (`--max-inflight 1`) and overlapped runs of one switch, and what differs."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        serial = _run(Path(folder) / "serial", "--max-inflight", "1", *switch)
        overlapped = _run(Path(folder) / "overlapped", *switch)
    differs = {rid: [outcome, overlapped[1].get(rid)] for rid, outcome in serial[1].items()
               if overlapped[1].get(rid) != outcome}
    return {"switch": " ".join(switch), "same": not differs and serial[0] == overlapped[0],
            "exit_codes": [serial[0], overlapped[0]], "differs": differs,
            "seconds": round(time.monotonic() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="faults or flavours (default: every one)")
    args = parser.parse_args()
    switches = [["--reference-fault", name] for name in sorted(FAULTS)] + [
        ["--reference-flavor", name, *FLAVORS[name].suite_args] for name in sorted(FLAVORS)]
    if args.names:
        switches = [s for s in switches if s[1] in args.names]
    results = []
    for switch in switches:
        result = compare(switch)
        results.append(result)
        print(f"{'same' if result['same'] else 'DIFFERS':8} {result['seconds']:6.1f} s  "
              f"{result['switch']}  {result['differs'] or ''}", flush=True)
    out = ROOT / "reports" / "overlap-bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{sum(r['same'] for r in results)} of {len(results)} switches end the same; {out}")
    return 0 if all(r["same"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
