"""The reference server's SQLite store with a file database (--db PATH): write-ahead logging, so
that a refresh does not wait for a disk sync (the load command's 500 refreshes a second)."""

from __future__ import annotations

import time
from pathlib import Path

from conformance.reference.store import RotationOutcome, Store

# Refreshes' writes (a rotation and an access token) on a file database: 200 take about 0.02 s
# with WAL, 0.34 s (two syncs each) in rollback-journal mode on this machine's disk; the bound
# leaves a busy machine seven times the time.
ROTATIONS = 200
BOUND_S = 0.15


def test_a_file_database_logs_ahead_and_syncs_only_at_checkpoints(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "reference.db"))
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1   # NORMAL
    finally:
        store.close()


def test_rotations_on_a_file_database_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "reference.db"))
    try:
        user = store.seed_user("qa@example.com", "a-password-of-the-test", {})
        store.add_refresh_token("token-0", user.uuid, "family")
        started = time.monotonic()
        for n in range(ROTATIONS):
            assert store.rotate(f"token-{n}", f"token-{n + 1}").outcome is \
                RotationOutcome.ROTATED
            store.add_access_token(f"access-token-{n}", user.uuid, 900)
        assert time.monotonic() - started < BOUND_S
        assert store.rotate("token-0", "token-x").outcome is RotationOutcome.REUSED
    finally:
        store.close()


def test_reuse_revokes_every_family_of_the_user_only_when_asked() -> None:
    """Flavour reuse-revokes-every-family: a replay revokes the user's other families too, and
    no other user's; without the flag only the replayed token's family."""
    for every_family in (True, False):
        store = Store()
        try:
            user = store.seed_user("qa@example.com", "a-password-of-the-test", {})
            other_user = store.seed_user("other@example.com", "a-password-of-the-test", {})
            store.add_refresh_token("a-0", user.uuid, "family-a")
            store.add_refresh_token("b-0", user.uuid, "family-b")
            store.add_refresh_token("c-0", other_user.uuid, "family-c")
            assert store.rotate("a-0", "a-1").outcome is RotationOutcome.ROTATED
            replay = store.rotate("a-0", "a-x", revoke_user_families=every_family)
            assert replay.outcome is RotationOutcome.REUSED
            assert store.rotate("a-1", "a-2").outcome is RotationOutcome.REVOKED
            assert store.rotate("b-0", "b-1").outcome is (
                RotationOutcome.REVOKED if every_family else RotationOutcome.ROTATED)
            assert store.rotate("c-0", "c-1").outcome is RotationOutcome.ROTATED
        finally:
            store.close()
