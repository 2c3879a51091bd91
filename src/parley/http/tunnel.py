"""The JSONP tunnel of LivePerson's JS Chat SDK, ``rest2jsonp`` (browser-transports spec §4).

A page sends a REST call as a ``<script>`` URL: ``js2rest?lpV=1&lpjson=1&lpB={payload}&cb={name}``.
The call is replayed through the whole application in-process (the Gateway, so the same auth,
limits, error bodies and method override apply as over HTTP; never fetched over the network)
and answered as ``name({responseCode, body, headers});`` with HTTP 200.

Payloads longer than one URL arrive in parts (§4.7), kept in this node's memory until the last
part: at most ``MAX_PAYLOAD`` encoded characters per sequence, ``MAX_PARTS`` parts, and
``PENDING_BUDGET`` over all open sequences of the node, where each part costs its characters
plus ``PART_COST`` (so many tiny sequences cannot pass the budget either); past it the oldest
sequences are dropped, and each is forgotten ``SEQUENCE_SECONDS`` after its last part. Parts of
one sequence must reach the same node.

Cookies never travel into the replayed call: any page can add a script tag, so a tunnel that
passed the browser's cookies on would let it act as a logged-in agent and read the answer.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.numbers import parse_integer
from parley.domain.refusals import Invalid
from parley.http.exchange import engine_of, reply
from parley.wire import errors
from parley.wire.errors import ApiError, error_tree
from parley.wire.negotiation import JSON
from parley.wire.times import format_time

# The SDK's names are lpCb{n}x{n}; any JavaScript identifier of ASCII letters, digits, _ and $ is
# taken, nothing else: the name is written into executable code.
CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
MAX_PAYLOAD = 262_144  # encoded characters: a 10,000-character line of 3-byte characters is ~90,000
MAX_PARTS = 256  # the SDK cuts at about 2,000 characters a part
PENDING_BUDGET = 8_388_608
PART_COST = 512  # about what a part's objects (sequence, list slot, str, token) take beyond its text
SEQUENCE_SECONDS = 60.0
MAX_HEADERS = 32
MAX_HEADER_CHARS = 8192
METHODS = {"GET", "POST", "PUT", "DELETE"}
# Request headers the payload may not set: the replay's framing and format are the tunnel's, the
# client address is the outer request's, and cookies are never passed (see above).
NOT_FROM_PAYLOAD = {
    "host",
    "content-length",
    "content-type",
    "accept",
    "transfer-encoding",
    "connection",
    "cookie",
    "origin",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
    "lp-url",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Refused(Exception):
    """A tunnel request that cannot be replayed: answered inside the callback, in the error format."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Sequence:
    account_id: str
    parts: int
    chunks: list[str] = field(default_factory=list)
    size: int = 0  # encoded characters
    cost: int = 0  # what it counts against the node's budget
    touched: float = field(default_factory=time.monotonic)


class Sequences:
    """Open multi-part payloads of this node, oldest first, within the budget above."""

    def __init__(self) -> None:
        self.open: OrderedDict[str, Sequence] = OrderedDict()
        self.size = 0

    def start(self, account_id: str, parts: int) -> str:
        self._expire()
        token = secrets.token_urlsafe(16)
        self.open[token] = Sequence(account_id, parts)
        return token

    def get(self, token: str) -> Sequence | None:
        self._expire()
        return self.open.get(token)

    def add(self, token: str, chunk: str) -> None:
        sequence = self.open[token]
        if sequence.size + len(chunk) > MAX_PAYLOAD:
            self.drop(token)
            raise Refused(413, errors.TOO_LARGE, f"JSONP payload longer than {MAX_PAYLOAD} characters")
        sequence.chunks.append(chunk)
        sequence.size += len(chunk)
        sequence.cost += len(chunk) + PART_COST
        sequence.touched = time.monotonic()
        self.size += len(chunk) + PART_COST
        self.open.move_to_end(token)
        while self.size > PENDING_BUDGET and self.open:
            self.drop(next(iter(self.open)))

    def drop(self, token: str) -> Sequence | None:
        sequence = self.open.pop(token, None)
        if sequence is not None:
            self.size -= sequence.cost
        return sequence

    def _expire(self) -> None:
        limit = time.monotonic() - SEQUENCE_SECONDS
        while self.open:
            token, oldest = next(iter(self.open.items()))
            if oldest.touched >= limit:
                break
            self.drop(token)


