"""The catalogue is the spec's, and checks and catalogue line up one to one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conformance.model.catalogue import Level, catalogue, source_links
from conformance.reference.faults import FAULTS

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec" / "requirements.md"
CHECKS = ROOT / "conformance" / "checks"


def _checks_by_requirement() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for module in sorted(CHECKS.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for deco in node.decorator_list:
                    if (isinstance(deco, ast.Call) and ast.unparse(deco.func)
                            == "pytest.mark.requirement"):
                        rid = ast.literal_eval(deco.args[0])
                        found.setdefault(rid, []).append(node.name)
                        doc = ast.get_docstring(node) or ""
                        assert doc.startswith(f"{rid}:"), f"{node.name}: docstring must open " \
                            f"with {rid}"
                        assert node.name.startswith(f"test_{rid.lower().replace('-', '')}_"), \
                            node.name
    return found


@pytest.mark.skipif(not SPEC.exists(), reason="shared/spec is not beside the checkout")
def test_catalogue_equals_the_spec() -> None:
    rows = re.findall(r"^\| (\w\w-\d\d) \| (MUST|SHOULD) \| (.*) \| (.*) \|$",
                      SPEC.read_text(), flags=re.M)
    assert [(r.id, r.level.value, r.title, r.source) for r in catalogue().values()] == rows


def test_every_check_names_a_catalogued_requirement() -> None:
    assert set(_checks_by_requirement()) <= set(catalogue())


# Catalogue requirements whose checks land with a later issue (ID -> issue): until then they show
# as `skip` ("not implemented"). Any other requirement without a check fails the test below.
# Catalogue v3's new rows (issue 22 brought them in) land with the issues named here.
PENDING: dict[str, str] = {
    **{f"WB-{n:02d}": "issue 24 (transports)" for n in range(1, 10)},
    "RT-25": "issue 25 (lifecycle)",
    "RT-26": "issue 25 (lifecycle)",
    "RT-27": "issue 25 (lifecycle)",
    "FZ-10": "issue 25 (lifecycle)",
}
# Judged by `python -m conformance load` (conformance/load/judge.py), not by a pytest check.
LOAD_JUDGES = ("LD-01", "LD-02", "LD-03", "LD-04")


def test_every_requirement_has_a_check() -> None:
    assert set(PENDING) <= set(catalogue())
    from conformance.load.judge import LD_IDS
    assert set(LOAD_JUDGES) == set(LD_IDS)
    missing = set(catalogue()) - set(_checks_by_requirement()) - set(LOAD_JUDGES)
    assert missing == set(PENDING), (
        f"without a check and not pending: {sorted(missing - set(PENDING))}; pending but "
        f"implemented (take them off PENDING): {sorted(set(PENDING) - missing)}")


# Requirements no fault of the loopback reference server can trip, with the self-test that
# proves their check fails instead.
PROVEN_WITHOUT_A_FAULT = {
    "CT-06": "tests/test_fields.py::test_ct06_check_judges_configuration_only (plaintext to a "
             "non-loopback address, judged without dialling it)",
}


def test_every_requirement_is_tripped_by_some_fault() -> None:
    tripped = set().union(*(fault.breaks for fault in FAULTS.values()))
    assert set(catalogue()) - tripped == set(PROVEN_WITHOUT_A_FAULT) | set(PENDING)


def test_levels_and_links() -> None:
    assert {r.level for r in catalogue().values()} == {Level.MUST, Level.SHOULD}
    assert source_links("RFC 6749 §5.2 (invalid_grant)") == [
        ("RFC 6749 §5.2", "https://www.rfc-editor.org/rfc/rfc6749#section-5.2")]
    assert source_links("RFC 6749 App. A.17")[0][1].endswith("#appendix-A.17")


def test_every_clause_after_an_rfc_is_linked_to_that_rfc() -> None:
    assert source_links("RFC 6749 §6, §10.4; OIDC Core §12.2") == [
        ("RFC 6749 §6", "https://www.rfc-editor.org/rfc/rfc6749#section-6"),
        ("§10.4", "https://www.rfc-editor.org/rfc/rfc6749#section-10.4")]
    assert [url for _, url in source_links("RFC 6750 §2.1; RFC 6749 App. A.12, §7")] == [
        "https://www.rfc-editor.org/rfc/rfc6750#section-2.1",
        "https://www.rfc-editor.org/rfc/rfc6749#appendix-A.12",
        "https://www.rfc-editor.org/rfc/rfc6749#section-7"]
