"""The PostgreSQL store (asyncpg): the same records and semantics as the embedded SQLite store.

Rows are stored as the SQLite store stores them (JSON documents as text, flags as integers), so
one migration list and one reading of a row serve both. Writes go through ``Database.write``
(one writer connection, group commit), reads through its small pool.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import orjson

from parley.domain.account import Account, Agent
from parley.domain.chat import Chat, Event
from parley.domain.session import AgentSession, LoginSession
from parley.domain.webhooks import chat_notifications
from parley.store.postgres.credentials import AppCredentialStore
from parley.store.postgres.database import Database
from parley.store.postgres.history import HistoryStore
from parley.store.postgres.records import CannedStore, Outbox, Participants, SurveyStore
from parley.store.postgres.retention import RetentionStore
from parley.store.postgres.webhooks import WebhookStore, insert_deliveries
from parley.store.protocol import AdminToken, AppKeyRecord, Directory
from parley.store.rows import (
    CHAT_COLUMNS,
    DIRECTORY_QUERIES,
    chat_columns,
    chat_from_row,
    directory_from_rows,
    event_from_row,
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.database = Database(url)
        self.commits = self.database.commits
        # The records of other concepts, kept in the same database and transactions.
        self.mail = Outbox(self)
        self.surveys = SurveyStore(self)
        self.participants = Participants(self)
        self.canned = CannedStore(self)
        self.app_credentials = AppCredentialStore(self)
        self.history = HistoryStore(self)
        self.retention = RetentionStore(self)
        self.webhooks = WebhookStore(self)

    async def open(self) -> None:
        await self.database.open()

    async def close(self) -> None:
        await self.database.close()

    async def write(self, job) -> Any:
        """Run ``await job(connection)`` in the next group commit; returns once it committed."""
        return await self.database.write(job)

    async def read(self, fn) -> Any:
        """Run ``await fn(connection)`` on a pooled connection."""
        return await self.database.read(fn)

    async def schema_version(self) -> int:
        return await self.read(lambda db: db.fetchval("SELECT COALESCE(max(version), 0) FROM schema_migrations"))

    # -- configuration -------------------------------------------------------------------

    async def create_account(self, account: Account) -> None:
        await self.write(
            lambda db: db.execute(
                "INSERT INTO accounts (id, name, timezone, default_skill_id, offline_email, retention_days, created_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                account.id,
                account.name,
                account.timezone,
                account.default_skill_id,
                account.offline_email,
                account.retention_days,
                _now_ms(),
            )
        )

    async def update_account(self, account: Account) -> None:
        await self.write(
            lambda db: db.execute(
                "UPDATE accounts SET name = $1, timezone = $2, default_skill_id = $3, offline_email = $4,"
                " retention_days = $5 WHERE id = $6",
                account.name,
                account.timezone,
                account.default_skill_id,
                account.offline_email,
                account.retention_days,
                account.id,
            )
        )

    async def add_app_key(self, account_id: str, key_digest: str) -> None:
        await self.write(
            lambda db: db.execute(
                "INSERT INTO app_keys (key_digest, account_id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                key_digest,
                account_id,
                _now_ms(),
            )
        )

    async def app_keys(self, account_id: str) -> list[AppKeyRecord]:
        rows = await self.read(
            lambda db: db.fetch(
                "SELECT key_digest, account_id, created_ms FROM app_keys WHERE account_id = $1 ORDER BY created_ms,"
                " key_digest",
                account_id,
            )
        )
        return [AppKeyRecord(*row) for row in rows]

    async def delete_app_key(self, account_id: str, key_digest: str) -> bool:
        status = await self.write(
            lambda db: db.execute(
                "DELETE FROM app_keys WHERE account_id = $1 AND key_digest = $2", account_id, key_digest
            )
        )
        return status == "DELETE 1"

    async def create_skill(self, account_id: str, name: str) -> int:
        return await self.write(
            lambda db: db.fetchval(
                "INSERT INTO skills (account_id, name) VALUES ($1, $2) RETURNING id", account_id, name
            )
        )

    async def create_agent(self, agent: Agent) -> int:
        async def job(db):
            agent_id = await db.fetchval(
                "INSERT INTO agents (account_id, login, password_hash, nickname, display_name, email,"
                " privilege_group, max_chats, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                agent.account_id,
                agent.login,
                agent.password_hash,
                agent.nickname,
                agent.display_name,
                agent.email,
                agent.privilege_group,
                agent.max_chats,
                int(agent.enabled),
            )
            if agent.skill_ids:
                await db.executemany(
                    "INSERT INTO agent_skills (agent_id, skill_id) VALUES ($1, $2)",
                    [(agent_id, skill_id) for skill_id in agent.skill_ids],
                )
            return agent_id

        return await self.write(job)

    async def update_agent(self, agent: Agent) -> None:
        """Its password hash, names, slots, enabled flag and skills (replaced whole)."""

        async def job(db):
            await db.execute(
                "UPDATE agents SET password_hash = $1, nickname = $2, display_name = $3, max_chats = $4, enabled = $5"
                " WHERE id = $6",
                agent.password_hash,
                agent.nickname,
                agent.display_name,
                agent.max_chats,
                int(agent.enabled),
                agent.id,
            )
            await db.execute("DELETE FROM agent_skills WHERE agent_id = $1", agent.id)
            if agent.skill_ids:
                await db.executemany(
                    "INSERT INTO agent_skills (agent_id, skill_id) VALUES ($1, $2)",
                    [(agent.id, skill_id) for skill_id in agent.skill_ids],
                )

        await self.write(job)

    async def rename_skill(self, skill_id: int, name: str) -> None:
        await self.write(lambda db: db.execute("UPDATE skills SET name = $1 WHERE id = $2", name, skill_id))

    async def retire_skill(self, skill_id: int, retired_ms: int | None) -> None:
        await self.write(lambda db: db.execute("UPDATE skills SET retired_ms = $1 WHERE id = $2", retired_ms, skill_id))

    async def delete_skill(self, skill_id: int, moved_to: int | None, now_ms: int) -> None:
        """Gone from agents, the account's default and its surveys, in one transaction; its name
        and where its open chats go are kept in ``deleted_skills`` (the leader moves them)."""

        async def job(db):
            await db.execute("DELETE FROM agent_skills WHERE skill_id = $1", skill_id)
            await db.execute("UPDATE accounts SET default_skill_id = NULL WHERE default_skill_id = $1", skill_id)
            await db.execute("DELETE FROM survey_definitions WHERE skill_id = $1", skill_id)
            # Chats still bound for this skill (an earlier deletion's) follow it to its successor.
            await db.execute("UPDATE deleted_skills SET moved_to = $1 WHERE moved_to = $2", moved_to, skill_id)
            await db.execute(
                "INSERT INTO deleted_skills (id, account_id, name, moved_to, deleted_ms)"
                " SELECT id, account_id, name, $1::bigint, $2::bigint FROM skills WHERE id = $3",
                moved_to,
                now_ms,
                skill_id,
            )
            await db.execute("DELETE FROM skills WHERE id = $1", skill_id)

        await self.write(job)

    async def waiting_chats(self, skill_id: int) -> int:
        return await self.read(
            lambda db: db.fetchval(
                "SELECT count(*) FROM chats WHERE state = 'waiting' AND ended_ms IS NULL AND skill_id = $1", skill_id
            )
        )

    async def save_availability(self, agent_id: int, availability: str) -> None:
        await self.write(
            lambda db: db.execute("UPDATE agents SET availability = $1 WHERE id = $2", availability, agent_id)
        )

    async def load_directory(self) -> Directory:
        return await self.database.snapshot(_load_directory)

    async def change_counter(self) -> int:
        """Bumped by every configuration write, by this process or another (migration step 7)."""
        return await self.read(lambda db: db.fetchval("SELECT counter FROM config_changes WHERE id = 1"))

    # -- admin tokens ----------------------------------------------------------------------

    async def create_admin_token(self, name: str, token_digest: str, created_ms: int) -> int:
        return await self.write(
            lambda db: db.fetchval(
                "INSERT INTO admin_tokens (name, token_digest, created_ms) VALUES ($1, $2, $3) RETURNING id",
                name,
                token_digest,
                created_ms,
            )
        )

    async def admin_tokens(self) -> list[AdminToken]:
        rows = await self.read(lambda db: db.fetch(f"SELECT {_ADMIN_TOKEN_COLUMNS} FROM admin_tokens ORDER BY id"))
        return [AdminToken(*row) for row in rows]

    async def admin_token(self, token_digest: str) -> AdminToken | None:
        row = await self.read(
            lambda db: db.fetchrow(
                f"SELECT {_ADMIN_TOKEN_COLUMNS} FROM admin_tokens WHERE token_digest = $1", token_digest
            )
        )
        return AdminToken(*row) if row else None

    async def revoke_admin_token(self, token_id: int, revoked_ms: int) -> bool:
        """True when the token existed and was live; revoking twice keeps the first time."""
        status = await self.write(
            lambda db: db.execute(
                "UPDATE admin_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL", revoked_ms, token_id
            )
        )
        return status == "UPDATE 1"

    # -- visitors and chats --------------------------------------------------------------

    async def known_visitor(self, account_id: str, visitor_id: int) -> bool:
        found = await self.read(
            lambda db: db.fetchval("SELECT 1 FROM visitors WHERE account_id = $1 AND id = $2", account_id, visitor_id)
        )
        return found is not None

    async def insert_chat(self, chat: Chat, events: list[Event], new_visitor: bool) -> None:
        notifications = chat_notifications(chat, events, created=True)

        async def job(db):
            if new_visitor:
                await db.execute(
                    "INSERT INTO visitors (account_id, id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    chat.account_id,
                    chat.visitor_id,
                    chat.start_ms,
                )
            await db.execute(
                "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, requester_agent_id, state, skill_id,"
                " agent_id, start_ms, chatting_ms, ended_ms, chat_timeout, visitor_name, details, custom_variables,"
                " next_event_id, agent_key, typing, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                " $12, $13, $14, $15, $16, $17, $18, $19)",
                chat.id,
                chat.account_id,
                chat.rt_session_id,
                chat.visitor_id,
                chat.requester_agent_id,
                *chat_columns(chat, len(events)),
            )
            await _insert_events(db, chat.id, events)
            await insert_deliveries(db, notifications)

        await self.write(job)

    async def save_chat(self, chat: Chat, events: list[Event]) -> None:
        """Update the chat row and append its new events in one transaction."""
        next_event_id = chat.next_event_id + len(events)
        notifications = chat_notifications(chat, events, created=False)

        async def job(db):
            await db.execute(
                "UPDATE chats SET state = $1, skill_id = $2, agent_id = $3, start_ms = $4, chatting_ms = $5,"
                " ended_ms = $6, chat_timeout = $7, visitor_name = $8, details = $9, custom_variables = $10,"
                " next_event_id = $11, agent_key = $12, typing = $13, version = $14 WHERE id = $15",
                *chat_columns(chat, next_event_id),
                chat.id,
            )
            await _insert_events(db, chat.id, events)
            await insert_deliveries(db, notifications)  # the webhooks' outbox, in this same transaction

        await self.write(job)

    async def load_chats(self, ended_after_ms: int) -> list[Chat]:
        """Open chats, and ended ones still within retention, with their events."""
        return await self.database.snapshot(lambda db: _load_chats(db, ended_after_ms))

    async def load_chat(self, chat_id: str, events_from: int) -> Chat | None:
        """One chat's row, with its events from ``events_from`` on (one consistent view)."""
        return await self.read(lambda db: _load_chat(db, chat_id, events_from))

    async def chat_versions(self, ended_after_ms: int) -> dict[str, int]:
        rows = await self.read(
            lambda db: db.fetch("SELECT id, version FROM chats WHERE ended_ms IS NULL OR ended_ms > $1", ended_after_ms)
        )
        return {row[0]: row[1] for row in rows}

    async def identity(self) -> str:
        """The same for every node on this database (the server's system identifier and the
        database's name), whatever URL each node spells it with."""
        return await self.read(
            lambda db: db.fetchval(
                "SELECT (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database()"
            )
        )

    async def lead(self) -> bool:
        return await self.database.lead()

    async def leading(self) -> bool:
        return await self.database.leading()

    async def announce(self, address: str, secret: str) -> None:
        await self.database.announce(address, secret)

    async def leader(self) -> tuple[str, str] | None:
        row = await self.read(lambda db: db.fetchrow("SELECT address, secret FROM leadership WHERE id = 1"))
        if row is None or row[0] is None:
            return None
        return row[0], row[1]

    async def max_rt_session_id(self) -> int:
        return await self.read(lambda db: db.fetchval("SELECT COALESCE(MAX(rt_session_id), 0) FROM chats"))

    # -- login and agent sessions ----------------------------------------------------------

    async def insert_login(self, record: LoginSession) -> None:
        await self.write(
            lambda db: db.execute(
                "INSERT INTO login_sessions (id, account_id, agent_id, bearer_digest, csrf, expires_ms)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                record.id,
                record.account_id,
                record.agent_id,
                record.bearer_digest,
                record.csrf,
                record.expires_ms,
            )
        )

    async def set_login_expiry(self, login_id: str, expires_ms: int) -> None:
        await self.write(
            lambda db: db.execute("UPDATE login_sessions SET expires_ms = $1 WHERE id = $2", expires_ms, login_id)
        )

    async def load_logins(self, now_ms: int) -> list[LoginSession]:
        rows = await self.read(
            lambda db: db.fetch(
                "SELECT id, account_id, agent_id, bearer_digest, csrf, expires_ms FROM login_sessions"
                " WHERE expires_ms > $1",
                now_ms,
            )
        )
        return [LoginSession(*row) for row in rows]

    async def insert_agent_session(self, record: AgentSession) -> None:
        await self.write(
            lambda db: db.execute(
                "INSERT INTO agent_sessions (id, account_id, agent_id, login_session_id, created_ms)"
                " VALUES ($1, $2, $3, $4, $5)",
                record.id,
                record.account_id,
                record.agent_id,
                record.login_session_id,
                record.created_ms,
            )
        )

    async def close_agent_sessions(self, session_ids: list[int], closed_ms: int) -> None:
        await self.write(
            lambda db: db.execute(
                "UPDATE agent_sessions SET closed_ms = $1 WHERE id = ANY($2::bigint[])", closed_ms, list(session_ids)
            )
        )

    async def load_agent_sessions(self) -> list[AgentSession]:
        rows = await self.read(
            lambda db: db.fetch(
                "SELECT id, account_id, agent_id, login_session_id, created_ms FROM agent_sessions"
                " WHERE closed_ms IS NULL"
            )
        )
        return [AgentSession(*row) for row in rows]


