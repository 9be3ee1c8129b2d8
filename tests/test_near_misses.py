"""The review table (tests/near_misses.py) covers every MUST, and what it claims holds: a tried
near-miss names a check of its requirement and faults that exist and declare it. No server."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from conformance.load.judge import LD_IDS
from conformance.load.outputs import check_name
from conformance.model.catalogue import Level, catalogue
from conformance.reference.faults import FAULTS
from tests.near_misses import TABLE, NearMiss, Status, markdown
from tests.test_catalogue import PENDING

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "conformance" / "checks"
MUSTS = [rid for rid, r in catalogue().items() if r.level is Level.MUST]
ENTRIES = [(rid, index, near_miss) for rid, review in TABLE.items()
           for index, near_miss in enumerate(review.near_misses)]
IDS = [f"{rid}#{index}" for rid, index, _ in ENTRIES]


@cache
def _check_requirements() -> dict[str, set[str]]:
    """Check function name -> the requirement IDs its markers name."""
    found: dict[str, set[str]] = {}
    for module in sorted(CHECKS.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found[node.name] = {
                    ast.literal_eval(deco.args[0]) for deco in node.decorator_list
                    if isinstance(deco, ast.Call)
                    and ast.unparse(deco.func) == "pytest.mark.requirement"}
    # The load command's judges (conformance/load/judge.py), by the names results give them.
    found.update({check_name(rid): {rid} for rid in LD_IDS})
    return found


@cache
def _package_source() -> str:
    return "\n".join(path.read_text() for path in sorted((ROOT / "conformance").rglob("*.py")))


def _functions(path: Path) -> set[str]:
    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef)}


def test_every_must_has_a_review_and_nothing_else_has() -> None:
    assert sorted(TABLE) == sorted(MUSTS), (
        f"MUSTs without a review: {sorted(set(MUSTS) - set(TABLE))}; reviews of no MUST: "
        f"{sorted(set(TABLE) - set(MUSTS))}")


@pytest.mark.parametrize("rid", MUSTS)
def test_each_review_lists_near_misses(rid: str) -> None:
    assert len(TABLE[rid].near_misses) >= 2, f"{rid}: aim for 2-5 near-misses"


def test_pending_requirements_are_marked_pending() -> None:
    """Every MUST still without a check (test_catalogue.PENDING) is marked pending and claims
    nothing tried; a requirement marked pending but no longer in PENDING is one of issue 12's
    own, whose check is landing right now (its entries say so)."""
    for rid in set(PENDING) & set(MUSTS):
        assert TABLE[rid].pending, f"{rid} has no check yet: mark it pending ({PENDING[rid]})"
    for rid, review in TABLE.items():
        if not review.pending:
            continue
        assert all(n.status is not Status.TRIED for n in review.near_misses), \
            f"{rid} is pending: nothing of it can be tried"
        if rid not in PENDING:
            assert any(n.status is Status.IN_PROGRESS for n in review.near_misses), \
                f"{rid} has a check now: take `pending` off and review what it tries"


@pytest.mark.parametrize(("rid", "index", "near_miss"), ENTRIES, ids=IDS)
def test_each_entry_is_what_its_status_says(rid: str, index: int, near_miss: NearMiss) -> None:
    assert near_miss.what and near_miss.basis, f"{rid}#{index}: description and basis"
    checks = _check_requirements()
    if near_miss.status in (Status.TRIED, Status.IN_PROGRESS) and near_miss.check:
        assert near_miss.check in checks, f"{near_miss.check} is no check in conformance/checks"
        assert rid in checks[near_miss.check], f"{near_miss.check} is not a check of {rid}"
    if near_miss.status is Status.TRIED:
        assert near_miss.check, f"{rid}#{index}: a tried near-miss names its check"
        assert near_miss.faults or near_miss.self_test, \
            f"{rid}#{index}: a tried near-miss names the faults (or self-test) that prove it"
        for name in near_miss.faults:
            assert name in FAULTS, f"{rid}#{index}: no fault {name!r}"
            assert rid in FAULTS[name].breaks, f"fault {name} does not declare {rid}"
        if near_miss.case:
            spelt = near_miss.case in _package_source()
            assert spelt, f"{rid}#{index}: case {near_miss.case!r} is not in conformance/'s source"
        if near_miss.self_test:
            file, _, function = near_miss.self_test.partition("::")
            assert function in _functions(ROOT / file), f"no self-test {near_miss.self_test}"
    else:
        assert not near_miss.faults and not near_miss.case and not near_miss.self_test, \
            f"{rid}#{index}: only a tried near-miss names faults, cases or self-tests"
    if near_miss.status is Status.IN_PROGRESS:
        assert not near_miss.why
    if near_miss.status in (Status.UNREACHABLE, Status.GAP):
        assert near_miss.why, f"{rid}#{index}: say why it is {near_miss.status.value}"
    assert (near_miss.priority in (1, 2, 3)) == (near_miss.status is Status.GAP), \
        f"{rid}#{index}: a gap, and only a gap, has a priority 1-3"


def test_in_progress_entries_belong_to_issue_12s_parts() -> None:
    """Issue 12's other parts: FZ-02's NUL and normalisation near-misses, RT-12's longer chain,
    RT-23 and RT-24. Anything else in progress is unowned."""
    owners = {rid for rid, _, near_miss in ENTRIES if near_miss.status is Status.IN_PROGRESS}
    assert owners <= {"FZ-02", "RT-12", "RT-23", "RT-24"}


def test_the_markdown_table_has_a_row_per_entry() -> None:
    rows = markdown().splitlines()[2:]
    assert len(rows) == len(ENTRIES)
    assert [row.split(" ", 2)[1] for row in rows] == [rid for rid, _, _ in ENTRIES]
