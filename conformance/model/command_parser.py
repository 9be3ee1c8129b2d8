"""One argparse parser for the suite and each of its commands: a usage error is one line on
stderr and exit 2 (interface.md, Exit status), never argparse's usage block and traceback-free
exit of its own code."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

__all__ = ["USAGE_EXIT", "CommandParser"]

USAGE_EXIT = 2


class CommandParser(argparse.ArgumentParser):
    """`python -m conformance [COMMAND]`'s parser; `command` names it in its error line."""

    def __init__(self, command: str | None = None, **kwargs: Any) -> None:
        super().__init__(prog=" ".join(["python -m conformance", *filter(None, [command])]),
                         allow_abbrev=False, **kwargs)
        self._who = f"conformance: {command}:" if command else "conformance:"

    def error(self, message: str) -> NoReturn:
        print(f"{self._who} usage error: {message}", file=sys.stderr)
        raise SystemExit(USAGE_EXIT)
