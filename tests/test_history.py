"""--history FILE: an SQLite history of runs (schema version, migrations, one transaction per
run, WAL and a busy timeout), and the HTML report's trend and changes since the previous run.
Real reference servers, correct and with a fault, on one fixed port: one target's history."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from conformance.model.errors import UsageError
from conformance.nightly import history
from conformance.nightly.html import history_fragment
from tests.helpers.reference_process import (
    ROOT,
    free_port,
    reference_process,
    run_suite,
    target_args,
)

ONLY = ["--only", "RT-12,RT-10"]


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two nights of one target in one history: correct, then with RT-12 broken."""
    port, out = free_port(), tmp_path_factory.mktemp("history")
    db = out / "history.sqlite"
    runs = {}
    for name, faults in (("first", ()), ("second", ("reuse-not-detected",))):
        with reference_process(port, *faults) as address:
            runs[name] = run_suite(out / name, *target_args(address), *ONLY, "--history", str(db))
        assert runs[name].returncode == (1 if faults else 0), runs[name].stderr
    return {"db": db, "address": address, "out": out}


def test_each_run_is_appended_and_the_report_shows_the_trend(nights: dict[str, Any]) -> None:
    trend = history.trend(str(nights["db"]), nights["address"])
    assert [run.verdict for run in trend.runs] == ["conformant", "non-conformant"]
    assert trend.outcomes["RT-12"] == ("pass", "fail")
    first = (nights["out"] / "first" / "conformance.html").read_text()
    assert "Changes since the previous run: none recorded (the first run)." in first
    second = (nights["out"] / "second" / "conformance.html").read_text()
    assert "last 2 runs" in second and second.count('<rect x="') >= 2
    assert "verdict conformant &rarr; non-conformant" in second
    assert "<li>regressed: RT-12 pass &rarr; fail</li>" in second
    assert '<tr><th>RT-12</th><td class="nm-o-pass" title="run 1: pass">P</td>' \
        '<td class="nm-o-fail" title="run 2: fail">F</td></tr>' in second
    results = json.loads((nights["out"] / "second" / "results.json").read_text())
    assert results["run"]["history"] == str(nights["db"])


def test_the_history_is_in_wal_mode_with_our_schema(nights: dict[str, Any]) -> None:
    with sqlite3.connect(nights["db"]) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == history.APPLICATION_ID
    db.close()


def _history_run(run_suite: Any, path: Path) -> Any:
    return run_suite("--only", "CT-01", "--profile", "quick", "--history", str(path))


