"""Chat Agent API, the chats of an agent session: A11–A22, A25, A26."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.chat import NOT_TYPING, ONLY_TO_REP, REGULAR, TYPING, Chat
from parley.domain.ids import visit_id
from parley.domain.numbers import parse_integer
from parley.domain.refusals import Invalid, NotFound
from parley.domain.survey import PRECHAT
from parley.http import fields, push
from parley.http.agent import context_of
from parley.http.auth import AgentContext
from parley.http.exchange import base_url, empty, engine_of, read_body, reply, root_of, scalar_body
from parley.http.idempotency import request_key
from parley.http.paths import AGENT_CHAT, SESSION, SESSIONS
from parley.http.resources import View, chat_links, chat_tree, event_tree, events_tree, info_tree
from parley.http.visitor import from_param, held
from parley.services.agents import AgentLine, Agents
from parley.services.participants import Participants
from parley.services.surveys import Surveys
from parley.wire.jsoncodec import BodyError, parse
from parley.wire.links import link, with_plain
from parley.wire.tree import Many

TEXT_TYPES = ("plain", "html", "rich-content")


def _chat(request: Request) -> tuple[AgentContext, Chat, View]:
    context = context_of(request)
    chat = Agents(engine_of(request)).chat_of(context.agent, request.path_params["agent_key"])
    return context, chat, _view(request, context, chat)


async def chat_resource(request: Request):
    context, chat, view = _chat(request)
    from_id = from_param(request)
    await held(request, chat, view, from_id)
    return reply(request, {"chat": chat_tree(view, from_id)})


async def events_resource(request: Request):
    context, chat, view = _chat(request)
    from_id = from_param(request)
    if push.wants_stream(request):
        engine = engine_of(request)
        sessions = engine.presence.sessions

        key = chat.agent_key

        def still_holds() -> bool:  # the stream ends when the chat leaves this agent (its key retires)
            return chat.agent_key == key and chat.agent_id == context.agent.id and context.session.id in sessions

        return push.event_stream(
            engine, chat, push.stream_start(request, from_id), False, lambda event: event_tree(event, view), still_holds
        )
    await held(request, chat, view, from_id)
    return reply(request, {"events": events_tree(view, from_id)})


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
    body = await read_body(request)
    line = parse_agent_event(body)
    engine = engine_of(request)
    agents = Agents(engine)
    key = request_key(request, f"agent:{context.agent.id}", root_of(body, "event").get("clientMessageId"))
    async with engine.keyed(key):
        earlier = engine.replay(key)
        if line is None:
            event_id = await agents.end_chat(context.agent, chat, key)
        else:
            event_id = earlier[1] if earlier else await agents.post_line(context.agent, chat, line, key)
    element = "chatLocation" if line is None else "chatEventLocation"
    href = f"{view.chat_uri}/events/{event_id}"
    return reply(request, {element: {"link": link(href, "location")}}, 201, {"Location": href})


async def one_event(request: Request):
    _, chat, view = _chat(request)
    event_id = fields.path_id(request.path_params["event_id"], "Event not found")
    return reply(request, {"event": event_tree(chat.event(event_id, visitor_view=False), view)})


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
        value = await scalar_body(request, "agentTyping")
        if value not in (TYPING, NOT_TYPING):
            raise Invalid("agentTyping must be typing or not-typing")
        context = context_of(request)
        await Agents(engine_of(request)).set_typing(context.agent, chat, value)
        return empty()
    return reply(request, {name: info_tree(view)[name]})


def _view(request: Request, context: AgentContext, chat: Chat) -> View:
    engine = engine_of(request)
    uri = f"{context.session_uri}/chat/{chat.agent_key}"
    return View(chat, uri, engine.directory.zone(chat.account_id), False, engine, context.session_uri)


async def several_chats(request: Request):
    """A11: several chats at once, each as A12 shows it; foreign or unknown keys are skipped."""
    context = context_of(request)
    keys = [k for k in (request.query_params.get("chatSessionKeys") or "").split(",") if k.strip()]
    if not keys:
        raise Invalid("chatSessionKeys is required")
    starts = [s.strip() for s in (request.query_params.get("fromEventIds") or "").split(",")]
    agents = Agents(engine_of(request))
    items = []
    for index, key in enumerate(keys):
        start = parse_integer(starts[index], "fromEventIds") if index < len(starts) and starts[index] else 0
        try:
            chat = agents.chat_of(context.agent, key.strip())
        except NotFound:
            continue
        view = _view(request, context, chat)
        # This resource's documentation writes href/rel and id/type unprefixed: emit both.
        items.append(
            {
                "link": Many([with_plain(item) for item in chat_links(view)]),
                "events": events_tree(view, start, plain_keys=True),
                "info": info_tree(view, plain_links=True),
            }
        )
    return reply(request, {"chats": {"chat": items}})


async def transfer(request: Request):
    if request.method == "GET":
        context, _, _ = _chat(request)
        skills = [
            {"id": str(skill.id), "name": skill.name, "onlineAgents": str(count)}
            for skill, count in Agents(engine_of(request)).transfer_skills(context.agent)
        ]
        return reply(request, {"transfer": {"skill": skills}})
    context = context_of(request)
    engine = engine_of(request)
    key = request_key(request, f"agent:{context.agent.id}")
    async with engine.keyed(key):
        if engine.replay(key):  # checked first: after the transfer this agent no longer sees the chat
            return empty()
        _, chat, _ = _chat(request)
        content = root_of(await read_body(request), "transfer")
        note = fields.text(content.get("text"), "text", max_length=10000)
        target_agent, target_skill = content.get("agent"), content.get("skill")
        if isinstance(target_agent, dict):
            target = {"target_id": fields.integer(target_agent.get("id"), "agent.id")}
        elif isinstance(target_skill, dict):
            target = {"skill_id": fields.integer(target_skill.get("id"), "skill.id")}
        else:
            raise Invalid("transfer needs an agent or a skill")
        await Agents(engine).transfer(context.agent, chat, note=note, request_key=key, **target)
    return empty()


async def participant_info(request: Request):
    """A25: what the identity provider said of a visitor of one of this agent's chats."""
    context = context_of(request)
    engine = engine_of(request)
    participant_id = request.path_params["participant_id"]
    owned = any(
        c.details.get("participantId") == participant_id and c.agent_id == context.agent.id
        for c in engine.chats.values()
    )
    tree = await Participants(engine).extended_info(context.agent.account_id, participant_id) if owned else None
    if tree is None:
        raise NotFound("Participant not found")
    return reply(request, tree, xml_root="participantExtendedInfo")


