"""Chat Agent API (agent side): A1–A20."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.account import canonical_availability
from parley.domain.chat import NOT_TYPING, ONLY_TO_REP, REGULAR, TYPING
from parley.domain.refusals import Invalid, NotFound
from parley.http import fields
from parley.http.auth import AgentContext, agent_context, agent_login
from parley.http.exchange import base_url, empty, engine_of, read_body, reply, root_of
from parley.http.resources import View, chat_tree, event_tree, events_tree, info_tree
from parley.http.visitor import from_param, slots_answer
from parley.services.agents import AgentLine, Agents
from parley.wire.jsoncodec import BodyError, parse
from parley.wire.links import link
from parley.wire.tree import Many

TEXT_TYPES = ("plain", "html", "rich-content")


def _context(request: Request) -> AgentContext:
    return agent_context(request, base_url(request))


async def start_session(request: Request):
    login = agent_login(request)
    await read_body(request)  # loginData is ignored (the bearer names the user), but must parse
    session = await Agents(engine_of(request)).start_session(login)
    uri = f"{base_url(request)}/api/account/{login.account_id}/agentSession/{session.id}"
    response = reply(request, {"agentSessionLocation": {"link": link(uri, "location")}}, 201, {"Location": uri})
    return response


def _chat_session_items(request: Request, context: AgentContext) -> list:
    engine = engine_of(request)
    items = []
    for chat in Agents(engine).open_chats(context.agent):
        href = f"{context.session_uri}/chat/{chat.id}"
        items.append({"link": link(href, "chat-session", plain_too=True), "chatSessionKey": chat.id,
                      "startTime": chat.start_ms})
    return items


async def session_resource(request: Request):
    context = _context(request)
    if request.method == "DELETE":
        await Agents(engine_of(request)).close_session(context.session)
        return empty()
    uri = context.session_uri
    tree = {
        "@id": str(context.session.id),
        "link": Many([
            link(uri, "self"), link(uri + "/info", "info"), link(uri + "/availability", "availability"),
            link(uri + "/incomingRequests", "incoming-requests"), link(uri + "/chatSessions", "chat-sessions"),
            link(uri + "/availableAgents", "available-agents"),
            link(uri + "/chat/availableSlots", "chat-available-slots"), link(uri + "/chat", "chats"),
        ]),
    }
    if request.query_params.get("cs") == "1":
        tree["chatSessions"] = {"chatSession": _chat_session_items(request, context)}
    return reply(request, {"agentSession": tree})


def _availability_tree(request: Request, agent_id: int) -> dict:
    engine = engine_of(request)
    tree = {"chat": engine.presence.availability_of(agent_id), "voice": "Offline"}
    return tree


async def agent_info(request: Request):
    context = _context(request)
    engine = engine_of(request)
    agent = context.agent
    skills = [engine.directory.skill(skill_id) for skill_id in agent.skill_ids]
    tree = {
        "link": link(context.session_uri + "/info", "self"),
        "agentName": agent.nickname,
        "displayName": agent.display_name,
        "loginName": agent.login,
        "id": str(agent.id),
        "maxChats": str(agent.max_chats),
        "availability": _availability_tree(request, agent.id),
        "skillsInfo": {"skillInfo": [{"id": str(s.id), "name": s.name} for s in skills if s]},
    }
    return reply(request, {"info": tree})


async def availability(request: Request):
    context = _context(request)
    if request.method == "PUT":
        content = root_of(await read_body(request), "availability")
        value = fields.text(content.get("chat"), "chat")
        chosen = canonical_availability(value or "")
        if chosen is None:
            raise Invalid("availability.chat must be Online, Away or Occupied")
        await Agents(engine_of(request)).set_availability(context.agent.id, chosen)
    return reply(request, {"availability": _availability_tree(request, context.agent.id)})


async def available_slots(request: Request):
    context = _context(request)
    account = engine_of(request).directory.account(context.login.account_id)
    return reply(request, slots_answer(request, account))


async def incoming_requests(request: Request):
    context = _context(request)
    agents = Agents(engine_of(request))
    if request.method == "POST":
        await read_body(request)  # any well-formed body accepts (agent spec A9)
        chat = await agents.accept(context.agent)
        href = f"{context.session_uri}/chat/{chat.id}"
        return reply(request, {"chatLocation": {"link": link(href, "location")}}, 201, {"Location": href})
    count = agents.ringing_count(context.agent.id)
    tree = {"ringingCount": str(count)}
    if count:
        tree["link"] = link(context.session_uri + "/incomingRequests", "accept-next-chat")
    return reply(request, {"incomingRequests": tree})


async def chat_sessions(request: Request):
    context = _context(request)
    return reply(request, {"chatSessions": {"chatSession": _chat_session_items(request, context)}})


def _chat(request: Request):
    context = _context(request)
    engine = engine_of(request)
    chat = Agents(engine).chat_of(context.agent, request.path_params["chat_id"])
    uri = f"{context.session_uri}/chat/{chat.id}"
    view = View(chat, uri, engine.directory.zone(chat.account_id), False, engine, context.session_uri)
    return context, chat, view


async def chat_resource(request: Request):
    _, _, view = _chat(request)
    return reply(request, {"chat": chat_tree(view, from_param(request))})


async def events_resource(request: Request):
    _, _, view = _chat(request)
    return reply(request, {"events": events_tree(view, from_param(request))})


def parse_agent_event(body: dict):
    content = root_of(body, "event")
    kind = fields.text(content.get("@type", content.get("type")), "type")
    if kind == "state":
        if fields.text(content.get("state"), "state") != "ended":
            raise Invalid("An agent can only set the state to ended")
        return None
    if kind != "line":
        raise Invalid(f"Unsupported event type {kind!r}")
    text_type = fields.text(content.get("textType"), "textType") or "plain"
    if text_type not in TEXT_TYPES:
        raise Invalid("textType must be plain, html or rich-content")
    sub_type = fields.text(content.get("subType"), "subType") or REGULAR
    if sub_type not in (REGULAR, ONLY_TO_REP):
        raise Invalid("subType must be REGULAR or ONLY_TO_REP")
    text = fields.text(content.get("text"), "text", max_length=10000)
    payload = None
    if text_type == "rich-content":
        payload = content.get("json")
        if isinstance(payload, str):
            try:
                payload = parse(payload.encode())
            except BodyError as exc:
                raise Invalid("json must be a structured-content object") from exc
        if not isinstance(payload, dict) or "type" not in payload:
            raise Invalid("a rich-content line needs a json object with a type")
    elif text is None or not text.strip():
        raise Invalid("a line needs a non-blank text")
    return AgentLine(text, text_type, sub_type, payload)


async def post_event(request: Request):
    context, chat, view = _chat(request)
    line = parse_agent_event(await read_body(request))
    agents = Agents(engine_of(request))
    if line is None:
        event_id = await agents.end_chat(context.agent, chat)
        key = "chatLocation"
    else:
        event_id = await agents.post_line(context.agent, chat, line)
        key = "chatEventLocation"
    href = f"{view.chat_uri}/events/{event_id}"
    return reply(request, {key: {"link": link(href, "location")}}, 201, {"Location": href})


async def one_event(request: Request):
    _, chat, view = _chat(request)
    raw = request.path_params["event_id"]
    if not raw.isdigit():
        raise NotFound("Event not found")
    return reply(request, {"event": event_tree(chat.event(int(raw), visitor_view=False), view)})


async def info_resource(request: Request):
    _, _, view = _chat(request)
    return reply(request, {"info": info_tree(view)})


async def info_field(request: Request):
    _, chat, view = _chat(request)
    name = request.path_params["field"]
    if name not in ("visitorName", "visitorTyping", "agentTyping"):
        raise NotFound("No such resource")
    if request.method == "PUT":
        if name != "agentTyping":
            raise Invalid(f"{name} is read-only for agents")
        value = fields.text(root_of(await read_body(request), "agentTyping").get("$"), "agentTyping")
        if value not in (TYPING, NOT_TYPING):
            raise Invalid("agentTyping must be typing or not-typing")
        context = _context(request)
        Agents(engine_of(request)).set_typing(context.agent, chat, value)
        return empty()
    return reply(request, {name: info_tree(view)[name]})


BASE = "/api/account/{account_id}/agentSession"
S = BASE + "/{session_id}"
C = S + "/chat/{chat_id}"

routes = [
    Route(BASE, start_session, methods=["POST"]),
    Route(S, session_resource, methods=["GET", "DELETE"]),
    Route(S + "/info", agent_info, methods=["GET"]),
    Route(S + "/availability", availability, methods=["GET", "PUT"]),
    Route(S + "/chat/availableSlots", available_slots, methods=["GET"]),
    Route(S + "/incomingRequests", incoming_requests, methods=["GET", "POST"]),
    Route(S + "/chatSessions", chat_sessions, methods=["GET"]),
    Route(C, chat_resource, methods=["GET"]),
    Route(C + "/events", events_resource, methods=["GET"]),
    Route(C + "/events", post_event, methods=["POST"]),
    Route(C + "/events/{event_id}", one_event, methods=["GET"]),
    Route(C + "/info", info_resource, methods=["GET"]),
    Route(C + "/info/{field}", info_field, methods=["GET", "PUT"]),
]
