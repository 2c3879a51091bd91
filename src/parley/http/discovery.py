"""Supporting services clients call first (server spec §10, rules 1 and 3): the Domain API
("CSDS") and the App Engagement call. No authentication, always JSON."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.http.exchange import authority, engine_of
from parley.wire import jsoncodec
from parley.wire.tree import Many

SERVICES = ("conversationVep", "agentVep", "smt", "adminArea", "liveEngageUI", "asyncMessagingEnt")


def base_uris(request: Request, account_id: str) -> Many:
    host = authority(request)
    return Many([{"service": name, "account": account_id, "baseURI": host} for name in SERVICES])


def _json(tree: dict) -> Response:
    return Response(jsoncodec.render(tree), media_type="application/json")


async def one_service(request: Request):
    account_id = request.path_params["account_id"]
    service = request.path_params["service"]
    return _json({"service": service, "account": account_id, "baseURI": authority(request)})


async def all_services(request: Request):
    return _json({"baseURIs": base_uris(request, request.path_params["account_id"])})


def _digits(count: int) -> str:
    return str(10 ** (count - 1) + secrets.randbelow(9 * 10 ** (count - 1)))


async def app_engagement(request: Request):
    """Always Available, with the account's default skill (else its first)."""
    engine = engine_of(request)
    account_id = request.path_params["account_id"]
    skill = engine.directory.default_skill(account_id) if account_id in engine.directory.snapshot.accounts else None
    details = {
        "campaignId": _digits(10),
        "engagementId": _digits(10),
        "contextId": "1",
        "windowId": _digits(10),
        "language": "en-US",
        "engagementRevision": 1,
        "validForSeconds": 900,
    }
    if skill is not None:
        details.update({"skillId": skill.id, "skillName": skill.name})
    return _json(
        {
            "status": "Available",
            "sessionId": secrets.token_urlsafe(16),
            "visitorId": secrets.token_urlsafe(16),
            "pageId": _digits(10),
            "engagementDetails": details,
        }
    )


routes = [
    Route("/api/account/{account_id}/service/{service}/baseURI", one_service, methods=["GET"]),
    Route("/csdr/account/{account_id}/service/{service}/baseURI", one_service, methods=["GET"]),
    Route("/csdr/account/{account_id}/service/baseURI", all_services, methods=["GET"]),
    Route("/api/account/{account_id}/app/engagement/visitors", app_engagement, methods=["POST"]),
]
