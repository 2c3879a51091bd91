"""Reading requests and writing responses in the negotiated format."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from parley.domain.numbers import parse_integer
from parley.domain.refusals import Invalid, Malformed
from parley.http import fields
from parley.services.engine import Engine
from parley.wire import jsoncodec, xmlcodec
from parley.wire.errors import TOO_LARGE, ApiError
from parley.wire.negotiation import JSON, XML, body_format, choose

MEDIA_TYPES = {JSON: "application/json", XML: "application/xml"}
# Bodies up to this size parse on the event loop (well under a millisecond); larger ones in a
# worker thread, so that a few large bodies never hold every other request (lxml parses
# without the GIL; what Python does after is bounded by the codecs' limits).
PARSE_ON_LOOP_BYTES = 4096


def engine_of(request: Request) -> Engine:
    return request.scope["parley.engine"]  # put there by the gateway: cheaper than app.state


def response_format(request: Request, default: str = XML) -> str:
    state = request.scope.get("state") or {}
    return choose(
        state.get("format_suffix"), request.headers.get("accept"), request.headers.get("content-type"), default
    )


def base_url(request: Request) -> str:
    """The public base URL: configured, else the request's own scheme and Host (rule 2)."""
    configured = engine_of(request).settings.public_url
    if configured:
        return configured.rstrip("/")
    host = request.headers.get("host")
    if not host:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    # The scope's scheme, not request.url: building the whole URL costs a poll ~5% for nothing.
    return f"{request.scope.get('scheme', 'http')}://{host}"


def authority(request: Request) -> str:
    """``host[:port]`` of the public base URL, the Domain API's ``baseURI``."""
    return base_url(request).split("://", 1)[-1].split("/", 1)[0]


# A client still sending a body that is refused would see its connection reset instead of the 413
# when the answer came before the body was read: up to this many times the limit is read and dropped.
DRAIN_FACTOR = 4


async def _drain(request: Request, expected: int, limit: int) -> None:
    """Read (and drop) the rest of a refused body, unless it is too large to be worth reading."""
    if expected > limit * DRAIN_FACTOR:
        return
    read = 0
    async for chunk in request.stream():
        read += len(chunk)
        if read > limit * DRAIN_FACTOR:
            return


async def read_body(request: Request, default_format: str = XML) -> dict:
    """The parsed body as ``{root: content}``; an empty body is ``{}``."""
    limit = engine_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and parse_integer(declared, "Content-Length") > limit:
        await _drain(request, parse_integer(declared, "Content-Length"), limit)
        raise ApiError(413, TOO_LARGE, f"Request body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _drain(request, size, limit)
            raise ApiError(413, TOO_LARGE, f"Request body larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    fmt = body_format(request.headers.get("content-type"), response_format(request, default_format))
    parse = jsoncodec.parse if fmt == JSON else xmlcodec.parse
    try:
        if len(raw) > PARSE_ON_LOOP_BYTES:
            return await asyncio.to_thread(parse, raw)
        return parse(raw)
    except jsoncodec.BodyError as exc:
        raise Malformed(str(exc)) from exc


def root_of(body: dict, name: str, *, required: bool = True) -> dict:
    """The content of the root element ``name``; sibling top-level keys are read as its children."""
    if name not in body:
        if required:
            raise Malformed(f"request body does not contain a valid {name} element")
        return {}
    content = body[name]
    if not isinstance(content, dict):
        content = {"$": content}
    merged = {k: v for k, v in body.items() if k != name}
    merged.update(content)
    return merged


async def scalar_body(request: Request, name: str) -> str | None:
    """The text of a one-value body such as ``{"visitorTyping": "typing"}`` or
    ``<visitorTyping>typing</visitorTyping>``."""
    return fields.text(root_of(await read_body(request), name).get("$"), name)


def reply(
    request: Request,
    tree: dict,
    status: int = 200,
    headers: dict | None = None,
    default: str = XML,
    xml_root: str | None = None,
) -> Response:
    fmt = response_format(request, default)
    if fmt == JSON:
        body = jsoncodec.render(tree, always_arrays=engine_of(request).settings.json_always_arrays)
    else:
        body = xmlcodec.render(tree, root=xml_root)
    return Response(body, status_code=status, headers=headers, media_type=MEDIA_TYPES[fmt])


def empty(status: int = 200, headers: dict | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def check_version(request: Request) -> None:
    """Server Chat and Chat Agent resources take ``v=1`` (or none); other values are refused."""
    value = request.query_params.get("v")
    if value is not None and value.strip() not in ("1", "1.0"):
        raise Invalid(f"Unsupported API version {value!r}")


def query(request: Request, name: str) -> str | None:
    """A query parameter by case-insensitive name (clients send ``appKey`` and ``appkey``)."""
    wanted = name.lower()
    for key, value in request.query_params.multi_items():
        if key.lower() == wanted:
            return value
    return None
