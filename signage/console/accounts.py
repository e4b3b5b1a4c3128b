"""The console's people room: accounts, roles, sessions, sign-in throttling and the audit log.

Everything lives in ``DATA/console.sqlite3`` (the hub's data folder), a database of its own
so that ``signage user add`` works whether or not the hub runs, and the hub's own database
stays the hub's. Passwords are argon2id hashes (argon2-cffi); session cookies are random
tokens of which only the sha256 is stored, so a copy of the database opens no session. A
cookie minted by another hub is simply unknown here.

Decisions are pure functions (``role_allows``, ``login_gate``); ``AccountStore`` is the
thin shell around SQLite.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signage.i18n import N_
from signage.logs import area_logger

log = area_logger("hub.console")

DB_NAME = "console.sqlite3"
NAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
SESSION_IDLE_S = 2 * 3600.0
SESSION_MAX_S = 12 * 3600.0
# Sign-in throttling: after the 3rd failure in a row the next attempt waits 2**(n-3) s; the 6th
# failure locks the account for LOCK_S. A success clears the count.
THROTTLE_AFTER = 3
LOCK_AFTER = 6
LOCK_S = 15 * 60.0


ROLE_LABELS = {1: N_("viewer"), 2: N_("editor"), 3: N_("operator"), 4: N_("administrator")}


class Role(enum.IntEnum):
    """What a person may do; each role includes the ones below it."""

    VIEWER = 1  # reads everything but the audit log and the people page
    EDITOR = 2  # edits content: playlists, assets, restores history
    OPERATOR = 3  # raises and clears alerts (console part 2)
    ADMIN = 4  # manages people, reads the audit log

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {text!r}; one of {names}") from None

    @property
    def label(self) -> str:
        """The role's name as people read it (an English msgid: ``_()`` where shown)."""
        return ROLE_LABELS[int(self)]