_ADMIN_TOKEN_COLUMNS = "id, name, token_digest, created_ms, revoked_ms"

_INSERT_EVENT = (
    "INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields, request_key)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


async def _insert_events(db: asyncpg.Connection, chat_id: str, events: list[Event]) -> None:
    rows = [
        (chat_id, e.id, e.type, e.time_ms, int(e.agents_only), orjson.dumps(e.fields).decode(), e.request_key)
        for e in events
    ]
    if len(rows) == 1:  # most appends: one line; executemany costs more for a single row
        await db.execute(_INSERT_EVENT, *rows[0])
    elif rows:
        await db.executemany(_INSERT_EVENT, rows)


async def _load_directory(db: asyncpg.Connection) -> Directory:
    return directory_from_rows(*[await db.fetch(sql) for sql in DIRECTORY_QUERIES])


async def _load_chats(db: asyncpg.Connection, ended_after_ms: int) -> list[Chat]:
    chats: dict[str, Chat] = {}
    for row in await db.fetch(
        f"SELECT {CHAT_COLUMNS} FROM chats WHERE ended_ms IS NULL OR ended_ms > $1", ended_after_ms
    ):
        chats[row[0]] = chat_from_row(row)
    if chats:
        for row in await db.fetch(
            "SELECT chat_id, id, type, time_ms, agents_only, fields, request_key FROM events WHERE chat_id IN"
            " (SELECT id FROM chats WHERE ended_ms IS NULL OR ended_ms > $1) ORDER BY chat_id, id",
            ended_after_ms,
        ):
            chats[row[0]].events.append(event_from_row(row[1:]))
    return list(chats.values())


async def _load_chat(db: asyncpg.Connection, chat_id: str, events_from: int) -> Chat | None:
    # One statement (one snapshot, one round trip): a follower runs this for every change it
    # hears of, so its cost is paid once per follower per write.
    row = await db.fetchrow(
        f"SELECT {CHAT_COLUMNS}, (SELECT COALESCE(json_agg(json_build_array(id, type, time_ms, agents_only, fields,"
        " request_key) ORDER BY id), '[]') FROM events WHERE chat_id = $1 AND id >= $2) FROM chats WHERE id = $1",
        chat_id,
        events_from,
    )
    if row is None:
        return None
    chat = chat_from_row(row)
    chat.events = [event_from_row(event) for event in orjson.loads(row[-1])]
    return chat
