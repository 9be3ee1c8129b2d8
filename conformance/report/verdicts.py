"""The top of the page: the run's facts, and per target a verdict badge with its counts."""

from __future__ import annotations

from html import escape

from conformance.model.catalogue import catalogue_identity
from conformance.model.results import Outcome, Verdict
from conformance.report.markup import mark
from conformance.report.view import RunView

__all__ = ["verdicts_section"]

BADGE_MARKS = {Verdict.CONFORMANT: "✓", Verdict.NON_CONFORMANT: "✗", Verdict.ERROR: "⚠"}


def _facts(view: RunView) -> str:
    identity = catalogue_identity()
    rows = [("Profile", escape(view.profile)),
            ("Suite", f"userapi-conformance {escape(view.suite_version)}"),
            ("Catalogue", f"v{identity['version']} (sha256 {str(identity['sha256'])[:12]})"),
            ("Started", f"{escape(view.started_at)} (UTC)"),
            ("Duration", f"{view.duration_s:.1f} s")]
    items = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in rows)
    return f'<dl class="cf-facts">{items}</dl>'


def _target(view: RunView, label: str) -> str:
    results = view.results
    verdict = results.verdict(label)
    counts = results.counts(label)
    shown = " ".join(f'{mark(Outcome(name))} <span class="cf-count">{n}</span>'
                     for name, n in counts.items() if n)
    lines = [f'<h3>Target <code>{escape(label)}</code>: <span class="cf-badge '
             f'cf-v-{verdict.value}">{BADGE_MARKS[verdict]} {verdict.value}</span></h3>',
             f'<p class="cf-counts">Requirements: {shown}</p>']
    kind = view.token_kinds.get(label)
    if kind:
        lines.append(f'<p>Token source: {escape(kind)}</p>')
    refusals, waited = view.throttling.get(label, (0, 0.0))
    if refusals:
        lines.append(f"<p>Logins throttled: {refusals} refused, {waited:.1f} s spent waiting "
                     "and pacing logins.</p>")
    if label in results.causes:
        lines.append(f'<p class="cf-cause">Could not be evaluated: '
                     f"{escape(results.causes[label])}</p>")
    return f'<div class="cf-target cf-v-{verdict.value}">{"".join(lines)}</div>'


def verdicts_section(view: RunView) -> str:
    targets = "".join(_target(view, label) for label in view.results.targets)
    return (f'<section id="cf-verdicts" class="cf-section"><h2>Verdict</h2>{_facts(view)}'
            f'<div class="cf-targets">{targets}</div></section>')
