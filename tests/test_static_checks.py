"""Static gates: the package and the benchmark type-check under mypy --strict (pyproject's
[tool.mypy]), and the whole tree passes ruff's lint rules (pyproject's [tool.ruff])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_the_package_and_the_bench_type_check_strictly(tmp_path: Path) -> None:
    done = _run("mypy", "--cache-dir", str(tmp_path), "conformance", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tree_lints_clean() -> None:
    done = _run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr
