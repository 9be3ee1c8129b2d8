"""What needs action: every fail, error and warn, MUST first, with the violation laid out."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from conformance.model.catalogue import Level
from conformance.model.results import Outcome, RequirementResult
from conformance.report.figures import figures_html
from conformance.report.markup import anchor, inline, mark, source_html
from conformance.report.view import Expected, RunView

__all__ = ["ACTIONS", "Action", "actions", "actions_section", "detail_anchor"]

ACTIONS = (Outcome.FAIL, Outcome.ERROR, Outcome.WARN)  # a skip is not an action
FIELDS = (("expected", "Expected"), ("received", "Received"), ("details", "Details"))


@dataclass(frozen=True)
class Action:
    target_index: int
    target: str
    row: RequirementResult


def _for_its_cause(view: RunView, target: str, row: RequirementResult) -> bool:
    """An error of a target that could not be evaluated at all: said once, by its cause."""
    return target in view.results.causes and row.outcome is Outcome.ERROR


def actions(view: RunView) -> list[Action]:
    """Every action of the run: MUST before SHOULD, then fail, error, warn, then catalogue and
    target order (Python's sort is stable)."""
    found = [Action(i, label, row) for i, label in enumerate(view.results.targets)
             for row in view.results.requirements(label)
             if row.outcome in ACTIONS and not _for_its_cause(view, label, row)]
    return sorted(found, key=lambda a: (a.row.requirement.level is not Level.MUST,
                                        ACTIONS.index(a.row.outcome)))


def detail_anchor(view: RunView, index: int, row: RequirementResult) -> str:
    """Where a requirement's details are: its action, its target's cause, or its table row."""
    target = view.results.targets[index]
    if _for_its_cause(view, target, row):
        return anchor("cause", index, "target")
    return anchor("action" if row.outcome in ACTIONS else "row", index, row.requirement.id)


def _cause_card(view: RunView, index: int, target: str) -> str:
    errors = sum(_for_its_cause(view, target, row) for row in view.results.requirements(target))
    return (f'<article id="{anchor("cause", index, "target")}" class="cf-action cf-error">'
            f"<h3>{mark(Outcome.ERROR)} Target <code>{escape(target)}</code> could not be "
            f'evaluated</h3><pre class="cf-message">{escape(view.results.causes[target])}</pre>'
            f"<p>{errors} requirements are <code>error</code> for this cause (each in the "
            "table).</p></article>")


def _reproduce(command: str) -> str:
    # The copy button is a convenience; the line itself is selectable as one (user-select: all).
    return ('<div class="cf-reproduce"><button type="button" class="cf-copy" onclick="navigator.'
            'clipboard.writeText(this.nextElementSibling.textContent)">Copy</button>'
            f"<pre><code>{escape(command)}</code></pre></div>")


def _card(view: RunView, action: Action) -> str:
    row, r = action.row, action.row.requirement
    where = (f' on <code>{escape(action.target)}</code>' if len(view.results.targets) > 1
             else "")
    head = (f"<h3>{mark(row.outcome)} <span class=\"cf-id\">{r.id}</span> "
            f'<span class="cf-level">{r.level.value}</span> {inline(r.title)}{where}</h3>')
    parts = [head, f'<p class="cf-clause">Clause: {source_html(r.source)}</p>']
    fields = row.fields
    if fields:
        if "title" in fields:
            parts.append(f'<p class="cf-kind">{escape(fields["title"])}</p>')
        items = "".join(f"<dt>{name}</dt><dd>{escape(fields[key])}</dd>"
                        for key, name in FIELDS if key in fields)
        if "reproduce" in fields:
            items += f"<dt>Reproduce</dt><dd>{_reproduce(fields['reproduce'])}</dd>"
        parts.append(f'<dl class="cf-violation">{items}</dl>')
    else:  # an error (or a message without a Violation): its text as it was written
        parts.append(f'<pre class="cf-message">{escape(row.message)}</pre>')
    figures = figures_html(view.results.figures.get(action.target, {}).get(r.id, {}))
    if figures:
        parts.append(f"<p>Campaign: {figures}</p>")
    return (f'<article id="{anchor("action", action.target_index, r.id)}" '
            f'class="cf-action cf-{row.outcome.value}">{"".join(parts)}</article>')


def actions_section(view: RunView, expected: Expected) -> str:
    found = actions(view)
    waived = [a for a in found if expected(a.target, a.row)]
    unexpected = [a for a in found if a not in waived]
    causes = [_cause_card(view, i, label) for i, label in enumerate(view.results.targets)
              if label in view.results.causes]
    if not found and not causes:
        body = "<p>Nothing needs action: no requirement is fail, error or warn.</p>"
    elif not waived:
        body = "".join(causes + [_card(view, a) for a in unexpected])
    else:
        body = "".join([f'<h3 class="cf-group">Unexpected ({len(unexpected)})</h3>', *causes,
                        *(_card(view, a) for a in unexpected),
                        f'<h3 class="cf-group">Expected, waived ({len(waived)})</h3>',
                        *(_card(view, a) for a in waived)])
    return (f'<section id="cf-actions" class="cf-section"><h2>What needs action '
            f"({len(found) + len(causes)})</h2>{body}</section>")
