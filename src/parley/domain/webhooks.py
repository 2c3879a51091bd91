"""Webhooks: the event kinds a subscription can ask for, what each delivery's body says, how it is
signed, and how long a delivery is retried.

A delivery's body is computed when the change it reports is committed (in the same transaction,
``store/webhooks.py``), from the chat and the events of that change, so it says what was true
then, not when the receiver finally answers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from parley.domain import messages
from parley.domain.chat import CHATTING, ENDED, WAITING, Chat, Event
from parley.domain.refusals import Invalid

CHAT_REQUESTED = "chat.requested"
CHAT_ACCEPTED = "chat.accepted"
CHAT_LINE = "chat.line"
CHAT_TRANSFERRED = "chat.transferred"
CHAT_ENDED = "chat.ended"
SURVEY_SUBMITTED = "survey.submitted"
OFFLINE_SUBMITTED = "offline.submitted"
KINDS = (
    CHAT_REQUESTED,
    CHAT_ACCEPTED,
    CHAT_LINE,
    CHAT_TRANSFERRED,
    CHAT_ENDED,
    SURVEY_SUBMITTED,
    OFFLINE_SUBMITTED,
)
# What ``parley webhook test`` and ``POST .../test`` send: never queued, never a real event.
TEST_KIND = "webhook.test"

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

MAX_URL = 2000
SECRET_PREFIX = "whsec_"
# Retries follow the mail outbox's schedule (domain/mail.py: 1 s, 2 s, 4 s ... at most 5 min,
# given up after 5 days): a receiver that is down for a weekend still gets every event.

# system lines that mean "the chat went back to waiting for someone else", and why
_TRANSFERS = {
    messages.TRANSFERRED_TO_AGENT: "agent",
    messages.TRANSFERRED_TO_SKILL: "skill",
    messages.REQUEUED: "requeued",
}


@dataclass(frozen=True)
class Notification:
    """One event to report, to every active subscription of the account that asked for its kind."""

    account_id: str
    kind: str
    chat_id: str | None  # deliveries of one chat go out in order; None (offline messages): in theirs
    body: bytes
    time_ms: int


def new_secret() -> str:
    """256 random bits: the HMAC key, shown once and kept in the clear (the server must sign with it)."""
    return SECRET_PREFIX + secrets.token_hex(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``: the timestamp is signed with
    the body so a captured delivery cannot be replayed later under a fresh timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_url(value: Any) -> str:
    """An absolute http(s) URL. Loopback and private addresses are allowed on purpose: a self-hosted
    server posting to a service beside it is the normal case (docs/admin.md says so)."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("url is an http:// or https:// URL")
    url = value.strip()
    if len(url) > MAX_URL:
        raise Invalid(f"url is longer than {MAX_URL} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise Invalid("url may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise Invalid(f"url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid("url must start with http:// or https://")
    if not parts.hostname:
        raise Invalid("url has no host")
    if parts.username is not None or parts.password is not None:
        raise Invalid("url may not carry credentials (the signature authenticates the sender)")
    del port
    return url


def check_kinds(kinds: Any) -> tuple[str, ...]:
    """A non-empty list of known kinds, in the order of ``KINDS``, without repeats."""
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise Invalid(f"events is a non-empty list of: {', '.join(KINDS)}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise Invalid(f"unknown event {unknown[0]!r}; expected some of: {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in kinds)


def stored_kinds(kinds: tuple[str, ...]) -> str:
    """Kinds as one column, space-delimited at both ends so ``instr(kinds, ' chat.line ')`` is a
    membership test in SQL on both backends (the delivery insert selects subscriptions by it)."""
    return " " + " ".join(kinds) + " "


def parse_kinds(column: str) -> tuple[str, ...]:
    return tuple(column.split())


def _body(kind: str, account_id: str, time_ms: int, **content: Any) -> bytes:
    return orjson.dumps({"event": kind, "accountId": account_id, "time": time_ms, **content})


def chat_summary(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "state": chat.state,
        "visitorId": chat.visitor_id,
        "visitorName": chat.visitor_name,
        "skillId": chat.skill_id,
        "agentId": chat.agent_id,
        "startTime": chat.start_ms,
    }


def _line(event: Event) -> dict[str, Any]:
    fields = event.fields
    line = {
        "eventId": event.id,
        "source": fields.get("source"),
        "by": fields.get("by"),
        "text": fields.get("text"),
        "textType": fields.get("textType"),
        "agentsOnly": event.agents_only,
    }
    if "json" in fields:
        line["json"] = fields["json"]
    return line


def chat_notifications(chat: Chat, events: list[Event], created: bool) -> list[Notification]:
    """What one committed change of a chat reports: ``chat`` as it is after the change, ``events``
    the change's events (``created``: the chat's first commit). System lines are not ``chat.line``:
    what they say is reported by the kinds (accepted, transferred, ended) they accompany."""
    out: list[Notification] = []
    summary = chat_summary(chat)

    def add(kind: str, time_ms: int, **content: Any) -> None:
        body = _body(kind, chat.account_id, time_ms, chat=summary, **content)
        out.append(Notification(chat.account_id, kind, chat.id, body, time_ms))

    if created and events:
        add(CHAT_REQUESTED, events[0].time_ms)
    transfer = None
    previous: Event | None = None
    for event in events:
        fields = event.fields
        if event.type == "line":
            if fields.get("source") in ("visitor", "agent"):
                add(CHAT_LINE, event.time_ms, line=_line(event))
            elif fields.get("systemMessageId") in _TRANSFERS:
                transfer = _TRANSFERS[fields["systemMessageId"]]
        elif event.type == "a2a-transfer":
            link = fields.get("link") or {}
            add(CHAT_TRANSFERRED, event.time_ms, transfer={"reason": "account", "to": link.get("@href")})
        elif event.type == "state":
            state = fields.get("state")
            if state == CHATTING:
                add(CHAT_ACCEPTED, event.time_ms, agentId=chat.agent_id)
            elif state == WAITING and not created and transfer is not None:
                to = {"agentId": chat.routing.direct_agent_id} if transfer == "agent" else {"skillId": chat.skill_id}
                add(CHAT_TRANSFERRED, event.time_ms, transfer={"reason": transfer, **to})
            elif state == ENDED:
                # The system line just before the end says why (timeout, agent ended ...), if any.
                reason = previous.fields.get("systemMessageId") if previous and previous.type == "line" else None
                add(CHAT_ENDED, event.time_ms, reason=reason, endTime=chat.ended_ms)
        previous = event
    return out


def submission_notification(
    account_id: str,
    kind: str,
    chat_id: str | None,
    survey_id: int,
    answers: list[dict[str, Any]],
    details: dict[str, Any],
    time_ms: int,
) -> Notification:
    """A survey's answers: ``offline.submitted`` for an offline message (no chat), else
    ``survey.submitted`` (pre-chat, exit or agent wrap-up survey, ordered with its chat's events)."""
    survey = {"kind": kind, "id": survey_id, "answers": answers}
    if chat_id is None:
        body = _body(OFFLINE_SUBMITTED, account_id, time_ms, survey=survey, details=details)
        return Notification(account_id, OFFLINE_SUBMITTED, None, body, time_ms)
    body = _body(SURVEY_SUBMITTED, account_id, time_ms, chat={"id": chat_id}, survey=survey, details=details)
    return Notification(account_id, SURVEY_SUBMITTED, chat_id, body, time_ms)


def sample_body(account_id: str, hook_id: int, time_ms: int) -> bytes:
    return _body(TEST_KIND, account_id, time_ms, webhook={"id": hook_id})
