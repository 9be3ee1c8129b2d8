"""The HTML report's own page, drawn from the one results model above pytest-html's per-test
table; it may import `model` only.

Verdicts, what needs action, what the run left unjudged, a picture of the run and the full
requirement table.

`render_summary(view, extra_sections, expected)` is the one entry point (the plugin hands its
fragment to pytest-html's summary hook); `Section` is how other outputs add to the page.
`conformance.report.browser` drives headless Chromium over a written page (self-tests,
`make screenshots`, the benchmark); nothing of a run imports it.
"""

from conformance.report.page import STYLE_FILE, render_summary
from conformance.report.view import Expected, RunView, Section, unexpected_only

__all__ = ["STYLE_FILE", "Expected", "RunView", "Section", "render_summary", "unexpected_only"]
