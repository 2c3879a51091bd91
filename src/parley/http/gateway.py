"""What every request goes through before routing: path clean-up, format suffix, method
override, CORS and cache headers (server spec §1.4, §1.5, §1.10)."""

from __future__ import annotations

import re

from parley.wire.negotiation import split_suffix

_SLASHES = re.compile(r"/{2,}")

CORS_METHODS = b"GET, POST, PUT, DELETE, OPTIONS"
CORS_HEADERS = b"Origin, X-Requested-With, Content-Type, Accept, Authorization, X-HTTP-Method-Override"
OVERRIDABLE = {"PUT", "DELETE", "GET", "PATCH"}


def clean_path(path: str) -> str:
    """Collapse repeated slashes (docs show ``chat//preSurvey``) and drop a trailing one."""
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


NO_CACHE = (b"cache-control", b"no-cache, no-store")


class Gateway:
    def __init__(self, app, engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(dict(scope, **{"parley.engine": self.engine}), receive, send)
            return
        origin = override = None
        for name, value in scope["headers"]:  # only two headers matter here: no dict of all of them
            lowered = name.lower()
            if lowered == b"origin":
                origin = value
            elif lowered == b"x-http-method-override":
                override = value.decode("latin-1").strip().upper()
        path, suffix = split_suffix(clean_path(scope["path"]))
        method = scope["method"]
        if method == "POST" and override in OVERRIDABLE:
            method = override
        if method == "OPTIONS" and origin is not None:
            await self._preflight(origin, send)
            return
        state = dict(scope.get("state") or {})
        state["format_suffix"] = suffix
        scope = dict(scope, path=path, raw_path=path.encode(), method=method, state=state)
        scope["parley.engine"] = self.engine
        extra = [NO_CACHE] + (_cors(origin) if origin is not None else [])

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _preflight(origin: bytes, send) -> None:
        headers = _cors(origin) + [
            (b"access-control-allow-methods", CORS_METHODS),
            (b"access-control-allow-headers", CORS_HEADERS),
            (b"access-control-max-age", b"600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _cors(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"Location"),
        (b"vary", b"Origin"),
    ]
