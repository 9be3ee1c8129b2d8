"""`python -m conformance compare OLD NEW [--json]`: verdict changes and changed requirements per
target, in catalogue order; exit 0, 1, 16 or 2 (interface.md, "More commands"). The runs are of
real reference servers, with and without a fault, on one fixed port."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.model.catalogue import catalogue
from conformance.nightly.compare import compare_documents
from tests.helpers.reference_process import (
    ROOT,
    free_port,
    reference_process,
    run_suite,
    target_args,
)

ONLY = ["--only", "RT-12,RT-10,CT-01"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """results.json of a correct and of a faulty (RT-12) server, the same target."""
    port, out = free_port(), tmp_path_factory.mktemp("compare")
    files = {}
    for name, faults in (("good", ()), ("bad", ("reuse-not-detected",))):
        with reference_process(port, *faults) as address:
            done = run_suite(out / name, *target_args(address), *ONLY)
        assert done.returncode == (1 if faults else 0), done.stdout + done.stderr
        files[name] = out / name / "results.json"
    return files


def _compare(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          stdin=subprocess.DEVNULL)


def test_the_same_results_are_no_difference(runs: dict[str, Path]) -> None:
    done = _compare(runs["good"], runs["good"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no differences"


def test_a_new_failure_is_a_regression(runs: dict[str, Path]) -> None:
    done = _compare(runs["good"], runs["bad"])
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "catalogue v3 (both)"
    assert lines[1].endswith(": conformant -> non-conformant")
    assert lines[2].split() == ["regressed", "RT-12", "MUST", "pass", "->", "fail"]
    assert lines[-1] == "regression found"


def test_a_fixed_failure_is_a_difference_but_no_regression(runs: dict[str, Path]) -> None:
    done = _compare(runs["bad"], runs["good"], "--json")
    assert done.returncode == 16, done.stderr
    data = json.loads(done.stdout)
    assert data["exit_status"] == 16 and data["catalogue"]["shared_ids_only"] is False
    [target] = data["targets"]
    assert target["verdict"] == {"old": "non-conformant", "new": "conformant"}
    assert target["changes"] == [{"id": "RT-12", "level": "MUST", "old": "fail", "new": "pass",
                                  "change": "improved"}]


def test_an_older_catalogue_compares_on_the_ids_both_know(runs: dict[str, Path],
                                                          tmp_path: Path) -> None:
    old = json.loads(runs["good"].read_text())
    old["catalogue"]["version"] = 1
    old["targets"][0]["requirements"] = [r for r in old["targets"][0]["requirements"]
                                         if r["id"] != "RT-24"]   # a v1 without RT-24
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    done = _compare(path, runs["bad"])
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[0] == ("catalogue v1 (OLD) and v3 (NEW) differ: compared on "
                                           "the requirement IDs both know")
    assert "RT-24" not in done.stdout and "added" not in done.stdout


@pytest.mark.parametrize("content", ["", "{not json", '{"targets": [{"target": "a"}]}',
                                     '{"targets": [{"target": "a", "verdict": "conformant", '
                                     '"requirements": [{"id": "RT-01", "outcome": "ok"}]}]}'])
def test_unreadable_input_is_exit_2_in_one_line(runs: dict[str, Path], tmp_path: Path,
                                                 content: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    for args in ((path, runs["good"]), (runs["good"], path)):
        done = _compare(*args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert str(path) in done.stderr and "Traceback" not in done.stderr
    done = _compare(tmp_path / "absent.json", runs["good"])
    assert done.returncode == 2 and "cannot read" in done.stderr




def _one(level: object = "MUST", outcome: str = "pass", **more: object) -> str:
    row = {"id": "RT-01", "outcome": outcome, "level": level}
    return json.dumps({"targets": [{"target": "a", "verdict": "conformant",
                                    "requirements": [row]}], **more})


@pytest.mark.parametrize("content", [
    "[" * 100_000,                                          # deeper than the parser goes
    _one(run="not an object"), _one(run={"token_sources": {"a": 1}}),
    _one(level=[1])])                                       # a level that is no word
def test_hostile_documents_are_exit_2_not_a_traceback(tmp_path: Path, content: str) -> None:
    """Each once raised past read_results (RecursionError, AttributeError in target_name, a
    TypeError printing the level) and exited 1, which compare means as 'a regression'."""
    path, other = tmp_path / "hostile.json", tmp_path / "other.json"
    path.write_text(content)
    other.write_text(_one(outcome="fail"))     # the same target, RT-01 failed: a change to print
    done = _compare(other, path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert str(path) in done.stderr and "Traceback" not in done.stderr

def _document(*targets: tuple[str, str, list[tuple[str, str]]]) -> dict[str, Any]:
    return {"catalogue": {"version": 2}, "targets": [
        {"target": label, "verdict": verdict,
         "requirements": [{"id": rid, "level": "MUST", "outcome": o} for rid, o in rows]}
        for label, verdict, rows in targets]}


def test_changes_come_in_catalogue_order_and_targets_from_either_file() -> None:
    ids = list(catalogue())
    first, second, third = ids[0], ids[10], ids[20]
    old = _document(("a:1", "conformant", [(third, "pass"), (second, "fail"), (first, "pass")]),
                    ("gone:1", "conformant", [(first, "pass")]))
    new = _document(("a:1", "non-conformant", [(first, "warn"), (second, "skip"),
                                               (third, "error")]),
                    ("new:1", "conformant", [(first, "pass")]))
    comparison = compare_documents(old, new)
    a, gone, added = comparison.targets
    assert [(c.id, c.kind) for c in a.changes] == [(first, "regressed"), (second, "improved"),
                                                   (third, "regressed")]
    assert (gone.status, added.status) == ("removed", "added")
    assert [c.kind for c in added.changes] == ["added"]
    assert comparison.exit_status == 1


def test_pass_and_skip_are_one_severity() -> None:
    rid = next(iter(catalogue()))
    old = _document(("a:1", "conformant", [(rid, "pass")]))
    new = copy.deepcopy(old)
    new["targets"][0]["requirements"][0]["outcome"] = "skip"
    assert compare_documents(old, new).exit_status == 0


def test_a_results_json_without_a_catalogue_record_is_named_so() -> None:
    """It printed 'catalogue vNone (OLD)'."""
    old = _document(("t:1", "conformant", [("RT-12", "pass")]))
    del old["catalogue"]
    note = compare_documents(old, _document(("t:1", "conformant", [("RT-12", "pass")]))
                             ).catalogue_note()
    assert note == ("catalogue (no version recorded) (OLD) and v2 (NEW) differ: compared on the "
                    "requirement IDs both know")
