"""Element trees of the chat resources both sides read: chat, events, event, info (server spec
V10, V11, V14; agent spec A12, A13, A16). Link order is part of the contract."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from parley.domain.chat import AGENT_VIEW_DEFAULT_NAME, UNKNOWN, VISITOR_DEFAULT_NAME, Chat, Event
from parley.domain.ids import visit_id
from parley.services.engine import Engine
from parley.wire.links import link
from parley.wire.times import format_time
from parley.wire.tree import Many, Raw

VISITOR_CHAT_LINKS = [
    ("events", "/events"),
    ("info", "/info"),
    ("next", None),
    ("transcript-request", "/transcriptRequest"),
    ("transcript-with-subject-request", "/transcriptWithSubjectRequest"),
    ("exit-survey", "/exitSurvey"),
    ("custom-variables", "/customVariables"),
]


# Events whose members a client made up: relayed as given, never reshaped.
OPAQUE_TYPES = ("line-status", "leCollaboration")


@dataclass
class View:
    """Who reads the chat, and where its resources live for that reader."""

    chat: Chat
    chat_uri: str
    zone: ZoneInfo
    visitor: bool
    engine: Engine
    session_uri: str | None = None  # the agent session, on the agent side

    def time(self, epoch_ms: int) -> str:
        return format_time(epoch_ms, self.zone)


def event_tree(event: Event, view: View, *, plain_keys: bool = False) -> dict:
    tree: dict = {"@id": str(event.id), "@type": event.type}
    if plain_keys:
        tree.update({"id": str(event.id), "type": event.type})
    tree["time"] = view.time(event.time_ms)
    as_string = view.engine.settings.system_message_id_as_string
    for name, value in event.fields.items():
        if name == "by" and value is None and event.fields.get("source") == "visitor":
            value = VISITOR_DEFAULT_NAME if view.visitor else AGENT_VIEW_DEFAULT_NAME
        elif name == "systemMessageId" and as_string:
            value = str(value)
        elif name == "json" or (event.type in OPAQUE_TYPES and isinstance(value, (dict, list))):
            value = Raw(value)  # structured content and client metadata travel unchanged
        tree[name] = value
    return tree


def events_tree(view: View, from_id: int, *, plain_keys: bool = False) -> dict:
    chat = view.chat
    events_uri = view.chat_uri + "/events"
    return {
        "link": Many([link(events_uri, "self"), link(f"{events_uri}?from={chat.next_event_id}", "next")]),
        "event": [event_tree(e, view, plain_keys=plain_keys) for e in chat.visible_events(from_id, view.visitor)],
    }


def info_tree(view: View, *, plain_links: bool = False) -> dict:
    chat, engine = view.chat, view.engine
    uri = view.chat_uri + "/info"
    ttl = engine.settings.typing_ttl * 1000
    now = engine.clock()
    skill = engine.directory.skill(chat.skill_id)
    agent = engine.directory.agent(chat.agent_id) if chat.agent_id is not None and chat.state != "waiting" else None
    details = chat.details
    default_name = VISITOR_DEFAULT_NAME if view.visitor else AGENT_VIEW_DEFAULT_NAME
    return {
        "link": Many(
            [
                link(uri, "self", plain_too=plain_links),
                link(uri + "/visitorName", "visitor-name", plain_too=plain_links),
                link(uri + "/visitorTyping", "visitor-typing", plain_too=plain_links),
                link(uri + "/agentTyping", "agent-typing", plain_too=plain_links),
            ]
        ),
        "state": chat.state,
        # The agent side knows the chat by its assignment's key only (the chat id is the visitor's secret).
        "chatSessionKey": chat.id if view.visitor else chat.agent_key,
        "skillName": skill.name if skill else None,
        "skillId": skill.id if skill else None,
        "agentName": agent.nickname if agent else None,
        "agentId": agent.id if agent else None,
        "startTime": view.time(chat.start_ms),
        "duration": chat.duration(),
        "lastUpdate": view.time(chat.last_update_ms),
        "chatTimeout": chat.chat_timeout,
        "visitorId": chat.visitor_id,
        "agentTyping": chat.agent_typing.current(now, ttl) if agent else UNKNOWN,
        "visitorTyping": chat.visitor_typing.current(now, ttl),
        "visitorName": chat.visitor_name or default_name,
        "rtSessionId": chat.rt_session_id,
        "sharkVisitorId": details.get("LETagVisitorId"),
        "sharkSessionId": details.get("LETagSessionId"),
        "sharkContextId": details.get("LETagContextId"),
        "engagementId": details.get("engagementId"),
        "campaignId": details.get("campaignId"),
        "language": details.get("language"),
        "participantId": details.get("participantId"),
        # Extensions (clients ignore unknown fields): the visitor's live place in the queue.
        **_queue_fields(view),
    }


def _queue_fields(view: View) -> dict:
    chat, queue = view.chat, view.engine.queue
    if chat.state != "waiting" or chat.id not in queue.waiting:
        return {}
    position = queue.position(chat)
    return {
        "queuePosition": position,
        "estimatedWaitTime": queue.estimate(chat.account_id, chat.skill_id, position - 1),
    }


def chat_links(view: View) -> Many:
    uri = view.chat_uri
    next_href = f"{uri}?from={view.chat.next_event_id}"
    if view.visitor:
        rels = VISITOR_CHAT_LINKS
        links = [link(uri, "self")] + [link(next_href if suffix is None else uri + suffix, rel) for rel, suffix in rels]
        return Many(links)
    return Many(
        [
            link(uri, "self"),
            link(uri + "/events", "events"),
            link(uri + "/info", "info"),
            link(next_href, "next"),
            link(uri + "/collaborationChannels", "collaboration-channels"),
            link(f"{view.session_uri}/visits/visit/{visit_id(view.chat.agent_key)}", "visit-id"),
            link(uri + "/transfer", "transfer"),
            link(uri + "/transferAccount", "transfer-account"),
            link(uri + "/survey", "agent-survey"),
        ]
    )


def chat_tree(view: View, from_id: int) -> dict:
    return {"link": chat_links(view), "events": events_tree(view, from_id), "info": info_tree(view)}
