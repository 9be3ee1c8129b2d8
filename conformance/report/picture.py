"""A picture of the whole run: a bar of outcomes per family, and for several targets a
requirement x target matrix whose cells link to their details. Plain CSS, drawn here."""

from __future__ import annotations

from collections import Counter
from html import escape

from conformance.model.catalogue import catalogue, families
from conformance.model.results import Outcome
from conformance.report.actions import detail_anchor
from conformance.report.markup import MARKS, mark
from conformance.report.view import RunView

__all__ = ["picture_section"]

# Worst first, as a bar reads from the left.
BAR_ORDER = (Outcome.FAIL, Outcome.ERROR, Outcome.WARN, Outcome.PASS, Outcome.SKIP)


def _bar(code: str, name: str, counts: Counter[Outcome]) -> str:
    total = sum(counts.values())
    words = ", ".join(f"{counts[o]} {o.value}" for o in BAR_ORDER if counts[o])
    segments = "".join(
        f'<span class="cf-seg cf-{o.value}" style="width:{100 * counts[o] / total:.2f}%">'
        f"{MARKS[o]}</span>" for o in BAR_ORDER if counts[o])
    legend = " ".join(f'{mark(o)} <span class="cf-count">{counts[o]}</span>'
                      for o in BAR_ORDER if counts[o])
    return (f'<div class="cf-family"><span class="cf-family-name"><b>{code}</b> '
            f'{escape(name)}</span><span class="cf-bar" role="img" aria-label="{code}: '
            f'{words}">{segments}</span><span class="cf-legend">{legend}</span></div>')


def _bars(view: RunView) -> str:
    by_family: dict[str, Counter[Outcome]] = {}
    for label in view.results.targets:
        for row in view.results.requirements(label):
            by_family.setdefault(row.requirement.family, Counter())[row.outcome] += 1
    names = families()
    over = (f" over {len(view.results.targets)} targets" if len(view.results.targets) > 1
            else "")
    bars = "".join(_bar(code, names.get(code, ""), counts) for code, counts in by_family.items())
    return f"<h3>Outcomes per family{over}</h3><div class=\"cf-families\">{bars}</div>"


def _matrix(view: RunView) -> str:
    targets = view.results.targets
    head = "".join(f'<th scope="col"><code>{escape(label)}</code></th>' for label in targets)
    rows_of = [{row.requirement.id: row for row in view.results.requirements(label)}
               for label in targets]
    rows = []
    for requirement in catalogue().values():
        cells = []
        for i, label in enumerate(targets):
            row = rows_of[i][requirement.id]
            outcome = row.outcome
            cells.append(f'<td class="cf-cell cf-{outcome.value}"><a href="#'
                         f'{detail_anchor(view, i, row)}" title="{requirement.id} on '
                         f'{escape(label)}: {outcome.value}">{MARKS[outcome]}</a></td>')
        rows.append(f'<tr><th scope="row">{requirement.id} <span class="cf-level">'
                    f'{requirement.level.value}</span></th>{"".join(cells)}</tr>')
    legend = " ".join(mark(o) for o in BAR_ORDER)
    return (f'<h3>Requirement &times; target</h3><p class="cf-legend">{legend}</p>'
            f'<table class="cf-matrix"><thead><tr><th scope="col">Requirement</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def picture_section(view: RunView) -> str:
    matrix = _matrix(view) if len(view.results.targets) > 1 else ""
    return (f'<section id="cf-picture" class="cf-section"><h2>The run at a glance</h2>'
            f"{_bars(view)}{matrix}</section>")
