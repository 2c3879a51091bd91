"""Each request's account of itself: its id (``X-Request-Id``), its access log line, and the
request counts and latencies that ``/metrics`` shows. All on every request's path: plain dicts
and integers, no locks (one event loop), nothing built that is not written.

Routes are named by their pattern (``/api/account/{account_id}/chat/{chat_id}/events``), never
by the path: a visitor's chat id is the chat's only secret, and patterns keep the metrics'
label values few.
"""

from __future__ import annotations

import itertools
import re
import secrets
from bisect import bisect_left

from starlette.routing import BaseRoute, Route

from parley import logs

REQUEST_ID_HEADER = b"x-request-id"
# A proxy's id is kept when it looks like one (nginx's $request_id, a UUID, ...): short, and no
# character that could forge a log line or a header.
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
ROUTE_KEY = "parley.route"
UNMATCHED = "(unmatched)"
PREFLIGHT = "(preflight)"
# Latency buckets (seconds): a poll answers in about a millisecond, a long-poll holds up to 50 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RequestIds:
    """Ids unique across nodes and restarts (a random prefix per process) at the cost of a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._next = itertools.count(1).__next__

    def new(self) -> bytes:
        return b"%s-%x" % (self._prefix.encode(), self._next())

    @staticmethod
    def sane(incoming: bytes | None) -> bytes | None:
        return incoming if incoming is not None and SANE_REQUEST_ID.fullmatch(incoming) else None


class Requests:
    """Requests answered, by route pattern and status class: count, summed and bucketed latency."""

    def __init__(self) -> None:
        # (route, status class) -> [count, seconds, one count per bucket and +Inf]
        self.cells: dict[tuple[str, int], list] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status // 100)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0, 0.0] + [0] * (len(BUCKETS) + 1)
        cell[0] += 1
        cell[1] += seconds
        cell[2 + bisect_left(BUCKETS, seconds)] += 1


def record(scope: dict, request_id: bytes, method: str, status: int, seconds: float, requests: Requests) -> None:
    """Count the request and write its access line (after its answer: the line has the status)."""
    route = scope.get(ROUTE_KEY, UNMATCHED)
    requests.observe(route, status, seconds)
    if logs.access.enabled():
        params = scope.get("path_params")
        duration = round(seconds * 1000, 3)
        logs.access.write(
            f"{method} {route} {status} {duration:.1f} ms",
            {
                "request_id": request_id.decode(),
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration,
                "account": params.get("account_id") if params else None,
            },
        )


def name_routes(routes: list[BaseRoute]) -> None:
    """Each route tells the scope its pattern when it runs (read by ``record``). The route tables
    are module-level lists that every app shares: a route is named once."""
    for route in routes:
        if isinstance(route, Route) and not getattr(route.app, "named_route", False):
            route.app = _named(route.app, route.path)


def _named(app, pattern: str):
    async def named(scope, receive, send) -> None:
        scope[ROUTE_KEY] = pattern
        await app(scope, receive, send)

    named.named_route = True  # type: ignore[attr-defined]
    return named
