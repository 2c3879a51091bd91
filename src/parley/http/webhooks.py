"""Webhook subscriptions under ``/admin/v1/accounts/{id}/webhooks``: create (the secret is in that
answer only), list, show, change, delete, the delivery log, and a signed test post.

Who may call: an admin token (``guarded``). What bounds the cost: bodies as every admin body, a URL
of at most 2000 characters, at most 100 subscriptions per account, log pages of at most 500; the
test post waits at most 10 s for the receiver. Garbage gets 400 (``Invalid``/``Malformed``), an id
that names nothing 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.refusals import Invalid
from parley.http import fields
from parley.http.admin import ACCOUNT, PREFIX, answer, body_of, guarded
from parley.http.exchange import base_url, engine_of
from parley.services.webhooks import MAX_PAGE_SIZE, PAGE_SIZE, Webhooks
from parley.store.protocol import Delivery, Webhook
from parley.wire.times import format_time


def _webhooks(request: Request) -> Webhooks:
    return Webhooks(engine_of(request).store, engine_of(request).clock)


def _hook_id(request: Request) -> int:
    return fields.path_id(request.path_params["hook_id"], f"no webhook in account {request.path_params['account_id']}")


def _time(request: Request, ms: int | None) -> str | None:
    return None if ms is None else format_time(ms, engine_of(request).directory.zone(request.path_params["account_id"]))


def hook_tree(request: Request, hook: Webhook) -> dict:
    return {
        "id": hook.id,
        "url": hook.url,
        "events": list(hook.kinds),
        "active": hook.active,
        "createdAt": _time(request, hook.created_ms),
    }


def delivery_tree(request: Request, delivery: Delivery) -> dict:
    return {
        "id": delivery.id,
        "event": delivery.kind,
        "chatId": delivery.chat_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "responseCode": delivery.response_code,
        "lastError": delivery.last_error,
        "createdAt": _time(request, delivery.created_ms),
        "lastAttemptAt": _time(request, delivery.last_attempt_ms),
        "nextAttemptAt": _time(request, delivery.next_attempt_ms) if delivery.status == "pending" else None,
        "doneAt": _time(request, delivery.done_ms),
    }


def _location(request: Request, hook_id: int) -> str:
    return f"{base_url(request)}{PREFIX}/accounts/{request.path_params['account_id']}/webhooks/{hook_id}"


@guarded
async def list_webhooks(request: Request) -> Response:
    hooks = await _webhooks(request).for_account(request.path_params["account_id"])
    return answer({"webhooks": [hook_tree(request, hook) for hook in hooks]})


@guarded
async def create_webhook(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    await _webhooks(request).for_account(account_id)  # 404 for an unknown account before the body is judged
    content = await body_of(request, "webhook", {"url", "events"})
    hook = await _webhooks(request).create(account_id, content.get("url"), content.get("events"))
    # The secret is in this answer only (GET never shows it): the receiver needs it to verify.
    tree = {**hook_tree(request, hook), "secret": hook.secret}
    return answer({"webhook": tree}, 201, {"Location": _location(request, hook.id)})


@guarded
async def show_webhook(request: Request) -> Response:
    hook = await _webhooks(request).get(request.path_params["account_id"], _hook_id(request))
    return answer({"webhook": hook_tree(request, hook)})


@guarded
async def update_webhook(request: Request) -> Response:
    account_id, hook_id = request.path_params["account_id"], _hook_id(request)
    await _webhooks(request).get(account_id, hook_id)  # 404 before the body's values are judged
    content = await body_of(request, "webhook", {"url", "events", "active"})
    if any(content.get(name) is None and name in content for name in ("url", "events", "active")):
        raise Invalid("url, events and active may be changed, not cleared")
    hook = await _webhooks(request).update(
        account_id, hook_id, content.get("url"), content.get("events"), content.get("active")
    )
    return answer({"webhook": hook_tree(request, hook)})


@guarded
async def delete_webhook(request: Request) -> Response:
    await _webhooks(request).delete(request.path_params["account_id"], _hook_id(request))
    return answer(None, 204)


@guarded
async def list_deliveries(request: Request) -> Response:
    """Newest first; ``next`` is the ``before`` of the next page (absent on the last)."""
    account_id, hook_id = request.path_params["account_id"], _hook_id(request)
    limit = fields.integer(request.query_params.get("limit"), "limit", low=1, high=MAX_PAGE_SIZE) or PAGE_SIZE
    before = fields.integer(request.query_params.get("before"), "before", low=1)
    found = await _webhooks(request).deliveries(account_id, hook_id, before, limit + 1)
    page = found[:limit]
    tree: dict = {"deliveries": [delivery_tree(request, d) for d in page]}
    if len(found) > limit:
        tree["next"] = page[-1].id
    return answer(tree)


@guarded
async def test_webhook(request: Request) -> Response:
    result = await _webhooks(request).test(request.path_params["account_id"], _hook_id(request))
    return answer({"test": {"delivered": result.ok, "responseCode": result.status, "error": result.error}})


HOOK = ACCOUNT + "/webhooks/{hook_id}"
routes = [
    Route(ACCOUNT + "/webhooks", list_webhooks, methods=["GET"]),
    Route(ACCOUNT + "/webhooks", create_webhook, methods=["POST"]),
    Route(HOOK, show_webhook, methods=["GET"]),
    Route(HOOK, update_webhook, methods=["PATCH"]),
    Route(HOOK, delete_webhook, methods=["DELETE"]),
    Route(HOOK + "/deliveries", list_deliveries, methods=["GET"]),
    Route(HOOK + "/test", test_webhook, methods=["POST"]),
]
