"""``DELETE /admin/v1/accounts/{id}/visitors/{visitorId}``: erase everything about one visitor.

Who may call: an admin token (``admin.guarded``); a follower forwards it to the leader, which ends
the visitor's open chats and deletes (``services/retention.Retention.erase``). What bounds the cost:
one visitor's chats, deleted in one transaction; no body. ``?dryRun=true`` counts instead. The
answer says what was removed, as counts; 404 when the store knows no such visitor.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.refusals import Invalid
from parley.http import fields
from parley.http.admin import ACCOUNT, answer, guarded
from parley.http.exchange import engine_of, query
from parley.services.retention import Retention


def _dry_run(request: Request) -> bool:
    raw = (query(request, "dryRun") or "false").lower()
    if raw not in ("true", "false"):
        raise Invalid("dryRun is true or false")
    return raw == "true"


@guarded
async def erase_visitor(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    visitor_id = fields.path_id(request.path_params["visitor_id"], f"no such visitor in account {account_id}")
    dry_run = _dry_run(request)
    engine = engine_of(request)
    # The erased chats leave this view at once, and other nodes' on the news (or within a second).
    removal = await Retention(engine).erase(account_id, visitor_id, dry_run=dry_run)
    return answer({"erasure": {"visitorId": visitor_id, "dryRun": dry_run, **removal.counts()}})


routes = [Route(ACCOUNT + "/visitors/{visitor_id}", erase_visitor, methods=["DELETE"])]
