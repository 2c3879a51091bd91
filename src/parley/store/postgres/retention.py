"""Deleting chats with every row about them, in the PostgreSQL store: the twin of
``store/retention.py`` (same statements, same reasons), with id lists as arrays.

A transaction that deleted chats also bumps ``config_changes`` (migration step 7): every node
notices that counter within a second and drops from its view the chats the store no longer has,
whichever process (a node, the CLI) deleted them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import orjson

from parley.domain.refusals import Conflict
from parley.store.protocol import Removal

if TYPE_CHECKING:  # the store holds its retention records: imported here only for the annotation
    from parley.store.postgres.store import PostgresStore

EXPIRED = "account_id = $1 AND ended_ms < $2"
OF_VISITOR = "account_id = $1 AND visitor_id = $2"
OFFLINE_EXPIRED = "account_id = $1 AND chat_id IS NULL AND submitted_ms < $2"


class RetentionStore:
    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def sweep(self, account_id: str, ended_before_ms: int, limit: int) -> Removal:
        """Delete up to ``limit`` chats of the account that ended before ``ended_before_ms`` and up
        to ``limit`` offline messages left before it, with their rows, in one transaction."""

        async def job(db: asyncpg.Connection) -> Removal:
            rows = await db.fetch(
                f"SELECT id, details FROM chats WHERE {EXPIRED} ORDER BY ended_ms LIMIT $3",
                account_id,
                ended_before_ms,
                limit,
            )
            removal = await _remove_chats(db, rows)
            offline = [
                row[0]
                for row in await db.fetch(
                    f"SELECT id FROM survey_submissions WHERE {OFFLINE_EXPIRED} ORDER BY submitted_ms LIMIT $3",
                    account_id,
                    ended_before_ms,
                    limit,
                )
            ]
            if offline:
                removal.mails += _deleted(
                    await db.execute("DELETE FROM outbox WHERE submission_id = ANY($1::bigint[])", offline)
                )
                removal.submissions += _deleted(
                    await db.execute("DELETE FROM survey_submissions WHERE id = ANY($1::bigint[])", offline)
                )
            return removal

        return await self.store.write(job)

    async def count_expired(self, account_id: str, ended_before_ms: int) -> Removal:
        async def read(db: asyncpg.Connection) -> Removal:
            removal = await _count_chats(db, EXPIRED, (account_id, ended_before_ms))
            offline = f"SELECT id FROM survey_submissions WHERE {OFFLINE_EXPIRED}"
            removal.submissions += await db.fetchval(f"SELECT count(*) FROM ({offline}) o", account_id, ended_before_ms)
            removal.mails += await db.fetchval(
                f"SELECT count(*) FROM outbox WHERE submission_id IN ({offline})", account_id, ended_before_ms
            )
            return removal

        return await self.store.database.snapshot(read)

    async def erase_visitor(self, account_id: str, visitor_id: int) -> Removal:
        async def job(db: asyncpg.Connection) -> Removal:
            if await db.fetchval(
                f"SELECT 1 FROM chats WHERE {OF_VISITOR} AND ended_ms IS NULL", account_id, visitor_id
            ):
                raise Conflict(f"visitor {visitor_id} has a chat in progress: end it first")
            rows = await db.fetch(f"SELECT id, details FROM chats WHERE {OF_VISITOR}", account_id, visitor_id)
            removal = await _remove_chats(db, rows)
            participants = _participants(rows)
            if participants:
                removal.participants = _deleted(
                    await db.execute(
                        "DELETE FROM participants WHERE account_id = $1 AND id = ANY($2::text[])",
                        account_id,
                        participants,
                    )
                )
            removal.visitors = _deleted(
                await db.execute("DELETE FROM visitors WHERE account_id = $1 AND id = $2", account_id, visitor_id)
            )
            return removal

        return await self.store.write(job)

    async def count_visitor(self, account_id: str, visitor_id: int) -> Removal:
        async def read(db: asyncpg.Connection) -> Removal:
            removal = await _count_chats(db, OF_VISITOR, (account_id, visitor_id))
            rows = await db.fetch(f"SELECT id, details FROM chats WHERE {OF_VISITOR}", account_id, visitor_id)
            participants = _participants(rows)
            if participants:
                removal.participants = await db.fetchval(
                    "SELECT count(*) FROM participants WHERE account_id = $1 AND id = ANY($2::text[])",
                    account_id,
                    participants,
                )
            removal.visitors = await db.fetchval(
                "SELECT count(*) FROM visitors WHERE account_id = $1 AND id = $2", account_id, visitor_id
            )
            return removal

        return await self.store.database.snapshot(read)


def _deleted(status: str) -> int:
    """The row count of a ``DELETE n`` status."""
    return int(status.rsplit(" ", 1)[-1])


def _participants(rows: list) -> list[str]:
    found = {orjson.loads(row[1]).get("participantId") for row in rows}
    return sorted(p for p in found if isinstance(p, str) and p)


async def _remove_chats(db: asyncpg.Connection, rows: list) -> Removal:
    ids = [row[0] for row in rows]
    if not ids:
        return Removal()
    removal = Removal(chat_ids=ids)
    removal.events = _deleted(await db.execute("DELETE FROM events WHERE chat_id = ANY($1::text[])", ids))
    removal.mails = _deleted(await db.execute("DELETE FROM outbox WHERE chat_id = ANY($1::text[])", ids))
    removal.mails += _deleted(
        await db.execute(
            "DELETE FROM outbox WHERE submission_id IN"
            " (SELECT id FROM survey_submissions WHERE chat_id = ANY($1::text[]))",
            ids,
        )
    )
    removal.submissions = _deleted(
        await db.execute("DELETE FROM survey_submissions WHERE chat_id = ANY($1::text[])", ids)
    )
    removal.transcripts = _deleted(
        await db.execute("DELETE FROM transcript_requests WHERE chat_id = ANY($1::text[])", ids)
    )
    # Webhook deliveries carry the chats' lines in their bodies: pending or logged, they go too.
    removal.webhooks = _deleted(await db.execute("DELETE FROM webhook_deliveries WHERE chat_id = ANY($1::text[])", ids))
    removal.chats = _deleted(await db.execute("DELETE FROM chats WHERE id = ANY($1::text[])", ids))
    # Every node reads this counter every second: the deleted chats leave their views (step 7).
    await db.execute("UPDATE config_changes SET counter = counter + 1 WHERE id = 1")
    return removal


async def _count_chats(db: asyncpg.Connection, where: str, params: tuple) -> Removal:
    chats = f"SELECT id FROM chats WHERE {where}"
    submissions = f"SELECT id FROM survey_submissions WHERE chat_id IN ({chats})"
    return Removal(
        chats=await db.fetchval(f"SELECT count(*) FROM ({chats}) c", *params),
        events=await db.fetchval(f"SELECT count(*) FROM events WHERE chat_id IN ({chats})", *params),
        submissions=await db.fetchval(f"SELECT count(*) FROM ({submissions}) s", *params),
        transcripts=await db.fetchval(f"SELECT count(*) FROM transcript_requests WHERE chat_id IN ({chats})", *params),
        mails=await db.fetchval(f"SELECT count(*) FROM outbox WHERE chat_id IN ({chats})", *params)
        + await db.fetchval(f"SELECT count(*) FROM outbox WHERE submission_id IN ({submissions})", *params),
        webhooks=await db.fetchval(f"SELECT count(*) FROM webhook_deliveries WHERE chat_id IN ({chats})", *params),
    )
