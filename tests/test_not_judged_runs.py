"""Nothing left unjudged unseen (issue 23, item 4), on runs of the embedded reference server:
results.json's `skip_kind` of each kind, and the console's and the HTML's "Not judged" lists."""

from __future__ import annotations

from typing import Any

from tests.conftest import SuiteRun
from tests.helpers.html_tree import Element, parse


def _rows(run: SuiteRun) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in run.results["targets"][0]["requirements"]}


def _not_judged_lines(run: SuiteRun) -> list[str]:
    verdict = run.stdout.split("conformance verdict", 1)[1]
    return [line for line in verdict.splitlines() if line.startswith("  NOT JUDGED ")
            or line.startswith("  PARTLY JUDGED ")]


def _page(run: SuiteRun) -> Element:
    return parse((run.report_dir / "conformance.html").read_text(encoding="utf-8"))


def _section_items(page: Element) -> list[str]:
    return [li.text for li in page.find("section", id="cf-not-judged").find_all("li")]


def test_a_quick_run_of_the_reference_lists_rt21_and_the_load_family_once(
        run_suite: Any) -> None:
    run = run_suite("--profile", "quick")
    assert run.exit_code == 0, run.stdout[-3000:]
    rows = _rows(run)
    assert rows["CT-06"]["skip_kind"] == "not-applicable"   # loopback
    assert rows["RT-21"]["skip_kind"] == "not-judged"       # 905 s beyond --expiry-wait 10
    assert {rows[f"LD-0{n}"]["skip_kind"] for n in range(1, 5)} == {"not-selected"}
    lines = _not_judged_lines(run)
    [rt21] = [line for line in lines if " RT-21 " in line]
    assert rt21.startswith("  NOT JUDGED RT-21 MUST   the access token's lifetime is 900 s")
    assert rt21.endswith("--expiry-wait 905 judges it")
    assert [line for line in lines if "LD-0" in line] == [
        "  NOT JUDGED LD-01..LD-04: judged by `python -m conformance load`"]
    assert not [line for line in lines if "CT-06" in line]   # not applicable: not listed
    assert lines[-1].endswith(": not implemented yet")        # the pending MUSTs, one line
    # RT-07's expired half: a pass that says what it left out
    assert rows["RT-07"]["outcome"] == "pass" and rows["RT-07"]["unjudged"] is True
    assert any(line.startswith("  PARTLY JUDGED RT-07 MUST ") and "expired half" in line
               for line in lines)
    page = _page(run)
    section = page.find("section", id="cf-not-judged")
    assert page.find("section", id="cf-actions").order < section.order < \
        page.find("table", cls="cf-requirements").order
    items = _section_items(page)
    assert any(item.startswith("RT-21 MUST") and "--expiry-wait 905" in item for item in items)
    assert [item for item in items if "LD-0" in item] == [
        "LD-01..LD-04: judged by python -m conformance load"]


def test_requirements_left_out_with_only_are_not_selected_and_not_listed(
        run_suite: Any) -> None:
    run = run_suite("--profile", "quick", "--only", "CT-06,RT-21")
    assert run.exit_code == 0, run.stdout[-3000:]
    rows = _rows(run)
    assert rows["RT-05"]["skip_kind"] == "not-selected"
    assert rows["RT-05"]["message"] == "not selected (--only)"
    assert rows["LD-01"]["skip_kind"] == "not-selected"
    assert rows["CT-06"]["skip_kind"] == "not-applicable"
    assert [line.split()[2] for line in _not_judged_lines(run)] == ["RT-21"]
    assert [item.split()[0] for item in _section_items(_page(run))] == ["RT-21"]


def test_a_pass_that_left_a_class_out_is_listed_as_partly_judged(run_suite: Any) -> None:
    """Checksummed refresh tokens: the suite's unknown token is malformed to the target, so RT-05
    cannot be judged (a MUST, not-judged) and RT-19 compares the other two classes only."""
    run = run_suite("--profile", "quick", "--only", "RT-05,RT-19",
                    "--reference-flavor", "checksummed-refresh-tokens")
    assert run.exit_code == 0, run.stdout[-3000:]
    rows = _rows(run)
    assert rows["RT-05"]["skip_kind"] == "not-judged"
    assert rows["RT-19"]["outcome"] == "pass" and rows["RT-19"]["unjudged"] is True
    lines = _not_judged_lines(run)
    assert [line.split()[:4] for line in lines] == [["NOT", "JUDGED", "RT-05", "MUST"],
                                                    ["PARTLY", "JUDGED", "RT-19", "SHOULD"]]
    assert lines[1].endswith(rows["RT-19"]["message"])
    assert "unknown left out" in lines[1]
    items = _section_items(_page(run))
    assert items[1].startswith("RT-19 SHOULD") and items[1].endswith(rows["RT-19"]["message"])
