"""`python -m conformance [OPTIONS] [-- PYTEST_ARGS]`: a thin wrapper over pytest with the plugin,
and `python -m conformance COMMAND ...` for the commands in COMMANDS (inspect, ...)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from conformance import __version__
from conformance.model.catalogue import catalogue_identity
from conformance.model.command_parser import USAGE_EXIT, CommandParser
from conformance.model.errors import UsageError
from conformance.run.options import add_options, pytest_argv

__all__ = ["main"]


CHECKS = "conformance.checks"
# Quiet by default: the plugin's own summary (verdicts, failures by requirement) replaces
# pytest's tracebacks; pass pytest options after `--` to change that. Checks fail through
# Violation, never through assertion introspection (which could print a token), so assertion
# rewriting, which costs about a second per run (pytest rewrites every entry-point plugin's
# whole distribution, hypothesis included), is off.
DEFAULT_PYTEST_ARGS = ["-q", "--no-header", "--tb=no", "-r", "N", "-p", "no:cacheprovider",
                       "--assert=plain"]


@dataclass(frozen=True)
class Command:
    """`python -m conformance NAME ARGS...`: entry ("module:function") gets ARGS, returns the
    exit code. Imported only when run, so the main job never loads another command's code."""

    name: str
    summary: str
    entry: str

    def run(self, argv: list[str]) -> int:
        module, _, function = self.entry.partition(":")
        entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return entry(argv)


# The commands besides the main job, one row each, listed by --help in this order.
COMMANDS: tuple[Command, ...] = (
    Command("inspect", "judge captured responses (FILE) offline by the FT, CT-03 and CT-04 rules",
            "conformance.inspect:main"),
    Command("compare", "what changed between two runs' results.json (OLD NEW), per target",
            "conformance.nightly.compare:main"),
    Command("certify", "package a conformant run's reports (REPORT_DIR) for a vendor, signed",
            "conformance.certify.package:main"),
    Command("verify", "check a certification package (FILE.zip): digests, manifest, signature",
            "conformance.certify.verify:main"),
    Command("load", "the LD requirements under sustained, distributed load (Locust)",
            "conformance.load.command:main"),
)


def version() -> str:
    """The suite's version and the catalogue that judges its runs (as results.json names it)."""
    identity = catalogue_identity()
    return f"userapi-conformance {__version__}, catalogue v{identity['version']} " \
        f"(sha256 {identity['sha256']})"


def parser() -> argparse.ArgumentParser:
    width = max(len(command.name) for command in COMMANDS)
    commands = "\n".join(f"  {c.name:<{width}}  {c.summary}" for c in COMMANDS)
    p = CommandParser(
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [OPTIONS] [-- PYTEST_ARGS]\n"
        "       %(prog)s COMMAND [ARGS]  (%(prog)s COMMAND --help)",
        description="Certify user_api.v1.UserApiService targets. Without --target, "
        "the embedded\nreference server is certified. Pytest options go after `--`."
        f"\n\ncommands:\n{commands}")
    p.add_argument("--version", action="version", version=version(),
                   help="print the suite's and the catalogue's versions and exit")
    add_options(p.add_argument)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for command in COMMANDS:
        if argv[:1] == [command.name]:
            return command.run(argv[1:])
    ours, pytest_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    namespace = parser().parse_args(ours)
    from conformance.run import plugin
    try:
        plugin.validated_settings(lambda dest: getattr(namespace, dest))
    except UsageError as error:
        print(f"conformance: usage error: {error}", file=sys.stderr)
        return USAGE_EXIT
    checks_dir = str(plugin.CHECKS_DIR)
    return int(pytest.main([checks_dir, *DEFAULT_PYTEST_ARGS, *pytest_argv(ours), *pytest_args]))
