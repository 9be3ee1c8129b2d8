"""What a run left unjudged (conformance.model.unjudged), on results built here: which rows the
"Not judged" lists take, results.json's `unjudged`, the HTML section and its place, and a check
that marks its pass partial (RT-23 past its bound)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, cast

import jwt
import pytest

from conformance.checks import test_rt as rt_checks
from conformance.model.catalogue import Level, catalogue
from conformance.model.results import CheckResult, Outcome, Results, SkipKind
from conformance.model.unjudged import id_spans, unjudged
from conformance.report import RunView, render_summary
from conformance.run.check_context import PASS_NOTE, PASS_UNJUDGED
from conformance.run.samples import IssuedToken
from tests.helpers.html_tree import Element, parse

TARGET = "127.0.0.1:1"
WAIT = "RT-21 would wait 905 s; --expiry-wait 905 judges it"
PARTIAL = "unknown and rotated-out refresh tokens get one answer; family-revoked not available"


def _results(only: frozenset[str] | None = None) -> Results:
    """Every check of CT, FT, RT and FZ passes but those below; WB has no check (pending), LD is
    the load command's."""
    results = Results([TARGET], only)
    judged = [r for r in catalogue().values() if r.family in ("CT", "FT", "RT", "FZ")]
    for r in judged:
        results.record(f"{r.id}[{TARGET}]", CheckResult(f"t_{r.id}", TARGET, r.id, Outcome.PASS))
    results.record(f"CT-06[{TARGET}]", CheckResult(
        "t_ct06", TARGET, "CT-06", Outcome.SKIP, "a loopback address", {}, SkipKind.NOT_APPLICABLE))
    results.record(f"RT-21[{TARGET}]", CheckResult(
        "t_rt21", TARGET, "RT-21", Outcome.SKIP, WAIT, {}, SkipKind.NOT_JUDGED))
    results.record(f"CT-08[{TARGET}]", CheckResult(  # a SHOULD: not a MUST not judged
        "t_ct08", TARGET, "CT-08", Outcome.SKIP, "buf is missing", {}, SkipKind.NOT_JUDGED))
    results.record(f"RT-19[{TARGET}]", CheckResult(
        "t_rt19", TARGET, "RT-19", Outcome.PASS, PARTIAL, unjudged=True))
    return results


def test_the_lists_take_must_skips_not_judged_partial_passes_ld_once_and_pending_musts() -> None:
    left = unjudged(_results(), TARGET)
    assert [row.requirement.id for row in left.skipped] == ["RT-21"]
    assert left.skipped[0].message == WAIT
    assert [(row.requirement.id, row.message) for row in left.partial] == [("RT-19", PARTIAL)]
    assert left.elsewhere == ("LD-01", "LD-02", "LD-03", "LD-04")
    wb_musts = [r.id for r in catalogue().values() if r.family == "WB"
                and r.level is Level.MUST]
    assert list(left.pending) == wb_musts   # the pending SHOULDs (WB-04, ...) are not listed


def test_requirements_left_out_with_only_are_not_listed() -> None:
    left = unjudged(_results(frozenset({"RT-21", "RT-19", "WB-01"})), TARGET)
    assert [row.requirement.id for row in left.skipped] == ["RT-21"]
    assert left.elsewhere == () and left.pending == ("WB-01",)


def test_a_target_that_could_not_be_evaluated_lists_nothing() -> None:
    results = _results()
    results.causes[TARGET] = "unreachable"
    assert not unjudged(results, TARGET)


def test_runs_of_three_or_more_ids_are_one_span() -> None:
    assert id_spans(["CT-09", "RT-25", "RT-26", "RT-27", "WB-05", "WB-06", "LD-01"]) == \
        "CT-09, RT-25..RT-27, WB-05, WB-06, LD-01"


def test_results_json_marks_a_partial_pass_and_only_it() -> None:
    rows = {row["id"]: row for row in _results().as_json(
        suite_version="0", profile="quick", started_at="", duration_s=0)["targets"][0][
        "requirements"]}
    assert rows["RT-19"]["outcome"] == "pass" and rows["RT-19"]["unjudged"] is True
    assert rows["RT-19"]["message"] == PARTIAL
    assert [rid for rid, row in rows.items() if "unjudged" in row] == ["RT-19"]
    assert rows["RT-21"]["skip_kind"] == "not-judged"


