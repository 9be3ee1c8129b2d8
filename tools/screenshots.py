"""Regenerate docs/report.png, the README's picture of the HTML report (`make screenshots`):
the embedded reference server with one fault, at the quick profile, rendered in headless
Chromium. Never edit the PNG by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conformance.report.browser import BrowserMissing, screenshot

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report.png"
REPORT_DIR = Path("reports", "screenshot")  # relative: the page then shows no local path
# A fault that fails MUSTs and trips a SHOULD, so the picture shows the action list.
FAULT = "unknown-refresh-token-permission-denied"


def main() -> int:
    done = subprocess.run([sys.executable, "-m", "conformance", "--report-dir", str(REPORT_DIR),
                           "--profile", "quick", "--reference-fault", FAULT], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode != 1:  # the fault makes the run non-conformant
        print(f"screenshots: the run exited {done.returncode}, not 1: {done.stderr[-500:]}",
              file=sys.stderr)
        return 1
    try:
        screenshot(ROOT / REPORT_DIR / "conformance.html", OUT, width=1100, height=1500)
    except BrowserMissing as error:
        print(f"screenshots: {error}", file=sys.stderr)
        return 1
    print(f"screenshots: {OUT.relative_to(ROOT)} from {REPORT_DIR}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
