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

from parley.domain.account import Account, Agent, Skill
from parley.domain.chat import Chat, Event
from parley.domain.session import AgentSession, LoginSession
from parley.store.postgres.database import Database
from parley.store.postgres.records import CannedStore, Outbox, Participants, SurveyStore
from parley.store.protocol import Directory
from parley.store.rows import routing as _routing, stored_details as _stored_details


def _now_ms() -> int:
    return int(time.time() * 1000)


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.database = Database(url)
        # The records of other concepts, kept in the same database and transactions.
        self.mail = Outbox(self)
        self.surveys = SurveyStore(self)
        self.participants = Participants(self)
        self.canned = CannedStore(self)

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
        await self.write(lambda db: db.execute(
            "INSERT INTO accounts (id, name, timezone, default_skill_id, offline_email, created_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            account.id, account.name, account.timezone, account.default_skill_id, account.offline_email, _now_ms()))

    async def update_account(self, account: Account) -> None:
        await self.write(lambda db: db.execute(
            "UPDATE accounts SET name = $1, timezone = $2, default_skill_id = $3, offline_email = $4 WHERE id = $5",
            account.name, account.timezone, account.default_skill_id, account.offline_email, account.id))

    async def add_app_key(self, account_id: str, key_digest: str) -> None:
        await self.write(lambda db: db.execute(
            "INSERT INTO app_keys (key_digest, account_id, created_ms) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING", key_digest, account_id, _now_ms()))

    async def create_skill(self, account_id: str, name: str) -> int:
        return await self.write(lambda db: db.fetchval(
            "INSERT INTO skills (account_id, name) VALUES ($1, $2) RETURNING id", account_id, name))

    async def create_agent(self, agent: Agent) -> int:
        async def job(db):
            agent_id = await db.fetchval(
                "INSERT INTO agents (account_id, login, password_hash, nickname, display_name, email,"
                " privilege_group, max_chats, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                agent.account_id, agent.login, agent.password_hash, agent.nickname, agent.display_name,
                agent.email, agent.privilege_group, agent.max_chats, int(agent.enabled))
            if agent.skill_ids:
                await db.executemany("INSERT INTO agent_skills (agent_id, skill_id) VALUES ($1, $2)",
                                     [(agent_id, skill_id) for skill_id in agent.skill_ids])
            return agent_id

        return await self.write(job)

    async def save_availability(self, agent_id: int, availability: str) -> None:
        await self.write(lambda db: db.execute(
            "UPDATE agents SET availability = $1 WHERE id = $2", availability, agent_id))

    async def load_directory(self) -> Directory:
        return await self.database.snapshot(_load_directory)

    async def change_counter(self) -> int:
        """Bumped by every configuration write, by this process or another (migration step 7)."""
        return await self.read(lambda db: db.fetchval("SELECT counter FROM config_changes WHERE id = 1"))

    # -- visitors and chats --------------------------------------------------------------

    async def known_visitor(self, account_id: str, visitor_id: int) -> bool:
        found = await self.read(lambda db: db.fetchval(
            "SELECT 1 FROM visitors WHERE account_id = $1 AND id = $2", account_id, visitor_id))
        return found is not None

    async def insert_chat(self, chat: Chat, events: list[Event], new_visitor: bool) -> None:
        async def job(db):
            if new_visitor:
                await db.execute(
                    "INSERT INTO visitors (account_id, id, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    chat.account_id, chat.visitor_id, chat.start_ms)
            await db.execute(
                "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, requester_agent_id, state, skill_id,"
                " agent_id, start_ms, chatting_ms, ended_ms, chat_timeout, visitor_name, details, custom_variables,"
                " next_event_id, agent_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
                " $15, $16, $17)",
                chat.id, chat.account_id, chat.rt_session_id, chat.visitor_id, chat.requester_agent_id,
                *_chat_columns(chat, len(events)))
            await _insert_events(db, chat.id, events)

        await self.write(job)

    async def save_chat(self, chat: Chat, events: list[Event]) -> None:
        """Update the chat row and append its new events in one transaction."""
        next_event_id = chat.next_event_id + len(events)

        async def job(db):
            await db.execute(
                "UPDATE chats SET state = $1, skill_id = $2, agent_id = $3, start_ms = $4, chatting_ms = $5,"
                " ended_ms = $6, chat_timeout = $7, visitor_name = $8, details = $9, custom_variables = $10,"
                " next_event_id = $11, agent_key = $12 WHERE id = $13",
                *_chat_columns(chat, next_event_id), chat.id)
            await _insert_events(db, chat.id, events)

        await self.write(job)

    async def load_chats(self, ended_after_ms: int) -> list[Chat]:
        """Open chats, and ended ones still within retention, with their events."""
        return await self.database.snapshot(lambda db: _load_chats(db, ended_after_ms))

    async def max_rt_session_id(self) -> int:
        return await self.read(lambda db: db.fetchval("SELECT COALESCE(MAX(rt_session_id), 0) FROM chats"))

    # -- login and agent sessions ----------------------------------------------------------

    async def insert_login(self, record: LoginSession) -> None:
        await self.write(lambda db: db.execute(
            "INSERT INTO login_sessions (id, account_id, agent_id, bearer_digest, csrf, expires_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            record.id, record.account_id, record.agent_id, record.bearer_digest, record.csrf, record.expires_ms))

    async def set_login_expiry(self, login_id: str, expires_ms: int) -> None:
        await self.write(lambda db: db.execute(
            "UPDATE login_sessions SET expires_ms = $1 WHERE id = $2", expires_ms, login_id))

    async def load_logins(self, now_ms: int) -> list[LoginSession]:
        rows = await self.read(lambda db: db.fetch(
            "SELECT id, account_id, agent_id, bearer_digest, csrf, expires_ms FROM login_sessions"
            " WHERE expires_ms > $1", now_ms))
        return [LoginSession(*row) for row in rows]

    async def insert_agent_session(self, record: AgentSession) -> None:
        await self.write(lambda db: db.execute(
            "INSERT INTO agent_sessions (id, account_id, agent_id, login_session_id, created_ms)"
            " VALUES ($1, $2, $3, $4, $5)",
            record.id, record.account_id, record.agent_id, record.login_session_id, record.created_ms))

    async def close_agent_sessions(self, session_ids: list[int], closed_ms: int) -> None:
        await self.write(lambda db: db.execute(
            "UPDATE agent_sessions SET closed_ms = $1 WHERE id = ANY($2::bigint[])", closed_ms, list(session_ids)))

    async def load_agent_sessions(self) -> list[AgentSession]:
        rows = await self.read(lambda db: db.fetch(
            "SELECT id, account_id, agent_id, login_session_id, created_ms FROM agent_sessions"
            " WHERE closed_ms IS NULL"))
        return [AgentSession(*row) for row in rows]


def _chat_columns(chat: Chat, next_event_id: int) -> tuple:
    return (
        chat.state, chat.skill_id, chat.agent_id, chat.start_ms, chat.chatting_ms, chat.ended_ms,
        chat.chat_timeout, chat.visitor_name, orjson.dumps(_stored_details(chat)).decode(),
        orjson.dumps(chat.custom_variables).decode(), next_event_id, chat.agent_key,
    )


_INSERT_EVENT = ("INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields, request_key)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7)")


async def _insert_events(db: asyncpg.Connection, chat_id: str, events: list[Event]) -> None:
    rows = [(chat_id, e.id, e.type, e.time_ms, int(e.agents_only), orjson.dumps(e.fields).decode(), e.request_key)
            for e in events]
    if len(rows) == 1:  # most appends: one line; executemany costs more for a single row
        await db.execute(_INSERT_EVENT, *rows[0])
    elif rows:
        await db.executemany(_INSERT_EVENT, rows)


async def _load_directory(db: asyncpg.Connection) -> Directory:
    accounts = {
        row[0]: Account(id=row[0], name=row[1], timezone=row[2], default_skill_id=row[3], offline_email=row[4])
        for row in await db.fetch("SELECT id, name, timezone, default_skill_id, offline_email FROM accounts")
    }
    keys = {row[0]: row[1] for row in await db.fetch("SELECT key_digest, account_id FROM app_keys")}
    skills = {row[0]: Skill(id=row[0], account_id=row[1], name=row[2]) for row in await db.fetch(
        "SELECT id, account_id, name FROM skills ORDER BY id")}
    agents: dict[int, Agent] = {}
    availability: dict[int, str] = {}
    for row in await db.fetch(
        "SELECT id, account_id, login, password_hash, nickname, display_name, email, privilege_group,"
        " max_chats, enabled, availability FROM agents ORDER BY id"
    ):
        agents[row[0]] = Agent(
            id=row[0], account_id=row[1], login=row[2], password_hash=row[3], nickname=row[4],
            display_name=row[5], email=row[6], privilege_group=row[7], max_chats=row[8], enabled=bool(row[9]),
        )
        availability[row[0]] = row[10]
    for agent_id, skill_id in await db.fetch("SELECT agent_id, skill_id FROM agent_skills ORDER BY skill_id"):
        agents[agent_id].skill_ids.append(skill_id)
    return Directory(accounts, keys, skills, agents, availability)


async def _load_chats(db: asyncpg.Connection, ended_after_ms: int) -> list[Chat]:
    chats: dict[str, Chat] = {}
    for row in await db.fetch(
        "SELECT id, account_id, rt_session_id, visitor_id, state, skill_id, agent_id, start_ms, chatting_ms,"
        " ended_ms, chat_timeout, visitor_name, details, custom_variables, agent_key, requester_agent_id FROM chats"
        " WHERE ended_ms IS NULL OR ended_ms > $1", ended_after_ms
    ):
        details = orjson.loads(row[12])
        chats[row[0]] = Chat(
            id=row[0], account_id=row[1], rt_session_id=row[2], visitor_id=row[3], state=row[4], skill_id=row[5],
            agent_id=row[6], start_ms=row[7], chatting_ms=row[8], ended_ms=row[9], chat_timeout=row[10],
            visitor_name=row[11], details=details, routing=_routing(details), custom_variables=orjson.loads(row[13]),
            agent_key=row[14], requester_agent_id=row[15],
        )
    if chats:
        for chat_id, event_id, kind, time_ms, agents_only, fields, request_key in await db.fetch(
            "SELECT chat_id, id, type, time_ms, agents_only, fields, request_key FROM events WHERE chat_id IN"
            " (SELECT id FROM chats WHERE ended_ms IS NULL OR ended_ms > $1) ORDER BY chat_id, id", ended_after_ms
        ):
            chats[chat_id].events.append(
                Event(event_id, kind, time_ms, orjson.loads(fields), bool(agents_only), request_key))
    return list(chats.values())
