"""A TOML file a user hands the suite (--targets-file, --expected-failures), read so that every
way it can be unreadable is a UsageError (exit 2) in one line, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from conformance.model.errors import UsageError

__all__ = ["read_toml"]


def read_toml(path: str, where: str) -> dict[str, Any]:
    """The file's table; `where` (the option and the path) starts the error line."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{where}: cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{where}: not valid TOML: {error}") from None
    except RecursionError:  # tomllib parses nested arrays recursively
        raise UsageError(f"{where}: not TOML this suite reads (nested too deeply)") from None
