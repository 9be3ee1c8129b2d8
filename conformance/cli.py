"""`python -m conformance [OPTIONS] [-- PYTEST_ARGS]`: a thin wrapper over pytest with the plugin,
and `python -m conformance inspect FILE` for captured responses."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

import pytest

from conformance.errors import UsageError
from conformance.options import add_options, pytest_argv, settings_from

__all__ = ["main"]

USAGE_EXIT = 2
CHECKS = "conformance.checks"
# Quiet by default: the plugin's own summary (verdicts, failures by requirement) replaces
# pytest's tracebacks; pass pytest options after `--` to change that. Checks fail through
# Violation, never through assertion introspection (which could print a token), so assertion
# rewriting, which costs about a second per run (pytest rewrites every entry-point plugin's
# whole distribution, hypothesis included), is off.
DEFAULT_PYTEST_ARGS = ["-q", "--no-header", "--tb=no", "-r", "N", "-p", "no:cacheprovider",
                       "--assert=plain"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"conformance: usage error: {message}", file=sys.stderr)
        raise SystemExit(USAGE_EXIT)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m conformance", allow_abbrev=False,
                description="Certify user_api.v1.UserApiService targets (RefreshAccessToken). "
                "Without --target, the embedded reference server is certified.",
                epilog="Subcommand: python -m conformance inspect FILE. "
                "Pytest options go after `--`.")
    add_options(p.add_argument)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["inspect"]:
        from conformance.inspect import main as inspect_main
        return inspect_main(argv[1:])
    ours, pytest_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    namespace = parser().parse_args(ours)
    try:
        settings_from(lambda dest: getattr(namespace, dest))
    except UsageError as error:
        print(f"conformance: usage error: {error}", file=sys.stderr)
        return USAGE_EXIT
    from conformance import plugin
    checks_dir = str(plugin.CHECKS_DIR)
    return int(pytest.main([checks_dir, *DEFAULT_PYTEST_ARGS, *pytest_argv(ours), *pytest_args]))
