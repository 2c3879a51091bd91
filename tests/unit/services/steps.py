"""Steps the service tests share: start chats, add agents, read what a side sees."""

from __future__ import annotations

from parley.domain.chat import Chat
from parley.services.accounts import DEMO_ACCOUNT, Admin
from parley.services.engine import Engine
from parley.services.visitors import ChatRequest, Visitors


async def start_chat(visitors: Visitors, **request) -> Chat:
    request.setdefault("skill", "Sales")
    return await visitors.start_chat(DEMO_ACCOUNT, ChatRequest(**request))


async def add_agent(engine: Engine, login: str, skills: list[str], max_chats: int = 4) -> int:
    """Create an agent (password = login) and make the running engine see it."""
    agent_id = await Admin(engine.store).create_agent(DEMO_ACCOUNT, login, login, login.title(), skills, max_chats)
    await engine.reload_directory()
    return agent_id


def skill_id(engine: Engine, name: str) -> int:
    return engine.directory.skill_named(DEMO_ACCOUNT, name).id


def system_ids(chat: Chat, from_id: int = 0) -> list[int]:
    return [e.fields["systemMessageId"] for e in chat.events[from_id:] if "systemMessageId" in e.fields]


def states(chat: Chat, from_id: int = 0) -> list[str]:
    return [e.fields["state"] for e in chat.events[from_id:] if e.type == "state"]


def kinds(chat: Chat, from_id: int = 0) -> list[str]:
    """Each event as 'state:<value>', 'system:<id>' or its type, for compact comparisons."""
    out = []
    for event in chat.events[from_id:]:
        if event.type == "state":
            out.append(f"state:{event.fields['state']}")
        elif "systemMessageId" in event.fields:
            out.append(f"system:{event.fields['systemMessageId']}")
        else:
            out.append(f"{event.type}:{event.fields.get('source')}")
    return out
