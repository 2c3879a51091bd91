"""The express lane: the busiest requests go straight to their handlers, past Starlette's
middleware chain and route scan.

An idle visitor poll and a visitor's line are most of what a chat server answers; profiled
under load (bench/README.md, "lean hot path"), Starlette's chain (two exception middlewares,
three wrappers around ``send``, the scan of the route list, the per-route wrappers) cost about a
quarter of the event loop's time per poll. A lane matches its route's own compiled pattern (the
same regex Starlette would match, so the same paths, parameters and convertors) for exactly the
route's methods (HEAD and other methods fall through, and so get Starlette's answers, 405
included), calls the same handler, and answers its errors with the same exception handlers the
app registers, in the same way as Starlette's two middlewares. Everything the gateway does
(headers, request id, access log, metrics, path and method clean-up) happens as before: the lane
sits behind it, in place of the Starlette app. Anything that is not a lane's goes to Starlette.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.routing import Route

from parley.http.access import ROUTE_KEY

Handler = Callable[[Request], Awaitable[Any]]

# Parsed query strings by their bytes. A visitor polls with the same query string until something
# new arrives, and visitors of one account share all of it but ``from``: parsing it (urllib, then
# Starlette's multi-dict) was about an eighth of an idle poll's time on the event loop (profiled).
# QueryParams are immutable, so requests can share one. Bounded: short strings only, and the
# whole cache is dropped when full (cheaper than an LRU, and the hot strings come right back).
_queries: dict[bytes, QueryParams] = {}
QUERY_CACHE_ENTRIES = 4096
QUERY_CACHE_LONGEST = 256


class LaneHeaders(Headers):
    """``get`` without the KeyError that ``Mapping.get`` raises and catches inside for every header
    a request lacks (a poll asks for four or five: about 5% of its time, profiled)."""

    def get(self, key: str, default: Any = None) -> Any:
        wanted = key.lower().encode("latin-1")
        for name, value in self.raw:
            if name == wanted:
                return value.decode("latin-1")
        return default


class LaneRequest(Request):
    """A request whose parsed query comes from the cache above when it can, and whose headers
    answer ``get`` cheaply."""

    @property
    def headers(self) -> Headers:
        headers = self.__dict__.get("_headers")
        if headers is None:
            headers = self._headers = LaneHeaders(scope=self.scope)
        return headers

    @property
    def query_params(self) -> QueryParams:
        raw = self.scope["query_string"]
        params = _queries.get(raw)
        if params is None:
            params = QueryParams(raw)
            if len(raw) <= QUERY_CACHE_LONGEST:
                if len(_queries) >= QUERY_CACHE_ENTRIES:
                    _queries.clear()
                _queries[raw] = params
        return params


class Lane:
    """One route's express match: its pattern (for the access log and metrics) and handler."""

    def __init__(self, route: Route) -> None:
        self.regex = route.path_regex
        self.convertors = route.param_convertors
        self.pattern = route.path
        self.endpoint: Handler = route.endpoint

    def params(self, path: str) -> dict[str, Any] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: self.convertors[name].convert(value) for name, value in found.groupdict().items()}


class Express:
    def __init__(self, app: Starlette, routes: list[Route], hot: list[tuple[str, str]]) -> None:
        """``hot``: the (method, pattern) pairs that take the lane, each a route of ``routes``."""
        self.app = app
        self.lanes: dict[str, list[Lane]] = {}
        for method, pattern in hot:
            route = next(r for r in routes if r.path == pattern and r.methods and method in r.methods)
            self.lanes.setdefault(method, []).append(Lane(route))
        handlers = app.exception_handlers
        # As Starlette splits them: the handler of Exception answers what no other handler takes.
        self.unexpected = handlers[Exception]
        self.handlers = {kind: handler for kind, handler in handlers.items() if kind not in (Exception, 500)}

    def lane(self, method: str, path: str) -> tuple[Lane, dict[str, Any]] | None:
        for lane in self.lanes.get(method, ()):
            params = lane.params(path)
            if params is not None:
                return lane, params
        return None

    async def __call__(self, scope: dict, receive, send, lane: Lane, params: dict[str, Any]) -> None:
        scope["app"] = self.app  # what request.app reads (the app's state)
        scope["path_params"] = params
        scope[ROUTE_KEY] = lane.pattern
        request = LaneRequest(scope, receive, send)
        try:
            response = await lane.endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:  # a bug: the 500 in the API's format, and the server logs it too
                await (await self.unexpected(request, exc))(scope, receive, send)
                raise
            response = await handler(request, exc)
            exc.__traceback__ = None  # as Starlette: a reused exception must not pile up tracebacks
        try:
            await response(scope, receive, send)
        except Exception as exc:
            # The answer has started (Starlette marks it started before its first send): nothing
            # more can reach the client; logged as Starlette's outer middleware logs it.
            await self.unexpected(request, exc)
            raise

    def _handler(self, exc: Exception):
        for kind in type(exc).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None:
                return handler
        return None
