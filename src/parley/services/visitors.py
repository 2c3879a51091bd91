"""Visitor use cases (Server Chat API): start a chat, post events, name, typing, custom variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parley.domain import chat as rules
from parley.domain import messages
from parley.domain.account import ONLINE
from parley.domain.chat import ENDED, TYPING, Chat, Routing, Typing
from parley.domain.ids import new_chat_id, new_number
from parley.domain.refusals import Invalid
from parley.services.engine import Engine
from parley.services.tally import tally

# Clients send interactionTimeout values up to 3600; keep them within sane bounds (spec V9).
MIN_TIMEOUT, MAX_TIMEOUT = 10, 86400
# Event types a visitor may post besides lines and state (compatibility rule 11); agents see them.
AGENT_VISIBLE_TYPES = ("line-status", "leCollaboration")


@dataclass
class ChatRequest:
    skill: str | None = None
    skill_id: int | None = None
    agent: str | None = None
    max_wait_time: int | None = None
    priority: int = 0  # queuePriority
    interaction_timeout: int | None = None
    visitor_id: int | None = None
    prechat_lines: list[str] = field(default_factory=list)
    custom_variables: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class VisitorEvent:
    """What a visitor posted, already checked for shape by the HTTP layer."""

    type: str
    text: str | None = None
    text_type: str = "plain"
    content: dict | None = None
    state: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


class Visitors:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def touch(self, chat: Chat) -> None:
        self.engine.touch_visitor(chat)

    def _route_target(self, account_id: str, request: ChatRequest) -> tuple[int | None, int | None]:
        """(skill id, direct agent id) the request routes to."""
        directory = self.engine.directory
        if request.agent:
            agent = directory.agent_by_login(account_id, request.agent)
            if agent is not None:
                return None, agent.id
        skill = directory.skill_named(account_id, request.skill) if request.skill else None
        if skill is None and request.skill_id is not None:
            candidate = directory.open_skill(request.skill_id)
            skill = candidate if candidate and candidate.account_id == account_id else None
        if skill is None:
            # Unknown or missing skill: the account's marked default skill, else any agent.
            skill = directory.open_skill(directory.account(account_id).default_skill_id)
        return (skill.id if skill else None), None

    async def start_chat(
        self,
        account_id: str,
        request: ChatRequest,
        request_key: str | None = None,
        requester_agent_id: int | None = None,
    ) -> Chat:
        """``requester_agent_id``: the agent user whose bearer asked (only that bearer opens the chat)."""
        engine = self.engine
        engine.directory.account(account_id)
        skill_id, direct_agent_id = self._route_target(account_id, request)
        new_visitor = True
        visitor_id = request.visitor_id
        if visitor_id is not None and await engine.store.known_visitor(account_id, visitor_id):
            new_visitor = False
        else:
            visitor_id = new_number()
        now = engine.clock()
        timeout = request.interaction_timeout or engine.settings.chat_timeout
        routing = Routing(
            priority=request.priority,
            direct_agent_id=direct_agent_id,
            # Ignored for direct chats (spec V9).
            max_wait_seconds=request.max_wait_time if direct_agent_id is None else None,
        )
        chat = Chat(
            id=new_chat_id(),
            account_id=account_id,
            rt_session_id=engine.new_rt_session_id(),
            visitor_id=visitor_id,
            start_ms=now,
            chat_timeout=min(MAX_TIMEOUT, max(MIN_TIMEOUT, timeout)),
            skill_id=skill_id,
            details=dict(request.details),
            routing=routing,
            custom_variables=request.custom_variables,
            last_update_ms=now,
            requester_agent_id=requester_agent_id,
        )
        drafts = rules.opening(request.prechat_lines)
        if engine.settings.no_agent_policy == "end" and self._nobody_can_take(chat, request.max_wait_time):
            drafts += rules.ending(chat, messages.NO_AGENTS)
            chat.state = ENDED
            chat.ended_ms = now
        await engine.create(chat, drafts, new_visitor, request_key)
        return chat

    def _nobody_can_take(self, chat: Chat, max_wait_time: int | None) -> bool:
        """The no-agent rule: nobody able to take it is logged in, or ``maxWaitTime=0`` and no slot is free."""
        queue, presence = self.engine.queue, self.engine.presence
        able = queue.able_agents(chat.account_id, chat.skill_id, chat.routing.direct_agent_id)
        if not able:
            return True
        if max_wait_time == 0 and chat.routing.direct_agent_id is None:
            return not any(
                presence.availability_of(agent.id) == ONLINE and agent.has_capacity(queue.load(agent.id))
                for agent in able
            )
        return False

    async def post(self, chat: Chat, event: VisitorEvent, request_key: str | None = None) -> int:
        """Append what the visitor posted; returns the id the Location header names."""
        engine = self.engine
        async with engine.lock(chat.id):
            self.touch(chat)
            if event.type == "state":
                if event.state != ENDED:
                    raise Invalid("A visitor can only set the state to ended")
                await engine.end(chat, None, request_key)
                return _last_state_event(chat)
            rules.require_open(chat, "add a line")
            if event.type == "line":
                if event.text_type == "rich-content":
                    draft = rules.visitor_rich_line(event.text, event.content or {}, chat.visitor_name)
                else:
                    draft = rules.visitor_line(event.text or "", chat.visitor_name)
                events = await engine.append(chat, [draft], request_key, visitor_typing=Typing())
                tally(engine).visitor_lines += 1
            elif event.type in AGENT_VISIBLE_TYPES:
                events = await engine.append(
                    chat, [rules.Draft(event.type, event.fields, agents_only=True)], request_key
                )
            else:
                raise Invalid(f"Unsupported event type {event.type!r}")
            return events[-1].id

    async def set_name(self, chat: Chat, name: str) -> None:
        async with self.engine.lock(chat.id):
            self.touch(chat)
            rules.require_open(chat, "change the visitor name")
            if name != chat.visitor_name:
                await self.engine.append(chat, [], visitor_name=name)

    async def set_typing(self, chat: Chat, value: str) -> None:
        """Typing is a transient flag, never an event; committed with the chat row all the same,
        so a visitor's agent reads it from any node."""
        async with self.engine.lock(chat.id):
            self.touch(chat)
            rules.require_open(chat, "change the typing status")
            if value == TYPING or chat.visitor_typing.value != value:
                await self.engine.append(chat, [], visitor_typing=Typing(value, self.engine.clock()))

    async def set_custom_variables(self, chat: Chat, variables: list[dict[str, str]]) -> None:
        async with self.engine.lock(chat.id):
            self.touch(chat)
            merged = {item["name"]: item for item in chat.custom_variables}
            merged.update({item["name"]: item for item in variables})
            await self.engine.append(chat, [], custom_variables=list(merged.values()))


def _last_state_event(chat: Chat) -> int:
    for event in reversed(chat.events):
        if event.type == "state":
            return event.id
    return chat.next_event_id - 1
