"""The command line says what it is: --version names the suite and the catalogue, --help lists
every command of conformance.cli.COMMANDS with its one-line summary."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from conformance import __version__
from conformance.cli import COMMANDS
from conformance.model.catalogue import catalogue_identity

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)


def test_version_names_the_suite_and_the_catalogue() -> None:
    done = _run("--version")
    assert done.returncode == 0, done.stderr
    identity = catalogue_identity()
    assert done.stdout == (f"userapi-conformance {__version__}, catalogue v{identity['version']} "
                           f"(sha256 {identity['sha256']})\n")


def test_help_lists_every_command_with_its_summary() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    listed = lines[lines.index("commands:") + 1:lines.index("options:") - 1]
    assert [line.split()[0] for line in listed] == [c.name for c in COMMANDS]
    for line, command in zip(listed, COMMANDS, strict=True):
        assert line.split(maxsplit=1)[1] == command.summary
    assert "[-- PYTEST_ARGS]" in lines[0]
    assert "inspect" in [c.name for c in COMMANDS]


def test_every_command_has_an_entry_point_and_its_own_help() -> None:
    for command in COMMANDS:
        module, _, function = command.entry.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), command
        done = _run(command.name, "--help")
        assert done.returncode == 0 and f"python -m conformance {command.name}" in done.stdout
