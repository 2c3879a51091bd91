"""The chat, its events and its state machine (server spec §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from parley.domain import messages
from parley.domain.ids import new_agent_key
from parley.domain.refusals import Forbidden, NotFound

WAITING = "waiting"
CHATTING = "chatting"
ENDED = "ended"

NOT_TYPING = "not-typing"
TYPING = "typing"
UNKNOWN = "unknown"

REGULAR = "REGULAR"
ONLY_TO_REP = "ONLY_TO_REP"

VISITOR_DEFAULT_NAME = "You"
AGENT_VIEW_DEFAULT_NAME = "visitor"


@dataclass
class Event:
    id: int
    type: str
    time_ms: int
    fields: dict[str, Any]
    agents_only: bool = False
    request_key: str | None = None  # the idempotency key of the request that appended it


@dataclass(frozen=True)
class Draft:
    """An event the rules want appended; the writer path gives it its id and time."""

    type: str
    fields: dict[str, Any]
    agents_only: bool = False


@dataclass
class Typing:
    value: str = NOT_TYPING
    since_ms: int = 0

    def current(self, now_ms: int, ttl_ms: int) -> str:
        """A typing flag nobody refreshed within the TTL reads as not typing."""
        if self.value == TYPING and now_ms - self.since_ms > ttl_ms:
            return NOT_TYPING
        return self.value


@dataclass(frozen=True)
class Routing:
    """How a waiting chat finds its agent. Never shown to clients; changed only through the
    engine's writer path (a new value in ``append``), so it is committed with the chat row."""

    priority: int = 0  # queuePriority: a higher one is offered first
    direct_agent_id: int | None = None  # only this agent may take the chat
    # A transfer to this agent: if the agent lets the ring time out, the chat falls back to its skill.
    transfer_target: int | None = None
    max_wait_seconds: int | None = None  # maxWaitTime: waiting longer ends the chat (system line)
    transferred: bool = False  # heads its skill's queue; agents ranked as for a transfer
    requeued: bool = False  # its agent left: heads its skill's queue

    @property
    def front(self) -> bool:
        return self.transferred or self.requeued

    def accepted(self) -> Routing:
        """An agent took the chat: what only applied while it waited is gone."""
        return replace(self, direct_agent_id=None, transfer_target=None, transferred=False, requeued=False)

    def transferred_to(self, agent_id: int | None) -> Routing:
        """Transferred to an agent, or (None) to a skill's queue."""
        return replace(self.accepted(), transferred=True, direct_agent_id=agent_id, transfer_target=agent_id)

    def requeued_to_skill(self) -> Routing:
        """Its agent left: back to the skill's queue, whoever it was meant for."""
        return replace(self, direct_agent_id=None, transfer_target=None, requeued=True)

    def target_unanswered(self) -> Routing:
        """The agent a transfer named let the ring time out: any agent of the skill may take it."""
        return replace(self, direct_agent_id=None)


