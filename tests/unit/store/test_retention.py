"""Retention and erasure in the store, on every backend: exactly the chats asked for go, with every
row about them; everything else stays, row for row."""

import itertools

import pytest

from parley.domain.account import Account
from parley.domain.chat import ENDED, Chat, Event
from parley.domain.ids import new_chat_id
from parley.domain.mail import Message
from parley.domain.refusals import Conflict
from parley.domain.survey import Answer
from parley.store.protocol import ParticipantRecord, Removal, Submission
from tests.unit.store.conftest import raw

DAY = 24 * 3600 * 1000
NOW = 1_800_000_000_000
_rt = itertools.count(4294967297)


async def a_chat(store, account_id: str, visitor_id: int, ended_ms: int | None, participant: str | None = None) -> str:
    """A chat with 3 events, an exit survey answer, a transcript request mailed (one outbox row)."""
    chat = Chat(
        id=new_chat_id(),
        account_id=account_id,
        rt_session_id=next(_rt),
        visitor_id=visitor_id,
        start_ms=(ended_ms or NOW) - 60_000,
        chat_timeout=40,
        state=ENDED if ended_ms else "chatting",
        ended_ms=ended_ms,
        details={"participantId": participant} if participant else {},
    )
    events = [Event(i, "line", chat.start_ms, {"text": f"line {i}"}) for i in range(3)]
    await store.insert_chat(chat, events, new_visitor=True)
    answers = [Answer(1, "How was it?", ("fine",))]
    await store.surveys.save_submission(Submission(account_id, "exit", chat.id, 9, answers, {}, chat.start_ms))
    await store.mail.request_transcript(account_id, chat.id, "v@example.com", None, None, chat.start_ms)
    (request,) = await store.mail.pending_transcripts(chat.id)
    await store.mail.complete_transcripts([(request, Message("v@example.com", "p@example.com", "s", "t"))], NOW)
    return chat.id


async def an_offline_message(store, account_id: str, submitted_ms: int) -> None:
    mail = Message("office@example.com", "p@example.com", "Offline", "hello")
    answers = [Answer(1, "Message", ("call me",))]
    await store.surveys.save_submission(
        Submission(account_id, "offline", None, 8, answers, {}, submitted_ms), mail=mail
    )


async def rows_of(database_url: str, chat_ids: list[str]) -> dict[str, int]:
    """Every row about these chats, per table."""
    counts = {}
    for table, column in (
        ("chats", "id"),
        ("events", "chat_id"),
        ("survey_submissions", "chat_id"),
        ("transcript_requests", "chat_id"),
        ("outbox", "chat_id"),
    ):
        total = 0
        for chat_id in chat_ids:
            total += (await raw(database_url, f"SELECT count(*) FROM {table} WHERE {column} = $1", chat_id))[0][0]
        counts[table] = total
    return counts


async def offline_rows(database_url: str, account_id: str) -> tuple[int, int]:
    submissions = await raw(
        database_url,
        "SELECT count(*) FROM survey_submissions WHERE account_id = $1 AND chat_id IS NULL",
        account_id,
    )
    mails = await raw(
        database_url,
        "SELECT count(*) FROM outbox WHERE submission_id IN"
        " (SELECT id FROM survey_submissions WHERE account_id = $1 AND chat_id IS NULL)",
        account_id,
    )
    return submissions[0][0], mails[0][0]


@pytest.fixture
async def accounts(store):
    await store.create_account(Account("1", "One", retention_days=5))
    await store.create_account(Account("2", "Two"))
    return store


async def test_the_retention_setting_is_stored(accounts):
    directory = await accounts.load_directory()
    assert directory.accounts["1"].retention_days == 5 and directory.accounts["2"].retention_days is None
    account = directory.accounts["2"]
    account.retention_days = 30
    await accounts.update_account(account)
    assert (await accounts.load_directory()).accounts["2"].retention_days == 30


async def test_the_sweep_deletes_exactly_the_old_chats_with_their_rows(accounts, database_url):
    store = accounts
    cutoff = NOW - 5 * DAY
    old = [await a_chat(store, "1", 10 + i, NOW - (6 + i) * DAY) for i in range(3)]
    kept = [
        await a_chat(store, "1", 20, NOW - 4 * DAY),  # ended, but within the retention
        await a_chat(store, "1", 21, None),  # open
        await a_chat(store, "2", 22, NOW - 9 * DAY),  # another account's
    ]
    await an_offline_message(store, "1", NOW - 7 * DAY)
    await an_offline_message(store, "1", NOW - 1 * DAY)
    await an_offline_message(store, "2", NOW - 7 * DAY)
    before = await rows_of(database_url, kept)

    counted = await store.retention.count_expired("1", cutoff)
    expected = Removal(chats=3, events=9, submissions=4, transcripts=3, mails=4)
    assert counted == expected
    assert await rows_of(database_url, old) == {
        "chats": 3,
        "events": 9,
        "survey_submissions": 3,
        "transcript_requests": 3,
        "outbox": 3,
    }  # counting deleted nothing

    first = await store.retention.sweep("1", cutoff, limit=2)
    assert (first.chats, first.events, len(first.chat_ids)) == (2, 6, 2)
    assert set(first.chat_ids) <= set(old)
    assert first.submissions == 3 and first.mails == 3  # two chats' answers and mails, and the old offline message
    second = await store.retention.sweep("1", cutoff, limit=2)
    assert (second.chats, second.events, second.submissions, second.transcripts, second.mails) == (1, 3, 1, 1, 1)
    assert (await store.retention.sweep("1", cutoff, limit=2)).counts() == Removal().counts()

    assert await rows_of(database_url, old) == dict.fromkeys(
        ("chats", "events", "survey_submissions", "transcript_requests", "outbox"), 0
    )
    assert (
        await rows_of(database_url, kept)
        == before
        == {
            "chats": 3,
            "events": 9,
            "survey_submissions": 3,
            "transcript_requests": 3,
            "outbox": 3,
        }
    )
    assert await offline_rows(database_url, "1") == (1, 1)  # the new offline message and its mail
    assert await offline_rows(database_url, "2") == (1, 1)
    assert (await store.retention.count_expired("1", cutoff)).counts() == Removal().counts()


