"""RT-09's cases mean the same on every gRPC stack, and each kind of case (no credential, another
scheme, a malformed Bearer credential) has a fault that trips its rule and only its rule."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from conformance.checks.test_rt import (
    MALFORMED_AUTHORIZATION,
    MALFORMED_BEARER,
    NO_CREDENTIAL,
    OTHER_SCHEME,
    RT09_KINDS,
)

# The reference server's access tokens (token_urlsafe(32)): 43 base64url characters.
ISSUED_SHAPE = re.compile(r"(?<![\w-])[\w-]{43}(?![\w-])")
# Which kinds of case each RT-09 fault (or flavour: none) must fail.
KINDS_FAILED = {
    "--reference-fault=get-me-without-authorization-ok": {NO_CREDENTIAL},
    "--reference-fault=get-me-invalid-argument-without-bearer": {NO_CREDENTIAL, OTHER_SCHEME},
    "--reference-fault=get-me-any-scheme-accepted": {OTHER_SCHEME},
    "--reference-fault=get-me-bearer-prefix-match": {MALFORMED_BEARER},
    "--reference-fault=get-me-reads-x-access-token": {NO_CREDENTIAL},
    "--reference-flavor=get-me-invalid-argument-for-malformed-bearer": set(),
}


def test_no_case_starts_or_ends_with_white_space() -> None:
    """grpc-js drops a metadata value with leading or trailing white space: such a case would
    reach a grpc-js server as no metadata at all, another case with another rule."""
    for case, (_, value) in MALFORMED_AUTHORIZATION.items():
        assert value is None or value == value.strip(" \t"), case


def test_every_kind_has_a_case_and_a_fault() -> None:
    kinds = {kind for kind, _ in MALFORMED_AUTHORIZATION.values()}
    assert kinds == set(RT09_KINDS)
    assert set().union(*KINDS_FAILED.values()) == kinds


@pytest.mark.parametrize("option", sorted(KINDS_FAILED))
def test_each_fault_fails_the_cases_of_its_kinds(run_suite: Any, option: str) -> None:
    run = run_suite("--profile", "quick", "--only", "RT-09", option)
    by_title = {title: kind for kind, (_, title) in RT09_KINDS.items()}
    failed: dict[str, str] = {}
    for case in ElementTree.parse(run.report_dir / "junit.xml").iter("testcase"):
        for failure in case.iter("failure"):
            text = failure.text or failure.get("message") or ""
            failed[case.get("name", "")] = text
    kinds = set()
    for name, text in failed.items():
        title = text.splitlines()[0].removeprefix("[RT-09 MUST] ")
        assert title in by_title, text
        kind = by_title[title]
        kinds.add(kind)
        case = name[name.index("[") + 1:-1].split("-", 1)[1]  # the id: `<target>-<case>`
        assert MALFORMED_AUTHORIZATION[case][0] == kind, name   # the message names its kind
        assert f"for {kind} ({case})" in text
        assert not ISSUED_SHAPE.search(text), "a live token in clear"  # near-misses hold one
    assert kinds == KINDS_FAILED[option], failed
    assert run.exit_code == (1 if kinds else 0), run.stdout[-2000:]
