"""Webhook rules: the signature (checked against openssl's HMAC), the retry schedule, what a URL and
a kind list may be, and which notifications a chat change makes."""

from __future__ import annotations

import pytest

from parley.domain import messages
from parley.domain.chat import Chat, Event, Routing
from parley.domain.mail import MAX_ATTEMPTS, MAX_RETRY_MS, RETRY_FOR_MS, retry_delay_ms
from parley.domain.refusals import Invalid
from parley.domain.webhooks import (
    KINDS,
    chat_notifications,
    check_kinds,
    check_url,
    new_secret,
    parse_kinds,
    sign,
    stored_kinds,
    submission_notification,
)

T0 = 1_700_000_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # printf '%s' '1700000000.{"event":"chat.line"}' | openssl dgst -sha256 -hmac whsec_test
    expected = "7d66d9acd7d954c4d80054b45294723f65266d02bd245b030a157052c8abcdc7"
    assert sign("whsec_test", "1700000000", b'{"event":"chat.line"}') == "sha256=" + expected
    assert sign("whsec_test", "1700000001", b'{"event":"chat.line"}') != "sha256=" + expected
    assert sign("whsec_other", "1700000000", b'{"event":"chat.line"}') != "sha256=" + expected


def test_secrets_are_new_and_long():
    first, second = new_secret(), new_secret()
    assert first != second and first.startswith("whsec_") and len(first) == len("whsec_") + 64


def test_backoff_doubles_to_five_minutes_and_gives_up_after_five_days():
    assert [retry_delay_ms(n) for n in range(1, 6)] == [1000, 2000, 4000, 8000, 16000]
    assert retry_delay_ms(9) == 256_000 and retry_delay_ms(10) == MAX_RETRY_MS == retry_delay_ms(10_000)
    waited = sum(retry_delay_ms(n) for n in range(1, MAX_ATTEMPTS + 1))
    assert waited >= RETRY_FOR_MS > waited - MAX_RETRY_MS


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "https://crm.example.com/in?x=1", "http://[::1]/h", "http://10.0.0.5/"],
)
def test_http_urls_are_taken_loopback_and_private_included(url):
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("//example.com/", "http:// or https://"),
        ("http:///path", "no host"),
        ("http://a b/", "spaces"),
        ("http://example.com/\x00", "control"),
        ("http://u:p@example.com/", "credentials"),
        ("http://example.com:0x50/", "not a valid URL"),
        ("http://" + "a" * 2000, "longer than"),
        ("", "http:// or https://"),
        (None, "http:// or https://"),
        (["http://x"], "http:// or https://"),
    ],
)
def test_other_urls_are_refused(url, message):
    with pytest.raises(Invalid, match=message):
        check_url(url)


def test_kinds_are_known_ordered_and_stored_for_a_membership_test():
    assert check_kinds(["chat.ended", "chat.line", "chat.ended"]) == ("chat.line", "chat.ended")
    for bad in ([], "chat.line", [1], ["chat.line", "chat.lines"], None):
        with pytest.raises(Invalid):
            check_kinds(bad)
    column = stored_kinds(KINDS)
    assert parse_kinds(column) == KINDS
    assert " chat.line " in column and " chat.lin " not in column  # whole words only


def chat(**changes) -> Chat:
    values = dict(id="H1-aK1234567", account_id="1234", rt_session_id=5, visitor_id=7, start_ms=T0, chat_timeout=40)
    values.update(changes)
    return Chat(**values)


def line(event_id: int, source: str, text: str, **fields) -> Event:
    return Event(event_id, "line", T0, {"source": source, "text": text, "textType": "plain", **fields})


def system(event_id: int, message_id: int) -> Event:
    return Event(event_id, "line", T0, {"source": "system", "by": "info", "systemMessageId": message_id})


def state(event_id: int, value: str) -> Event:
    return Event(event_id, "state", T0, {"state": value})


def kinds(notes) -> list[str]:
    return [n.kind for n in notes]


def test_a_chat_change_reports_its_kinds_and_skips_system_lines():
    opening = [state(0, "waiting"), system(1, messages.ROUTING), Event(2, "line", T0, {"source": "system"}, True)]
    assert kinds(chat_notifications(chat(), opening, created=True)) == ["chat.requested"]
    accepted = chat(state="chatting", agent_id=3)
    notes = chat_notifications(accepted, [state(3, "chatting"), system(4, messages.ACCEPTED)], created=False)
    assert kinds(notes) == ["chat.accepted"] and b'"agentId":3' in notes[0].body
    lines = [line(5, "visitor", "hi"), line(6, "agent", "private", subType="ONLY_TO_REP")]
    lines[1].agents_only = True
    notes = chat_notifications(accepted, lines, created=False)
    assert kinds(notes) == ["chat.line", "chat.line"] and b'"agentsOnly":true' in notes[1].body
    assert all(n.chat_id == "H1-aK1234567" and n.account_id == "1234" for n in notes)
    assert chat_notifications(accepted, [], created=False) == []  # typing, or a touch: nothing to say


def test_transfers_requeues_and_ends_say_why():
    to_agent = chat(routing=Routing().transferred_to(9), skill_id=1)
    notes = chat_notifications(to_agent, [system(7, messages.TRANSFERRED_TO_AGENT), state(8, "waiting")], False)
    assert kinds(notes) == ["chat.transferred"] and b'"transfer":{"reason":"agent","agentId":9}' in notes[0].body
    to_skill = chat(skill_id=2)
    notes = chat_notifications(to_skill, [system(7, messages.TRANSFERRED_TO_SKILL), state(8, "waiting")], False)
    assert b'"transfer":{"reason":"skill","skillId":2}' in notes[0].body
    notes = chat_notifications(to_skill, [system(7, messages.REQUEUED), state(8, "waiting")], False)
    assert b'"reason":"requeued"' in notes[0].body
    ended = chat(state="ended", ended_ms=T0 + 5)
    notes = chat_notifications(ended, [system(9, messages.DISCONNECTED), state(10, "ended")], False)
    assert kinds(notes) == ["chat.ended"] and b'"reason":6' in notes[0].body and b'"endTime":' in notes[0].body
    notes = chat_notifications(ended, [state(10, "ended")], False)
    assert b'"reason":null' in notes[0].body


def test_survey_answers_are_ordered_with_their_chat_and_offline_ones_alone():
    answers = [{"id": 1, "label": "Name", "answer": ["Ann"], "validationType": None}]
    exit_note = submission_notification("1234", "exit", "H1", 361348, answers, {}, T0)
    assert (exit_note.kind, exit_note.chat_id) == ("survey.submitted", "H1")
    offline = submission_notification("1234", "offline", None, 361346, answers, {"skill": "Sales"}, T0)
    assert (offline.kind, offline.chat_id) == ("offline.submitted", None)
    assert b'"details":{"skill":"Sales"}' in offline.body