def role_allows(role: Role, needed: Role) -> bool:
    """Whether someone with ``role`` may do what needs ``needed``."""
    return role >= needed


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a user name (``None``: it can)."""
    if not name or len(name) > NAME_MAX:
        return f"a user name is 1 to {NAME_MAX} characters"
    if not all(c.isalnum() or c in "._-@" for c in name):
        return "a user name holds letters, digits and . _ - @ only"
    return None


def check_password(password: str) -> str | None:
    """Why ``password`` is refused (``None``: accepted)."""
    if len(password) < PASSWORD_MIN:
        return f"a password needs at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"a password is at most {PASSWORD_MAX} characters"
    return None


@dataclass(frozen=True, slots=True)
class Gate:
    """What ``login_gate`` decided: whether to try the password now, else how long to wait."""

    allowed: bool
    wait_s: float = 0.0
    locked: bool = False


def login_gate(failures: int, last_failure: float | None, now: float) -> Gate:
    """Whether a sign-in attempt may be checked now, given the failures in a row so far."""
    if failures <= 0 or last_failure is None:
        return Gate(True)
    since = now - last_failure
    if failures >= LOCK_AFTER:
        if since < LOCK_S:
            return Gate(False, LOCK_S - since, locked=True)
        return Gate(True)
    if failures >= THROTTLE_AFTER:
        delay = float(2 ** (failures - THROTTLE_AFTER))
        if since < delay:
            return Gate(False, delay - since)
    return Gate(True)


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    created: float
    failures: int = 0
    last_failure: float | None = None

    def locked_until(self, now: float) -> float | None:
        gate = login_gate(self.failures, self.last_failure, now)
        if gate.locked:
            return now + gate.wait_s
        return None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: who, with what role, and the CSRF token its forms carry."""

    id_hash: str
    user: str
    role: Role
    csrf: str
    created: float
    last_seen: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: float
    user: str
    action: str
    target: str
    before: str | None
    after: str | None
    detail: str


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role INTEGER NOT NULL,
    hash TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    detail TEXT NOT NULL
);
"""


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountError(Exception):
    """Raised when an account cannot be added, changed or removed (message says why)."""


class AccountStore:
    """The accounts, sessions, sign-in failures and audit log of one hub's data folder.

    Args:
        data_dir: the hub's data folder (``console.sqlite3`` is created there).
        clock: epoch seconds (tests inject one).
    """

    def __init__(self, data_dir: Path, clock: Any = time.time) -> None:
        from argon2 import PasswordHasher

        self.path = data_dir / DB_NAME
        self._clock = clock
        self._local = threading.local()
        self._hasher = PasswordHasher()
        self._dummy: str | None = None  # made on first use (hashing costs 64 MiB and ~0.1 s)
        data_dir.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)
        try:
            self.path.chmod(0o600)  # password hashes: the hub's user only
        except OSError as exc:  # owned by someone else (made with sudo): say so, go on
            log.warning("cannot restrict %s to its owner: %s", self.path, exc.strerror)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        with conn:
            yield conn

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ accounts

    def add(self, name: str, role: Role, password: str) -> None:
        for problem in (check_name(name), check_password(password)):
            if problem:
                raise AccountError(problem)
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)",
                    (name, int(role), self._hasher.hash(password), self._clock()),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"there is already a user named {name!r}") from None

    def set_password(self, name: str, password: str) -> None:
        problem = check_password(password)
        if problem:
            raise AccountError(problem)
        with self._db() as db:
            cur = db.execute(
                "UPDATE users SET hash = ? WHERE name = ?", (self._hasher.hash(password), name)
            )
            if cur.rowcount == 0:
                raise AccountError(f"no user named {name!r}")
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))

    def remove(self, name: str) -> None:
        with self._db() as db:
            cur = db.execute("DELETE FROM users WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise AccountError(f"no user named {name!r}")
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))

    def accounts(self) -> list[Account]:
        with self._db() as db:
            rows = db.execute(
                "SELECT u.name, u.role, u.created, f.failures, f.last_failure FROM users u "
                "LEFT JOIN login_failures f ON f.name = u.name ORDER BY u.name"
            ).fetchall()
        return [
            Account(name, Role(role), created, failures or 0, last)
            for name, role, created, failures, last in rows
        ]

    def unlock(self, name: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))

    # ------------------------------------------------------------------- sign-in

    def authenticate(self, name: str, password: str) -> tuple[Account | None, Gate]:
        """Checks a sign-in attempt; the account when it succeeds, and the gate that applied.

        A gated attempt (throttled or locked) is not checked and not counted. A failure is
        counted per name, known or not, so probing names gets the same answers.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        name = name.strip()[:NAME_MAX]
        now = self._clock()
        with self._db() as db:
            row = db.execute(
                "SELECT failures, last_failure FROM login_failures WHERE name = ?", (name,)
            ).fetchone()
            user = db.execute("SELECT role, hash, created FROM users WHERE name = ?", (name,))
            found = user.fetchone()
        gate = login_gate(row[0] if row else 0, row[1] if row else None, now)
        if not gate.allowed:
            return None, gate
        if found is not None:
            stored = str(found[1])
        else:
            if self._dummy is None:
                # Verified against when the name is unknown: timing does not tell names apart.
                self._dummy = self._hasher.hash(secrets.token_hex(16))
            stored = self._dummy
        try:
            ok = self._hasher.verify(stored, password[:PASSWORD_MAX]) and found is not None
        except (VerificationError, InvalidHashError):
            ok = False
        with self._db() as db:
            if ok:
                db.execute("DELETE FROM login_failures WHERE name = ?", (name,))
                return Account(name, Role(found[0]), found[2]), gate
            db.execute(
                "INSERT INTO login_failures (name, failures, last_failure) VALUES (?, 1, ?) "
                "ON CONFLICT(name) DO UPDATE SET failures = failures + 1, "
                "last_failure = excluded.last_failure",
                (name, now),
            )
            failures = db.execute(
                "SELECT failures FROM login_failures WHERE name = ?", (name,)
            ).fetchone()[0]
        if failures == LOCK_AFTER:
            log.warning(
                "console: user %r locked for %d min after %d failed sign-ins",
                name,
                LOCK_S // 60,
                failures,
            )
            self.audit("-", "lock", f"user:{name}", detail=f"{failures} intentos fallidos")
        # Checked and wrong: the answer is "wrong password", unless this failure locked it.
        return None, login_gate(failures, now, now) if failures >= LOCK_AFTER else gate

    # ------------------------------------------------------------------- sessions

    def open_session(self, account: Account) -> tuple[str, Session]:
        """A new session for ``account``: the cookie value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(
            _hash_token(token), account.name, account.role, secrets.token_urlsafe(32), now, now
        )
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ?", (now - SESSION_IDLE_S,))
            db.execute(
                "INSERT INTO sessions (id_hash, user, csrf, created, last_seen) "
                "VALUES (?, ?, ?, ?, ?)",
                (session.id_hash, session.user, session.csrf, now, now),
            )
        return token, session

    def session(self, token: str) -> Session | None:
        """The live session a cookie value opens, else ``None`` (unknown, idle, too old)."""
        if not token or len(token) > 200:
            return None
        now = self._clock()
        with self._db() as db:
            row = db.execute(
                "SELECT s.id_hash, s.user, u.role, s.csrf, s.created, s.last_seen "
                "FROM sessions s JOIN users u ON u.name = s.user WHERE s.id_hash = ?",
                (_hash_token(token),),
            ).fetchone()
            if row is None:
                return None
            if now - row[5] > SESSION_IDLE_S or now - row[4] > SESSION_MAX_S:
                db.execute("DELETE FROM sessions WHERE id_hash = ?", (row[0],))
                return None
            if now - row[5] > 30:
                db.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, row[0]))
        return Session(row[0], row[1], Role(row[2]), row[3], row[4], row[5])

    def close_session(self, session: Session) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (session.id_hash,))

    @staticmethod
    def csrf_ok(session: Session, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(session.csrf.encode(), str(offered).encode())

    # ---------------------------------------------------------------------- audit

    def audit(
        self,
        user: str,
        action: str,
        target: str,
        *,
        before: str | None = None,
        after: str | None = None,
        detail: str | dict[str, Any] = "",
    ) -> None:
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (ts, user, action, target, before, after, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self._clock(), user, action, target, before, after, text[:4000]),
            )

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, ts, user, action, target, before, after, detail FROM audit "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [AuditEntry(*row) for row in rows]
