"""Agents' application credentials in the admin API: made (all four values shown once), listed
(ids and times only) and revoked. A bot logs in with them at the Login Service (``http/login.py``).

Who may call: an admin token (``guarded``). What bounds the cost: no body is read; one indexed
read or write per request. Garbage: an unknown account, agent or credential id answers 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.http import fields
from parley.http.admin import ACCOUNT, PREFIX, answer, guarded
from parley.http.exchange import base_url, engine_of
from parley.services.app_credentials import AppCredentials
from parley.store.protocol import AppCredentialRecord
from parley.wire.times import format_time


def _tree(request: Request, record: AppCredentialRecord) -> dict:
    zone = engine_of(request).directory.zone(request.path_params["account_id"])
    return {"id": record.id, "createdAt": format_time(record.created_ms, zone)}


def _ids(request: Request) -> tuple[str, int]:
    account_id = request.path_params["account_id"]
    return account_id, fields.path_id(request.path_params["agent_id"], f"no agent in account {account_id}")


@guarded
async def list_credentials(request: Request) -> Response:
    records = await AppCredentials(engine_of(request).store).list(*_ids(request))
    return answer({"appCredentials": [_tree(request, r) for r in records]})


@guarded
async def create_credentials(request: Request) -> Response:
    account_id, agent_id = _ids(request)
    record, made = await AppCredentials(engine_of(request).store).create(account_id, agent_id)
    location = f"{base_url(request)}{PREFIX}/accounts/{account_id}/agents/{agent_id}/appCredentials/{record.id}"
    # The four values are in this answer only: the store keeps one digest of them.
    return answer({"appCredentials": {**_tree(request, record), **made.as_tree()}}, 201, {"Location": location})


@guarded
async def revoke_credentials(request: Request) -> Response:
    account_id, agent_id = _ids(request)
    credential_id = fields.path_id(request.path_params["credential_id"], f"no app credentials for agent {agent_id}")
    await AppCredentials(engine_of(request).store).revoke(account_id, agent_id, credential_id)
    return answer(None, 204)


CREDENTIALS = ACCOUNT + "/agents/{agent_id}/appCredentials"
routes = [
    Route(CREDENTIALS, list_credentials, methods=["GET"]),
    Route(CREDENTIALS, create_credentials, methods=["POST"]),
    Route(CREDENTIALS + "/{credential_id}", revoke_credentials, methods=["DELETE"]),
]
