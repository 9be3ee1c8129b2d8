"""The HTML report's page (conformance/report), drawn from a results model built here: its
order, its action list, its picture and table, read with an HTML parser."""

from __future__ import annotations

from conformance.model.catalogue import catalogue
from conformance.model.results import CheckResult, Outcome, RequirementResult, Results
from conformance.report import RunView, Section, render_summary
from tests.helpers.html_tree import Element, parse

GRPCURL = ("grpcurl -plaintext -d '{\"refresh_token\": \"<token sha256:00d55002>\"}' "
           "127.0.0.1:1 user_api.v1.UserApiService/RefreshAccessToken")
FAIL = {"title": "Unknown refresh token not rejected as UNAUTHENTICATED",
        "expected": "UNAUTHENTICATED for the never-issued token",
        "received": 'PERMISSION_DENIED: "invalid refresh token"', "reproduce": GRPCURL}


def _results(*targets: str) -> Results:
    results = Results(list(targets))
    for label in targets:
        for rid in catalogue():
            results.record(f"{rid}[{label}]", CheckResult(f"t_{rid}", label, rid, Outcome.PASS))
        results.record(f"CT-06[{label}]", CheckResult(
            "t_ct06", label, "CT-06", Outcome.SKIP, "a loopback address: no network to protect"))
    first = targets[0]
    results.record(f"CT-03[{first}]", CheckResult(
        "t_ct03", first, "CT-03", Outcome.WARN, "[CT-03 SHOULD] Unknown fields",
        {"title": "Unknown fields", "expected": "no unknown fields", "received": "field 99"}))
    results.record(f"RT-05[{first}]", CheckResult(
        "t_rt05", first, "RT-05", Outcome.FAIL, "[RT-05 MUST] " + FAIL["title"], dict(FAIL)))
    results.record_figures(first, "FZ-01", {"fuzz_tokens": 300, "fuzz_distinct": 297,
                                            "fuzz_seconds": 0.42})
    return results


def _page(results: Results, **kwargs: object) -> Element:
    view = RunView(results, "quick", "0.1.0", "2026-12-02T00:00:00Z", 3.2,
                   token_kinds={label: "password" for label in results.targets})
    return parse(render_summary(view, **kwargs))  # type: ignore[arg-type]


def test_page_opens_with_verdict_then_actions_before_the_full_table() -> None:
    page = _page(_results("127.0.0.1:1"))
    order = [page.find("section", id=name).order
             for name in ("cf-verdicts", "cf-actions", "cf-picture", "cf-requirements")]
    assert order == sorted(order)
    verdicts = page.find("section", id="cf-verdicts")
    assert "non-conformant" in verdicts.find(cls="cf-badge").text
    facts = verdicts.find("dl", cls="cf-facts").text
    for fact in ("quick", "0.1.0", "v3", "2026-12-02T00:00:00Z", "3.2 s"):
        assert fact in facts
    assert "Token source: password" in verdicts.text


def test_actions_are_must_first_with_expected_received_and_a_copyable_grpcurl_line() -> None:
    actions = _page(_results("127.0.0.1:1")).find("section", id="cf-actions")
    cards = actions.find_all("article", cls="cf-action")
    assert [card.find(cls="cf-id").text for card in cards] == ["RT-05", "CT-03"]  # skip: none
    rt05 = cards[0]
    assert rt05.attrs["id"] == "cf-action-t0-RT-05"
    fields = dict(zip([dt.text for dt in rt05.find_all("dt")],
                      [dd.text for dd in rt05.find_all("dd")], strict=True))
    assert fields["Expected"] == FAIL["expected"] and fields["Received"] == FAIL["received"]
    assert rt05.find(cls="cf-reproduce").find("pre").text == GRPCURL
    assert rt05.find("a").attrs["href"] == "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"
    assert "MUST" in rt05.find(cls="cf-level").text


def test_table_renders_code_spans_reasons_figures_and_links_actions() -> None:
    table = _page(_results("127.0.0.1:1")).find("table", cls="cf-requirements")
    rows = {row.attrs["id"]: row for row in table.find_all("tr", cls="cf-row")}
    assert len(rows) == len(catalogue())
    assert all("`" not in row.text for row in rows.values())
    assert rows["cf-row-t0-CT-01"].find("code").text == "RefreshAccessToken"
    ct06 = rows["cf-row-t0-CT-06"].text
    assert "\u2013 skip" in ct06 and "no network to protect" in ct06
    assert "tokens tried 300 · distinct 297 (99%) · 0.42 s" in rows["cf-row-t0-FZ-01"].text
    assert "#cf-action-t0-RT-05" in {a.attrs["href"] for a in rows["cf-row-t0-RT-05"].find_all("a")}


