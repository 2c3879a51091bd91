"""Surveys: pre-chat (V5), offline (V6, V7), exit (V22, V23), agent (A23, A24)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.chat import Chat
from parley.domain.refusals import Invalid, Malformed
from parley.domain.survey import AGENT, EXIT, OFFLINE, PRECHAT, render
from parley.http import fields
from parley.http.auth import agent_context, visitor_account, visitor_chat
from parley.http.exchange import base_url, empty, engine_of, query, read_body, reply, root_of
from parley.http.paths import AGENT_CHAT, CHAT
from parley.http.throttles import throttles_of
from parley.services.agents import Agents
from parley.services.mail import Mailer
from parley.services.surveys import Surveys
from parley.services.visitors import Visitors

# What a submission may carry beside its answers (server spec V7, V23), kept with it.
DETAIL_FIELDS = (
    "skill",
    "visitorIp",
    "chatReferrer",
    "userAgent",
    "LETagVisitorId",
    "LETagSessionId",
    "LETagContextId",
    "visitorSessionId",
    "visitorId",
)
MAX_DETAIL = 2000


def mailer_of(request: Request) -> Mailer:
    return request.app.state.mailer


def _survey_id(request: Request) -> int | None:
    try:
        return fields.integer(query(request, "surveyApiId"), "surveyApiId", low=0)
    except Invalid:
        return None  # an id we do not know selects nothing; the next rule applies


async def _visitor_survey(request: Request, kind: str):
    account = visitor_account(request)
    # visitorProfile wins over skill (V6); parley's only audience for a survey is the skill.
    skill = query(request, "visitorProfile") or query(request, "skill")
    surveys = Surveys(engine_of(request))
    survey = await surveys.find(
        account.id, kind, name=query(request, "surveyName"), survey_id=_survey_id(request), skill_name=skill
    )
    try:
        visitor_id = fields.integer(query(request, "visitorId"), "visitorId", low=1)
    except Invalid:
        visitor_id = None  # an id we do not know only means nothing to pre-fill
    return reply(request, render(survey, kind, await surveys.last_known(account.id, kind, visitor_id)))


async def pre_chat_survey(request: Request):
    return await _visitor_survey(request, PRECHAT)


async def offline_survey(request: Request):
    return await _visitor_survey(request, OFFLINE)


def survey_content(body: dict, wrapper: str) -> dict:
    """The ``survey`` element with its sibling fields, also inside an XML wrapper (spec §1.8)."""
    if "survey" not in body and isinstance(body.get(wrapper), dict):
        body = body[wrapper]
    content = root_of(body, "survey")
    if "$" in content:
        raise Malformed("survey must be an element with children")
    return content


def submission_details(request: Request, content: dict) -> dict:
    """The extra fields of a submission, beside or inside ``survey``; ``chatRefferer`` as the V7 page spells it."""
    details = {}
    for name in DETAIL_FIELDS:
        raw = content.get(name)
        if raw is None and name == "chatReferrer":
            raw = content.get("chatRefferer")
        try:
            value = fields.text(raw, name, max_length=MAX_DETAIL)
        except Invalid:
            value = None  # monitoring extras are never a reason to refuse the answers
        if value:
            details[name] = value
    details.setdefault("visitorIp", request.client.host if request.client else "")
    details.setdefault("userAgent", request.headers.get("user-agent", ""))
    return details


async def submit_offline_survey(request: Request):
    account = visitor_account(request)
    await throttles_of(request).submission(request)
    content = survey_content(await read_body(request), "offlineSurvey")
    mailed = await Surveys(engine_of(request)).submit_offline(account.id, content, submission_details(request, content))
    if mailed:
        mailer_of(request).notify()
    return empty()


def _visitor_chat(request: Request) -> Chat:
    _, chat = visitor_chat(request)
    engine = engine_of(request)
    Visitors(engine).touch(chat)
    return chat


async def exit_survey(request: Request):
    chat = _visitor_chat(request)
    survey = await Surveys(engine_of(request)).find(
        chat.account_id, EXIT, name=query(request, "surveyName"), survey_id=_survey_id(request), skill_id=chat.skill_id
    )
    return reply(request, render(survey, EXIT))


async def submit_exit_survey(request: Request):
    chat = _visitor_chat(request)
    await throttles_of(request).submission(request)
    content = survey_content(await read_body(request), "exitSurvey")
    details = {k: v for k, v in submission_details(request, content).items() if k in ("chatReferrer", "userAgent")}
    await Surveys(engine_of(request)).submit_exit(chat, content, details)
    return empty()


def _agent_chat(request: Request):
    context = agent_context(request, base_url(request))
    chat = Agents(engine_of(request)).chat_of(context.agent, request.path_params["agent_key"])
    return context.agent, chat


async def agent_survey(request: Request):
    _, chat = _agent_chat(request)
    survey = await Surveys(engine_of(request)).find(
        chat.account_id, AGENT, name=query(request, "surveyName"), survey_id=_survey_id(request), skill_id=chat.skill_id
    )
    return reply(request, render(survey, AGENT))


async def submit_agent_survey(request: Request):
    agent, chat = _agent_chat(request)
    content = survey_content(await read_body(request), "agentSurvey")
    await Surveys(engine_of(request)).submit_agent(agent, chat, content)
    return empty()


BASE = "/api/account/{account_id}"

routes = [
    Route(BASE + "/chat/preSurvey", pre_chat_survey, methods=["GET"]),
    Route(BASE + "/chat/offlineSurvey", offline_survey, methods=["GET"]),
    Route(BASE + "/chat/offlineSurvey", submit_offline_survey, methods=["PUT"]),
    Route(CHAT + "/exitSurvey", exit_survey, methods=["GET"]),
    Route(CHAT + "/exitSurvey", submit_exit_survey, methods=["PUT"]),
    Route(AGENT_CHAT + "/survey", agent_survey, methods=["GET"]),
    Route(AGENT_CHAT + "/survey", submit_agent_survey, methods=["PUT"]),
]
