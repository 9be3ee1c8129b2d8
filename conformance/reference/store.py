"""Users and tokens of the reference server in SQLite; tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid as uuid_lib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["RotationOutcome", "Store", "StoredUser", "hash_token"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    uuid TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_salt BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    profile TEXT NOT NULL              -- JSON of the User fields other than uuid and email
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_uuid TEXT NOT NULL REFERENCES users(uuid),
    state TEXT NOT NULL CHECK (state IN ('active', 'rotated', 'revoked')),
    issued_at REAL NOT NULL,
    rotated_at REAL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_uuid TEXT NOT NULL REFERENCES users(uuid),
    expires_at REAL NOT NULL
);
"""

# A test double mints hundreds of tokens per run, so the KDF cost is modest; the salted
# PBKDF2 shape is the production one.
PBKDF2_ITERATIONS = 20_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)


@dataclass(frozen=True)
class StoredUser:
    uuid: str
    email: str
    profile: dict[str, Any]


class RotationOutcome(Enum):
    ROTATED = "rotated"
    UNKNOWN = "unknown"
    REUSED = "reused"        # a rotated-out token came back: its family is now revoked
    REVOKED = "revoked"


@dataclass(frozen=True)
class Rotation:
    outcome: RotationOutcome
    user_uuid: str | None = None
    family_id: str | None = None
    rotated_at: float | None = None  # when a REUSED token was rotated out


