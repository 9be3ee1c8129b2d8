"""What a check measured (FZ-01's campaign), as one line next to its outcome."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["figures_html"]


def figures_html(figures: Mapping[str, float]) -> str:
    """`tokens tried 300 · distinct 296 (99%) · 0.42 s`; empty without figures."""
    parts = []
    tokens = figures.get("fuzz_tokens")
    distinct = figures.get("fuzz_distinct")
    if tokens is not None:
        parts.append(f"tokens tried {int(tokens)}")
    if distinct is not None:
        share = f" ({distinct / tokens:.0%})" if tokens else ""
        parts.append(f"distinct {int(distinct)}{share}")
    if "fuzz_seconds" in figures:
        parts.append(f"{figures['fuzz_seconds']:.2f} s")
    return f'<span class="cf-figures">{" · ".join(parts)}</span>' if parts else ""
