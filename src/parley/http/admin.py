"""The admin API under ``/admin/v1/``: JSON only, every route guarded by an admin token.

Who may call: a bearer made by ``parley admin-token create`` and not revoked (checked against the
store on every request, so a revocation holds at once). App keys and agent bearers open nothing
here. Errors are the APIs' own error body, always JSON (``http/app.py`` picks JSON for this prefix).
What bounds the cost: the token check is one indexed read; bodies are bounded like every body;
lists are of the configuration (accounts, keys, skills, agents), which administrators make.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.account import Account
from parley.http.auth import bearer_token
from parley.http.exchange import engine_of
from parley.services.admin_tokens import AdminTokens
from parley.services.directory import DirectoryView

PREFIX = "/admin/v1"

Handler = Callable[[Request], Awaitable[Response]]


def answer(tree: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(tree), status_code=status, media_type="application/json")


def guarded(handler: Handler) -> Handler:
    """The admin token first (401 before anything else: an unknown account is not revealed)."""

    async def checked(request: Request) -> Response:
        await AdminTokens(engine_of(request).store).authenticate(bearer_token(request))
        return await handler(request)

    checked.__name__ = handler.__name__
    return checked


def account_tree(directory: DirectoryView, account: Account) -> dict:
    default = directory.skill(account.default_skill_id)
    return {
        "id": account.id,
        "name": account.name,
        "timezone": account.timezone,
        "defaultSkill": {"id": default.id, "name": default.name} if default else None,
        "offlineEmail": account.offline_email,
    }


@guarded
async def list_accounts(request: Request) -> Response:
    directory = engine_of(request).directory
    accounts = sorted(directory.snapshot.accounts.values(), key=lambda a: a.id)
    return answer({"accounts": [account_tree(directory, account) for account in accounts]})


@guarded
async def show_account(request: Request) -> Response:
    directory = engine_of(request).directory
    return answer({"account": account_tree(directory, directory.account(request.path_params["account_id"]))})


routes = [
    Route(PREFIX + "/accounts", list_accounts, methods=["GET"]),
    Route(PREFIX + "/accounts/{account_id}", show_account, methods=["GET"]),
]
