"""`--history FILE`: an SQLite database of runs, appended to by every run and read by the HTML
report's trend.

The schema has a version (PRAGMA user_version) and an owner mark (PRAGMA application_id), so
that a file of another program is told apart from an old history; MIGRATIONS brings an older
history up to date, in the transaction that appends the run. WAL and a busy timeout let two
runs that finish at once both land. A file that is not a history (corrupt, foreign, or from a
newer suite) is a usage error and is never written to.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.model.errors import UsageError
from conformance.nightly.compare import SEVERITY, target_name

__all__ = ["SCHEMA_VERSION", "Trend", "append", "check_history", "previous_document", "trend"]

APPLICATION_ID = 0x55414354  # "UACT": userapi-conformance's mark in the SQLite header
BUSY_TIMEOUT_MS = 15_000
APPEND_ATTEMPTS = 3
OPTION = "--history"
# MIGRATIONS[n] takes a history from schema version n to n + 1, one statement per item.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, "
     "suite_version TEXT NOT NULL, catalogue_version INTEGER NOT NULL, "
     "catalogue_sha256 TEXT NOT NULL, profile TEXT NOT NULL, duration_s REAL NOT NULL, "
     "run_json TEXT NOT NULL)",
     "CREATE TABLE targets (run_id INTEGER NOT NULL REFERENCES runs(id), target TEXT NOT NULL, "
     "verdict TEXT NOT NULL, counts_json TEXT NOT NULL, PRIMARY KEY (run_id, target))",
     "CREATE TABLE outcomes (run_id INTEGER NOT NULL, target TEXT NOT NULL, "
     "requirement_id TEXT NOT NULL, level TEXT NOT NULL, outcome TEXT NOT NULL, "
     "PRIMARY KEY (run_id, target, requirement_id), "
     "FOREIGN KEY (run_id, target) REFERENCES targets(run_id, target))"),
    # v2: the trend reads a target's last runs; without this index that is a scan of all runs.
    ("CREATE INDEX targets_by_label ON targets (target, run_id)",),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _refuse(path: str, why: str) -> UsageError:
    return UsageError(f"{OPTION} {path}: {why}; the file is left as it is")


def _inspect(db: sqlite3.Connection, path: str, *, thorough: bool = False) -> int:
    """The file's schema version (0: empty, a new history); UsageError if it is not ours.
    `thorough` also reads every page (once per run, before it: it grows with the history)."""
    try:
        # One statement, so one snapshot: read apart, another run's first commit could fall
        # between them (its tables seen, its mark not yet), which looks like a foreign file.
        application_id, version, tables = db.execute(
            "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_master) "
            "FROM pragma_application_id() AS a, pragma_user_version() AS v").fetchone()
        if thorough and tables and db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("integrity check failed")
    except sqlite3.DatabaseError as error:
        raise _refuse(path, f"not a readable SQLite database ({error})") from None
    if application_id != APPLICATION_ID and (tables or application_id or version):
        raise _refuse(path, "an SQLite database of another program, not a conformance history")
    if version > SCHEMA_VERSION:
        raise _refuse(path, f"written by a newer suite (history schema v{version}; this suite "
                      f"knows up to v{SCHEMA_VERSION})")
    return int(version)


def check_history(path: str) -> None:
    """Fail early (before any check runs) if FILE cannot be a history; writes nothing."""
    file = Path(path)
    if not file.exists():
        if not file.parent.is_dir() or not os.access(file.parent, os.W_OK):
            raise UsageError(f"{OPTION} {path}: cannot create it (no writable directory "
                             f"{str(file.parent)!r})")
        return
    if file.is_dir():
        raise UsageError(f"{OPTION} {path}: is a directory")
    if not file.is_file():
        raise UsageError(f"{OPTION} {path}: not a regular file")
    # Refused now, not after the run: the append writes the file, and WAL makes -wal and -shm
    # files beside it.
    for place in (file, file.resolve().parent):
        if not os.access(place, os.W_OK):
            raise UsageError(f"{OPTION} {path}: {str(place)!r} is not writable")
    if file.stat().st_size == 0:
        return
    with closing(_open(path, read_only=True)) as db:
        if _inspect(db, path, thorough=True):
            _check_rows(db, path)


def _check_rows(db: sqlite3.Connection, path: str) -> None:
    """Rows the report reads, as a suite writes them: an edited or damaged history is refused
    before the run is appended to it, not found when the report is drawn."""
    for (counts,) in db.execute("SELECT counts_json FROM targets"):
        _counts(path, str(counts))
    words = tuple(SEVERITY)
    bad = db.execute(f"SELECT outcome FROM outcomes WHERE outcome NOT IN "
                     f"({', '.join('?' * len(words))}) LIMIT 1", words).fetchone()
    if bad is not None:
        _outcome(path, bad[0])


def _open(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                             isolation_level=None)
    except sqlite3.Error as error:
        raise _refuse(path, f"cannot open ({error})") from None
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def append(path: str, document: dict[str, Any]) -> int:
    """Append a run (a results.json document) in one transaction; its run id."""
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            return _append(path, document)
        except sqlite3.OperationalError as error:
            # SQLite answers some lock conflicts at once, without its busy handler (a reader's
            # snapshot gone stale, a journal-mode change): the whole transaction is tried again.
            if "locked" not in str(error) or attempt == APPEND_ATTEMPTS:
                raise UsageError(f"{OPTION} {path}: cannot append the run ({error})") from None
            time.sleep(0.05 * attempt)
        except sqlite3.Error as error:
            raise UsageError(f"{OPTION} {path}: cannot append the run ({error})") from None
    raise AssertionError("unreachable")


def _append(path: str, document: dict[str, Any]) -> int:
    with closing(_open(path)) as db:
        _inspect(db, path)  # before the first write: a foreign file is never touched
        db.execute("PRAGMA journal_mode = WAL")
        # WAL's recommended level: a power cut may lose the last run, never corrupt the file.
        db.execute("PRAGMA synchronous = NORMAL")
        with _transaction(db):
            version = _inspect(db, path)  # again under the lock: another run may have migrated
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            catalogue = document.get("catalogue", {})
            cursor = db.execute(
                "INSERT INTO runs (started_at, suite_version, catalogue_version, "
                "catalogue_sha256, profile, duration_s, run_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (document["started_at"], document["suite_version"], catalogue.get("version", 0),
                 catalogue.get("sha256", ""), document["profile"], document["duration_s"],
                 json.dumps(document.get("run", {}), sort_keys=True)))
            run_id = int(cursor.lastrowid or 0)
            for target in document["targets"]:
                name = target_name(document, target["target"])
                db.execute("INSERT INTO targets VALUES (?, ?, ?, ?)",
                           (run_id, name, target["verdict"],
                            json.dumps(target["counts"], sort_keys=True)))
                db.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
                               [(run_id, name, row["id"], row["level"], row["outcome"])
                                for row in target["requirements"]])
        return run_id


def _counts(path: str, text: str) -> dict[str, int]:
    """A run's counts as stored; a row no suite wrote (edited, damaged) refuses the file."""
    try:
        counts = json.loads(text)
    except ValueError:
        counts = None
    if not isinstance(counts, dict) or not all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()):
        raise _refuse(path, f"a corrupt history (a target's counts are {text[:40]!r})")
    return counts


