"""The retention sweep: how fast it deletes, and how long other writes wait meanwhile.

    python bench/retention_sweep.py [--chats 20000] [--events 20] [--batch 200] [--backend both|sqlite|postgres]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Each row opens a fresh store (a temporary SQLite file; a PostgreSQL database made for the row and
dropped after), stores ``--chats`` chats ended ten days ago, each with ``--events`` events, an exit
survey answer, a transcript request and its mail, and gives the account a one-day retention. While
the rows are deleted, a probe task writes one small change (``update_account``) every 5 ms and
records how long each waited for its commit: that is what a visitor's line waits behind the sweep.

- reference: every row deleted in ONE transaction (what a sweep without batches would do);
- sweep: ``services.retention.sweep``, ``--batch`` chats per transaction (default: what the server
  and ``parley retention sweep`` do), pausing after each batch as long as it took.

Read the probe's max: the reference holds the writer for the whole delete, the sweep for one batch.
Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parley.domain.account import Account  # noqa: E402
from parley.domain.ids import new_chat_id  # noqa: E402
from parley.services import retention  # noqa: E402
from parley.store import is_postgres, open_store  # noqa: E402
from tests import postgres  # noqa: E402

DAY = 24 * 3600 * 1000
BATCH = {"size": retention.SWEEP_BATCH}
TABLES = (
    ("events", "chat_id"),
    ("outbox", "chat_id"),
    ("survey_submissions", "chat_id"),
    ("transcript_requests", "chat_id"),
    ("chats", "id"),
)


def rows(chats: int, events: int, now: int, first: int):
    ended = now - 10 * DAY
    chat_rows, event_rows, other = [], [], []
    for n in range(first, first + chats):
        chat_id = new_chat_id()
        chat_rows.append((chat_id, "1", n + 1, n + 1, "ended", ended - 60_000, ended, 40, "{}", "[]", events, f"k{n}"))
        line = orjson.dumps({"text": "a line of a chat, as long as a typical one", "by": "visitor"}).decode()
        event_rows += [(chat_id, i, "line", ended - 60_000, 0, line) for i in range(events)]
        other.append(chat_id)
    return chat_rows, event_rows, other, ended


CHAT_SQL = (
    "INSERT INTO chats (id, account_id, rt_session_id, visitor_id, state, start_ms, ended_ms, chat_timeout, details,"
    " custom_variables, next_event_id, agent_key) VALUES ({})"
)
EVENT_SQL = "INSERT INTO events (chat_id, id, type, time_ms, agents_only, fields) VALUES ({})"
SUBMISSION_SQL = (
    "INSERT INTO survey_submissions (account_id, kind, chat_id, survey_id, answers, details, submitted_ms)"
    " VALUES ('1', 'exit', {}, 9, '[]', '{{}}', {})"
)
TRANSCRIPT_SQL = (
    "INSERT INTO transcript_requests (account_id, chat_id, email, requested_ms, done_ms)"
    " VALUES ('1', {}, 'v@example.com', {}, {})"
)
MAIL_SQL = (
    "INSERT INTO outbox (recipient, sender, subject, body, created_ms, next_attempt_ms, sent_ms, chat_id)"
    " VALUES ('v@example.com', 'p@example.com', 's', 'b', {}, {}, {}, {})"
)


def marks(n: int, pg: bool) -> str:
    return ", ".join(f"${i + 1}" if pg else "?" for i in range(n))


async def fill(store, chats: int, events: int) -> int:
    """The history, 1000 chats per transaction (a transaction of everything would outlast the
    PostgreSQL writer's bound)."""
    filled = 0
    for first in range(0, chats, 1000):
        filled += await fill_some(store, min(1000, chats - first), events, first)
    return filled


async def fill_some(store, chats: int, events: int, first: int) -> int:
    chat_rows, event_rows, ids, ended = rows(chats, events, int(time.time() * 1000), first)
    pg = is_postgres(getattr(store, "url", ""))
    if pg:

        async def job(db):
            await db.executemany(CHAT_SQL.format(marks(12, True)), chat_rows)
            await db.executemany(EVENT_SQL.format(marks(6, True)), event_rows)
            await db.executemany(SUBMISSION_SQL.format("$1", "$2"), [(c, ended) for c in ids])
            await db.executemany(TRANSCRIPT_SQL.format("$1", "$2", "$2"), [(c, ended) for c in ids])
            await db.executemany(MAIL_SQL.format("$2", "$2", "$2", "$1"), [(c, ended) for c in ids])
    else:

        def job(db):
            db.executemany(CHAT_SQL.format(marks(12, False)), chat_rows)
            db.executemany(EVENT_SQL.format(marks(6, False)), event_rows)
            db.executemany(SUBMISSION_SQL.format("?1", "?2"), [(c, ended) for c in ids])
            db.executemany(TRANSCRIPT_SQL.format("?1", "?2", "?2"), [(c, ended) for c in ids])
            db.executemany(MAIL_SQL.format("?2", "?2", "?2", "?1"), [(c, ended) for c in ids])

    await store.write(job)
    return len(event_rows)


async def delete_all_at_once(store) -> None:
    pg = is_postgres(getattr(store, "url", ""))
    chosen = "SELECT id FROM chats WHERE account_id = '1' AND ended_ms < {}".format("$1" if pg else "?")
    cutoff = int(time.time() * 1000) - DAY
    if pg:

        async def job(db):
            for table, column in TABLES:
                await db.execute(f"DELETE FROM {table} WHERE {column} IN ({chosen})", cutoff)
    else:

        def job(db):
            for table, column in TABLES:
                db.execute(f"DELETE FROM {table} WHERE {column} IN ({chosen})", (cutoff,))

    await store.write(job)


async def measure(url: str, chats: int, events: int, batched: bool) -> dict:
    store = open_store(url)
    await store.open()
    try:
        account = Account("1", "Bench", retention_days=1)
        await store.create_account(account)
        event_count = await fill(store, chats, events)
        waits: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                start = time.perf_counter()
                await store.update_account(account)
                waits.append(time.perf_counter() - start)
                await asyncio.sleep(0.005)

        prober = asyncio.create_task(probe())
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        if batched:
            await retention.sweep(store, int(time.time() * 1000), batch=BATCH["size"])
        else:
            await delete_all_at_once(store)
        elapsed = time.perf_counter() - start
        done.set()
        await prober
        left = await store.retention.count_expired("1", int(time.time() * 1000) - DAY)
        assert left.chats == 0, "something was left"
        return {
            "seconds": elapsed,
            "chats/s": chats / elapsed,
            "events/s": event_count / elapsed,
            "probe p50 ms": statistics.median(waits) * 1000,
            "probe max ms": max(waits) * 1000,
        }
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--batch", type=int, default=retention.SWEEP_BATCH, help="chats per sweep transaction")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--postgres", default=postgres.ADMIN_URL)
    args = parser.parse_args()
    postgres.ADMIN_URL = args.postgres
    BATCH["size"] = args.batch
    print("python bench/retention_sweep.py " + " ".join(sys.argv[1:]))
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print(f"{args.chats} chats x {args.events} events, 1 answer, 1 transcript request, 1 mail each")
    print("| store | row | seconds | chats/s | events/s | probe write p50 ms | probe write max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for backend in backends:
        for name, batched in (("reference: one transaction", False), (f"sweep: {args.batch} per transaction", True)):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    result = asyncio.run(measure(str(Path(folder) / "bench.db"), args.chats, args.events, batched))
            else:
                url = postgres.create_database()
                try:
                    result = asyncio.run(measure(url, args.chats, args.events, batched))
                finally:
                    postgres.drop_database(url)
            print(
                f"| {backend} | {name} | {result['seconds']:.2f} | {result['chats/s']:.0f} | {result['events/s']:.0f}"
                f" | {result['probe p50 ms']:.1f} | {result['probe max ms']:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