def test_several_targets_get_a_matrix_of_one_marked_linked_cell_per_requirement_and_target(
        ) -> None:
    targets = ("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
    page = _page(_results(*targets))
    matrix = page.find("table", cls="cf-matrix")
    cells = matrix.find_all("td", cls="cf-cell")
    assert len(cells) == len(catalogue()) * len(targets)
    ids = {e.attrs["id"] for e in page.iter() if "id" in e.attrs}
    for cell in cells:
        link = cell.find("a")
        assert link.attrs["href"].removeprefix("#") in ids
        assert link.text.strip()  # a symbol, not a colour alone
    rt05 = [c for c in cells if c.find("a").attrs["href"] == "#cf-action-t0-RT-05"]
    assert len(rt05) == 1 and "cf-fail" in rt05[0].attrs["class"].split()
    assert len(page.find_all("table", cls="cf-requirements")) == len(targets)
    assert not _page(_results("127.0.0.1:1")).find_all("table", cls="cf-matrix")


def test_family_bars_say_their_counts_in_words() -> None:
    families = _page(_results("127.0.0.1:1")).find(cls="cf-families")
    rt = next(f for f in families.find_all(cls="cf-family") if f.find("b").text == "RT")
    assert "fail" in rt.find(cls="cf-bar").attrs["aria-label"]
    assert "✗ fail" in rt.find(cls="cf-legend").text


def test_extra_sections_follow_the_actions_and_waived_actions_are_listed_apart() -> None:
    def waived(target: str, row: RequirementResult) -> bool:
        return row.requirement.id == "CT-03"

    page = _page(_results("127.0.0.1:1"), expected=waived, extra_sections=[
        Section("cf-trend", "Trend", "<p>three runs</p>"),
        Section("cf-changes", "Changes since the previous run", "<p>none</p>")])
    sections = [s.attrs["id"] for s in page.find_all("section")]
    assert sections[:4] == ["cf-verdicts", "cf-actions", "cf-trend", "cf-changes"]
    groups = page.find("section", id="cf-actions").find_all("h3", cls="cf-group")
    assert [g.text for g in groups] == ["Unexpected (1)", "Expected, waived (1)"]
    contents = [a.attrs["href"] for a in page.find("nav").find_all("a")]
    assert contents.index("#cf-trend") == contents.index("#cf-actions") + 1


def test_messages_are_escaped() -> None:
    results = _results("127.0.0.1:1")
    results.record("RT-06[127.0.0.1:1]", CheckResult(
        "t_rt06", "127.0.0.1:1", "RT-06", Outcome.ERROR, "<script>alert(1)</script> broke"))
    page = _page(results)
    assert not page.find_all("script")
    assert "<script>alert(1)</script> broke" in page.find("section", id="cf-actions").text


def test_a_must_error_comes_before_a_should_error() -> None:
    results = _results("127.0.0.1:1")
    for rid in ("CT-03", "RT-06"):  # a SHOULD early in the catalogue, a MUST later
        results.record(f"{rid}[127.0.0.1:1]", CheckResult(
            f"t_{rid}", "127.0.0.1:1", rid, Outcome.ERROR, f"{rid} could not be evaluated"))
    cards = _page(results).find("section", id="cf-actions").find_all("article")
    assert [card.find(cls="cf-id").text for card in cards] == ["RT-05", "RT-06", "CT-03"]


def test_a_target_that_could_not_be_evaluated_is_one_action_naming_its_cause() -> None:
    results = _results("127.0.0.1:1", "127.0.0.1:2")
    for rid in catalogue():
        results.record(f"{rid}[127.0.0.1:2]", CheckResult(
            f"t_{rid}", "127.0.0.1:2", rid, Outcome.ERROR, "could not be evaluated: unreachable"))
    results.causes["127.0.0.1:2"] = "unreachable: connection refused"
    page = _page(results)
    cause = page.find("article", id="cf-cause-t1-target")
    assert "unreachable: connection refused" in cause.text
    assert f"{len(catalogue())} requirements are error" in cause.text
    cards = page.find("section", id="cf-actions").find_all("article")
    assert [c.attrs["id"] for c in cards] == [  # a target not evaluated at all first
        "cf-cause-t1-target", "cf-action-t0-RT-05", "cf-action-t0-CT-03"]
    cells = page.find("table", cls="cf-matrix").find_all("td", cls="cf-cell")
    assert {c.find("a").attrs["href"] for c in cells[1::2]} == {"#cf-cause-t1-target"}
    assert "unreachable: connection refused" in page.find(cls="cf-cause").text