@pytest.mark.parametrize("kind", ["corrupt", "foreign", "newer"])
def test_a_file_that_is_not_our_history_is_exit_2_and_left_as_it_is(
        run_suite: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "history.sqlite"
    if kind == "corrupt":
        path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    else:
        with sqlite3.connect(path) as db:
            if kind == "foreign":
                db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
            else:
                db.execute(f"PRAGMA application_id = {history.APPLICATION_ID}")
                db.execute("PRAGMA user_version = 99")
                db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
        db.close()
    before = path.read_bytes()
    run = _history_run(run_suite, path)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "the file is left as it is" in run.stderr
    assert "Traceback" not in run.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite"]  # no -wal, no -shm


def test_an_unwritable_place_is_exit_2(run_suite: Any, tmp_path: Path) -> None:
    run = _history_run(run_suite, tmp_path / "absent" / "history.sqlite")
    assert run.exit_code == 2 and "cannot create it" in run.stderr



def test_a_file_the_run_cannot_append_to_is_refused_before_the_run(run_suite: Any) -> None:
    """/dev/null (no regular file) once passed check_history: the run went ahead and its append
    failed at the end ('disk I/O error'), the whole run's time spent for exit 2."""
    run = _history_run(run_suite, Path("/dev/null"))
    assert run.exit_code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "not a regular file" in run.stderr
    assert not (run.report_dir / "results.json").exists()   # refused before any check ran


def test_a_read_only_history_or_directory_is_refused_before_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A history the run may read but not write passed check_history (it opens it read-only),
    and the append failed after the run. os.access stands in for a read-only file, as the
    self-tests may run as root, whom mode bits do not stop."""
    path = tmp_path / "history.sqlite"
    history.append(str(path), _document())
    for read_only in (path, tmp_path):
        real = history.os.access
        monkeypatch.setattr(history.os, "access", lambda p, mode, ro=read_only, real=real:
                            False if Path(p) == ro and mode == history.os.W_OK else real(p, mode))
        with pytest.raises(UsageError, match="is not writable"):
            history.check_history(str(path))
        monkeypatch.undo()

def _document(verdict: str = "conformant", outcome: str = "pass") -> dict[str, Any]:
    return {"suite_version": "0.1.0", "catalogue": {"version": 2, "sha256": "ab" * 32},
            "profile": "quick", "started_at": "2026-12-01T00:00:00Z", "duration_s": 1.0,
            "run": {"only": None}, "targets": [
                {"target": "t:1", "verdict": verdict, "counts": {"pass": 1},
                 "requirements": [{"id": "RT-12", "level": "MUST", "outcome": outcome},
                                  {"id": "RT-10", "level": "MUST", "outcome": "pass"}]}]}



@pytest.mark.parametrize("edit", ["UPDATE targets SET counts_json = 'garbage'",
                                  "UPDATE outcomes SET outcome = 'x\"><script>alert(1)</script>'"])
def test_a_history_with_rows_no_suite_wrote_is_exit_2_and_left_as_it_is(
        run_suite: Any, tmp_path: Path, edit: str) -> None:
    """Such rows once passed the file's checks, the run was appended, and drawing the trend
    raised (json.loads, compare's SEVERITY[...]): a traceback and no HTML report."""
    path = tmp_path / "history.sqlite"
    history.append(str(path), _document())
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(edit)
    before = path.read_bytes()
    run = _history_run(run_suite, path)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "a corrupt history" in run.stderr, run.stderr
    assert path.read_bytes() == before

def test_an_older_history_is_migrated_when_a_run_is_appended(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    with sqlite3.connect(path) as db:  # a history as the first schema left it
        for statement in history.MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(f"PRAGMA application_id = {history.APPLICATION_ID}")
        db.execute("INSERT INTO runs VALUES (1, 'then', '0.1.0', 2, '', 'quick', 1.0, '{}')")
        db.execute("INSERT INTO targets VALUES (1, 't:1', 'conformant', '{}')")
        db.execute("INSERT INTO outcomes VALUES (1, 't:1', 'RT-12', 'MUST', 'pass')")
    db.close()
    assert history.append(path, _document("non-conformant", "fail")) == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 2
        assert db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = "
                          "'targets_by_label'").fetchone()
    db.close()
    assert history.trend(path, "t:1").outcomes["RT-12"] == ("pass", "fail")


def test_a_run_lands_whole_or_not_at_all(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    history.append(path, _document())
    broken = _document()
    broken["targets"][0]["requirements"].append({"id": "RT-12", "level": "MUST",
                                                 "outcome": "fail"})  # a duplicate row
    with pytest.raises(UsageError, match="cannot append the run"):
        history.append(path, broken)
    with sqlite3.connect(path) as db:
        assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "targets", "outcomes")] == [1, 1, 2]
    db.close()


def test_two_runs_appending_at_once_both_land(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    document = json.dumps(_document())
    script = ("import json, sys; from conformance.nightly.history import append\n"
              "for _ in range(25): append(sys.argv[1], json.loads(sys.argv[2]))\n")
    writers = [subprocess.Popen([sys.executable, "-c", script, path, document], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    assert len(history.trend(path, "t:1", limit=100).runs) == 50


def test_the_trend_shows_the_last_30_runs_oldest_first(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    for night in range(35):
        document = copy.deepcopy(_document(*(("non-conformant", "fail") if night % 2 else ())))
        document["started_at"] = f"2026-11-{night % 28 + 1:02d}T03:17:00Z"
        history.append(path, document)
    trend = history.trend(path, "t:1")
    assert [run.run_id for run in trend.runs] == list(range(6, 36))
    assert trend.outcomes["RT-12"][-1] == "pass" and trend.outcomes["RT-12"][-2] == "fail"
    fragment = history_fragment(trend, None)
    assert fragment.count("<rect ") == 30 * 1 and fragment.count('class="nm-o-fail"') >= 15
    assert history.previous_document(path, "t:1", 35)["targets"][0]["verdict"] \
        == "non-conformant"  # type: ignore[index]


def test_runs_of_the_embedded_server_are_one_target(run_suite: Any, tmp_path: Path) -> None:
    """It listens on a new free port every run; history and compare know it by its name."""
    from conformance.nightly.compare import EMBEDDED

    path = tmp_path / "history.sqlite"
    first = run_suite("--profile", "quick", *ONLY, "--history", str(path))
    second = run_suite("--profile", "quick", *ONLY, "--history", str(path),
                       "--reference-fault", "reuse-not-detected")
    assert (first.exit_code, second.exit_code) == (0, 1), second.stderr
    assert first.results["targets"][0]["target"] != second.results["targets"][0]["target"]
    assert history.trend(str(path), EMBEDDED).outcomes["RT-12"] == ("pass", "fail")
    assert "<li>regressed: RT-12 pass &rarr; fail</li>" in \
        (second.report_dir / "conformance.html").read_text()
    done = subprocess.run([sys.executable, "-m", "conformance", "compare",
                           str(first.report_dir / "results.json"),
                           str(second.report_dir / "results.json")], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[1] == f"{EMBEDDED}: conformant -> non-conformant"
