"""The embedded store: SQLite in WAL mode, written through one group-commit thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from parley.domain.account import Account, Agent
from parley.domain.chat import Chat, Event
from parley.domain.session import AgentSession, LoginSession
from parley.domain.webhooks import chat_notifications
from parley.store.canned import CannedStore
from parley.store.credentials import AppCredentialStore
from parley.store.history import HistoryStore
from parley.store.migrations import STEPS, statements
from parley.store.outbox import Outbox
from parley.store.participants import Participants
from parley.store.protocol import AdminToken, AppKeyRecord, Commits, Directory, StoreUnavailable
from parley.store.retention import RetentionStore
from parley.store.rows import (
    CHAT_COLUMNS,
    DIRECTORY_QUERIES,
    chat_columns,
    chat_from_row,
    directory_from_rows,
    event_from_row,
)
from parley.store.surveys import SurveyStore
from parley.store.webhooks import WebhookStore, insert_deliveries
from parley.store.writer import GroupCommitWriter


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self.commits = Commits()
        self._writer = GroupCommitWriter(self._connect, self.commits)
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-sqlite-reader")
        self._reader: sqlite3.Connection | None = None
        # The records of other concepts, kept in the same database and transactions.
        self.mail = Outbox(self)
        self.surveys = SurveyStore(self)
        self.participants = Participants(self)
        self.canned = CannedStore(self)
        self.app_credentials = AppCredentialStore(self)
        self.history = HistoryStore(self)
        self.retention = RetentionStore(self)
        self.webhooks = WebhookStore(self)

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: a 2xx survives power loss, not only a crash; group commit pays for it.
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        # The CLI writes while the server runs: wait for the lock instead of failing.
        connection.execute("PRAGMA busy_timeout=10000")
        return connection

    async def open(self) -> None:
        try:
            self._writer.start()
        except sqlite3.OperationalError as exc:  # the file cannot be opened: the same error as a database down
            raise StoreUnavailable(f"cannot open the SQLite database {self.path}: {exc}") from None
        await self._writer.submit(_migrate)

    async def close(self) -> None:
        self._writer.stop()
        self._reads.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()

    async def write(self, job) -> Any:
        """Run ``job(connection)`` in the next group commit; returns once it is durable."""
        return await self._writer.submit(job)

    async def read(self, fn) -> Any:
        """Run ``fn(connection)`` on the reader connection, off the event loop."""

        def run():
            if self._reader is None:
                self._reader = self._connect()
            return fn(self._reader)

        return await asyncio.get_running_loop().run_in_executor(self._reads, run)

    async def schema_version(self) -> int:
        """The newest migration step applied, read on the reader connection: it also proves the
        database file answers."""
        return await self.read(lambda db: db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0)

    # -- configuration -------------------------------------------------------------------

    async def create_account(self, account: Account) -> None:
        def job(db):
            db.execute(
                "INSERT INTO accounts (id, name, timezone, default_skill_id, offline_email, retention_days, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account.id,
                    account.name,
                    account.timezone,
                    account.default_skill_id,
                    account.offline_email,
                    account.retention_days,
                    _now_ms(),
                ),
            )

        await self.write(job)

    async def update_account(self, account: Account) -> None:
        def job(db):
            db.execute(
                "UPDATE accounts SET name = ?, timezone = ?, default_skill_id = ?, offline_email = ?,"
                " retention_days = ? WHERE id = ?",
                (
                    account.name,
                    account.timezone,
                    account.default_skill_id,
                    account.offline_email,
                    account.retention_days,
                    account.id,
                ),
            )

        await self.write(job)

    async def add_app_key(self, account_id: str, key_digest: str) -> None:
        def job(db):
            db.execute(
                "INSERT OR IGNORE INTO app_keys (key_digest, account_id, created_ms) VALUES (?, ?, ?)",
                (key_digest, account_id, _now_ms()),
            )

        await self.write(job)

    async def app_keys(self, account_id: str) -> list[AppKeyRecord]:
        return await self.read(
            lambda db: [
                AppKeyRecord(*row)
                for row in db.execute(
                    "SELECT key_digest, account_id, created_ms FROM app_keys WHERE account_id = ? ORDER BY created_ms,"
                    " key_digest",
                    (account_id,),
                )
            ]
        )

    async def delete_app_key(self, account_id: str, key_digest: str) -> bool:
        return await self.write(
            lambda db: (
                db.execute(
                    "DELETE FROM app_keys WHERE account_id = ? AND key_digest = ?", (account_id, key_digest)
                ).rowcount
                == 1
            )
        )

    async def create_skill(self, account_id: str, name: str) -> int:
        def job(db):
            return db.execute("INSERT INTO skills (account_id, name) VALUES (?, ?)", (account_id, name)).lastrowid

        return await self.write(job)

    async def create_agent(self, agent: Agent) -> int:
        def job(db):
            agent_id = db.execute(
                "INSERT INTO agents (account_id, login, password_hash, nickname, display_name, email,"
                " privilege_group, max_chats, enabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agent.account_id,
                    agent.login,
                    agent.password_hash,
                    agent.nickname,
                    agent.display_name,
                    agent.email,
                    agent.privilege_group,
                    agent.max_chats,
                    int(agent.enabled),
                ),
            ).lastrowid
            db.executemany(
                "INSERT INTO agent_skills (agent_id, skill_id) VALUES (?, ?)",
                [(agent_id, skill_id) for skill_id in agent.skill_ids],
            )
            return agent_id

        return await self.write(job)

    async def update_agent(self, agent: Agent) -> None:
        """Its password hash, names, slots, enabled flag and skills (replaced whole)."""

        def job(db):
            db.execute(
                "UPDATE agents SET password_hash = ?, nickname = ?, display_name = ?, max_chats = ?, enabled = ?"
                " WHERE id = ?",
                (
                    agent.password_hash,
                    agent.nickname,
                    agent.display_name,
                    agent.max_chats,
                    int(agent.enabled),
                    agent.id,
                ),
            )
            db.execute("DELETE FROM agent_skills WHERE agent_id = ?", (agent.id,))
            db.executemany(
                "INSERT INTO agent_skills (agent_id, skill_id) VALUES (?, ?)",
                [(agent.id, skill_id) for skill_id in agent.skill_ids],
            )

        await self.write(job)

    async def rename_skill(self, skill_id: int, name: str) -> None:
        await self.write(lambda db: db.execute("UPDATE skills SET name = ? WHERE id = ?", (name, skill_id)))

    async def retire_skill(self, skill_id: int, retired_ms: int | None) -> None:
        await self.write(lambda db: db.execute("UPDATE skills SET retired_ms = ? WHERE id = ?", (retired_ms, skill_id)))

    async def delete_skill(self, skill_id: int, moved_to: int | None, now_ms: int) -> None:
        """Gone from agents, the account's default and its surveys, in one transaction; its name
        and where its open chats go are kept in ``deleted_skills`` (the leader moves them)."""

        def job(db):
            db.execute("DELETE FROM agent_skills WHERE skill_id = ?", (skill_id,))
            db.execute("UPDATE accounts SET default_skill_id = NULL WHERE default_skill_id = ?", (skill_id,))
            db.execute("DELETE FROM survey_definitions WHERE skill_id = ?", (skill_id,))
            # Chats still bound for this skill (an earlier deletion's) follow it to its successor.
            db.execute("UPDATE deleted_skills SET moved_to = ? WHERE moved_to = ?", (moved_to, skill_id))
            db.execute(
                "INSERT INTO deleted_skills (id, account_id, name, moved_to, deleted_ms)"
                " SELECT id, account_id, name, ?, ? FROM skills WHERE id = ?",
                (moved_to, now_ms, skill_id),
            )
            db.execute("DELETE FROM skills WHERE id = ?", (skill_id,))

        await self.write(job)

    async def waiting_chats(self, skill_id: int) -> int:
        return await self.read(
            lambda db: db.execute(
                "SELECT count(*) FROM chats WHERE state = 'waiting' AND ended_ms IS NULL AND skill_id = ?", (skill_id,)
            ).fetchone()[0]
        )

    async def save_availability(self, agent_id: int, availability: str) -> None:
        def job(db):
            db.execute("UPDATE agents SET availability = ? WHERE id = ?", (availability, agent_id))

        await self.write(job)

    async def load_directory(self) -> Directory:
        return await self.write(_load_directory)

    async def change_counter(self) -> int:
        """Changes when another connection (the CLI) committed to the database."""
        return await self.write(lambda db: db.execute("PRAGMA data_version").fetchone()[0])

    # -- admin tokens ----------------------------------------------------------------------

    async def create_admin_token(self, name: str, token_digest: str, created_ms: int) -> int:
        return await self.write(
            lambda db: (
                db.execute(
                    "INSERT INTO admin_tokens (name, token_digest, created_ms) VALUES (?, ?, ?)",
                    (name, token_digest, created_ms),
                ).lastrowid
            )
        )

    async def admin_tokens(self) -> list[AdminToken]:
        return await self.read(
            lambda db: [
                AdminToken(*row) for row in db.execute(f"SELECT {_ADMIN_TOKEN_COLUMNS} FROM admin_tokens ORDER BY id")
            ]
        )

    async def admin_token(self, token_digest: str) -> AdminToken | None:
        def read(db):
            row = db.execute(
                f"SELECT {_ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_digest = ?", (token_digest,)
            ).fetchone()
            return AdminToken(*row) if row else None

        return await self.read(read)

    async def revoke_admin_token(self, token_id: int, revoked_ms: int) -> bool:
        """True when the token existed and was live; revoking twice keeps the first time."""
        return await self.write(
            lambda db: (
                db.execute(
                    "UPDATE admin_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL", (revoked_ms, token_id)
                ).rowcount
                == 1
            )
        )

    # -- visitors and chats --------------------------------------------------------------

    async def known_visitor(self, account_id: str, visitor_id: int) -> bool:
        def read(db):
            row = db.execute("SELECT 1 FROM visitors WHERE account_id = ? AND id = ?", (account_id, visitor_id))
            return row.fetchone() is not None

        return await self.read(read)

    async def insert_chat(self, chat: Chat, events: list[Event], new_visitor: bool) -> None:
        notifications = chat_notifications(chat, events, created=True)

        def job(db):
            if new_visitor:
                db.execute(
                    "INSERT OR IGNORE INTO visitors (account_id, id, created_ms) VALUES (?, ?, ?)",
                    (chat.account_id, chat.visitor_id, chat.start_ms),
                )
            db.execute(
                "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, requester_agent_id, state, skill_id,"
                " agent_id, start_ms, chatting_ms, ended_ms, chat_timeout, visitor_name, details, custom_variables,"
                " next_event_id, agent_key, typing, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                (chat.id, chat.account_id, chat.rt_session_id, chat.visitor_id, chat.requester_agent_id)
                + chat_columns(chat, len(events)),
            )
            _insert_events(db, chat.id, events)
            insert_deliveries(db, notifications)

        await self.write(job)

    async def save_chat(self, chat: Chat, events: list[Event]) -> None:
        """Update the chat row and append its new events in one transaction."""
        next_event_id = chat.next_event_id + len(events)
        notifications = chat_notifications(chat, events, created=False)

        def job(db):
            db.execute(
                "UPDATE chats SET state = ?, skill_id = ?, agent_id = ?, start_ms = ?, chatting_ms = ?, ended_ms = ?,"
                " chat_timeout = ?, visitor_name = ?, details = ?, custom_variables = ?, next_event_id = ?,"
                " agent_key = ?, typing = ?, version = ? WHERE id = ?",
                chat_columns(chat, next_event_id) + (chat.id,),
            )
            _insert_events(db, chat.id, events)
            insert_deliveries(db, notifications)  # the webhooks' outbox, in this same transaction

        await self.write(job)

    async def load_chats(self, ended_after_ms: int) -> list[Chat]:
        """Open chats, and ended ones still within retention, with their events."""
        return await self.read(lambda db: _load_chats(db, ended_after_ms))

    async def load_chat(self, chat_id: str, events_from: int) -> Chat | None:
        """One chat's row, with its events from ``events_from`` on."""
        return await self.read(lambda db: _load_chat(db, chat_id, events_from))

    async def chat_versions(self, ended_after_ms: int) -> dict[str, int]:
        return await self.read(
            lambda db: dict(
                db.execute("SELECT id, version FROM chats WHERE ended_ms IS NULL OR ended_ms > ?", (ended_after_ms,))
            )
        )

    async def identity(self) -> str:
        """The same for every process on this database, and for no other database."""
        return str(Path(self.path).resolve())

    async def lead(self) -> bool:
        """One process owns an SQLite store: it always leads."""
        return True

    async def leading(self) -> bool:
        return True

    async def announce(self, address: str, secret: str) -> None:
        return None

    async def leader(self) -> tuple[str, str] | None:
        return None

    async def max_rt_session_id(self) -> int:
        return await self.read(lambda db: db.execute("SELECT COALESCE(MAX(rt_session_id), 0) FROM chats").fetchone()[0])

    # -- login and agent sessions ----------------------------------------------------------

    async def insert_login(self, record: LoginSession) -> None:
        def job(db):
            db.execute(
                "INSERT INTO login_sessions (id, account_id, agent_id, bearer_digest, csrf, expires_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, record.account_id, record.agent_id, record.bearer_digest, record.csrf, record.expires_ms),
            )

        await self.write(job)

    async def set_login_expiry(self, login_id: str, expires_ms: int) -> None:
        def job(db):
            db.execute("UPDATE login_sessions SET expires_ms = ? WHERE id = ?", (expires_ms, login_id))

        await self.write(job)

    async def load_logins(self, now_ms: int) -> list[LoginSession]:
        def read(db):
            rows = db.execute(
                "SELECT id, account_id, agent_id, bearer_digest, csrf, expires_ms FROM login_sessions"
                " WHERE expires_ms > ?",
                (now_ms,),
            )
            return [LoginSession(*row) for row in rows]

        return await self.read(read)

    async def insert_agent_session(self, record: AgentSession) -> None:
        def job(db):
            db.execute(
                "INSERT INTO agent_sessions (id, account_id, agent_id, login_session_id, created_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.id, record.account_id, record.agent_id, record.login_session_id, record.created_ms),
            )

        await self.write(job)

    async def close_agent_sessions(self, session_ids: list[int], closed_ms: int) -> None:
        def job(db):
            db.executemany(
                "UPDATE agent_sessions SET closed_ms = ? WHERE id = ?", [(closed_ms, sid) for sid in session_ids]
            )

        await self.write(job)

    async def load_agent_sessions(self) -> list[AgentSession]:
        def read(db):
            rows = db.execute(
                "SELECT id, account_id, agent_id, login_session_id, created_ms FROM agent_sessions"
                " WHERE closed_ms IS NULL"
            )
            return [AgentSession(*row) for row in rows]

        return await self.read(read)