def _sequences(request: Request) -> Sequences:
    state = request.app.state
    if not hasattr(state, "jsonp_sequences"):
        state.jsonp_sequences = Sequences()
    return state.jsonp_sequences


def _raw_query(request: Request) -> dict[str, str]:
    """First value of each name, still percent-encoded: parts may end inside a ``%XX`` (§4.7)."""
    values: dict[str, str] = {}
    for pair in request.scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        values.setdefault(name, value)
    return values


def _script(callback: str, answer: dict) -> Response:
    # U+2028/U+2029 are line ends to older JavaScript parsers: escaped, the text stays one call.
    data = orjson.dumps(answer).replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return Response(callback.encode() + b"(" + data + b");", media_type="application/javascript; charset=utf-8")


def _error_body(request: Request, status: int, code: int, message: str) -> dict:
    engine = engine_of(request)
    zone = engine.directory.zone(request.path_params.get("account_id", ""))
    return error_tree(format_time(engine.clock(), zone), ApiError(status, code, message))


async def js2rest(request: Request) -> Response:
    raw = _raw_query(request)
    callback = unquote(raw.get("cb", ""))
    if not CALLBACK.fullmatch(callback):
        # No script: the name would be reflected into code. The API's error body, in JSON.
        message = "cb must be a JavaScript identifier of at most 64 letters, digits, _ or $"
        return reply(request, _error_body(request, 400, errors.OUT_OF_RANGE, message), 400, default=JSON)
    try:
        payload = _payload(request, raw)
        if payload is None:  # a part before the last
            return _script(callback, {"responseCode": 200, "lpMeta": {"lpS": raw["lpS"]}})
        answer = await _replay(request, payload)
    except Refused as refusal:
        answer = {
            "responseCode": refusal.status,
            "headers": {},
            "body": _error_body(request, refusal.status, refusal.code, refusal.message),
        }
    except Invalid as refusal:
        answer = {
            "responseCode": 400,
            "headers": {},
            "body": _error_body(request, 400, errors.OUT_OF_RANGE, refusal.message),
        }
    return _script(callback, answer)


