"""Server Chat API (visitor side), V1–V24."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.account import Account
from parley.domain.chat import NOT_TYPING, TYPING, Chat
from parley.domain.numbers import parse_integer
from parley.domain.refusals import Invalid, Malformed
from parley.http import fields, push
from parley.http.auth import visitor_account, visitor_caller, visitor_chat
from parley.http.exchange import base_url, empty, engine_of, read_body, reply, root_of, scalar_body
from parley.http.idempotency import chat_request_key, request_key
from parley.http.paths import CHAT
from parley.http.resources import View, chat_tree, event_tree, events_tree, info_tree
from parley.http.throttles import throttles_of
from parley.services import surveys
from parley.services.availability import Availability
from parley.services.participants import Participants
from parley.services.visitors import ChatRequest, VisitorEvent, Visitors
from parley.wire.links import link
from parley.wire.tree import Many, one_or_many

ACCOUNT_LINKS = [
    ("chat-availability", "/chat/availability"),
    ("chat-available-slots", "/chat/availableSlots"),
    ("chat-estimatedWaitTime", "/chat/estimatedWaitTime"),
    ("chat-request", "/chat/request"),
    ("prechat-survey", "/chat/preSurvey"),
    ("chat-offline-survey", "/chat/offlineSurvey"),
]
MAX_WAIT = 86400
# Request fields kept on the chat as given (info echoes some; agents read the rest).
KEPT_FIELDS = (
    "visitorIp",
    "chatReferrer",
    "userAgent",
    "LETagVisitorId",
    "LETagSessionId",
    "language",
    "visitorSessionId",
    "buttonName",
    "a2aSourceSiteId",
    "a2aSourceSessionId",
    "a2aEventId",
    "participantId",
    "conversationId",
)
NUMERIC_FIELDS = ("LETagContextId", "engagementId", "campaignId")
# Client metadata events keep their fields as given and render them as XML elements or
# attributes: a name XML cannot carry would make every XML read of the chat fail.
XML_NAME = re.compile(r"@?[A-Za-z_][A-Za-z0-9._-]{0,99}")


def account_uri(request: Request, account: Account) -> str:
    return f"{base_url(request)}/api/account/{account.id}"


async def account_entry(request: Request):
    account = visitor_account(request)
    uri = account_uri(request, account)
    links = [link(uri, "self")] + [link(uri + suffix, rel) for rel, suffix in ACCOUNT_LINKS]
    return reply(request, {"account": {"@id": account.id, "link": Many(links)}})


def _skills_in_query(request: Request, account: Account) -> list[str]:
    return [value for key, value in request.query_params.multi_items() if key == "skill" and value]


def _max_wait(request: Request) -> int | None:
    return fields.integer(request.query_params.get("maxWaitTime"), "maxWaitTime", low=0, high=MAX_WAIT)


def _exclusive_agent(request: Request) -> str | None:
    agent = request.query_params.get("agent")
    if agent is not None and any(k in request.query_params for k in ("skill", "maxWaitTime", "serviceQueue")):
        raise Invalid("agent cannot be combined with skill, serviceQueue or maxWaitTime")
    return agent


async def availability(request: Request):
    account = visitor_account(request)
    agent_login = _exclusive_agent(request)
    service = Availability(engine_of(request))
    if agent_login is not None:
        return reply(request, {"availability": service.agent_available(account.id, agent_login)})
    max_wait = _max_wait(request)
    skills = _skills_in_query(request, account)
    if len(skills) > 1:
        items = [{"skill": s, "isAvailable": service.skill_available(account.id, s, max_wait)} for s in skills]
        return reply(request, {"availability": {"AvailabilityForSkills": {"skillAvailability": items}}})
    name = skills[0] if skills else request.query_params.get("serviceQueue") if max_wait is not None else None
    return reply(request, {"availability": service.skill_available(account.id, name, max_wait)})


def slots_answer(request: Request, account: Account) -> dict:
    service = Availability(engine_of(request))
    agent_login = _exclusive_agent(request)
    if agent_login is not None:
        return {"availableSlots": service.agent_slots(account.id, agent_login)}
    _max_wait(request)
    return {"availableSlots": service.skill_slots(account.id, request.query_params.get("skill"))}


async def available_slots(request: Request):
    return reply(request, slots_answer(request, visitor_account(request)))


async def estimated_wait_time(request: Request):
    account = visitor_account(request)
    if "agent" in request.query_params:
        raise Invalid("The estimated wait time cannot be asked for a specific agent")
    name = request.query_params.get("skill") or request.query_params.get("serviceQueue")
    return reply(request, {"estimatedWaitTime": Availability(engine_of(request)).estimated_wait(account.id, name)})


def parse_chat_request(request: Request, content: dict) -> ChatRequest:
    details: dict[str, Any] = {}
    for name in KEPT_FIELDS:
        value = fields.text(content.get(name), name, max_length=2000)
        if value is not None:
            details[name] = value
    for name in NUMERIC_FIELDS:
        raw = content.get(name)
        number: int | str | None
        try:
            number = fields.integer(raw, name)
        except Invalid:
            number = fields.text(raw, name, max_length=200)
        if number is not None:
            details[name] = number
    priority = fields.integer(content.get("queuePriority"), "queuePriority", low=-1000, high=1000)
    details.setdefault("visitorIp", request.client.host if request.client else "")
    details.setdefault("userAgent", request.headers.get("user-agent", ""))
    skill_id_raw = content.get("skillId")
    try:
        skill_id = fields.integer(skill_id_raw, "skillId")
    except Invalid:
        skill_id = None  # ids are never a reason for 400 (compatibility rule 3)
    variables = []
    custom = content.get("customVariables")
    if isinstance(custom, dict):
        variables = parse_variables(custom)
    return ChatRequest(
        skill=fields.text(content.get("skill"), "skill", max_length=200),
        skill_id=skill_id,
        agent=fields.text(content.get("agent"), "agent", max_length=200),
        max_wait_time=fields.integer(content.get("maxWaitTime"), "maxWaitTime", low=0, high=MAX_WAIT),
        priority=priority or 0,
        interaction_timeout=fields.integer(content.get("interactionTimeout"), "interactionTimeout", low=0),
        visitor_id=_visitor_id(content.get("visitorId")),
        prechat_lines=[line for line in fields.text_list(content.get("preChatLines"), "preChatLines") if line.strip()],
        custom_variables=variables,
        details=details,
    )


def _visitor_id(value) -> int | None:
    try:
        number = fields.integer(value, "visitorId", low=1)
    except Invalid:
        return None  # an id we cannot use gets a new one, never an error (spec V9)
    return number


def parse_variables(content: dict) -> list[dict[str, str]]:
    out = []
    for item in one_or_many(content.get("customVariable")):
        name = fields.text(item.get("name"), "name", max_length=200) if isinstance(item, dict) else None
        if not name:
            raise Invalid("each customVariable needs a name")
        out.append({"name": name, "value": fields.text(item.get("value", ""), "value", max_length=4000) or ""})
    return out


async def _authenticated(request: Request, account: Account, chat_request: ChatRequest, content: dict) -> None:
    """An authenticated chat names a V8 pair, or carries the ``ssoKey`` itself (JS SDK)."""
    participants = Participants(engine_of(request))
    participant_id = chat_request.details.get("participantId")
    if participant_id:
        await participants.check(account.id, participant_id, chat_request.details.get("conversationId"))
    elif content.get("ssoKey"):
        record = await participants.authenticate(account.id, fields.text(content["ssoKey"], "ssoKey", max_length=20000))
        chat_request.details.update(participantId=record.id, conversationId=record.conversation_id)


async def request_chat(request: Request):
    caller = visitor_caller(request)
    account = caller.account
    await throttles_of(request).chat_request(request)
    body = await read_body(request)
    content = root_of(body, "request", required=False) if body else {}
    chat_request = parse_chat_request(request, content)
    engine = engine_of(request)
    key = chat_request_key(request, account.id, caller.agent_id)
    async with engine.keyed(key):
        earlier = engine.replay(key)
        if earlier:
            chat = earlier[0]
        else:
            await _authenticated(request, account, chat_request, content)
            survey = content.get("survey")
            if survey is not None and not isinstance(survey, dict):
                raise Malformed("survey must be an element with the survey id and answers")
            if survey:  # checked before the chat exists: bad answers create nothing
                await surveys.check_prechat_answers(engine, account.id, survey)
            chat = await Visitors(engine).start_chat(account.id, chat_request, key, caller.agent_id)
            if survey:
                await surveys.store_prechat_answers(engine, chat, survey)
    location = f"{account_uri(request, account)}/chat/{chat.id}"
    return empty(201, {"Location": location})


async def conversation(request: Request):
    """V8: visitor authentication; the pair it returns goes into the chat request."""
    account = visitor_account(request)
    body = await read_body(request)
    wrapped = body.get("conversation")
    content = wrapped if isinstance(wrapped, dict) else body
    sso_key = fields.text(content.get("ssoKey"), "ssoKey", max_length=20000)
    record = await Participants(engine_of(request)).authenticate(account.id, sso_key)
    # JSON has no wrapper (JS SDK authenticate page); XML needs a root element.
    return reply(
        request, {"conversationId": record.conversation_id, "participantId": record.id}, xml_root="conversation"
    )


async def _chat(request: Request, want_event: int = -1) -> tuple[Chat, View]:
    """The chat and its visitor view; a follower node reads the store first when its view lacks
    the chat or the event ``want_event`` (a client's write through another node)."""
    engine = engine_of(request)
    await engine.refresh(request.path_params["chat_id"], want_event)
    account, chat = visitor_chat(request)
    Visitors(engine).touch(chat)
    uri = f"{account_uri(request, account)}/chat/{chat.id}"
    return chat, View(chat, uri, engine.directory.zone(account.id), True, engine)


def from_param(request: Request) -> int:
    value = request.query_params.get("from")
    if value is None or value == "":
        return 0
    return parse_integer(value, "from")


async def held(request: Request, chat: Chat, view: View, from_id: int) -> None:
    """``wait=S``: hold until an event at or after ``from`` exists for this reader, or S passes."""
    seconds = push.wait_seconds(request)
    if seconds:
        engine = engine_of(request)
        with push.visitor_holding(engine, chat, view.visitor):
            await push.hold(
                request,
                lambda left: engine.wait_for_chat(chat.id, left),
                lambda: bool(chat.visible_events(from_id, view.visitor)) or not chat.active,
                seconds,
            )


async def chat_resource(request: Request):
    from_id = from_param(request)
    chat, view = await _chat(request, from_id - 1)
    await held(request, chat, view, from_id)
    return reply(request, {"chat": chat_tree(view, from_id)})


async def events_resource(request: Request):
    from_id = from_param(request)
    chat, view = await _chat(request, from_id - 1)
    if push.wants_stream(request):
        return push.event_stream(
            engine_of(request),
            chat,
            push.stream_start(request, from_id),
            True,
            lambda event: event_tree(event, view),
            lambda: True,
        )
    await held(request, chat, view, from_id)
    return reply(request, {"events": events_tree(view, from_id)})


def parse_visitor_event(body: dict) -> VisitorEvent:
    content = root_of(body, "event")
    kind = fields.text(content.get("@type", content.get("type")), "type")
    if kind == "state":
        state = fields.text(content.get("state"), "state")
        if not state:
            raise Malformed("a state event needs a state")
        return VisitorEvent("state", state=state)
    if kind == "line":
        text_type = fields.text(content.get("textType"), "textType") or "plain"
        text = fields.text(content.get("text"), "text", max_length=10000)
        if text_type == "rich-content":
            payload = content.get("json")
            if not isinstance(payload, dict):
                raise Invalid("a rich-content line needs a json object")
            return VisitorEvent("line", text=text, text_type="rich-content", content=payload)
        if text is None or not text.strip():
            raise Invalid("a line needs a non-blank text")
        return VisitorEvent("line", text=text)
    if kind in ("line-status", "leCollaboration"):
        kept = {k: v for k, v in content.items() if k not in ("@type", "type", "@id", "time")}
        if not all(key == "$" or XML_NAME.fullmatch(key) for key in kept):
            raise Invalid(f"{kind} field names must be XML names")
        return VisitorEvent(kind, fields=kept)
    raise Invalid(f"Unsupported event type {kind!r}")


async def post_event(request: Request):
    chat, view = await _chat(request)
    body = await read_body(request)
    event = parse_visitor_event(body)
    engine = engine_of(request)
    key = request_key(request, f"visitor:{chat.id}", root_of(body, "event").get("clientMessageId"))
    async with engine.keyed(key):
        earlier = engine.replay(key)
        event_id = earlier[1] if earlier else await Visitors(engine).post(chat, event, key)
    return empty(201, {"Location": f"{view.chat_uri}/events/{event_id}"})


async def one_event(request: Request):
    event_id = fields.path_id(request.path_params["event_id"], "Event not found")
    chat, view = await _chat(request, event_id)
    event = chat.event(event_id, visitor_view=True)
    return reply(request, {"event": event_tree(event, view)})


async def info_resource(request: Request):
    _, view = await _chat(request)
    return reply(request, {"info": info_tree(view, plain_links=True)})


async def visitor_name(request: Request):
    chat, view = await _chat(request)
    if request.method == "GET":
        return reply(request, {"visitorName": info_tree(view)["visitorName"]})
    name = ((await scalar_body(request, "visitorName")) or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("visitorName must be 1 to 100 characters")
    await Visitors(engine_of(request)).set_name(chat, name)
    return empty()


async def visitor_typing(request: Request):
    chat, view = await _chat(request)
    if request.method == "GET":
        return reply(request, {"visitorTyping": info_tree(view)["visitorTyping"]})
    value = await scalar_body(request, "visitorTyping")
    if value not in (TYPING, NOT_TYPING):
        raise Invalid("visitorTyping must be typing or not-typing")
    await Visitors(engine_of(request)).set_typing(chat, value)
    return empty()


async def agent_typing(request: Request):
    _, view = await _chat(request)
    return reply(request, {"agentTyping": info_tree(view)["agentTyping"]})


async def custom_variables(request: Request):
    chat, _ = await _chat(request)
    body = await read_body(request)
    variables = parse_variables(root_of(body, "customVariables"))
    await Visitors(engine_of(request)).set_custom_variables(chat, variables)
    return empty()


BASE = "/api/account/{account_id}"
# What most of the load is (idle polls, lines, the chat resource): the gateway's express lane.
HOT = [("GET", CHAT + "/events"), ("POST", CHAT + "/events"), ("GET", CHAT)]

routes = [
    Route(BASE, account_entry, methods=["GET"]),
    Route(BASE + "/chat/availability", availability, methods=["GET"]),
    Route(BASE + "/chat/availableSlots", available_slots, methods=["GET"]),
    Route(BASE + "/chat/estimatedWaitTime", estimated_wait_time, methods=["GET"]),
    Route(BASE + "/chat/request", request_chat, methods=["POST"]),
    Route(BASE + "/conversation", conversation, methods=["POST"]),
    Route(CHAT, chat_resource, methods=["GET"]),
    Route(CHAT + "/events", events_resource, methods=["GET"]),
    Route(CHAT + "/events", post_event, methods=["POST"]),
    Route(CHAT + "/events/{event_id}", one_event, methods=["GET"]),
    Route(CHAT + "/info", info_resource, methods=["GET"]),
    Route(CHAT + "/info/visitorName", visitor_name, methods=["GET", "PUT"]),
    Route(CHAT + "/info/visitorTyping", visitor_typing, methods=["GET", "PUT"]),
    Route(CHAT + "/info/agentTyping", agent_typing, methods=["GET"]),
    Route(CHAT + "/customVariables", custom_variables, methods=["PUT"]),
]
