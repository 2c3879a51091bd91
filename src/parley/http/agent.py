"""Chat Agent API (agent side): A1–A20."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.account import STATE_CODES, canonical_availability
from parley.domain.refusals import Invalid, NotFound
from parley.http import fields, push
from parley.http.auth import AgentContext, agent_context, agent_login
from parley.http.exchange import base_url, empty, engine_of, read_body, reply, root_of
from parley.http.idempotency import request_key
from parley.http.visitor import slots_answer
from parley.services.agents import Agents
from parley.wire.links import link
from parley.wire.tree import Many

TEXT_TYPES = ("plain", "html", "rich-content")


def context_of(request: Request) -> AgentContext:
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
        href = f"{context.session_uri}/chat/{chat.agent_key}"
        items.append(
            {
                "link": link(href, "chat-session", plain_too=True),
                "chatSessionKey": chat.agent_key,
                "startTime": chat.start_ms,
            }
        )
    return items


async def session_resource(request: Request):
    context = context_of(request)
    if request.method == "DELETE":
        await Agents(engine_of(request)).close_session(context.session)
        return empty()
    uri = context.session_uri
    tree = {
        "@id": str(context.session.id),
        "link": Many(
            [
                link(uri, "self"),
                link(uri + "/info", "info"),
                link(uri + "/availability", "availability"),
                link(uri + "/incomingRequests", "incoming-requests"),
                link(uri + "/chatSessions", "chat-sessions"),
                link(uri + "/availableAgents", "available-agents"),
                link(uri + "/chat/availableSlots", "chat-available-slots"),
                link(uri + "/chat", "chats"),
            ]
        ),
    }
    if request.query_params.get("cs") == "1":
        tree["chatSessions"] = {"chatSession": _chat_session_items(request, context)}
    return reply(request, {"agentSession": tree})


def _availability_tree(request: Request, agent_id: int) -> dict:
    engine = engine_of(request)
    tree = {"chat": engine.presence.availability_of(agent_id), "voice": "Offline"}
    return tree


async def agent_info(request: Request):
    context = context_of(request)
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
    context = context_of(request)
    if request.method == "PUT":
        content = root_of(await read_body(request), "availability")
        value = fields.text(content.get("chat"), "chat")
        chosen = canonical_availability(value or "")
        if chosen is None:
            raise Invalid("availability.chat must be Online, Away or Occupied")
        await Agents(engine_of(request)).set_availability(context.agent.id, chosen)
    return reply(request, {"availability": _availability_tree(request, context.agent.id)})


async def available_slots(request: Request):
    context = context_of(request)
    account = engine_of(request).directory.account(context.login.account_id)
    return reply(request, slots_answer(request, account))


async def incoming_requests(request: Request):
    context = context_of(request)
    engine = engine_of(request)
    agents = Agents(engine)
    if request.method == "POST":
        await read_body(request)  # any well-formed body accepts (agent spec A9)
        key = request_key(request, f"agent:{context.agent.id}")
        async with engine.keyed(key):
            earlier = engine.replay(key)
            chat = earlier[0] if earlier else await agents.accept(context.agent, key)
        if chat.agent_id != context.agent.id:  # a retry after the chat left this agent: it is gone
            raise NotFound("No incoming chat request")
        href = f"{context.session_uri}/chat/{chat.agent_key}"
        return reply(request, {"chatLocation": {"link": link(href, "location")}}, 201, {"Location": href})
    seconds = push.wait_seconds(request)
    if seconds:  # long-poll: hold until something rings
        await push.hold(
            request,
            lambda left: engine.wait_for_rings(context.agent.id, left),
            lambda: agents.ringing_count(context.agent.id) > 0,
            seconds,
        )
    count = agents.ringing_count(context.agent.id)
    tree = {"ringingCount": str(count)}
    if count:
        tree["link"] = link(context.session_uri + "/incomingRequests", "accept-next-chat")
    return reply(request, {"incomingRequests": tree})


async def available_agents(request: Request):
    """Every enabled agent of the account, online or not, filtered (A6)."""
    context = context_of(request)
    engine = engine_of(request)
    voice_state = request.query_params.get("voiceState")
    roster = Agents(engine).roster(
        context.agent.account_id, request.query_params.get("skill"), request.query_params.get("chatState")
    )
    if voice_state and voice_state.lower() != "offline":
        roster = []  # nobody has voice here: every agent's voice state is Offline
    items = []
    for agent, availability, chats in roster:
        items.append(
            {
                "@id": str(agent.id),
                "@chatState": STATE_CODES[availability],
                "@voiceState": STATE_CODES["Offline"],
                "@maxChats": str(agent.max_chats),
                "userName": agent.login,
                "nickname": agent.nickname,
                "email": agent.email,
                "privilegeGroup": agent.privilege_group,
                "skills": {"skill": [str(skill_id) for skill_id in agent.skill_ids]},
                "chats": str(chats) if chats else None,  # omitted when 0: the sample bot reads absent as none
            }
        )
    next_href = f"{context.session_uri}/availableAgents?timeStamp={engine.clock()}"
    return reply(request, {"availableAgents": {"agents": {"agent": items}, "link": link(next_href, "next")}})


async def chat_sessions(request: Request):
    context = context_of(request)
    return reply(request, {"chatSessions": {"chatSession": _chat_session_items(request, context)}})


BASE = "/api/account/{account_id}/agentSession"
S = BASE + "/{session_id}"

routes = [
    Route(BASE, start_session, methods=["POST"]),
    Route(S, session_resource, methods=["GET", "DELETE"]),
    Route(S + "/info", agent_info, methods=["GET"]),
    Route(S + "/availability", availability, methods=["GET", "PUT"]),
    Route(S + "/chat/availableSlots", available_slots, methods=["GET"]),
    Route(S + "/incomingRequests", incoming_requests, methods=["GET", "POST"]),
    Route(S + "/chatSessions", chat_sessions, methods=["GET"]),
    Route(S + "/availableAgents", available_agents, methods=["GET"]),
]