def _visit(request: Request, context: AgentContext) -> Chat:
    wanted = request.path_params["visit_id"]
    for chat in Agents(engine_of(request)).open_chats(context.agent):
        if visit_id(chat.agent_key) == wanted:
            return chat
    raise NotFound("Visit not found")


async def visit(request: Request):
    context = context_of(request)
    chat = _visit(request, context)
    answered = await Surveys(engine_of(request)).answers_of(chat, PRECHAT)
    uri = f"{context.session_uri}/visits/visit/{request.path_params['visit_id']}"
    details = chat.details
    tree = {
        "@id": request.path_params["visit_id"],
        "link": Many([link(uri, "self"), link(uri + "/customVariables", "custom-variables")]),
        "chatSessionKey": chat.agent_key,
        "visitorId": chat.visitor_id,
        "visitorIp": details.get("visitorIp"),
        "userAgent": details.get("userAgent"),
        "chatReferrer": details.get("chatReferrer"),
    }
    if answered is not None:
        tree["preChatSurvey"] = {
            "survey": {
                "id": answered.survey_id,
                "question": [
                    {
                        "id": answer.question_id,
                        "label": answer.label,
                        "answer": list(answer.values) if len(answer.values) > 1 else (answer.values or ("",))[0],
                    }
                    for answer in answered.answers
                ],
            }
        }
    return reply(request, {"visit": tree})


async def visit_variables(request: Request):
    chat = _visit(request, context_of(request))
    return reply(request, {"customVariables": {"customVariable": list(chat.custom_variables)}})


async def collaboration_channels(request: Request):
    _chat(request)
    return reply(request, {"collaborationChannels": {}})


async def transfer_account(request: Request):
    """A26 extension: hand the visitor to another account (visitor spec §6.6)."""
    context, chat, _ = _chat(request)
    content = root_of(await read_body(request), "transferAccount")
    account = fields.text(content.get("account"), "account", max_length=20)
    skill = fields.text(content.get("skill"), "skill", max_length=200) or ""
    if not account or not account.isascii() or not account.replace("_", "").isalnum():
        raise Invalid("transferAccount needs the target account id")
    if account.isdigit():  # ASCII here: a digits-only id travels as a number (remoteSiteId), so it must be one
        parse_integer(account, "account")
    await Agents(engine_of(request)).transfer_account(context.agent, chat, base_url(request), account, skill)
    return empty()


BASE, S, C = SESSIONS, SESSION, AGENT_CHAT

routes = [
    Route(S + "/chat", several_chats, methods=["GET"]),
    Route(S + "/participantExtendedInfo/{participant_id}", participant_info, methods=["GET"]),
    # The Postman collection drops the slash before participantExtendedInfo.
    Route(BASE + "/{session_id}participantExtendedInfo/{participant_id}", participant_info, methods=["GET"]),
    Route(S + "/visits/visit/{visit_id}", visit, methods=["GET"]),
    Route(S + "/visits/visit/{visit_id}/customVariables", visit_variables, methods=["GET"]),
    Route(C, chat_resource, methods=["GET"]),
    Route(C + "/events", events_resource, methods=["GET"]),
    Route(C + "/events", post_event, methods=["POST"]),
    Route(C + "/events/{event_id}", one_event, methods=["GET"]),
    Route(C + "/info", info_resource, methods=["GET"]),
    Route(C + "/info/{field}", info_field, methods=["GET", "PUT"]),
    Route(C + "/transfer", transfer, methods=["GET", "POST"]),
    Route(C + "/transferAccount", transfer_account, methods=["POST"]),
    Route(C + "/collaborationChannels", collaboration_channels, methods=["GET"]),
]
