"""How a chat's fields become columns and back, the same for every backend (rows are stored alike)."""

from __future__ import annotations

import orjson

from parley.domain.account import Account, Agent, Skill
from parley.domain.chat import Chat, Event, Routing, Typing
from parley.domain.survey import Answer
from parley.store.protocol import Directory

# A chat's routing is kept in its details column under these keys (the names the request used),
# so stores written before Routing existed read the same.
ROUTING_KEYS = {
    "priority": "queuePriority",
    "direct_agent_id": "directAgentId",
    "transfer_target": "transferTarget",
    "max_wait_seconds": "maxWaitTime",
    "transferred": "transferred",
    "requeued": "requeued",
}
_DEFAULT_ROUTING = Routing()


def stored_details(chat: Chat) -> dict:
    stored = dict(chat.details)
    for name, key in ROUTING_KEYS.items():
        value = getattr(chat.routing, name)
        if value != getattr(_DEFAULT_ROUTING, name):
            stored[key] = value
    return stored


def routing(details: dict) -> Routing:
    """Takes the routing keys out of ``details``."""
    values = {name: details.pop(key) for name, key in ROUTING_KEYS.items() if key in details}
    return Routing(**values)


def typing_column(chat: Chat) -> str:
    return orjson.dumps(
        {
            "visitor": [chat.visitor_typing.value, chat.visitor_typing.since_ms],
            "agent": [chat.agent_typing.value, chat.agent_typing.since_ms],
        }
    ).decode()


def typing_of(column: str | None) -> tuple[Typing, Typing]:
    """(visitor, agent) typing flags; rows written before step 8 have none."""
    if not column:
        return Typing(), Typing()
    flags = orjson.loads(column)
    return Typing(*flags["visitor"]), Typing(*flags["agent"])


def chat_columns(chat: Chat, next_event_id: int) -> tuple:
    """The values of the chat row's changing columns, in the order both stores write them."""
    return (
        chat.state,
        chat.skill_id,
        chat.agent_id,
        chat.start_ms,
        chat.chatting_ms,
        chat.ended_ms,
        chat.chat_timeout,
        chat.visitor_name,
        orjson.dumps(stored_details(chat)).decode(),
        orjson.dumps(chat.custom_variables).decode(),
        next_event_id,
        chat.agent_key,
        typing_column(chat),
        chat.version,
    )


# What both stores read of a chat row, in the order ``chat_from_row`` takes it.
CHAT_COLUMNS = (
    "id, account_id, rt_session_id, visitor_id, state, skill_id, agent_id, start_ms, chatting_ms,"
    " ended_ms, chat_timeout, visitor_name, details, custom_variables, agent_key, requester_agent_id,"
    " typing, version"
)


def chat_from_row(row) -> Chat:
    details = orjson.loads(row[12])
    visitor_typing, agent_typing = typing_of(row[16])
    return Chat(
        id=row[0],
        account_id=row[1],
        rt_session_id=row[2],
        visitor_id=row[3],
        state=row[4],
        skill_id=row[5],
        agent_id=row[6],
        start_ms=row[7],
        chatting_ms=row[8],
        ended_ms=row[9],
        chat_timeout=row[10],
        visitor_name=row[11],
        details=details,
        routing=routing(details),
        custom_variables=orjson.loads(row[13]),
        agent_key=row[14],
        requester_agent_id=row[15],
        visitor_typing=visitor_typing,
        agent_typing=agent_typing,
        version=row[17],
    )


def chat_row(chat: Chat) -> list:
    """The chat as ``chat_from_row`` reads it (the row a store would return), for the bus."""
    return [
        chat.id,
        chat.account_id,
        chat.rt_session_id,
        chat.visitor_id,
        chat.state,
        chat.skill_id,
        chat.agent_id,
        chat.start_ms,
        chat.chatting_ms,
        chat.ended_ms,
        chat.chat_timeout,
        chat.visitor_name,
        orjson.dumps(stored_details(chat)).decode(),
        orjson.dumps(chat.custom_variables).decode(),
        chat.agent_key,
        chat.requester_agent_id,
        typing_column(chat),
        chat.version,
    ]


def event_row(event: Event) -> list:
    """The event as ``event_from_row`` reads it."""
    return [
        event.id,
        event.type,
        event.time_ms,
        event.agents_only,
        orjson.dumps(event.fields).decode(),
        event.request_key,
    ]


def event_from_row(row) -> Event:
    event_id, kind, time_ms, agents_only, fields, request_key = row
    return Event(event_id, kind, time_ms, orjson.loads(fields), bool(agents_only), request_key)


# What a directory is read from, the same SQL on both stores (no parameters), in the order
# ``directory_from_rows`` takes the results.
DIRECTORY_QUERIES = (
    "SELECT id, name, timezone, default_skill_id, offline_email FROM accounts",
    "SELECT key_digest, account_id FROM app_keys",
    "SELECT id, account_id, name, retired_ms FROM skills ORDER BY id",
    "SELECT id, account_id, login, password_hash, nickname, display_name, email, privilege_group,"
    " max_chats, enabled, availability FROM agents ORDER BY id",
    "SELECT agent_id, skill_id FROM agent_skills ORDER BY skill_id",
    "SELECT id, moved_to FROM deleted_skills",
)


def directory_from_rows(accounts, keys, skills, agents, agent_skills, deleted_skills) -> Directory:
    directory = Directory(
        {
            row[0]: Account(id=row[0], name=row[1], timezone=row[2], default_skill_id=row[3], offline_email=row[4])
            for row in accounts
        },
        {row[0]: row[1] for row in keys},
        {row[0]: Skill(id=row[0], account_id=row[1], name=row[2], retired=row[3] is not None) for row in skills},
        {},
        {},
        {row[0]: row[1] for row in deleted_skills},
    )
    for row in agents:
        directory.agents[row[0]] = Agent(
            id=row[0],
            account_id=row[1],
            login=row[2],
            password_hash=row[3],
            nickname=row[4],
            display_name=row[5],
            email=row[6],
            privilege_group=row[7],
            max_chats=row[8],
            enabled=bool(row[9]),
        )
        directory.availability[row[0]] = row[10]
    for agent_id, skill_id in agent_skills:
        directory.agents[agent_id].skill_ids.append(skill_id)
    return directory


def submission_answers(raw: str) -> list[Answer]:
    """A survey submission's answers column (both stores write it alike)."""
    return [
        Answer(item["id"], item["label"], tuple(item["answer"]), item["validationType"]) for item in orjson.loads(raw)
    ]
