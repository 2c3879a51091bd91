"""Mail the server sends: the message, its retry schedule, and the texts of transcripts (V20, V21)
and offline messages (V7)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from html.parser import HTMLParser

from parley.domain.chat import VISITOR_DEFAULT_NAME, Chat
from parley.domain.survey import EMAIL, Answer

DEFAULT_TRANSCRIPT_SUBJECT = "Your chat transcript"
MAX_SUBJECT = 200

FIRST_RETRY_MS = 1000
# Retries back off to one every five minutes: quick after a blip, gentle on a server that is down.
MAX_RETRY_MS = 5 * 60 * 1000
# Mail servers keep a message for days before giving up (Postfix: 5 days); so does the outbox.
RETRY_FOR_MS = 5 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Message:
    recipient: str
    sender: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None


def retry_delay_ms(attempts: int) -> int:
    """How long to wait after the ``attempts``-th failed attempt: 1 s, 2 s, 4 s ... at most 5 min."""
    return min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** min(max(attempts, 1) - 1, 30))


def _attempts_within(window_ms: int) -> int:
    attempts, waited = 0, 0
    while waited < window_ms:
        attempts += 1
        waited += retry_delay_ms(attempts)
    return attempts


# After this many failed attempts the schedule above has spent RETRY_FOR_MS waiting.
MAX_ATTEMPTS = _attempts_within(RETRY_FOR_MS)


def offset_zone(offset_ms: int) -> timezone:
    """The fixed zone a transcript request's ``timezoneOffset`` names (ms from GMT, whole minutes)."""
    return timezone(timedelta(minutes=int(offset_ms / 60000)))


def gmt_label(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"GMT {sign}{hours:02d}:{mins:02d}"


def local_time(epoch_ms: int, zone: tzinfo) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=zone)
    return f"{moment:%Y-%m-%d %H:%M:%S} {gmt_label(moment)}"


class _TextExtractor(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "pre"}
    SKIPPED = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class TranscriptLine:
    time_ms: int
    by: str
    text: str


def transcript_lines(chat: Chat) -> list[TranscriptLine]:
    """The visitor-visible lines in order (agent-only lines never reach the visitor's mail)."""
    out = []
    for event in chat.visible_events(0, visitor_view=True):
        if event.type != "line":
            continue
        fields = event.fields
        by = fields.get("by")
        if by is None and fields.get("source") == "visitor":
            by = chat.visitor_name or VISITOR_DEFAULT_NAME
        text = fields.get("text") or ""
        if fields.get("textType") == "html":
            text = html_to_text(text)
        elif fields.get("textType") == "rich-content" and not text:
            text = "[structured content]"
        out.append(TranscriptLine(event.time_ms, str(by or ""), str(text)))
    return out


def transcript(
    chat: Chat, account_name: str, zone: tzinfo, recipient: str, sender: str, subject: str | None
) -> Message:
    lines = transcript_lines(chat)
    started = local_time(chat.start_ms, zone)
    heading = f"Chat with {account_name}, started {started}"
    text_lines = [heading, ""]
    for line in lines:
        body = line.text.replace("\n", "\n    ")
        text_lines.append(f"[{local_time(line.time_ms, zone)}] {line.by}: {body}")
    if not lines:
        text_lines.append("(no messages)")
    rows = "".join(
        f'<tr><td style="white-space:nowrap;color:#666">{html.escape(local_time(line.time_ms, zone))}</td>'
        f"<td><b>{html.escape(line.by)}</b></td><td>{html.escape(line.text).replace(chr(10), '<br>')}</td></tr>"
        for line in lines
    )
    markup = f"<html><body><p>{html.escape(heading)}</p><table>{rows}</table></body></html>"
    return Message(recipient, sender, subject or DEFAULT_TRANSCRIPT_SUBJECT, "\n".join(text_lines) + "\n", markup)


def visitor_email(answers: list[Answer]) -> str | None:
    """The first answer to a question that asked for an e-mail address."""
    return next((a.values[0] for a in answers if a.validation_type == EMAIL and a.values), None)


def offline_message(
    account_name: str,
    answers: list[Answer],
    details: dict[str, str],
    received_ms: int,
    zone: tzinfo,
    recipient: str,
    sender: str,
) -> Message:
    """What a visitor left through the offline survey, for the account's offline address."""
    reply_to = visitor_email(answers)
    skill = details.get("skill")
    subject = f"Offline message for {account_name}" + (f" ({skill})" if skill else "")
    lines = [f"A visitor left a message on {local_time(received_ms, zone)}.", ""]
    for label, key in (
        ("Visitor e-mail", None),
        ("Skill", "skill"),
        ("Page", "chatReferrer"),
        ("Visitor IP", "visitorIp"),
        ("Browser", "userAgent"),
    ):
        value = reply_to if key is None else details.get(key)
        if value:
            lines.append(f"{label}: {value}")
    lines.append("")
    for answer in answers:
        lines.append(answer.label or f"Question {answer.question_id}")
        lines.extend("    " + part for value in answer.values for part in value.splitlines() or [""])
        lines.append("")
    return Message(recipient, sender, subject, "\n".join(lines), reply_to=reply_to)
