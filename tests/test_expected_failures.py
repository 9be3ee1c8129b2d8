"""--expected-failures: the exit status follows the file, the verdict stays what the checks
found (interface.md, "Known deviations"). Real reference servers, with and without a fault, on
one fixed port: every run is of the same target."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from conformance.model.catalogue import Level, catalogue
from conformance.model.errors import UsageError
from conformance.nightly.expectations import ExpectedFailures, judge, load, paste_ready
from tests.helpers.html_tree import parse
from tests.helpers.reference_process import env, free_port, reference_process, target_args

PORT = free_port()
ONLY = ["--only", "RT-12,RT-10"]
FAULT = "reuse-not-detected"   # trips RT-12 alone


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "expected.toml"
    path.write_text(text)
    return str(path)


def _run(run_suite: Any, address: str, expected: str, *more: str) -> Any:
    return run_suite(*target_args(address), *ONLY, "--expected-failures", expected, *more,
                     env=env())


def test_an_expected_must_failure_exits_0_and_the_verdict_stays(run_suite: Any,
                                                                 tmp_path: Path) -> None:
    expected = _file(tmp_path, '[[expected]]\nrequirement = "RT-1?"\ntarget = "127.0.0.1:*"\n'
                     'reason = "family revocation ships in 2.4"\nticket = "VEND-123"\n'
                     "expires = 2999-01-01\n")
    with reference_process(PORT, FAULT) as address:
        run = _run(run_suite, address, expected)
    assert run.exit_code == 0, run.stdout + run.stderr
    target = run.results["targets"][0]
    assert target["verdict"] == "non-conformant"
    assert target["unexpected"] == []
    rt12 = next(r for r in target["requirements"] if r["id"] == "RT-12")
    assert rt12["outcome"] == "fail"
    assert rt12["expected"] == {"reason": "family revocation ships in 2.4", "ticket": "VEND-123"}
    assert run.results["expectations"] == {"file": expected, "unused": [], "expired": [],
                                           "exit_status": 0}
    assert run.results["run"]["expected_failures"] == expected
    assert "expected    fail  RT-12: family revocation ships in 2.4 [VEND-123]" in run.stdout
    page = parse((run.report_dir / "conformance.html").read_text())
    sections = [s.attrs.get("id") for s in page.find_all("section", cls="cf-section")]
    assert sections.index("nm-expectations") == sections.index("cf-actions") + 1
    assert "expected (entry 1)" in page.find("section", id="nm-expectations").text
    groups = page.find("section", id="cf-actions").find_all("h3", cls="cf-group")
    assert [g.text for g in groups] == ["Unexpected (0)", "Expected, waived (1)"]


def test_an_unexpected_failure_exits_1_with_a_paste_ready_entry_that_then_waives_it(
        run_suite: Any, tmp_path: Path) -> None:
    expected = _file(tmp_path, "")
    with reference_process(PORT, FAULT) as address:
        first = _run(run_suite, address, expected)
        assert first.exit_code == 1, first.stdout + first.stderr
        assert first.results["targets"][0]["unexpected"] == ["RT-12"]
        assert "UNEXPECTED  fail  RT-12" in first.stdout
        lines = first.stdout.splitlines()
        start = lines.index("[[expected]]")
        entry = "\n".join(lines[start:start + 6])
        assert f'target = "{address}"' in entry and 'requirement = "RT-12"' in entry
        Path(expected).write_text(entry + "\n")
        second = _run(run_suite, address, expected)
    assert second.exit_code == 0, second.stdout + second.stderr
    assert second.results["targets"][0]["verdict"] == "non-conformant"


def test_an_unused_entry_exits_1_and_says_it_should_go(run_suite: Any, tmp_path: Path) -> None:
    expected = _file(tmp_path, '[[expected]]\nrequirement = "RT-12"\nreason = "not fixed yet"\n')
    with reference_process(PORT) as address:  # no fault: RT-12 passes
        run = _run(run_suite, address, expected)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.results["targets"][0]["verdict"] == "conformant"
    assert [e["entry"] for e in run.results["expectations"]["unused"]] == [1]
    assert "entry 1 (RT-12 fail on *) matched nothing: the expected failure did not happen; " \
        "remove the entry" in run.stdout


def test_an_expired_entry_no_longer_applies_and_exits_1(run_suite: Any, tmp_path: Path) -> None:
    expected = _file(tmp_path, '[[expected]]\nrequirement = "RT-12"\nreason = "agreed"\n'
                     "expires = 2020-01-01\n")
    with reference_process(PORT, FAULT) as address:
        run = _run(run_suite, address, expected)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert [e["expires"] for e in run.results["expectations"]["expired"]] == ["2020-01-01"]
    assert run.results["targets"][0]["unexpected"] == ["RT-12"]
    assert "expired on 2020-01-01" in run.stdout


def test_a_target_that_cannot_be_evaluated_unexpectedly_exits_3(run_suite: Any,
                                                                tmp_path: Path) -> None:
    expected = _file(tmp_path, "")
    run = _run(run_suite, f"127.0.0.1:{free_port()}", expected, "--deadline", "1")
    assert run.exit_code == 3, run.stdout + run.stderr
    assert run.results["expectations"]["exit_status"] == 3


@pytest.mark.parametrize(("text", "says"), [
    ("[[expected]\n", "not valid TOML"),
    ('[[expected]]\nrequirement = "RT-12"\nreason = "r"\nwaived = true\n', "unknown key 'waived'"),
    ('[[expected]]\nrequirement = "RT-12"\n', "`reason` is missing"),
    ('[[expected]]\nrequirement = "XX-*"\nreason = "r"\n', "'XX-*' matches no catalogue ID"),
    ('[[expected]]\nrequirement = "RT-12"\nreason = "r"\noutcome = "passed"\n', "is not one of"),
    ('[[expected]]\nrequirement = "RT-12"\nreason = "r"\nexpires = "soon"\n', "a TOML date"),
    ('[[expectation]]\nrequirement = "RT-12"\nreason = "r"\n', "unknown key 'expectation'"),
    ("a = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),  # was a RecursionError
])
def test_a_bad_file_is_exit_2_in_one_line(run_suite: Any, tmp_path: Path, text: str,
                                          says: str) -> None:
    run = run_suite("--expected-failures", _file(tmp_path, text))
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1 and says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_missing_file_is_exit_2(run_suite: Any, tmp_path: Path) -> None:
    run = run_suite("--expected-failures", str(tmp_path / "absent.toml"))
    assert run.exit_code == 2 and "cannot read" in run.stderr


def _expected(tmp_path: Path, text: str) -> ExpectedFailures:
    return load(_file(tmp_path, text))


def test_the_exit_status_rules(tmp_path: Path) -> None:
    """1 beats 3 beats unused or expired entries; SHOULD outcomes never count."""
    today = dt.date(2027, 1, 1)
    waive_rt12 = _expected(tmp_path, '[[expected]]\nrequirement = "RT-12"\nreason = "r"\n')
    fail12 = {"t:1": [("RT-12", "fail"), ("RT-11", "pass")]}
    assert judge(waive_rt12, fail12, today).exit_status == 0
    assert judge(waive_rt12, {"t:1": [("RT-12", "pass"), ("RT-11", "fail")]}, today
                 ).exit_status == 1
    assert judge(waive_rt12, {"t:1": [("RT-12", "fail"), ("RT-11", "error")]}, today
                 ).exit_status == 3
    assert judge(waive_rt12, {"t:1": [("RT-12", "error")]}, today).exit_status == 3
    should = next(rid for rid, r in catalogue().items() if r.level is Level.SHOULD)
    assert judge(waive_rt12, {"t:1": [("RT-12", "fail"), (should, "warn")]}, today
                 ).exit_status == 0
    dated = _expected(tmp_path, '[[expected]]\nrequirement = "RT-12"\nreason = "r"\n'
                      "expires = 2027-01-01\n")
    assert judge(dated, fail12, dt.date(2026, 12, 31)).exit_status == 0
    assert judge(dated, fail12, today).exit_status == 1  # from its date on, it no longer applies


def test_a_glob_matches_catalogue_ids_and_targets(tmp_path: Path) -> None:
    expected = _expected(tmp_path, '[[expected]]\nrequirement = "fz-*"\ntarget = "vendor-a*"\n'
                         'outcome = "error"\nreason = "r"\n')
    judgement = judge(expected, {"vendor-a:443": [("FZ-01", "error")],
                                 "vendor-b:443": [("FZ-01", "error")]}, dt.date(2027, 1, 1))
    assert list(judgement.matched) == [("vendor-a:443", "FZ-01")]
    assert judgement.unexpected == {"vendor-a:443": [], "vendor-b:443": ["FZ-01"]}
    with pytest.raises(UsageError, match="matches no catalogue ID"):
        _expected(tmp_path, '[[expected]]\nrequirement = "RT-9?"\nreason = "r"\n')


def test_an_entry_under_a_broader_one_is_used_too(tmp_path: Path) -> None:
    expected = _expected(tmp_path, '[[expected]]\nrequirement = "RT-*"\nreason = "broad"\n'
                         '[[expected]]\nrequirement = "RT-12"\nreason = "narrow"\n')
    judgement = judge(expected, {"t:1": [("RT-12", "fail")]}, dt.date(2027, 1, 1))
    assert judgement.matched["t:1", "RT-12"].reason == "broad"
    assert judgement.unused == [] and judgement.exit_status == 0


def test_the_paste_ready_entry_of_an_ipv6_target_waives_its_failure(tmp_path: Path) -> None:
    """--target accepts [::1]:50051; as a glob, "[::1]" is a character class, so the entry the
    suite printed for the failure matched nothing and the gate stayed red (exit 1)."""
    label = "[::1]:50051"
    expected = _expected(tmp_path, paste_ready(label, "RT-12", "fail").replace(
        "TODO: why this is expected", "agreed"))
    judgement = judge(expected, {label: [("RT-12", "fail")]}, dt.date.today())
    assert judgement.unexpected == {label: []} and judgement.unused == []
    assert judgement.exit_status == 0