def test_a_partial_pass_speaks_for_its_requirement_among_passes() -> None:
    results = Results([TARGET])
    results.record("a", CheckResult("t_a", TARGET, "RT-07", Outcome.PASS))
    results.record("b", CheckResult("t_b", TARGET, "RT-07", Outcome.PASS, "expired half not "
                                    "judged", unjudged=True))
    row = next(r for r in results.requirements(TARGET) if r.requirement.id == "RT-07")
    assert row.unjudged and row.message == "expired half not judged"
    results.record("c", CheckResult("t_c", TARGET, "RT-07", Outcome.FAIL, "[RT-07 MUST] ..."))
    row = next(r for r in results.requirements(TARGET) if r.requirement.id == "RT-07")
    assert row.outcome is Outcome.FAIL and not row.unjudged


def _page(results: Results) -> Element:
    view = RunView(results, "quick", "0.1.0", "2026-12-02T00:00:00Z", 3.2)
    return parse(render_summary(view))


def test_the_html_section_follows_what_needs_action_before_the_picture_and_the_table() -> None:
    page = _page(_results())
    ids = [s.attrs["id"] for s in page.find_all("section")]
    assert ids.index("cf-not-judged") == ids.index("cf-actions") + 1
    assert ids.index("cf-not-judged") < ids.index("cf-picture") < ids.index("cf-requirements")
    contents = [a.attrs["href"] for a in page.find("nav").find_all("a")]
    assert contents.index("#cf-not-judged") == contents.index("#cf-actions") + 1
    items = [li.text for li in page.find("section", id="cf-not-judged").find_all("li")]
    assert items[0].startswith("RT-21 MUST") and items[0].endswith(WAIT)
    assert items[1].startswith("RT-19 SHOULD") and "partly judged" in items[1]
    assert items[1].endswith(PARTIAL)
    assert [item for item in items if "LD-0" in item] == [
        "LD-01..LD-04: judged by python -m conformance load"]
    assert items[-1].endswith(": not implemented yet") and "WB-04" not in items[-1]
    assert len(items) == 4
    link = page.find("section", id="cf-not-judged").find("a").attrs["href"]
    assert link == "#cf-row-t0-RT-21" and page.find("tr", id="cf-row-t0-RT-21")


def test_a_run_that_left_nothing_unjudged_has_no_section() -> None:
    results = Results([TARGET])
    for rid in catalogue():
        results.record(rid, CheckResult(f"t_{rid}", TARGET, rid, Outcome.PASS))
    page = _page(results)
    assert not page.find_all("section", id="cf-not-judged")
    assert "#cf-not-judged" not in {a.attrs["href"] for a in page.find("nav").find_all("a")}


# A check's partial pass: RT-23 past its bound of JWTs ------------------------------------------
@dataclass
class FakeNode:
    user_properties: list[tuple[str, object]] = field(default_factory=list)


def _rt23(monkeypatch: pytest.MonkeyPatch, tokens: int, bound: int) -> dict[str, object]:
    key = secrets.token_bytes(32)   # no weak secret: the check passes
    issued = [IssuedToken("access", "refresh response",
                          jwt.encode({"sub": "u", "jti": str(n)}, key, algorithm="HS256"))
              for n in range(tokens)]
    monkeypatch.setattr(rt_checks, "issued_tokens", lambda target: issued)
    monkeypatch.setattr(rt_checks, "MAX_JUDGED_JWTS", bound)
    node = FakeNode()
    rt_checks.test_rt23_hmac_jwt_does_not_verify_with_a_weak_secret(
        cast(Any, None), cast(Any, type("Request", (), {"node": node})()))
    return dict(node.user_properties)


def test_rt23_past_its_bound_is_a_partial_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    properties = _rt23(monkeypatch, tokens=3, bound=2)
    assert properties[PASS_UNJUDGED] is True
    assert str(properties[PASS_NOTE]).endswith("; 1 more HMAC-signed JWTs not judged (at most 2 "
                                               "a run)")


def test_rt23_within_its_bound_is_a_whole_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    properties = _rt23(monkeypatch, tokens=3, bound=400)
    assert PASS_UNJUDGED not in properties
    assert str(properties[PASS_NOTE]).startswith("3 HMAC-signed JWTs (access) verify with none")
