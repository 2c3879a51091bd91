"""Chat history under the admin API: ``/admin/v1/accounts/{id}/chats`` (list, filters, text
search, cursor pages), ``.../chats/{chatId}`` (one chat whole), ``.../export`` (JSON Lines or CSV).

Who may call: an admin token (``guarded``), like every ``/admin/v1/`` route. What bounds the
cost: a page is at most ``MAX_PAGE`` chats read by keyset (never OFFSET), a search at most a few
words through the full-text index; an export streams keyset pages, so memory stays one page
whatever the account holds. Garbage: an unknown or repeated parameter, a value of the wrong kind,
a cursor this API did not give: 400 in the API's error body; an unknown account or a chat of
another account: 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from parley.domain.history import DEFAULT_PAGE, MAX_PAGE, STATES, ChatQuery, parse_time, search_words
from parley.domain.refusals import Invalid
from parley.http import fields
from parley.http.admin import ACCOUNT, answer, guarded
from parley.http.exchange import engine_of
from parley.services.history import FORMATS, History

LIST_PARAMETERS = {"from", "to", "state", "skill", "agent", "visitor", "text", "limit", "cursor"}
EXPORT_PARAMETERS = {"format", "from", "to"}
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# Longer than any value these parameters take; refuses a megabyte query string early.
MAX_VALUE = 400


def _parameters(request: Request, allowed: set[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise Invalid(f"unknown parameter {name!r}; expected some of {', '.join(sorted(allowed))}")
        if name in given:
            raise Invalid(f"the parameter {name!r} is given twice")
        if len(value) > MAX_VALUE:
            raise Invalid(f"{name} is longer than {MAX_VALUE} characters")
        given[name] = value
    return given


def _time(given: dict[str, str], name: str) -> int | None:
    return parse_time(given[name], name) if given.get(name) else None


def _range(given: dict[str, str]) -> tuple[int | None, int | None]:
    start, end = _time(given, "from"), _time(given, "to")
    if start is not None and end is not None and end < start:
        raise Invalid("to is before from")
    return start, end


def _query(given: dict[str, str]) -> ChatQuery:
    state = given.get("state") or None
    if state is not None and state not in STATES:
        raise Invalid(f"state is one of {', '.join(STATES)}")
    start, end = _range(given)
    return ChatQuery(
        from_ms=start,
        to_ms=end,
        state=state,
        skill_id=fields.integer(given.get("skill"), "skill"),
        agent_id=fields.integer(given.get("agent"), "agent"),
        visitor_id=fields.integer(given.get("visitor"), "visitor"),
        words=search_words(given["text"]) if given.get("text") else (),
    )


@guarded
async def list_chats(request: Request) -> Response:
    given = _parameters(request, LIST_PARAMETERS)
    query = _query(given)
    limit = fields.integer(given.get("limit"), "limit", low=1, high=MAX_PAGE) or DEFAULT_PAGE
    history = History(engine_of(request).store)
    return answer(await history.chats(request.path_params["account_id"], query, given.get("cursor") or None, limit))


@guarded
async def show_chat(request: Request) -> Response:
    _parameters(request, set())
    history = History(engine_of(request).store)
    return answer({"chat": await history.chat(request.path_params["account_id"], request.path_params["chat_id"])})


@guarded
async def export_chats(request: Request) -> Response:
    given = _parameters(request, EXPORT_PARAMETERS)
    kind = given.get("format") or "jsonl"
    if kind not in FORMATS:
        raise Invalid(f"format is one of {', '.join(FORMATS)}")
    start, end = _range(given)
    account_id = request.path_params["account_id"]
    chunks = await History(engine_of(request).store).export(account_id, kind, start, end)
    disposition = f'attachment; filename="chats-{account_id}.{kind}"'
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[kind], headers={"Content-Disposition": disposition})


routes = [
    Route(ACCOUNT + "/chats", list_chats, methods=["GET"]),
    Route(ACCOUNT + "/chats/{chat_id}", show_chat, methods=["GET"]),
    Route(ACCOUNT + "/export", export_chats, methods=["GET"]),
]
