"""The outbox worker against a real local SMTP server, on a manual clock: backoff, recovery, give-up."""

from __future__ import annotations

import sqlite3

import pytest

from parley.config import Settings
from parley.domain.mail import MAX_ATTEMPTS, Message
from parley.services.mail import Mailer, SmtpTransport
from parley.services.transcripts import Transcripts
from parley.services.visitors import VisitorEvent
from tests.mailbox import Mailbox, text_of

from .steps import start_chat


def rows(db_path: str) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT recipient, attempts, next_attempt_ms, sent_ms, failed_ms FROM outbox").fetchall()


@pytest.fixture
def mailer(engine, mailbox):
    return Mailer(engine, SmtpTransport(Settings(smtp_url=mailbox.url)))


async def test_a_down_server_gets_the_mail_once_it_is_up_with_backoff_between(engine, mailer, mailbox, clock, db_path):
    await engine.store.mail.enqueue(Message("v@example.com", "chat@acme", "Hi", "Body"), clock())
    expected_waits = [1, 2, 4, 8]
    for attempt, wait in enumerate(expected_waits, start=1):
        assert await mailer.deliver_due() == 0
        ((_, attempts, next_ms, sent, failed),) = rows(db_path)
        assert (attempts, next_ms - clock(), sent, failed) == (attempt, wait * 1000, None, None)
        clock.advance(wait - 0.001)
        assert await mailer.deliver_due() == 0  # not due yet: no attempt
        assert rows(db_path)[0][1] == attempt
        clock.advance(0.001)
    mailbox.start()
    assert await mailer.deliver_due() == 1
    ((_, attempts, _, sent, failed),) = rows(db_path)
    assert (attempts, sent, failed) == (5, clock(), None)
    (message,) = mailbox.wait(1)
    assert (message["To"], message["From"], message["Subject"]) == ("v@example.com", "chat@acme", "Hi")
    assert text_of(message).strip() == "Body"
    assert await mailer.deliver_due() == 0  # sent once only


async def test_a_refused_recipient_fails_for_good_and_others_still_go(engine, clock, db_path):
    box = Mailbox(refuse=("nobody@example.com",)).start()
    try:
        mailer = Mailer(engine, SmtpTransport(Settings(smtp_url=box.url)))
        outbox = engine.store.mail
        await outbox.enqueue(Message("nobody@example.com", "chat@acme", "A", "a"), clock())
        await outbox.enqueue(Message("ann@example.com", "chat@acme", "B", "b"), clock())
        assert await mailer.deliver_due() == 1
        assert [(r[0], r[3] is not None, r[4] is not None) for r in rows(db_path)] == [
            ("nobody@example.com", False, True),
            ("ann@example.com", True, False),
        ]
        clock.advance(3600)
        assert await mailer.deliver_due() == 0
        assert [to for to, _ in box.received] == [["ann@example.com"]]
    finally:
        box.stop()


async def test_the_outbox_gives_up_after_the_last_attempt(engine, mailer, clock, db_path):
    await engine.store.mail.enqueue(Message("v@example.com", "chat@acme", "Hi", "Body"), clock())
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE outbox SET attempts = ?", (MAX_ATTEMPTS - 2,))
    await mailer.deliver_due()
    assert rows(db_path)[0][4] is None  # one attempt left
    clock.advance(3600)
    await mailer.deliver_due()
    ((_, attempts, _, sent, failed),) = rows(db_path)
    assert (attempts, sent, failed) == (MAX_ATTEMPTS, None, clock())


async def test_without_an_smtp_server_mail_stays_queued(engine, clock, db_path):
    mailer = Mailer(engine)
    assert mailer.transport is None
    await engine.store.mail.enqueue(Message("v@example.com", "chat@acme", "Hi", "Body"), clock())
    clock.advance(86400)
    await mailer.step()
    assert rows(db_path) == [("v@example.com", 0, clock() - 86400 * 1000, None, None)]


async def test_a_transcript_waits_for_the_end_of_its_chat(engine, visitors, mailer, mailbox, clock):
    mailbox.start()
    engine.settings.no_agent_policy = "queue"  # no agent is logged in: keep the chat waiting
    chat = await start_chat(visitors)
    await visitors.post(chat, VisitorEvent("line", text="first line"))
    await Transcripts(engine).request(chat, "v@example.com", "Our chat", None)
    mailer.watch(chat.id)
    await mailer.step()
    assert mailbox.received == []
    clock.advance(1)
    await visitors.post(chat, VisitorEvent("line", text="after the request"))
    await visitors.post(chat, VisitorEvent("state", state="ended"))
    await mailer.step()
    (message,) = mailbox.wait(1)
    assert message["Subject"] == "Our chat"
    text = text_of(message)
    assert "You: first line" in text and "You: after the request" in text
    await mailer.step()
    assert len(mailbox.received) == 1