_ADMIN_TOKEN_COLUMNS = "id, name, token_digest, created_ms, revoked_ms"


def _migrate(db: sqlite3.Connection) -> int:
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)"
    )
    applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    for version, step in enumerate(STEPS, start=1):
        if version in applied:
            continue
        for statement in statements(step.script("sqlite")):
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)", (version, _now_ms()))
    return len(STEPS)


def _insert_events(db: sqlite3.Connection, chat_id: str, events: list[Event]) -> None:
    db.executemany(
        "INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields, request_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (chat_id, e.id, e.type, e.time_ms, int(e.agents_only), orjson.dumps(e.fields).decode(), e.request_key)
            for e in events
        ],
    )


def _load_directory(db: sqlite3.Connection) -> Directory:
    return directory_from_rows(*(db.execute(sql).fetchall() for sql in DIRECTORY_QUERIES))


def _load_chat(db: sqlite3.Connection, chat_id: str, events_from: int) -> Chat | None:
    row = db.execute(f"SELECT {CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,)).fetchone()
    if row is None:
        return None
    chat = chat_from_row(row)
    chat.events = [
        event_from_row(r)
        for r in db.execute(
            "SELECT id, type, time_ms, agents_only, fields, request_key FROM events WHERE chat_id = ? AND id >= ?"
            " ORDER BY id",
            (chat_id, events_from),
        )
    ]
    return chat


def _load_chats(db: sqlite3.Connection, ended_after_ms: int) -> list[Chat]:
    chats: dict[str, Chat] = {}
    for row in db.execute(
        f"SELECT {CHAT_COLUMNS} FROM chats WHERE ended_ms IS NULL OR ended_ms > ?", (ended_after_ms,)
    ):
        chats[row[0]] = chat_from_row(row)
    if chats:
        for row in db.execute(
            # Driven from the chats (index chats_ended), then each one's events by primary key: a
            # join let SQLite walk the whole events table instead.
            "SELECT chat_id, id, type, time_ms, agents_only, fields, request_key FROM events WHERE chat_id IN"
            " (SELECT id FROM chats WHERE ended_ms IS NULL OR ended_ms > ?) ORDER BY chat_id, id",
            (ended_after_ms,),
        ):
            chats[row[0]].events.append(event_from_row(row[1:]))
    return list(chats.values())