def _payload(request: Request, raw: dict[str, str]) -> dict | None:
    """The decoded payload, or None after storing a part that is not the last."""
    encoded = raw.get("lpB", "")
    if "lpP" in raw or "lpO" in raw:
        encoded = _part(request, raw, encoded)
        if encoded is None:
            return None
    if len(encoded) > MAX_PAYLOAD:
        raise Refused(413, errors.TOO_LARGE, f"JSONP payload longer than {MAX_PAYLOAD} characters")
    try:
        payload = orjson.loads(unquote(encoded, errors="strict"))
    except (UnicodeDecodeError, orjson.JSONDecodeError):
        raise Refused(400, errors.BAD_BODY, "lpB is not percent-encoded JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
        raise Refused(400, errors.BAD_BODY, "lpB must be a JSON object with a string u")
    return payload


def _part(request: Request, raw: dict[str, str], chunk: str) -> str | None:
    number = parse_integer(raw.get("lpP", ""), "lpP", minimum=1, maximum=MAX_PARTS)
    total = parse_integer(raw.get("lpO", ""), "lpO", minimum=1, maximum=MAX_PARTS)
    if number > total:
        raise Invalid("lpP must not be greater than lpO")
    sequences = _sequences(request)
    account_id = request.path_params["account_id"]
    if number == 1:
        token = sequences.start(account_id, total)
    else:
        token = raw.get("lpS", "")
        sequence = sequences.get(token)
        if (
            sequence is None
            or sequence.account_id != account_id
            or sequence.parts != total
            or len(sequence.chunks) != number - 1
        ):
            sequences.drop(token)
            raise Refused(400, errors.BAD_BODY, "lpS names no open JSONP sequence expecting this part")
    sequences.add(token, chunk)
    if number < total:
        raw["lpS"] = token
        return None
    return "".join(sequences.drop(token).chunks)


def _headers(request: Request, payload: dict, target, body: bytes | None) -> list[tuple[bytes, bytes]]:
    given = payload.get("h") or {}
    if not isinstance(given, dict) or len(given) > MAX_HEADERS:
        raise Refused(400, errors.BAD_BODY, f"h must be an object of at most {MAX_HEADERS} headers")
    headers = []
    for name, value in given.items():
        if not isinstance(value, str) or name.lower() in NOT_FROM_PAYLOAD:
            continue
        if len(name) + len(value) > MAX_HEADER_CHARS or _CONTROL.search(name + value) or not name.isascii():
            raise Refused(400, errors.BAD_BODY, f"header {name[:40]!r} is not a valid header")
        try:
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            raise Refused(400, errors.BAD_BODY, f"header {name[:40]!r} is not a valid header") from None
    # Links in the answer are built from the Host the SDK followed (u's), when it names one.
    host = target.netloc if target.scheme in ("http", "https") and target.netloc else request.headers.get("host")
    if host:
        headers.append((b"host", host.encode("latin-1", "replace")))
    headers.append((b"accept", b"application/json"))  # lpjson=1: the answer is JSON
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded is not None:  # the limits count the outer request's client, as the gateway saw it
        headers.append((b"x-forwarded-for", forwarded.encode("latin-1")))
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return headers


async def _replay(request: Request, payload: dict) -> dict:
    method = payload.get("m") or "GET"
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise Refused(400, errors.BAD_BODY, "m must be GET, POST, PUT or DELETE")
    method = method.upper()
    target = urlsplit(payload["u"])
    if not target.path.startswith("/") or "js2rest" in unquote(target.path):
        raise Refused(400, errors.BAD_BODY, "u must be a URL of this API (and not the tunnel)")
    data = payload.get("b", "")
    body = None
    if method != "GET" and data not in ("", None):
        body = data.encode() if isinstance(data, str) else orjson.dumps(data)
    outer = request.scope
    scope = {
        "type": "http",
        "asgi": outer.get("asgi", {"version": "3.0"}),
        "http_version": outer.get("http_version", "1.1"),
        "method": method,
        "scheme": target.scheme if target.scheme in ("http", "https") else outer.get("scheme", "http"),
        "path": unquote(target.path),
        "raw_path": target.path.encode("latin-1", "replace"),
        "query_string": target.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": _headers(request, payload, target, body),
        "client": outer.get("client"),
        "server": outer.get("server"),
        "extensions": {},
        "state": {k: v for k, v in (outer.get("state") or {}).items() if k != "format_suffix"},
    }
    return await _call(request, scope, body or b"")


async def _call(request: Request, scope: dict, body: bytes) -> dict:
    """Run the scope through the outermost app (the Gateway) and collect its answer."""
    status, headers, chunks = 0, {}, []
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        while True:  # then wait, as a connection would, until the script's client goes away
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return message

    async def send(message):
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", ())}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await request.app.state.gateway(scope, receive, send)
    except Exception:  # noqa: BLE001 - the app logged it and answered its 500 before re-raising
        if not status:
            raise
    text = b"".join(chunks)
    answer_headers = {"Location": headers["location"]} if "location" in headers else {}
    if "retry-after" in headers:
        answer_headers["Retry-After"] = headers["retry-after"]
    if not text.strip():
        parsed = ""
    elif "json" in headers.get("content-type", ""):
        parsed = orjson.loads(text)
    else:
        parsed = text.decode("utf-8", "replace")
    return {"responseCode": status, "body": parsed, "headers": answer_headers}


routes = [
    Route("/api/account/{account_id}/js2rest", js2rest, methods=["GET"]),
    Route("/api/account/{account_id}/js2rest/{hint:path}", js2rest, methods=["GET"]),
]
