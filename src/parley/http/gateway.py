"""What every request goes through before routing: path clean-up, format suffix, method
override, CORS, cache and security headers (server spec §1.4, §1.5, §1.10).

CORS: every origin may call the APIs without credentials (visitor clients authenticate with the
app key and send no cookies); only origins listed in ``--cors-credentialed-origins`` also get
``Access-Control-Allow-Credentials``, so a foreign page cannot use an agent's login cookie.
"""

from __future__ import annotations

import re
from time import perf_counter

from parley.config import credentialed_origins
from parley.http.access import PREFLIGHT, REQUEST_ID_HEADER, ROUTE_KEY, RequestIds, Requests, record
from parley.http.express import Express
from parley.http.follower import answered_here
from parley.wire.negotiation import split_suffix

_SLASHES = re.compile(r"/{2,}")

CORS_METHODS = b"GET, POST, PUT, DELETE, OPTIONS"
CORS_HEADERS = (
    b"Origin, X-Requested-With, Content-Type, Accept, Authorization, X-HTTP-Method-Override,"
    b" Idempotency-Key, Last-Event-ID"
)
OVERRIDABLE = {"PUT", "DELETE", "GET", "PATCH"}


def clean_path(path: str) -> str:
    """Collapse repeated slashes (docs show ``chat//preSurvey``) and drop a trailing one."""
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


# On every answer, errors and preflights included: no caching, no MIME sniffing (an XML or
# JSON body is never run as HTML), no chat URL (the visitor's only secret) in a Referer.
ALWAYS = [
    (b"cache-control", b"no-cache, no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
# On HTML answers that set no framing policy of their own: only the page's own resources, never
# framed. A page meant to be framed by other sites (the postMessage bridge) sets its own CSP.
HTML_ONLY = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        b" connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
]
FRAMING = (b"content-security-policy", b"x-frame-options")


class Gateway:
    def __init__(self, app, engine) -> None:
        self.app = app
        self.engine = engine
        self.node = engine  # what starts and stops: the engine, or the engine as one node of many
        self.credentialed = credentialed_origins(engine.settings.cors_credentialed_origins)
        self.request_ids = RequestIds()
        self.requests = Requests()  # what /metrics reports of the requests
        self.express: Express | None = None  # the busiest routes, past Starlette's chain (express.py)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(dict(scope, **{"parley.engine": self.engine}), receive, send)
            return
        started = perf_counter()
        origin = override = request_id = None
        for name, value in scope["headers"]:  # only three headers matter here: no dict of all of them
            lowered = name.lower()
            if lowered == b"origin":
                origin = value
            elif lowered == b"x-http-method-override":
                override = value.decode("latin-1").strip().upper()
            elif lowered == REQUEST_ID_HEADER:
                request_id = RequestIds.sane(value)
        state = dict(scope.get("state") or {})
        # A call the JSONP tunnel replays keeps the id of the request that carried it.
        request_id = request_id or state.get("request_id") or self.request_ids.new()
        state["request_id"] = request_id
        path, suffix = split_suffix(clean_path(scope["path"]))
        method = scope["method"]
        if method == "POST" and override in OVERRIDABLE:
            method = override
        if method == "OPTIONS" and origin is not None:
            await self._preflight(origin, request_id, send)
            record({ROUTE_KEY: PREFLIGHT}, request_id, method, 204, perf_counter() - started, self.requests)
            return
        state["format_suffix"] = suffix
        scope = dict(scope, path=path, raw_path=path.encode(), method=method, state=state)
        scope["parley.engine"] = self.engine
        # An app mounted under a root path keeps Starlette's matching (it strips the root first).
        lane = self.express.lane(method, path) if self.express is not None and not scope.get("root_path") else None
        if lane is not None and not self._answered_here(scope):
            lane = None  # a follower's request for the leader: FollowerGate, behind Starlette's chain
        extra = [*ALWAYS, (REQUEST_ID_HEADER, request_id)]
        if origin is not None:
            extra += self._cors(origin)
        status = 0  # no answer started: the client left first

        async def send_with_headers(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                own = message.get("headers", ())
                message["headers"] = [*own, *extra, *HTML_ONLY] if _needs_page_policy(own) else [*own, *extra]
            await send(message)

        try:
            if lane is None:
                await self.app(scope, receive, send_with_headers)
            else:
                await self.express(scope, receive, send_with_headers, *lane)  # type: ignore[misc]
        finally:
            record(scope, request_id, method, status, perf_counter() - started, self.requests)

    def _answered_here(self, scope: dict) -> bool:
        cluster = self.engine.cluster
        return cluster is None or cluster.leading or answered_here(scope)

    def _cors(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if origin in self.credentialed:  # never b"null": the setting refuses it
            return [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                *CORS_COMMON,
            ]
        # Sandboxed frames and file: pages send "null"; "*" lets them read, and can never carry credentials.
        return [(b"access-control-allow-origin", b"*" if origin == b"null" else origin), *CORS_COMMON]

    async def _preflight(self, origin: bytes, request_id: bytes, send) -> None:
        headers = (
            self._cors(origin)
            + ALWAYS
            + [
                (REQUEST_ID_HEADER, request_id),
                (b"access-control-allow-methods", CORS_METHODS),
                (b"access-control-allow-headers", CORS_HEADERS),
                (b"access-control-max-age", b"600"),
                (b"content-length", b"0"),
            ]
        )
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


CORS_COMMON = ((b"access-control-expose-headers", b"Location, X-Request-Id"), (b"vary", b"Origin"))


def _needs_page_policy(headers: list[tuple[bytes, bytes]]) -> bool:
    """An HTML answer without a CSP or X-Frame-Options of its own (a few headers: one cheap pass;
    ASGI response header names are lowercase)."""
    html = False
    for name, value in headers:
        if name == b"content-type":
            html = value[:9].lower() == b"text/html"
        elif name in FRAMING:
            return False
    return html
