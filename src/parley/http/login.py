"""Login Service (agent spec §2): L1 login, L2 refresh, L3 logout. Any ``v`` is accepted (rule 8)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.refusals import Invalid, Malformed, Refusal, Unauthenticated
from parley.http import fields
from parley.http.discovery import base_uris
from parley.http.exchange import empty, engine_of, read_body, reply
from parley.http.throttles import throttles_of
from parley.services.agents import Agents
from parley.wire.errors import UNAUTHORIZED, ApiError
from parley.wire.negotiation import JSON
from parley.wire.tree import Many

# Privilege ids the sample clients expect to see on an agent login.
AGENT_PRIVILEGES = [100, 101]
COOKIE = "Session_id"
APPLICATION_FIELDS = ("appKey", "secret", "accessToken", "accessTokenSecret")


def _unauthorized(error: Refusal) -> ApiError:
    return ApiError(401, UNAUTHORIZED, error.message, responseStatus="UNAUTHORIZED")


async def login(request: Request):
    engine = engine_of(request)
    account = engine.directory.account(request.path_params["account_id"])
    body = await read_body(request, default_format=JSON)
    content = body.get("login", body) if isinstance(body.get("login"), dict) else body
    username = fields.text(content.get("username"), "username", max_length=200)
    password = fields.text(content.get("password"), "password", max_length=1000)
    # The application login (a bot): appKey, secret, accessToken, accessTokenSecret instead of a password.
    application = [fields.text(content.get(name), name, max_length=200) for name in APPLICATION_FIELDS]
    if not username or not (password or all(application)):
        raise Malformed("username and password (or appKey, secret, accessToken and accessTokenSecret) are required")
    await throttles_of(request).login(request, account.id, username)
    try:
        if password:
            done, agent = await Agents(engine).login(account.id, username, password)
        else:
            done, agent = await Agents(engine).login_application(account.id, username, *map(str, application))
    except Unauthenticated as exc:
        raise _unauthorized(exc) from exc
    now = engine.clock()
    zone = account.timezone
    offset = engine.directory.zone(account.id).utcoffset(None)
    tree = {
        "csrf": done.session.csrf,
        "wsuk": str(int(done.session.id[:15], 16)),
        "config": {
            "loginName": agent.login,
            "userId": str(agent.id),
            "userPrivileges": Many(AGENT_PRIVILEGES),
            "serverCurrentTime": now,
            "timeDiff": 0,
            "serverTimeZoneName": zone,
            "serverTimeGMTDiff": int(offset.total_seconds() * 1000) if offset else 0,
            "isLPA": False,
            "isAdmin": agent.privilege_group == "administrators",
            "accountTimeZoneId": zone,
        },
        "csdsCollectionResponse": {"baseURIs": base_uris(request, account.id)},
        "accountData": {
            "agentGroupsData": {"items": Many([{"id": -1, "deleted": False, "name": "Main Group"}]), "revision": 1}
        },
        "sessionTTl": str(engine.settings.session_ttl * 1000),
        "bearer": done.bearer,
    }
    response = reply(request, tree, default=JSON, xml_root="loginResponse")
    response.set_cookie(COOKIE, done.session.id, path="/", httponly=True, samesite="lax")
    return response


async def _login_session(request: Request):
    engine = engine_of(request)
    account = engine.directory.account(request.path_params["account_id"])
    body = await read_body(request, default_format=JSON)
    csrf = body.get("csrf")
    if csrf is not None and not isinstance(csrf, str):
        raise Invalid("csrf must be a string")
    try:
        return Agents(engine).login_session(account.id, request.cookies.get(COOKIE), csrf)
    except Unauthenticated as exc:
        raise _unauthorized(exc) from exc


async def refresh(request: Request):
    session = await _login_session(request)
    await Agents(engine_of(request)).refresh(session)
    return empty()


async def logout(request: Request):
    session = await _login_session(request)
    await Agents(engine_of(request)).logout(session)
    return empty()


BASE = "/api/account/{account_id}"
routes = [
    Route(BASE + "/login", login, methods=["POST"]),
    Route(BASE + "/refresh", refresh, methods=["POST"]),
    Route(BASE + "/logout", logout, methods=["POST"]),
]
