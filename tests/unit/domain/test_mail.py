"""Mail texts and the retry schedule."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from parley.domain import chat as rules
from parley.domain.chat import Chat, Event
from parley.domain.mail import (
    MAX_ATTEMPTS,
    MAX_RETRY_MS,
    html_to_text,
    offline_message,
    offset_zone,
    retry_delay_ms,
    transcript,
    transcript_lines,
)
from parley.domain.survey import Answer

# 2024-01-15T12:00:00Z
START = 1_705_320_000_000


def test_retries_start_at_one_second_and_double_up_to_five_minutes():
    delays = [retry_delay_ms(n) // 1000 for n in range(1, 13)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert retry_delay_ms(10_000) == MAX_RETRY_MS


def test_the_outbox_keeps_trying_for_more_than_a_day():
    waited = sum(retry_delay_ms(n) for n in range(1, MAX_ATTEMPTS))
    assert waited >= 24 * 3600 * 1000


def chat_with_lines() -> Chat:
    chat = Chat(id="c1", account_id="1", rt_session_id=1, visitor_id=2, start_ms=START, chat_timeout=40)
    drafts = (
        rules.opening(["agents only: came from pricing"])
        + rules.acceptance("Natalie")
        + [
            rules.visitor_line("Hello", None),
            rules.agent_line("<p>Hi <b>there</b></p><script>x()</script>", "html", "Natalie", rules.REGULAR, None),
            rules.agent_line("note to colleagues", "plain", "Natalie", rules.ONLY_TO_REP, None),
            rules.visitor_line("Thanks", "Ann"),
        ]
    )
    for i, draft in enumerate(drafts):
        chat.events.append(Event(i, draft.type, START + i * 1000, draft.fields, draft.agents_only))
    return chat


def test_transcript_lines_are_the_visitor_visible_lines():
    lines = transcript_lines(chat_with_lines())
    assert [(line.by, line.text) for line in lines] == [
        ("info", "Thank you for choosing to chat with us. An agent will be with you shortly."),
        ("info", "You are now chatting with Natalie."),
        ("You", "Hello"),
        ("Natalie", "Hi there"),
        ("Ann", "Thanks"),
    ]


def test_a_named_visitor_shows_the_name_on_lines_posted_before_naming():
    chat = chat_with_lines()
    chat.visitor_name = "Ann"
    assert transcript_lines(chat)[2].by == "Ann"


def test_transcript_times_follow_the_offset_and_say_so():
    message = transcript(chat_with_lines(), "Acme", offset_zone(-7_200_000), "v@example.com", "chat@acme", None)
    assert message.subject == "Your chat transcript"
    assert (message.recipient, message.sender) == ("v@example.com", "chat@acme")
    assert "[2024-01-15 10:00:05 GMT -02:00] You: Hello" in message.text
    assert "note to colleagues" not in message.text and "pricing" not in message.text
    assert "Hi <b>" not in message.text and "x()" not in message.text
    assert "&lt;p&gt;" not in message.html and "Hi there" in message.html


def test_transcript_in_the_account_zone_and_with_a_subject():
    message = transcript(chat_with_lines(), "Acme", ZoneInfo("Asia/Kolkata"), "v@x", "c@x", "Our chat")
    assert message.subject == "Our chat"
    assert "[2024-01-15 17:30:06 GMT +05:30] Natalie: Hi there" in message.text


def test_html_to_text_keeps_text_and_line_breaks():
    assert html_to_text("<div>one<br>two</div><ul><li>a &amp; b</li></ul><style>p{}</style>") == "one\ntwo\na & b"


def test_offline_message_lists_answers_and_replies_to_the_visitor():
    answers = [
        Answer(1, "Your name?", ("Ann",)),
        Answer(2, "E-mail", ("ann@example.com",), "email"),
        Answer(3, "Message", ("Line one\nLine two",)),
    ]
    message = offline_message(
        "Acme",
        answers,
        {"skill": "Sales", "chatReferrer": "https://shop/p"},
        START,
        ZoneInfo("UTC"),
        "sales@acme",
        "chat@acme",
    )
    assert message.reply_to == "ann@example.com"
    assert message.subject == "Offline message for Acme (Sales)"
    assert "Your name?\n    Ann\n" in message.text
    assert "Message\n    Line one\n    Line two\n" in message.text
    assert "Skill: Sales" in message.text and "Page: https://shop/p" in message.text
    assert "Visitor e-mail: ann@example.com" in message.text