async def test_erasing_a_visitor_leaves_nothing_of_it_and_touches_nobody_else(accounts, database_url):
    store = accounts
    for participant in ("p-7", "p-8"):
        await store.participants.insert(ParticipantRecord(participant, "1", f"c-{participant}", {"sub": participant}))
    mine = [
        await a_chat(store, "1", 7, NOW - 100 * DAY, participant="p-7"),
        await a_chat(store, "1", 7, NOW - DAY),
    ]
    theirs = [await a_chat(store, "1", 8, NOW - DAY, participant="p-8"), await a_chat(store, "2", 7, NOW - DAY)]
    before = await rows_of(database_url, theirs)

    counted = await store.retention.count_visitor("1", 7)
    assert counted == Removal(chats=2, events=6, submissions=2, transcripts=2, mails=2, participants=1, visitors=1)
    removal = await store.retention.erase_visitor("1", 7)
    assert removal.counts() == counted.counts() and sorted(removal.chat_ids) == sorted(mine)

    assert await rows_of(database_url, mine) == dict.fromkeys(
        ("chats", "events", "survey_submissions", "transcript_requests", "outbox"), 0
    )
    assert await raw(database_url, "SELECT count(*) FROM visitors WHERE account_id = '1' AND id = 7") == [(0,)]
    assert await raw(database_url, "SELECT id FROM participants ORDER BY id") == [("p-8",)]
    assert await rows_of(database_url, theirs) == before
    assert await raw(database_url, "SELECT count(*) FROM visitors WHERE account_id = '2' AND id = 7") == [(1,)]
    assert await raw(database_url, "SELECT count(*) FROM visitors WHERE account_id = '1' AND id = 8") == [(1,)]
    assert await store.surveys.latest_for_visitor("1", "exit", 7) is None
    assert await store.surveys.latest_for_visitor("1", "exit", 8) is not None


async def test_a_visitor_with_a_chat_in_progress_is_not_erased(accounts, database_url):
    store = accounts
    ended = await a_chat(store, "1", 7, NOW - DAY)
    open_chat = await a_chat(store, "1", 7, None)
    with pytest.raises(Conflict, match="in progress"):
        await store.retention.erase_visitor("1", 7)
    assert (await rows_of(database_url, [ended, open_chat]))["events"] == 6  # nothing deleted


async def test_swept_and_erased_chats_leave_the_text_search(accounts):
    """The history's text index (FTS5 on SQLite, an expression index on PostgreSQL) forgets the
    lines of chats the sweep and the erasure delete, and still finds the others'."""
    from parley.domain.history import ChatQuery

    store = accounts

    async def found() -> set[str]:
        summaries = await store.history.summaries("1", ChatQuery(words=("line",)), None, 200)
        return {summary.chat.id for summary in summaries}

    swept = await a_chat(store, "1", 30, NOW - 9 * DAY)
    erased = await a_chat(store, "1", 31, NOW - DAY)
    kept = await a_chat(store, "1", 32, NOW - DAY)
    assert await found() == {swept, erased, kept}
    await store.retention.sweep("1", NOW - 5 * DAY, 200)
    assert await found() == {erased, kept}
    await store.retention.erase_visitor("1", 31)
    assert await found() == {kept}


async def test_erasing_and_sweeping_take_the_chats_webhook_deliveries(accounts, database_url):
    """Deliveries carry a chat's lines in their bodies: an erased or swept chat's go with it."""
    from parley.domain.webhooks import KINDS

    store = accounts
    hook = await store.webhooks.create("1", "http://127.0.0.1:1/hook", KINDS, "whsec_x", NOW)
    erased = await a_chat(store, "1", 40, NOW - DAY)
    swept = await a_chat(store, "1", 41, NOW - 9 * DAY)
    kept = await a_chat(store, "1", 42, NOW - DAY)

    async def deliveries(chat_id: str) -> int:
        return (await raw(database_url, "SELECT count(*) FROM webhook_deliveries WHERE chat_id = $1", chat_id))[0][0]

    assert hook and all([await deliveries(chat) for chat in (erased, swept, kept)])
    queued = await deliveries(erased)
    counted = await store.retention.count_visitor("1", 40)
    removal = await store.retention.erase_visitor("1", 40)
    assert removal.webhooks == counted.webhooks == queued > 0
    assert await deliveries(erased) == 0
    swept_removal = await store.retention.sweep("1", NOW - 5 * DAY, 200)
    assert swept_removal.webhooks > 0 and await deliveries(swept) == 0
    assert await deliveries(kept) > 0
