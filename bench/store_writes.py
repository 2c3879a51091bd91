"""Durable writes per second through the store API: PostgreSQL against SQLite in the same run.

    python bench/store_writes.py [--writers 64] [--writes 3000] [--rounds 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Each row opens a fresh store (a temporary SQLite file in WAL mode with synchronous=FULL; a new
PostgreSQL database made on the server of ``--postgres``, dropped after), creates a demo account
and then has ``--writers`` concurrent tasks append chat lines (``save_chat``: the row update plus
one event, what every visitor or agent line costs) until ``--writes`` are acknowledged. Every
acknowledged write has committed (group commit: writes that queue together share one commit).
The reference row is SQLite; read the ratio. Rows alternate over ``--rounds``; the median is shown
with the range. Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from parley.domain.account import Account  # noqa: E402
from parley.domain.chat import Chat, Event  # noqa: E402
from parley.domain.ids import new_chat_id  # noqa: E402
from parley.store import open_store  # noqa: E402
from tests import postgres  # noqa: E402


async def measure(url: str, writers: int, writes: int) -> tuple[float, int]:
    store = open_store(url)
    await store.open()
    try:
        await store.create_account(Account("1", "Bench"))
        chats = []
        for n in range(writers):
            chat = Chat(
                id=new_chat_id(), account_id="1", rt_session_id=n + 1, visitor_id=n + 1, start_ms=0, chat_timeout=40
            )
            await store.insert_chat(chat, [], new_visitor=True)
            chats.append(chat)
        per_writer = writes // writers

        async def writer(chat: Chat) -> None:
            for _ in range(per_writer):
                event = Event(chat.next_event_id, "line", 0, {"text": "hello there", "by": "visitor"})
                await store.save_chat(chat, [event])
                chat.events.append(event)

        start = time.perf_counter()
        await asyncio.gather(*(writer(chat) for chat in chats))
        elapsed = time.perf_counter() - start
        return per_writer * writers / elapsed, per_writer * writers
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=64)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=postgres.ADMIN_URL)
    args = parser.parse_args()
    print("$ python bench/store_writes.py " + " ".join(sys.argv[1:]))
    results: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            rate, _ = asyncio.run(measure(f"{folder}/r{round_}.db", args.writers, args.writes))
            results["sqlite"].append(rate)
            url = postgres.create_database()
            try:
                rate, _ = asyncio.run(measure(url, args.writers, args.writes))
            finally:
                postgres.drop_database(url)
            results["postgres"].append(rate)
    reference = statistics.median(results["sqlite"])
    print(f"\n{args.writers} concurrent writers, {args.writes} acknowledged chat lines per row, {args.rounds} rounds\n")
    print("| store | writes/s (median [range]) | ratio to SQLite |")
    print("| --- | --- | --- |")
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"| {name} | {median:,.0f} [{min(rates):,.0f}-{max(rates):,.0f}] | {median / reference:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
