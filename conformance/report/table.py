"""The full requirement table of each target: outcome, title, clause links, reasons."""

from __future__ import annotations

from html import escape

from conformance.report.actions import ACTIONS, detail_anchor
from conformance.report.figures import figures_html
from conformance.report.markup import anchor, inline, mark, source_html
from conformance.report.view import RunView

__all__ = ["tables_section"]


def _table(view: RunView, index: int, label: str) -> str:
    figures = view.results.figures.get(label, {})
    rows = []
    for row in view.results.requirements(label):
        r = row.requirement
        message = escape(row.headline)
        if row.outcome in ACTIONS:
            message += f' <a href="#{detail_anchor(view, index, row)}">(details)</a>'
        measured = figures_html(figures.get(r.id, {}))
        rows.append(
            f'<tr id="{anchor("row", index, r.id)}" class="cf-row cf-{row.outcome.value}">'
            f"<td>{r.id}</td><td>{r.level.value}</td><td>{mark(row.outcome)}"
            f"{'<br>' + measured if measured else ''}</td><td>{inline(r.title)}</td>"
            f"<td>{source_html(r.source)}</td><td>{message}</td></tr>")
    return (f"<h3>Target <code>{escape(label)}</code></h3>"
            '<table class="conformance-summary cf-requirements"><thead><tr><th>Requirement</th>'
            "<th>Level</th><th>Outcome</th><th>Title</th><th>Source</th><th>Message or reason"
            f'</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def tables_section(view: RunView) -> str:
    tables = "".join(_table(view, i, label) for i, label in enumerate(view.results.targets))
    return (f'<section id="cf-requirements" class="cf-section"><h2>All requirements</h2>'
            f"{tables}</section>")