@dataclass
class Chat:
    id: str
    account_id: str
    rt_session_id: int
    visitor_id: int
    start_ms: int
    chat_timeout: int
    state: str = WAITING
    skill_id: int | None = None
    agent_id: int | None = None
    chatting_ms: int | None = None
    ended_ms: int | None = None
    visitor_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    routing: Routing = field(default_factory=Routing)
    custom_variables: list[dict[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    last_update_ms: int = 0
    visitor_typing: Typing = field(default_factory=Typing)
    agent_typing: Typing = field(default_factory=Typing)
    # The agent side's key for the current assignment: agent URIs carry it instead of ``id``,
    # and a new one replaces it whenever the chat leaves an agent (transfer, requeue).
    agent_key: str = field(default_factory=new_agent_key)
    # The agent user whose bearer requested the chat on the visitor side, if any: only that
    # user's bearer opens it there (an agent bearer is not a visitor credential for other chats).
    requester_agent_id: int | None = None
    # Counts the committed changes of the chat row: a node's view is behind when the store's is higher.
    version: int = 0

    @property
    def next_event_id(self) -> int:
        return len(self.events)

    @property
    def active(self) -> bool:
        return self.state != ENDED

    def duration(self) -> int:
        """0 until ended, then the seconds from the first ``chatting`` to the end."""
        if self.ended_ms is None or self.chatting_ms is None:
            return 0
        return max(0, (self.ended_ms - self.chatting_ms) // 1000)

    def visible_events(self, from_id: int, visitor_view: bool) -> list[Event]:
        """Events with id >= from_id; the visitor never sees agent-only events."""
        chosen = self.events[from_id:] if from_id >= 0 else []
        if visitor_view:
            return [event for event in chosen if not event.agents_only]
        return chosen

    def waiting_since(self) -> int:
        """When the chat last entered a state (for a waiting chat: when it started waiting)."""
        return next((e.time_ms for e in reversed(self.events) if e.type == "state"), self.start_ms)

    def event(self, event_id: int, visitor_view: bool) -> Event:
        if 0 <= event_id < len(self.events):
            event = self.events[event_id]
            if not (visitor_view and event.agents_only):
                return event
        raise NotFound("Event not found")


# What the chats row holds besides the id and the events: a node catching up copies these.
CHAT_ROW_FIELDS = (
    "state",
    "skill_id",
    "agent_id",
    "start_ms",
    "chatting_ms",
    "ended_ms",
    "chat_timeout",
    "visitor_name",
    "details",
    "routing",
    "custom_variables",
    "visitor_typing",
    "agent_typing",
    "agent_key",
    "requester_agent_id",
    "version",
)


def state_event(state: str) -> Draft:
    return Draft("state", {"state": state})


def system_line(message_id: int, **values: str) -> Draft:
    return Draft(
        "line",
        {
            "textType": "plain",
            "text": messages.system_text(message_id, **values),
            "by": "info",
            "source": "system",
            "systemMessageId": message_id,
            "subType": REGULAR,
        },
    )


def prechat_line(text: str) -> Draft:
    return Draft(
        "line",
        {"textType": "plain", "text": text, "by": "info", "source": "system", "subType": ONLY_TO_REP},
        agents_only=True,
    )


def visitor_line(text: str, visitor_name: str | None) -> Draft:
    """``by`` None means "the default name of whoever reads it" (You / visitor)."""
    return Draft(
        "line",
        {"textType": "plain", "text": text, "by": visitor_name, "source": "visitor", "subType": REGULAR},
    )


def visitor_rich_line(text: str | None, content: dict, visitor_name: str | None) -> Draft:
    return Draft(
        "line",
        {
            "textType": "rich-content",
            "text": text,
            "json": content,
            "by": visitor_name,
            "source": "visitor",
            "subType": REGULAR,
        },
    )


def agent_line(text: str | None, text_type: str, nickname: str, sub_type: str, content: dict | None) -> Draft:
    fields: dict[str, Any] = {"textType": text_type, "text": text}
    if content is not None:
        fields["json"] = content
    fields.update({"by": nickname, "source": "agent", "subType": sub_type})
    return Draft("line", fields, agents_only=sub_type == ONLY_TO_REP)


def opening(prechat_lines: list[str]) -> list[Draft]:
    """The events of a new chat: ``state waiting``, system line 4, agent-only pre-chat lines."""
    return [state_event(WAITING), system_line(messages.ROUTING)] + [prechat_line(line) for line in prechat_lines]


def acceptance(nickname: str) -> list[Draft]:
    return [state_event(CHATTING), system_line(messages.ACCEPTED, agentName=nickname)]


def ending(chat: Chat, reason_line: int | None) -> list[Draft]:
    """Ending events; an already ended chat gets none (ending twice is idempotent)."""
    if not chat.active:
        return []
    drafts = [system_line(reason_line)] if reason_line is not None else []
    return drafts + [state_event(ENDED)]


def require_open(chat: Chat, action: str) -> None:
    if not chat.active:
        raise Forbidden(f"Cannot {action}: the chat has ended")
