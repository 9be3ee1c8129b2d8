"""Small pieces of markup every section uses: catalogue text, clause links, outcome marks."""

from __future__ import annotations

import re
from html import escape

from conformance.model.catalogue import source_links
from conformance.model.results import Outcome

__all__ = ["MARKS", "anchor", "inline", "mark", "source_html"]

# Colour is never the only signal: every outcome also has a symbol and its word.
MARKS = {Outcome.PASS: "✓", Outcome.FAIL: "✗", Outcome.WARN: "!", Outcome.SKIP: "\u2013",
         Outcome.ERROR: "⚠"}


def inline(text: str) -> str:
    """Catalogue text as HTML: `code spans` (CommonMark's backticks, never nested in the
    catalogue) become <code>, everything else is escaped."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: shown as it is
        return escape(text)
    return "".join(f"<code>{escape(part)}</code>" if i % 2 else escape(part)
                   for i, part in enumerate(parts))


def source_html(source: str) -> str:
    """A source column with each cited RFC clause linked to rfc-editor.org (and its code spans
    rendered, as in titles)."""
    out, at = [], 0
    for text, url in source_links(source):
        start = source.index(text, at)
        out += [inline(source[at:start]), f'<a href="{escape(url)}">{escape(text)}</a>']
        at = start + len(text)
    return "".join(out) + inline(source[at:])


def mark(outcome: Outcome, word: bool = True) -> str:
    """An outcome as a coloured mark with its symbol and (unless `word` is False) its word."""
    text = f"{MARKS[outcome]} {outcome.value}" if word else MARKS[outcome]
    return f'<span class="cf-mark cf-{outcome.value}" title="{outcome.value}">{text}</span>'


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def anchor(kind: str, target_index: int, requirement_id: str) -> str:
    """A page-unique id: kind (row, action), the target's position, the requirement."""
    return f"cf-{kind}-t{target_index}-{_UNSAFE.sub('_', requirement_id)}"
