"""Benchmark the HTML report in a browser (`make bench-report`, by hand, not in `make test`):
the page weight of a standard run of one target and the time headless Chromium takes to render
it, and the weight of a 10-target matrix page. Prints one table, writes
reports/report-bench/report-bench.json and a screenshot next to each page.

Render time is the browser's own: `performance.now()` when the load event fires (parsing, style,
pytest-html's script drawing its table), read from the rendered DOM of a copy of the page with
that one probe added; the median of several loads. Chromium's start-up is not in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from conformance.reference import ReferenceServer, ServerOptions
from conformance.report.browser import dump_dom, screenshot

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "reports" / "report-bench"
PASSWORD = "Bench-Passw0rd-value"
# The budgets: bytes and seconds.
BUDGETS = {"one_target_bytes": 1_000_000, "one_target_render_s": 1.0,
           "ten_targets_bytes": 3_000_000}
# Some of the ten targets faulty, so the matrix and the action list are not all green.
FAULTS = ("unknown-refresh-token-permission-denied", "get-me-without-authorization-ok")
PROBE = ('<script>window.addEventListener("load", () => { document.body.dataset.loadMs = '
         'performance.now().toFixed(1); });</script>')


def run_suite(report_dir: Path, *args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "conformance", "--report-dir", str(report_dir), *args],
                   cwd=ROOT, capture_output=True, timeout=1800, check=False,
                   env={**os.environ, "QA_PASSWORD": PASSWORD}, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


class _BodyAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = dict(attrs)


def render_seconds(page: Path, loads: int) -> float:
    """The median of `loads` loads of the page, by the browser's clock at its load event."""
    probe = page.with_name("render-probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    times = []
    for _ in range(loads):
        body = _BodyAttributes()
        body.feed(dump_dom(probe))
        times.append(float(body.attrs["data-load-ms"] or "nan") / 1000)
    probe.unlink()
    return statistics.median(times)


@contextlib.contextmanager
def servers(count: int) -> Iterator[list[ReferenceServer]]:
    started = [ReferenceServer(ServerOptions(
        password=PASSWORD, faults=frozenset({FAULTS[i]}) if i < len(FAULTS) else frozenset()))
        .start() for i in range(count)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def targets_file(path: Path, addresses: list[str]) -> Path:
    path.write_text("".join(
        f'[[target]]\naddress = "{address}"\nplaintext = true\nlogin_email = "qa@example.com"\n'
        'login_password_env = "QA_PASSWORD"\n\n' for address in addresses))
    return path


def page_figures(report_dir: Path, loads: int) -> dict[str, Any]:
    page = report_dir / "conformance.html"
    png = screenshot(page, report_dir / "conformance.png")
    return {"bytes": page.stat().st_size, "render_s": round(render_seconds(page, loads), 3),
            "page": str(page.relative_to(ROOT)), "screenshot": str(png.relative_to(ROOT))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads per render time")
    parser.add_argument("--matrix-profile", default="quick",
                        help="profile of the 10-target run (the page's size hardly depends "
                             "on it; quick keeps the run short)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    one = OUT / "one-target"
    one_run_s = run_suite(one, "--profile", "standard")
    figures = {"one_target": {**page_figures(one, args.loads), "run_s": round(one_run_s, 1)}}
    ten = OUT / "ten-targets"
    with servers(10) as started:
        listing = targets_file(OUT / "targets.toml", [s.address for s in started])
        ten_run_s = run_suite(ten, "--targets-file", str(listing), "--profile",
                              args.matrix_profile)
    figures["ten_targets"] = {**page_figures(ten, args.loads), "run_s": round(ten_run_s, 1)}
    verdicts = {
        "one_target_bytes": figures["one_target"]["bytes"] < BUDGETS["one_target_bytes"],
        "one_target_render_s": figures["one_target"]["render_s"] < BUDGETS["one_target_render_s"],
        "ten_targets_bytes": figures["ten_targets"]["bytes"] < BUDGETS["ten_targets_bytes"]}
    print(f"{'page':<12} {'bytes':>10} {'render s':>9}  screenshot")
    for name, row in figures.items():
        print(f"{name:<12} {row['bytes']:>10} {row['render_s']:>9.3f}  {row['screenshot']}")
    for name, ok in verdicts.items():
        print(f"budget {name} < {BUDGETS[name]:g}: {'met' if ok else 'MISSED'}")
    (OUT / "report-bench.json").write_text(json.dumps(
        {"budgets": BUDGETS, "figures": figures, "met": verdicts}, indent=2) + "\n")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
