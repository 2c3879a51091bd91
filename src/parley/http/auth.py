"""Who is calling: the visitor side's app key (or bearer), the agent side's bearer and session."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from parley.domain.account import Account, Agent
from parley.domain.chat import Chat
from parley.domain.refusals import Forbidden, NotFound
from parley.domain.session import AgentSession, LoginSession
from parley.http import fields
from parley.http.exchange import check_version, engine_of, query
from parley.services.agents import Agents


def _authorization(request: Request) -> tuple[str, str]:
    """(scheme, credentials) of the Authorization header, scheme lower-cased."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), value.strip()


def bearer_token(request: Request) -> str | None:
    scheme, value = _authorization(request)
    return value if scheme == "bearer" and value else None


@dataclass
class VisitorCaller:
    """Who calls the visitor side: the account, and the agent user whose bearer was shown, if any."""

    account: Account
    agent_id: int | None = None


def visitor_caller(request: Request) -> VisitorCaller:
    """The key comes from the query or ``LivePerson appKey=``; a bearer (JS SDK) replaces it."""
    check_version(request)
    engine = engine_of(request)
    account = engine.directory.account(request.path_params["account_id"])
    bearer = bearer_token(request)
    if bearer is not None:
        return VisitorCaller(account, Agents(engine).authenticate(account.id, bearer).agent_id)
    key = query(request, "appKey")
    if key is None:
        scheme, value = _authorization(request)
        if scheme == "liveperson":
            name, _, given = value.partition("=")
            key = given.strip() if name.strip().lower() == "appkey" else None
    engine.directory.check_app_key(account.id, key)
    return VisitorCaller(account)


def visitor_account(request: Request) -> Account:
    return visitor_caller(request).account


def visitor_chat(request: Request) -> tuple[Account, Chat]:
    """The chat a visitor URI names, if this caller may open it. With the public app key the chat
    id is the credential; a bearer opens only the chats its own user requested (403 otherwise),
    so an agent's bearer never reads or writes as another visitor."""
    caller = visitor_caller(request)
    chat = engine_of(request).chat(caller.account.id, request.path_params["chat_id"])
    if caller.agent_id is not None and chat.requester_agent_id != caller.agent_id:
        raise Forbidden("This bearer did not request the chat")
    return caller.account, chat


@dataclass
class AgentContext:
    login: LoginSession
    session: AgentSession
    agent: Agent
    session_uri: str


def agent_login(request: Request) -> LoginSession:
    check_version(request)
    engine = engine_of(request)
    account = engine.directory.account(request.path_params["account_id"])
    return Agents(engine).authenticate(account.id, bearer_token(request))


def agent_context(request: Request, base_url: str) -> AgentContext:
    """Bearer first (401), then the agent session named in the path (404, or 401 if another user's)."""
    login = agent_login(request)
    engine = engine_of(request)
    session_id = fields.path_id(request.path_params["session_id"], "Agent session not found")
    session = Agents(engine).session(login, session_id)
    agent = engine.directory.agent(login.agent_id)
    if agent is None:
        raise NotFound("Agent not found")
    uri = f"{base_url}/api/account/{login.account_id}/agentSession/{session.id}"
    return AgentContext(login, session, agent, uri)
