"""Headless Chromium over the HTML report: its rendered DOM and a screenshot (for the report's
self-tests, `make screenshots` and the benchmark; the suite's runs never start a browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["BrowserMissing", "chromium", "dump_dom", "print_pdf", "screenshot"]

# Debian's package is `chromium`; $CONFORMANCE_CHROMIUM names another binary.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, offline and quiet: no sandbox (CI containers run as root), no GPU, no network of
# its own (updates, sync, QUIC), a fresh profile each time.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions")
TIMEOUT_S = 60.0   # one page load; a hung browser fails its caller instead of hanging it


class BrowserMissing(RuntimeError):
    """No Chromium to render with: what to install."""


def chromium() -> str:
    """The path of the Chromium binary to use, or BrowserMissing."""
    named = os.environ.get("CONFORMANCE_CHROMIUM")
    for name in ((named,) if named else CANDIDATES):
        path = shutil.which(name)
        if path:
            return path
    raise BrowserMissing(f"no headless browser: {named or ' / '.join(CANDIDATES)} not found "
                         "(Debian: apt-get install -y chromium; or set $CONFORMANCE_CHROMIUM)")


def _run(page: Path, *args: str) -> tuple[str, float]:
    """Chromium on `page` with `args`: its stdout and the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="conformance-chromium-") as profile:
        started = time.monotonic()
        done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args,
                               page.resolve().as_uri()], capture_output=True, text=True,
                              timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
        elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout, elapsed


def dump_dom(page: Path) -> str:
    """The page's DOM after its scripts ran (pytest-html draws its table with JavaScript)."""
    return _run(page, "--dump-dom")[0]


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> Path:
    """A PNG of the page's top `height` pixels, `width` wide."""
    _run(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot {png}")
    return png


def print_pdf(page: Path, pdf: Path) -> Path:
    """The page printed to PDF, as a reader would print it."""
    _run(page, f"--print-to-pdf={pdf.resolve()}", "--no-pdf-header-footer")
    if not pdf.is_file():
        raise RuntimeError(f"chromium wrote no PDF {pdf}")
    return pdf
