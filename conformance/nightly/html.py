"""HTML fragments of the nightly features, self-contained (inline CSS and SVG, class names
prefixed `nm-`) for the report to place: expected and unexpected outcomes of an
--expected-failures run, and per target the trend of its last runs from --history with the
changes since the previous run (computed by `compare`). Colour is never the only signal: every
outcome is also a letter or a word, and the chart's segments carry their counts as titles."""

from __future__ import annotations

import html
from typing import Any

from conformance.nightly.compare import Comparison, compare_documents, target_name
from conformance.nightly.expectations import Judgement, paste_ready
from conformance.nightly.history import Trend, append, previous_document, trend

__all__ = ["expectations_fragment", "history_fragment", "history_of_run"]

TREND_RUNS = 30
# Outcome, letter, colour, in the chart's stacking order (worst at the bottom).
OUTCOMES = (("fail", "F", "#c62828"), ("error", "E", "#6a1b9a"), ("warn", "W", "#ef6c00"),
            ("skip", "S", "#9e9e9e"), ("pass", "P", "#2e7d32"))
LETTER = {name: letter for name, letter, _ in OUTCOMES}
STYLE = ("<style>.nm-section{margin:1em 0}.nm-strip{border-collapse:collapse;font:11px monospace}"
         ".nm-strip td{width:1.3em;text-align:center;padding:0;border:1px solid #fff}"
         ".nm-strip th{text-align:left;padding-right:.5em;font-weight:normal}"
         + "".join(f".nm-o-{name}{{background:{colour};color:#fff}}"
                   for name, _, colour in OUTCOMES)
         + ".nm-o-none{background:#eee;color:#555}.nm-legend span{margin-right:1em}"
         ".nm-unexpected{font-weight:bold}.nm-paste{background:#f5f5f5;padding:.5em}</style>")


def _e(text: object) -> str:
    return html.escape(str(text))


def expectations_fragment(judgement: Judgement, outcomes: dict[str, list[tuple[str, str]]],
                          ) -> str:
    """Expected and unexpected outcomes apart, per target; unused and expired entries; a
    paste-ready [[expected]] entry per unexpected failure."""
    parts = [STYLE, f'<section class="nm-section nm-expectations"><p>File {_e(judgement.file)}: '
             f"exit status {judgement.exit_status}.</p>"]
    for target, rows in outcomes.items():
        outcome_of = dict(rows)
        parts.append(f"<h3>Target {_e(target)}</h3><table><thead><tr><th>Requirement</th>"
                     "<th>Outcome</th><th>Expected?</th><th>Reason</th><th>Ticket</th></tr>"
                     "</thead><tbody>")
        for (t, rid), entry in judgement.matched.items():
            if t == target:
                parts.append(f"<tr><td>{_e(rid)}</td><td>{_e(outcome_of[rid])}</td>"
                             f"<td>expected (entry {entry.number})</td><td>{_e(entry.reason)}"
                             f"</td><td>{_e(entry.ticket or '')}</td></tr>")
        for rid in judgement.unexpected.get(target, []):
            parts.append(f'<tr class="nm-unexpected"><td>{_e(rid)}</td>'
                         f"<td>{_e(outcome_of[rid])}</td><td>UNEXPECTED</td><td></td><td></td>"
                         "</tr>")
        parts.append("</tbody></table>")
    for label, entries, why in (("Unused", judgement.unused, "matched nothing: remove it"),
                                ("Expired", judgement.expired, "has expired")):
        for entry in entries:
            parts.append(f"<p>{label}: entry {entry.number} ({_e(entry.requirement)} "
                         f"{_e(entry.outcome)} on {_e(entry.target)}) {why}.</p>")
    pasted = [paste_ready(target, rid, dict(outcomes[target])[rid])
              for target, ids in judgement.unexpected.items() for rid in ids]
    if pasted:
        parts.append("<p>Paste-ready entries for the unexpected failures:</p>"
                     f'<pre class="nm-paste">{_e(chr(10).join(pasted))}</pre>')
    parts.append("</section>")
    return "".join(parts)


def _chart(history: Trend) -> str:
    """Stacked bars of outcome counts, one per run, oldest on the left."""
    width, height, bar = 12, 80, 9
    total = max((sum(run.counts.values()) for run in history.runs), default=1) or 1
    parts = [f'<svg class="nm-chart" role="img" width="{width * len(history.runs) + 2}" '
             f'height="{height + 2}" aria-label="outcome counts of the last '
             f'{len(history.runs)} runs">']
    for i, run in enumerate(history.runs):
        y = float(height)
        for name, _, colour in OUTCOMES:
            count = run.counts.get(name, 0)
            if not count:
                continue
            h = height * count / total
            y -= h
            parts.append(f'<rect x="{i * width + 1}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                         f'fill="{colour}"><title>run {run.run_id} ({_e(run.started_at)}, '
                         f"{_e(run.verdict)}): {count} {name}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)


def _changes(comparison: Comparison | None) -> str:
    if comparison is None:
        return "<p>Changes since the previous run: none recorded (the first run).</p>"
    target = comparison.targets[0]
    note = f" ({_e(comparison.catalogue_note())})" if comparison.shared_ids_only else ""
    if target.status == "same":
        return f"<p>Changes since the previous run: none{note}.</p>"
    verdict = f"{_e(target.old_verdict)} &rarr; {_e(target.new_verdict)}"
    items = "".join(f"<li>{_e(c.kind)}: {_e(c.id)} {_e(c.old or '-')} &rarr; {_e(c.new or '-')}"
                    "</li>" for c in target.changes)
    return f"<p>Changes since the previous run{note}: verdict {verdict}.</p><ul>{items}</ul>"


def history_fragment(history: Trend, comparison: Comparison | None) -> str:
    """One target's trend: a chart of counts per run, a strip of outcomes per requirement (a
    letter per run), and the changes since the previous run."""
    parts = [f'<section class="nm-section nm-history"><h3>History of {_e(history.target)}: '
             f"last {len(history.runs)} runs</h3>", _chart(history),
             "<p>A bar per run, oldest on the left, stacked by outcome (its title gives the "
             "counts); below, a column per run and a row per requirement.</p>",
             '<p class="nm-legend">' + "".join(f'<span><b class="nm-o-{n}">&nbsp;{lt}&nbsp;</b> '
                                               f"{n}</span>" for n, lt, _ in OUTCOMES)
             + "</p>", _changes(comparison), '<table class="nm-strip"><tbody>']
    for rid, cells in history.outcomes.items():
        row = "".join(f'<td class="nm-o-{o or "none"}" title="run {run.run_id}: {o or "not run"}">'
                      f"{LETTER.get(o or '', '-')}</td>" for run, o in zip(history.runs, cells,
                                                                             strict=True))
        parts.append(f"<tr><th>{_e(rid)}</th>{row}</tr>")
    parts.append("</tbody></table></section>")
    return "".join(parts)


def history_of_run(path: str, document: dict[str, Any]) -> str:
    """Append this run (results.json `document`) to the history at `path`, and the report's
    history section: every target's trend and its changes since its previous run."""
    run_id = append(path, document)
    parts = [STYLE, f'<section class="nm-section"><p>File {_e(path)}.</p>']
    for target in document["targets"]:
        name = target_name(document, target["target"])
        previous = previous_document(path, name, run_id)
        current = {"catalogue": document["catalogue"], "targets": [{**target, "target": name}]}
        comparison = compare_documents(previous, current) if previous else None
        parts.append(history_fragment(trend(path, name, TREND_RUNS), comparison))
    parts.append("</section>")
    return "".join(parts)
