"""Surveys in the admin API: import, list, show and delete an account's survey definitions.

Who may call: an admin token (``guarded``). What bounds the cost: an import body is bounded like
every body (``max_body_bytes``) and parsed by the same hardened JSON/XML readers; lists are of the
definitions administrators imported (one per account, kind and skill). Garbage gets the APIs'
error body: an unknown kind or skill 400, an unknown survey 404.

The handlers call the functions ``parley survey import|list|show|delete`` call. Definitions are
read from the store on every visitor lookup, so a change is seen by every node at its next request.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.refusals import Malformed, NotFound
from parley.domain.survey import KINDS, Definition, document
from parley.http import fields
from parley.http.admin import ACCOUNT, MAX_TEXT, PREFIX, answer, guarded
from parley.http.exchange import base_url, engine_of, read_body
from parley.services.accounts import Admin
from parley.services.surveys import delete_survey, import_survey, survey_definition, survey_definitions
from parley.wire.negotiation import JSON
from parley.wire.times import format_time


def _query(request: Request, name: str) -> str | None:
    return fields.text(request.query_params.get(name) or None, name, max_length=MAX_TEXT)


def survey_tree(request: Request, account_id: str, definition: Definition) -> dict:
    skill = engine_of(request).directory.skill(definition.skill_id)
    return {
        "id": definition.survey.id,
        "kind": definition.kind,
        "name": definition.name,
        "title": definition.survey.title,
        "skill": None if definition.skill_id is None else {"id": definition.skill_id, "name": skill and skill.name},
        "questions": len(definition.survey.questions),
        "importedAt": format_time(definition.imported_ms, engine_of(request).directory.zone(account_id)),
    }


def _path(request: Request) -> tuple[str, str, int]:
    account_id, kind = request.path_params["account_id"], request.path_params["kind"]
    survey_id = fields.path_id(request.path_params["survey_id"], f"no survey in account {account_id}")
    if kind not in KINDS:
        raise NotFound(f"no survey kind {kind!r}; the kinds are {', '.join(KINDS)}")
    return account_id, kind, survey_id


@guarded
async def list_surveys(request: Request) -> Response:
    account_id = request.path_params["account_id"]
    found = await survey_definitions(
        engine_of(request).store, account_id, _query(request, "kind"), _query(request, "skill")
    )
    return answer({"surveys": [survey_tree(request, account_id, d) for d in found]})


@guarded
async def import_survey_document(request: Request) -> Response:
    """The body is the survey document itself, JSON or XML (as a ``parley survey import`` file);
    ``kind`` (required), ``skill`` and ``name`` are query parameters."""
    account_id = request.path_params["account_id"]
    engine = engine_of(request)
    await Admin(engine.store).account(account_id)  # 404 before the body is read
    kind = _query(request, "kind")
    if not kind:
        raise Malformed(f"the query parameter kind is required: one of {', '.join(KINDS)}")
    body = await read_body(request, JSON)
    if not body:
        raise Malformed('the body is a survey document: {"survey": {...}}')
    survey_id = await import_survey(
        engine.store, account_id, kind, body, _query(request, "skill"), _query(request, "name"), engine.clock()
    )
    definition = await survey_definition(engine.store, account_id, kind, survey_id)
    location = f"{base_url(request)}{PREFIX}/accounts/{account_id}/surveys/{kind}/{survey_id}"
    return answer({"survey": survey_tree(request, account_id, definition)}, 201, {"Location": location})


@guarded
async def show_survey(request: Request) -> Response:
    account_id, kind, survey_id = _path(request)
    definition = await survey_definition(engine_of(request).store, account_id, kind, survey_id)
    tree = survey_tree(request, account_id, definition)
    return answer({"survey": {**tree, "document": document(definition.survey)}})


@guarded
async def remove_survey(request: Request) -> Response:
    account_id, kind, survey_id = _path(request)
    await delete_survey(engine_of(request).store, account_id, kind, survey_id)
    return answer(None, 204)


routes = [
    Route(ACCOUNT + "/surveys", list_surveys, methods=["GET"]),
    Route(ACCOUNT + "/surveys", import_survey_document, methods=["POST"]),
    Route(ACCOUNT + "/surveys/{kind}/{survey_id}", show_survey, methods=["GET"]),
    Route(ACCOUNT + "/surveys/{kind}/{survey_id}", remove_survey, methods=["DELETE"]),
]
