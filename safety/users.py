"""Dashboard users: create, disable, reset and verify, with argon2id password hashes in `app_user`.

There is no default password anywhere: a user is created with a password the operator types or
one generated here and shown once. Every change is written to the audit log. Repeated wrong
passwords lock the account for a while (OWASP ASVS 2.2.1), which a password reset lifts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update

from safety.store import Store, schema, utcnow

ROLES = ("safety_officer", "committee", "investigator", "admin")
MIN_PASSWORD_LENGTH = 12
# consecutive wrong passwords that lock an account, and for how long (a guess a minute at most)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# verifying against a dummy hash when the user does not exist keeps the response time the same,
# so the login form does not tell an attacker which user names exist
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime | None = None
    last_login_at: datetime | None = None
    last_seen_at: datetime | None = None


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")


def _user(row) -> User:
    return User(row["id"], row["username"], row["role"], bool(row["active"]), row["created_at"],
                row["last_login_at"], row["last_seen_at"])


def get_user(store: Store, username: str) -> User | None:
    t = schema.app_user
    with store.read() as conn:
        row = conn.execute(select(t).where(t.c.username == username)).mappings().first()
    return _user(row) if row else None


def get_user_by_id(store: Store, user_id: int) -> User | None:
    t = schema.app_user
    with store.read() as conn:
        row = conn.execute(select(t).where(t.c.id == user_id)).mappings().first()
    return _user(row) if row else None


def list_users(store: Store) -> list[User]:
    t = schema.app_user
    with store.read() as conn:
        return [_user(r) for r in conn.execute(select(t).order_by(t.c.username)).mappings().all()]


def create_user(store: Store, username: str, role: str, password: str | None = None, *,
                actor: str = "cli") -> tuple[User, str]:
    """Create an active user; returns the user and the password (generated when none is given)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise UserError("the user name must have 1 to 64 characters")
    _check_role(role)
    password = password if password is not None else generate_password()
    _check_password(password)
    t = schema.app_user
    with store.write() as conn:
        if conn.execute(select(t.c.id).where(t.c.username == username)).first():
            raise UserError(f"user {username!r} already exists")
        conn.execute(insert(t).values(username=username, password_hash=hash_password(password), role=role,
                                      active=True, created_at=utcnow()))
        store.audit(conn, actor, "user_create", username, {"role": role})
    user = get_user(store, username)
    assert user is not None
    return user, password


def set_active(store: Store, username: str, active: bool, *, actor: str = "cli") -> None:
    t = schema.app_user
    with store.write() as conn:
        changed = conn.execute(update(t).where(t.c.username == username).values(active=active)).rowcount
        if not changed:
            raise UserError(f"no user {username!r}")
        store.audit(conn, actor, "user_enable" if active else "user_disable", username)


def reset_password(store: Store, username: str, password: str | None = None, *, actor: str = "cli") -> str:
    password = password if password is not None else generate_password()
    _check_password(password)
    t = schema.app_user
    with store.write() as conn:
        changed = conn.execute(update(t).where(t.c.username == username)
                               .values(password_hash=hash_password(password), failed_logins=0,
                                       locked_until=None)).rowcount
        if not changed:
            raise UserError(f"no user {username!r}")
        store.audit(conn, actor, "user_password_reset", username)
    return password


def _locked(row, now: datetime) -> bool:
    until = row["locked_until"]
    if until is None:
        return False
    return (until if until.tzinfo else until.replace(tzinfo=now.tzinfo)) > now


def verify_login(store: Store, username: str, password: str) -> User | None:
    """The active user whose password matches, else None (same work whether or not the user exists,
    and the same answer for a locked account: the form never says which it was).

    The `MAX_FAILED_LOGINS`-th consecutive wrong password locks the account for `LOCKOUT`; while
    locked even the right password is refused. A right password otherwise resets the count."""
    t = schema.app_user
    now = utcnow()
    with store.read() as conn:
        row = conn.execute(select(t).where(t.c.username == username)).mappings().first()
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        if row is not None and not _locked(row, now):
            _count_failure(store, row["id"], username, now)
        return None
    if row is None or not row["active"] or _locked(row, now):
        return None
    values = {"failed_logins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = hash_password(password)
    if row["failed_logins"] or row["locked_until"] is not None or "password_hash" in values:
        with store.write() as conn:
            conn.execute(update(t).where(t.c.id == row["id"]).values(**values))
    return _user(row)


def _count_failure(store: Store, user_id: int, username: str, now: datetime) -> None:
    t = schema.app_user
    with store.write() as conn:
        # counted in the database, so two wrong guesses at once both count
        conn.execute(update(t).where(t.c.id == user_id).values(failed_logins=t.c.failed_logins + 1))
        failed = conn.execute(select(t.c.failed_logins).where(t.c.id == user_id)).scalar_one()
        if failed >= MAX_FAILED_LOGINS:
            conn.execute(update(t).where(t.c.id == user_id).values(failed_logins=0, locked_until=now + LOCKOUT))
            store.audit(conn, "login", "user_locked", username, {"failed_logins": failed,
                                                                 "until": (now + LOCKOUT).isoformat()})


def ensure_demo_user(store: Store, username: str = "demo", role: str = "committee") -> str | None:
    """In demo mode only: a user with a fresh random password (returned, to print), when the store has
    no user yet; None when users exist. Production never gets a default account."""
    if list_users(store):
        return None
    _, password = create_user(store, username, role, actor="demo")
    return password


def touch(store: Store, user_id: int, *, login: bool = False) -> None:
    """Record that the user was here now (and logged in, when `login`)."""
    t = schema.app_user
    now = utcnow()
    values = {"last_seen_at": now} | ({"last_login_at": now} if login else {})
    with store.write() as conn:
        conn.execute(update(t).where(t.c.id == user_id).values(**values))


__all__ = [
    "MIN_PASSWORD_LENGTH", "ROLES", "User", "UserError", "create_user", "ensure_demo_user", "generate_password", "get_user",
    "get_user_by_id", "hash_password", "list_users", "reset_password", "set_active", "touch", "verify_login",
]
