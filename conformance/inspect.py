"""`python -m conformance inspect FILE`: the offline FT and CT-04 checks on captured responses."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str]) -> int:
    print("conformance: usage error: inspect is not implemented yet", file=sys.stderr)
    return 2
