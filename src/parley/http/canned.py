"""Canned responses (a parley extension beside the Chat Agent API): the account's list, read and
managed by its agents through one of their agent sessions, in JSON or XML like every resource.

Who: the bearer and agent session of any agent of the account (as every ``{S}`` resource).
Cost: bodies are capped like every body; titles, texts and the count per account are bounded
(``parley.domain.canned``); the list is one indexed read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.refusals import NotFound
from parley.http import fields
from parley.http.agent import context_of
from parley.http.exchange import empty, engine_of, read_body, reply, root_of
from parley.http.paths import SESSION
from parley.services.canned import CannedResponses
from parley.wire.links import link
from parley.wire.tree import Many

LIST = SESSION + "/cannedResponses"
ONE = LIST + "/{canned_id}"


def _item(uri: str, canned) -> dict:
    return {
        "@id": str(canned.id),
        "link": link(f"{uri}/{canned.id}", "self"),
        "title": canned.title,
        "text": canned.text,
    }


async def canned_list(request: Request):
    context = context_of(request)
    service = CannedResponses(engine_of(request))
    uri = context.session_uri + "/cannedResponses"
    if request.method == "POST":
        content = root_of(await read_body(request), "cannedResponse")
        # Oversized values are refused by the domain's bounds; this cap only keeps the message short.
        title = fields.text(content.get("title"), "title", max_length=10_000)
        text = fields.text(content.get("text"), "text", max_length=10_000)
        created = await service.add(context.agent.account_id, title, text)
        href = f"{uri}/{created}"
        return reply(request, {"cannedResponseLocation": {"link": link(href, "location")}}, 201, {"Location": href})
    items = [_item(uri, canned) for canned in await service.of_account(context.agent.account_id)]
    return reply(request, {"cannedResponses": {"link": Many([link(uri, "self")]), "cannedResponse": items}})


async def canned_one(request: Request):
    context = context_of(request)
    canned_id = fields.path_id(request.path_params["canned_id"], "Canned response not found")
    service = CannedResponses(engine_of(request))
    if request.method == "DELETE":
        await service.remove(context.agent.account_id, canned_id)
        return empty()
    uri = context.session_uri + "/cannedResponses"
    for canned in await service.of_account(context.agent.account_id):
        if canned.id == canned_id:
            return reply(request, {"cannedResponse": _item(uri, canned)})
    raise NotFound("Canned response not found")


routes = [
    Route(LIST, canned_list, methods=["GET", "POST"]),
    Route(ONE, canned_one, methods=["GET", "DELETE"]),
]