def _outcome(path: str, outcome: object) -> str:
    # The report puts it in a class name and compare looks its severity up: only the words.
    if outcome not in SEVERITY:
        raise _refuse(path, f"a corrupt history (an outcome {str(outcome)[:40]!r})")
    assert isinstance(outcome, str)
    return outcome


@dataclass(frozen=True)
class TrendRun:
    run_id: int
    started_at: str
    verdict: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Trend:
    """A target's last runs, oldest first, and each requirement's outcome in each (None: the
    requirement was not in that run)."""

    target: str
    runs: tuple[TrendRun, ...]
    outcomes: dict[str, tuple[str | None, ...]]


def trend(path: str, target: str, limit: int = 30) -> Trend:
    with closing(_open(path, read_only=True)) as db:
        _inspect(db, path)
        rows = db.execute("SELECT t.run_id, r.started_at, t.verdict, t.counts_json FROM targets t "
                          "JOIN runs r ON r.id = t.run_id WHERE t.target = ? "
                          "ORDER BY t.run_id DESC LIMIT ?", (target, limit)).fetchall()
        runs = tuple(TrendRun(rid, str(started), str(verdict), _counts(path, str(counts)))
                     for rid, started, verdict, counts in reversed(rows))
        if not runs:
            return Trend(target, (), {})
        column = {run.run_id: i for i, run in enumerate(runs)}
        grid: dict[str, list[str | None]] = {}
        for run_id, rid, outcome in db.execute(
                "SELECT run_id, requirement_id, outcome FROM outcomes WHERE target = ? AND "
                "run_id >= ? ORDER BY rowid", (target, runs[0].run_id)):
            if run_id in column:
                grid.setdefault(str(rid), [None] * len(runs))[column[run_id]] = \
                    _outcome(path, outcome)
    return Trend(target, runs, {rid: tuple(cells) for rid, cells in grid.items()})


def previous_document(path: str, target: str, before: int) -> dict[str, Any] | None:
    """The latest run of `target` (a name of compare.target_name) before run id `before`, as a
    one-target results.json document (the keys `compare` reads), or None when there is none."""
    with closing(_open(path, read_only=True)) as db:
        _inspect(db, path)
        row = db.execute("SELECT r.id, r.catalogue_version, r.catalogue_sha256, t.verdict "
                         "FROM targets t JOIN runs r ON r.id = t.run_id WHERE t.target = ? AND "
                         "t.run_id < ? ORDER BY t.run_id DESC LIMIT 1", (target, before)).fetchone()
        if row is None:
            return None
        run_id, version, sha256, verdict = row
        requirements = [{"id": str(rid), "level": str(level), "outcome": _outcome(path, outcome)}
                        for rid, level, outcome in
                        db.execute("SELECT requirement_id, level, outcome FROM outcomes WHERE "
                                   "run_id = ? AND target = ? ORDER BY rowid", (run_id, target))]
    return {"catalogue": {"version": version, "sha256": sha256},
            "targets": [{"target": target, "verdict": verdict, "requirements": requirements}]}
