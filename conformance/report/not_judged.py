"""Not judged: per target, each MUST the suite could not judge here and each pass that left part
of its rule unjudged, one line each with its reason; the family only another command judges
and the MUSTs not implemented yet, one line each (conformance.model.unjudged)."""

from __future__ import annotations

from html import escape

from conformance.model.results import RequirementResult
from conformance.model.unjudged import unjudged
from conformance.report.markup import anchor, inline, mark
from conformance.report.view import RunView

__all__ = ["ANCHOR", "HEADING", "not_judged_section"]

ANCHOR, HEADING = "cf-not-judged", "Not judged"


def _item(index: int, row: RequirementResult, word: str) -> str:
    r = row.requirement
    title = r.title.replace("`", "")  # a tooltip is plain text
    return (f'<li><a href="#{anchor("row", index, r.id)}" title="{escape(title)}">'
            f'<span class="cf-id">{r.id}</span></a> <span class="cf-level">{r.level.value}'
            f"</span> {mark(row.outcome)} {word}: {escape(row.headline)}</li>")


def _target(view: RunView, index: int, label: str) -> str:
    left = unjudged(view.results, label)
    if not left:
        return ""
    items = [_item(index, row, word) for word, row in left.rows()]
    items += [f"<li>{escape(ids)}: {inline(why)}</li>" for ids, why in left.groups()]
    return (f'<h3>Target <code>{escape(label)}</code></h3><ul class="cf-unjudged">'
            f'{"".join(items)}</ul>')


def not_judged_section(view: RunView) -> str:
    """The section, or "" when the run left nothing unjudged (no line to show)."""
    targets = "".join(_target(view, i, label) for i, label in enumerate(view.results.targets))
    if not targets:
        return ""
    return (f'<section id="{ANCHOR}" class="cf-section"><h2>{HEADING}</h2><p>What this run '
            "could not judge, and passes that left part of their rule unjudged; a requirement "
            "left out with <code>--only</code> or not applicable to the target is not listed."
            f"</p>{targets}</section>")
