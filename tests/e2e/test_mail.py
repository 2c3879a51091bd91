"""Mail over real SMTP (aiosmtpd in this process): transcripts (V20, V21) and offline messages (V7).

The server only queues mail in its outbox; its worker sends, retrying while the SMTP server is down."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import ACCOUNT, Server, database_url, q, query
from tests.e2e.test_chat_resource import accepted_chat
from tests.e2e.test_surveys import OFFLINE, PUT, import_survey
from tests.mailbox import text_of

TIME = r"\d{4}-\d\d-\d\d (\d\d):(\d\d):\d\d GMT ([+-]\d\d:\d\d)"


@pytest.fixture
def mailing(database, mailbox):
    """A server that sends to ``mailbox`` (started by each test when it wants the SMTP server up)."""
    instance = Server(database, "--smtp-url", mailbox.url, "--mail-from", "chat@parley.test").start()
    yield instance
    instance.stop()


def outbox(database) -> list[tuple]:
    return query(database, "SELECT recipient, sent_ms IS NOT NULL FROM outbox ORDER BY id")


def agent_auth(server, http) -> dict:
    login = http.post(
        f"{server.url}/api/account/{ACCOUNT}/login?v=1.3", json={"username": "natalie", "password": "natalie"}
    ).json()
    return {"Authorization": f"Bearer {login['bearer']}"}


def test_transcript_requested_before_the_end_arrives_after_it(mailing, mailbox, http):
    mailbox.start()
    chat_uri, agent_uri = accepted_chat(mailing, http)
    auth = agent_auth(mailing, http)
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "Where is my parcel?"}})
    http.post(
        f"{agent_uri}/events.json",
        headers=auth,
        json={"event": {"@type": "line", "text": "<p>It is <b>on its way</b></p>", "textType": "html"}},
    )
    http.post(
        f"{agent_uri}/events.json",
        headers=auth,
        json={"event": {"@type": "line", "text": "agents only: VIP", "subType": "ONLY_TO_REP"}},
    )
    request = http.post(
        f"{chat_uri}/transcriptWithSubjectRequest.json?{q()}",
        headers=PUT,
        json={
            "transcriptWithSubjectRequest": {
                "email": "ann@example",
                "subject": "Your parcel chat",
                "timezoneOffset": "-7200000",
            }
        },
    )
    assert (request.status_code, request.content) == (200, b"")
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "line", "text": "Thanks, bye"}})
    assert mailbox.received == [] and outbox(mailing.database) == []  # nothing before the end

    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    (message,) = mailbox.wait(1)
    assert (message["To"], message["From"], message["Subject"]) == (
        "ann@example",
        "chat@parley.test",
        "Your parcel chat",
    )
    text = text_of(message)
    stamps = re.findall(TIME, text)
    assert stamps and all(zone == "-02:00" for _, _, zone in stamps)
    events = http.get(f"{chat_uri}/events.json?{q()}").json()["events"]["event"]
    first_utc = events[0]["time"]  # the server's zone is UTC: shifted by -2 h in the mail
    assert f"{(int(first_utc[11:13]) - 2) % 24:02d}:{first_utc[14:16]}" == ":".join(stamps[0][:2])
    assert "You: Where is my parcel?" in text
    assert "Natalie: It is on its way" in text and "<b>" not in text
    assert "You: Thanks, bye" in text
    assert "agents only" not in text and "Came from the pricing page" not in text
    deadline = time.monotonic() + 10  # the server marks it sent just after the SMTP server took it
    while outbox(mailing.database) != [("ann@example", 1)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox(mailing.database) == [("ann@example", 1)]


def test_transcript_of_an_ended_chat_in_the_bare_form(mailing, mailbox, http):
    mailbox.start()
    chat_uri, _ = accepted_chat(mailing, http)
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    response = http.put(f"{chat_uri}/transcriptRequest.json?{q()}", json={"email": "bob@example.com"})
    assert (response.status_code, response.content) == (200, b"")
    (message,) = mailbox.wait(1)
    assert message["Subject"] == "Your chat transcript"
    assert "GMT +00:00" in text_of(message) and "You are now chatting with Natalie." in text_of(message)


def test_bad_transcript_requests_queue_nothing(mailing, mailbox, http):
    chat_uri, _ = accepted_chat(mailing, http)
    url = f"{chat_uri}/transcriptRequest.json?{q()}"
    for body, code in (
        ({"email": "not an address"}, 11),
        ({"transcriptRequest": {"subject": "x"}}, 5),
        ({"email": "a@b", "subject": "x" * 201}, 11),
        ({"email": "a@b", "timezoneOffset": "soon"}, 11),
        ({"email": "a@b", "subject": "two\nlines"}, 11),
        ({}, 5),
    ):
        response = http.post(url, headers=PUT, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["internalCode"] == code, body
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    assert query(mailing.database, "SELECT COUNT(*) FROM transcript_requests") == [(0,)]
    assert outbox(mailing.database) == []


def test_mail_waits_for_an_smtp_server_that_is_down_at_first(mailing, mailbox, http):
    chat_uri, _ = accepted_chat(mailing, http)
    http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
    response = http.post(
        f"{chat_uri}/transcriptRequest.json?{q()}",
        headers=PUT,
        json={"transcriptRequest": {"email": "late@example.com"}},
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 10
    while "not sent" not in mailing.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "not sent" in mailing.log.read_text()  # an attempt failed while the SMTP server was down
    assert outbox(mailing.database) == [("late@example.com", 0)]
    mailbox.start()
    (message,) = mailbox.wait(1, seconds=30)
    assert message["To"] == "late@example.com"


def test_pending_mail_survives_a_restart(database, mailbox, http):
    server = Server(database, "--smtp-url", mailbox.url).start()
    try:
        chat_uri, _ = accepted_chat(server, http)
        http.put(f"{chat_uri}/transcriptRequest.json?{q()}", json={"email": "carol@example.com"})
        server.stop()
        assert query(database, "SELECT COUNT(*) FROM transcript_requests WHERE done_ms IS NULL") == [(1,)]
        mailbox.start()
        server.start()
        http.post(f"{chat_uri}/events.json?{q()}", json={"event": {"@type": "state", "state": "ended"}})
        (message,) = mailbox.wait(1)
        assert message["To"] == "carol@example.com"
    finally:
        server.stop()


def test_offline_message_is_mailed_to_the_account_address(database, mailbox, tmp_path, http):
    import_survey(database, tmp_path, "offline", OFFLINE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley",
            "account",
            "update",
            "--id",
            ACCOUNT,
            "--offline-email",
            "sales@shop.example",
            "--database",
            database_url(database),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    mailbox.start()
    server = Server(database, "--smtp-url", mailbox.url).start()
    try:
        body = {
            "survey": {
                "id": 361346,
                "question": [
                    {"id": 4991310, "answer": "Ann"},
                    {"id": 4991311, "answer": "ann@example.com"},
                    {"id": 4991312, "answer": "Please call me back"},
                ],
            },
            "skill": "Sales",
            "chatReferrer": "https://shop/p",
        }
        response = http.post(
            f"{server.url}/api/account/{ACCOUNT}/chat/offlineSurvey.json?{q()}", headers=PUT, json=body
        )
        assert response.status_code == 200
        (message,) = mailbox.wait(1)
        assert message["To"] == "sales@shop.example" and message["Reply-To"] == "ann@example.com"
        text = text_of(message)
        assert "Your name?\n    Ann" in text and "Message\n    Please call me back" in text
        assert "Skill: Sales" in text and "Page: https://shop/p" in text
        ((details,),) = query(database, "SELECT details FROM survey_submissions")
        assert json.loads(details)["skill"] == "Sales"
    finally:
        server.stop()
