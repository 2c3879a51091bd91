"""The admin API under ``/admin/v1/``: JSON only, every route guarded by an admin token.

Who may call: a bearer made by ``parley admin-token create`` and not revoked (checked against the
store on every request, so a revocation holds at once). App keys and agent bearers open nothing
here. Errors are the APIs' own error body, always JSON (``http/app.py`` picks JSON for this prefix).
What bounds the cost: the token check is one indexed read; bodies are bounded like every body and
their fields by length; lists are of the configuration, which administrators make.

The handlers call the same service functions as the CLI (``services/accounts.Admin``); after a
change, ``Engine.directory_changed`` makes it reach this engine and every node at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.account import Account, Agent, Skill
from parley.domain.ids import digest
from parley.domain.refusals import Invalid, Malformed
from parley.http import fields
from parley.http.auth import bearer_token
from parley.http.exchange import base_url, engine_of, read_body
from parley.services.accounts import Admin, key_id
from parley.services.admin_tokens import AdminTokens
from parley.store.protocol import AppKeyRecord, Directory
from parley.wire.negotiation import JSON
from parley.wire.times import format_time

PREFIX = "/admin/v1"
# Longer than any value an administrator types; a bound on what a body can make us store.
MAX_TEXT = 200

Handler = Callable[[Request], Awaitable[Response]]


def answer(tree: dict | None, status: int = 200, headers: dict | None = None) -> Response:
    if tree is None:
        return Response(b"", status_code=status, headers=headers)
    return Response(orjson.dumps(tree), status_code=status, headers=headers, media_type="application/json")


def guarded(handler: Handler) -> Handler:
    """The admin token first (401 before anything else: an unknown account is not revealed)."""

    async def checked(request: Request) -> Response:
        await AdminTokens(engine_of(request).store).authenticate(bearer_token(request))
        return await handler(request)

    checked.__name__ = handler.__name__
    return checked


async def body_of(request: Request, root: str, allowed: set[str]) -> dict[str, Any]:
    """The JSON object of the body, bare or under ``root``; a field not in ``allowed`` is refused
    (a typo must not be silently ignored by an admin change)."""
    body = await read_body(request, JSON)
    content = body[root] if isinstance(body.get(root), dict) and len(body) == 1 else body
    unknown = sorted(set(content) - allowed)
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}; expected some of {', '.join(sorted(allowed))}")
    return content


def text(content: dict, name: str) -> str | None:
    return fields.text(content.get(name), name, max_length=MAX_TEXT)


def required(content: dict, name: str) -> str:
    value = text(content, name)
    if not value or not value.strip():
        raise Malformed(f"the field {name!r} is required")
    return value


def _admin(request: Request) -> Admin:
    return Admin(engine_of(request).store)


def account_tree(snapshot: Directory, account: Account) -> dict:
    default = snapshot.skills.get(account.default_skill_id) if account.default_skill_id is not None else None
    return {
        "id": account.id,
        "name": account.name,
        "timezone": account.timezone,
        "defaultSkill": {"id": default.id, "name": default.name} if default else None,
        "offlineEmail": account.offline_email,
    }


def key_tree(request: Request, record: AppKeyRecord) -> dict:
    zone = engine_of(request).directory.zone(record.account_id)
    return {"id": key_id(record), "createdAt": format_time(record.created_ms, zone)}


async def _account_answer(request: Request, account_id: str, status: int = 200, **extra) -> Response:
    snapshot = await engine_of(request).store.load_directory()
    account = Admin._account(snapshot, account_id)
    headers = {"Location": f"{base_url(request)}{PREFIX}/accounts/{account_id}"} if status == 201 else None
    return answer({"account": account_tree(snapshot, account), **extra}, status, headers)


# -- accounts ----------------------------------------------------------------------------------


@guarded
async def list_accounts(request: Request) -> Response:
    snapshot = await engine_of(request).store.load_directory()
    return answer({"accounts": [account_tree(snapshot, a) for a in await _admin(request).accounts()]})


@guarded
async def create_account(request: Request) -> Response:
    content = await body_of(request, "account", {"id", "name", "timezone"})
    account_id = required(content, "id")
    key = await _admin(request).create_account(account_id, text(content, "name"), text(content, "timezone") or "UTC")
    await engine_of(request).directory_changed()
    return await _account_answer(request, account_id, 201, appKey=key)


@guarded
async def show_account(request: Request) -> Response:
    account = await _admin(request).account(request.path_params["account_id"])
    return await _account_answer(request, account.id)


@guarded
async def update_account(request: Request) -> Response:
    content = await body_of(request, "account", {"name", "timezone", "defaultSkill", "offlineEmail"})
    account_id = request.path_params["account_id"]
    await _admin(request).account(account_id)  # 404 before the body's values are judged
    await _admin(request).update_account(
        account_id,
        text(content, "name"),
        text(content, "timezone"),
        text(content, "defaultSkill"),
        text(content, "offlineEmail"),
    )
    await engine_of(request).directory_changed()
    return await _account_answer(request, account_id)


# -- app keys ----------------------------------------------------------------------------------


@guarded
async def list_app_keys(request: Request) -> Response:
    keys = await _admin(request).app_keys(request.path_params["account_id"])
    return answer({"appKeys": [key_tree(request, k) for k in keys]})


@guarded
async def create_app_key(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    key = await _admin(request).create_app_key(account_id)
    await engine_of(request).directory_changed()
    record = next(k for k in await _admin(request).app_keys(account_id) if k.key_digest == digest(key))
    location = f"{base_url(request)}{PREFIX}/accounts/{account_id}/appKeys/{key_id(record)}"
    # The key itself is in this answer only: the store keeps its digest.
    return answer({"appKey": {**key_tree(request, record), "key": key}}, 201, {"Location": location})


@guarded
async def revoke_app_key(request: Request) -> Response:
    await _admin(request).revoke_app_key(request.path_params["account_id"], request.path_params["key_id"])
    await engine_of(request).directory_changed()
    return answer(None, 204)


# -- skills ------------------------------------------------------------------------------------


def skill_tree(skill: Skill) -> dict:
    return {"id": skill.id, "name": skill.name, "retired": skill.retired}


@guarded
async def list_skills(request: Request) -> Response:
    skills = await _admin(request).skills(request.path_params["account_id"])
    return answer({"skills": [skill_tree(s) for s in skills]})


@guarded
async def create_skill(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    await _admin(request).account(account_id)
    name = required(await body_of(request, "skill", {"name"}), "name")
    skill_id = await _admin(request).create_skill(account_id, name)
    await engine_of(request).directory_changed()
    location = f"{base_url(request)}{PREFIX}/accounts/{account_id}/skills/{skill_id}"
    return answer({"skill": {"id": skill_id, "name": name.strip(), "retired": False}}, 201, {"Location": location})


def _skill_id(request: Request) -> int:
    return fields.path_id(request.path_params["skill_id"], f"no skill in account {request.path_params['account_id']}")


@guarded
async def update_skill(request: Request) -> Response:
    """Rename (``name``) and/or retire or bring back (``retired``)."""
    account_id, skill_id = request.path_params["account_id"], _skill_id(request)
    await _admin(request).account(account_id)
    content = await body_of(request, "skill", {"name", "retired"})
    retired = content.get("retired")
    if retired is not None and not isinstance(retired, bool):
        raise Invalid("retired is true or false")
    if content.get("name") is None and retired is None:
        raise Malformed("give a name or retired")
    if content.get("name") is not None:
        await _admin(request).rename_skill(account_id, skill_id, required(content, "name"))
    if retired is not None:
        await _admin(request).retire_skill(account_id, skill_id, retired)
    await engine_of(request).directory_changed()
    skill = next(s for s in await _admin(request).skills(account_id) if s.id == skill_id)
    return answer({"skill": skill_tree(skill)})


@guarded
async def delete_skill(request: Request) -> Response:
    """409 while chats wait for the skill, unless ``?moveTo=<skillId>`` says where they go."""
    account_id, skill_id = request.path_params["account_id"], _skill_id(request)
    raw = request.query_params.get("moveTo")
    move_to = None if raw is None else fields.integer(raw, "moveTo", low=1)
    await _admin(request).delete_skill(account_id, skill_id, move_to)
    await engine_of(request).directory_changed()  # the leader moves the skill's chats here, now
    return answer(None, 204)


# -- agents ------------------------------------------------------------------------------------


def agent_tree(snapshot: Directory, agent: Agent) -> dict:
    return {
        "id": agent.id,
        "login": agent.login,
        "nickname": agent.nickname,
        "maxChats": agent.max_chats,
        "enabled": agent.enabled,
        "skills": [{"id": s, "name": snapshot.skills[s].name} for s in agent.skill_ids if s in snapshot.skills],
    }


def _agent_id(request: Request) -> int:
    return fields.path_id(request.path_params["agent_id"], f"no agent in account {request.path_params['account_id']}")


def _skill_names(content: dict) -> list[str] | None:
    value = content.get("skills")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 1000:
        raise Invalid("skills is a list of skill names")
    return [fields.text(name, "skills", max_length=MAX_TEXT) or "" for name in value]


def _max_chats(content: dict) -> int | None:
    return fields.integer(content.get("maxChats"), "maxChats", low=-1, high=10**9)


async def _agent_answer(request: Request, account_id: str, agent_id: int, status: int = 200) -> Response:
    snapshot = await engine_of(request).store.load_directory()
    agent = Admin(engine_of(request).store)._agent(snapshot, account_id, agent_id)
    location = f"{base_url(request)}{PREFIX}/accounts/{account_id}/agents/{agent_id}"
    return answer({"agent": agent_tree(snapshot, agent)}, status, {"Location": location} if status == 201 else None)


@guarded
async def list_agents(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    agents = await _admin(request).agents(account_id)
    snapshot = await engine_of(request).store.load_directory()
    return answer({"agents": [agent_tree(snapshot, a) for a in agents]})


@guarded
async def create_agent(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    await _admin(request).account(account_id)
    content = await body_of(request, "agent", {"login", "password", "nickname", "skills", "maxChats"})
    max_chats = _max_chats(content)
    agent_id = await _admin(request).create_agent(
        account_id,
        required(content, "login").strip(),
        required(content, "password"),
        text(content, "nickname"),
        _skill_names(content) or [],
        4 if max_chats is None else max_chats,
    )
    await engine_of(request).directory_changed()
    return await _agent_answer(request, account_id, agent_id, 201)


@guarded
async def show_agent(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    agent = await _admin(request).agent(account_id, _agent_id(request))
    return await _agent_answer(request, account_id, agent.id)


@guarded
async def update_agent(request: Request) -> Response:
    account_id, agent_id = request.path_params["account_id"], _agent_id(request)
    await _admin(request).agent(account_id, agent_id)  # 404 before the body's values are judged
    content = await body_of(request, "agent", {"nickname", "skills", "maxChats", "password", "enabled"})
    enabled = content.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise Invalid("enabled is true or false")
    await _admin(request).update_agent(
        account_id,
        agent_id,
        text(content, "nickname"),
        _skill_names(content),
        _max_chats(content),
        text(content, "password"),
        enabled,
    )
    await engine_of(request).directory_changed()  # a disabled agent's logins end here, now
    return await _agent_answer(request, account_id, agent_id)


ACCOUNT = PREFIX + "/accounts/{account_id}"
routes = [
    Route(PREFIX + "/accounts", list_accounts, methods=["GET"]),
    Route(PREFIX + "/accounts", create_account, methods=["POST"]),
    Route(ACCOUNT, show_account, methods=["GET"]),
    Route(ACCOUNT, update_account, methods=["PATCH"]),
    Route(ACCOUNT + "/appKeys", list_app_keys, methods=["GET"]),
    Route(ACCOUNT + "/appKeys", create_app_key, methods=["POST"]),
    Route(ACCOUNT + "/appKeys/{key_id}", revoke_app_key, methods=["DELETE"]),
    Route(ACCOUNT + "/skills", list_skills, methods=["GET"]),
    Route(ACCOUNT + "/skills", create_skill, methods=["POST"]),
    Route(ACCOUNT + "/skills/{skill_id}", update_skill, methods=["PATCH"]),
    Route(ACCOUNT + "/skills/{skill_id}", delete_skill, methods=["DELETE"]),
    Route(ACCOUNT + "/agents", list_agents, methods=["GET"]),
    Route(ACCOUNT + "/agents", create_agent, methods=["POST"]),
    Route(ACCOUNT + "/agents/{agent_id}", show_agent, methods=["GET"]),
    Route(ACCOUNT + "/agents/{agent_id}", update_agent, methods=["PATCH"]),
]
