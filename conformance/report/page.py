"""The page in order: verdicts, what needs action, not judged, extra sections, the picture, all
requirements; pytest-html's per-check table and (moved to the end by style.css) its
Environment follow."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from conformance.report.actions import actions_section
from conformance.report.not_judged import ANCHOR, HEADING, not_judged_section
from conformance.report.picture import picture_section
from conformance.report.table import tables_section
from conformance.report.verdicts import verdicts_section
from conformance.report.view import Expected, RunView, Section, unexpected_only

__all__ = ["STYLE_FILE", "render_summary"]

# Handed to pytest-html as an extra CSS file, which its self-contained page inlines.
STYLE_FILE = Path(__file__).with_name("style.css")


def _extra(section: Section) -> str:
    return (f'<section id="{escape(section.anchor)}" class="cf-section cf-extra">'
            f"<h2>{escape(section.heading)}</h2>{section.html}</section>")


def _contents(extra_sections: Sequence[Section], not_judged: bool) -> str:
    entries = [("cf-verdicts", "Verdict"), ("cf-actions", "What needs action"),
               *([(ANCHOR, HEADING)] if not_judged else []),
               *((s.anchor, s.heading) for s in extra_sections),
               ("cf-picture", "The run at a glance"), ("cf-requirements", "All requirements"),
               ("results-table", "Every check"), ("environment", "Environment")]
    links = "".join(f'<li><a href="#{escape(anchor)}">{escape(text)}</a></li>'
                    for anchor, text in entries)
    return f'<nav class="cf-contents"><ol>{links}</ol></nav>'


def render_summary(view: RunView, extra_sections: Sequence[Section] = (),
                   expected: Expected = unexpected_only) -> str:
    """The page's sections as one HTML fragment, for pytest-html's summary prefix.

    "Not judged" follows "What needs action" when the run left anything unjudged; then
    `extra_sections`, in the order given (the insertion point for other outputs, e.g. expected
    failures or the history trend); `expected` tells which actions are waived, listed apart
    from the unexpected ones."""
    not_judged = not_judged_section(view)
    sections = [_contents(extra_sections, bool(not_judged)), verdicts_section(view),
                actions_section(view, expected), not_judged, *(_extra(s) for s in extra_sections),
                picture_section(view), tables_section(view)]
    return f'<div class="cf-page">{"".join(sections)}</div>'