@dataclass
class Store:
    """One SQLite connection, used under a lock; rotation is a single conditional UPDATE."""

    path: str = ":memory:"
    _db: sqlite3.Connection = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            # A file database in rollback-journal mode syncs to disk on every commit (each
            # rotation, each issued access token): about 2.4 ms a refresh, under 450 a second
            # for the whole server. Write-ahead logging with NORMAL sync commits without a sync
            # (durable up to the last checkpoint, as a test double needs), about 0.15 ms.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # users ---------------------------------------------------------------
    def seed_user(self, email: str, password: str, profile: dict[str, Any]) -> StoredUser:
        """Create the user, or reset the password and profile of an existing one."""
        salt = secrets.token_bytes(16)
        with self._lock:
            row = self._db.execute("SELECT uuid FROM users WHERE email = ?", (email,)).fetchone()
            user_uuid = row[0] if row else str(uuid_lib.uuid4())
            self._db.execute(
                "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?)",
                (user_uuid, email, salt, _hash_password(password, salt), json.dumps(profile)),
            )
        return StoredUser(user_uuid, email, profile)

    def authenticate(self, email: str, password: str) -> StoredUser | None:
        with self._lock:
            row = self._db.execute(
                "SELECT uuid, password_salt, password_hash, profile FROM users WHERE email = ?",
                (email,),
            ).fetchone()
        if row is None:
            _hash_password(password, b"\0" * 16)  # same work either way: no user-enumeration timing
            return None
        user_uuid, salt, expected, profile = row
        if not hmac.compare_digest(_hash_password(password, salt), expected):
            return None
        return StoredUser(user_uuid, email, json.loads(profile))

    def any_user(self) -> StoredUser | None:
        """The first seeded user (for faults that hand out a user without a credential)."""
        return self._one_user("ORDER BY rowid LIMIT 1", ())

    def user(self, user_uuid: str) -> StoredUser | None:
        return self._one_user("WHERE uuid = ?", (user_uuid,))

    def user_by_email(self, email: str) -> StoredUser | None:
        return self._one_user("WHERE email = ?", (email,))

    def _one_user(self, clause: str, params: tuple[str, ...]) -> StoredUser | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT uuid, email, profile FROM users {clause}", params).fetchone()
        return StoredUser(row[0], row[1], json.loads(row[2])) if row else None

    # tokens --------------------------------------------------------------
    def add_refresh_token(self, token: str, user_uuid: str, family_id: str) -> None:
        with self._lock:
            self._insert_refresh(token, user_uuid, family_id)

    def add_access_token(self, token: str, user_uuid: str, lifetime: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO access_tokens VALUES (?, ?, ?)",
                (hash_token(token), user_uuid, time.time() + lifetime),
            )

    def access_token_user(self, token: str) -> str | None:
        """The user of a live access token; None when unknown or expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT user_uuid FROM access_tokens WHERE token_hash = ? AND expires_at > ?",
                (hash_token(token), time.time()),
            ).fetchone()
        return row[0] if row else None

    def refresh_token_state(self, token: str) -> tuple[str, str, str] | None:
        """(state, family_id, user_uuid) of a refresh token, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT state, family_id, user_uuid FROM refresh_tokens WHERE token_hash = ?",
                (hash_token(token),),
            ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def rotate(self, token: str, successor: str, *, reuse_grace: float = 0.0,
               atomic: bool = True, detect_reuse: bool = True, rotate: bool = True,
               revoke_successor_only: bool = False, family_is_token: bool = False,
               revoke_user_families: bool = False, gap: float = 0.02) -> Rotation:
        """Spend a refresh token and store its successor: exactly one caller wins, a replay
        revokes the family.

        Check, spend and successor insert are one transaction under the connection lock,
        so concurrent callers with the same token get exactly one success, and a loser
        (which is indistinguishable from a replay, RFC 9700 §4.14.2) revokes the family
        after the successor exists. The keyword flags exist only for the named faults and
        flavours (revoke_user_families: flavour reuse-revokes-every-family).
        """
        token_hash = hash_token(token)
        if not atomic:
            found = self.refresh_token_state(token)
            if found is not None and found[0] == "active":
                return self._spend_after_gap(token, successor, found[1], found[2], gap)
            # Unknown, reused and revoked tokens take the usual path below.
        with self._lock:
            row = self._db.execute(
                "SELECT state, family_id, user_uuid, rotated_at FROM refresh_tokens "
                "WHERE token_hash = ?", (token_hash,)).fetchone()
            if row is None:
                return Rotation(RotationOutcome.UNKNOWN)
            state, family_id, user_uuid, rotated_at = row
            if state == "rotated" and reuse_grace > 0 and time.time() - rotated_at <= reuse_grace:
                state = "active"  # inside the declared grace window a replay counts as a use
            if state == "active":
                self._db.execute("BEGIN IMMEDIATE")
                if rotate:
                    self._db.execute(
                        "UPDATE refresh_tokens SET state = 'rotated', rotated_at = "
                        "COALESCE(rotated_at, ?) WHERE token_hash = ?", (time.time(), token_hash))
                if successor != token:
                    self._insert_refresh(successor, user_uuid, family_id)
                self._db.execute("COMMIT")
                return Rotation(RotationOutcome.ROTATED, user_uuid, family_id)
            if state == "rotated":
                if revoke_successor_only:  # fault reuse-revokes-only-the-successor
                    self._db.execute(
                        "UPDATE refresh_tokens SET state = 'revoked' WHERE token_hash = ? OR "
                        "rowid = (SELECT MIN(rowid) FROM refresh_tokens WHERE family_id = ? AND "
                        "rowid > (SELECT rowid FROM refresh_tokens WHERE token_hash = ?))",
                        (token_hash, family_id, token_hash))
                elif revoke_user_families:  # flavour reuse-revokes-every-family
                    self._db.execute("UPDATE refresh_tokens SET state = 'revoked' "
                                     "WHERE user_uuid = ?", (user_uuid,))
                elif detect_reuse:
                    # fault reuse-revokes-the-family-named-by-the-token: the replayed token's
                    # hash taken for its family's id (which only the family's first token has)
                    self._db.execute("UPDATE refresh_tokens SET state = 'revoked' "
                                     "WHERE family_id = ?",
                                     (token_hash if family_is_token else family_id,))
                return Rotation(RotationOutcome.REUSED, user_uuid, family_id, rotated_at)
            return Rotation(RotationOutcome.REVOKED, user_uuid, family_id)

    def revoke_other_families(self, user_uuid: str, family_id: str) -> None:
        """Fault refresh-revokes-other-families: "one session per user", every other family of
        the user revoked."""
        with self._lock:
            self._db.execute("UPDATE refresh_tokens SET state = 'revoked' WHERE user_uuid = ? "
                             "AND family_id != ?", (user_uuid, family_id))

    def _spend_after_gap(self, token: str, successor: str, family_id: str,
                         user_uuid: str, gap: float) -> Rotation:
        """Act on a check made outside the lock: the double spend of fault rotation-not-atomic
        (and of load-check-then-spend-race, whose gap is a contended database's)."""
        time.sleep(gap)  # widen the window a real check-then-act leaves open
        with self._lock:
            self._db.execute("UPDATE refresh_tokens SET state = 'rotated', rotated_at = ? "
                             "WHERE token_hash = ?", (time.time(), hash_token(token)))
            self._insert_refresh(successor, user_uuid, family_id)
        return Rotation(RotationOutcome.ROTATED, user_uuid, family_id)

    def revoke_family_of(self, token: str) -> None:
        """Revoke the whole family of a refresh token (fault load-false-reuse-detection)."""
        with self._lock:
            self._db.execute("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = "
                             "(SELECT family_id FROM refresh_tokens WHERE token_hash = ?)",
                             (hash_token(token),))

    def _insert_refresh(self, token: str, user_uuid: str, family_id: str) -> None:
        self._db.execute(
            "INSERT INTO refresh_tokens VALUES (?, ?, ?, 'active', ?, NULL)",
            (hash_token(token), family_id, user_uuid, time.time()))
