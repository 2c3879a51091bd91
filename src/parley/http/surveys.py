"""Surveys: pre-chat (V5), offline (V6, V7), exit (V22, V23), agent (A23, A24)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from parley.domain.refusals import NotFound
from parley.http.auth import visitor_account


async def no_survey(request: Request):
    visitor_account(request)
    raise NotFound("No survey is configured")


BASE = "/api/account/{account_id}"
routes = [
    Route(BASE + "/chat/preSurvey", no_survey, methods=["GET"]),
    Route(BASE + "/chat/offlineSurvey", no_survey, methods=["GET"]),
    Route(BASE + "/chat/{chat_id}/exitSurvey", no_survey, methods=["GET"]),
]
