"""The agent console at ``/console/``: static HTML, CSS and JavaScript modules from the package
(``parley/web/console/``), which call the public APIs of this same origin.

Only the files named here are served (no path from the request reaches the file system); the
gateway gives every HTML answer its strict page policy (own scripts and styles only, no framing).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.refusals import NotFound

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


@cache
def assets() -> dict[str, bytes]:
    """Every file of the console, by name, read once."""
    folder = resources.files("parley.web").joinpath("console")
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.is_file() and any(item.name.endswith(suffix) for suffix in MEDIA_TYPES)
    }


def _answer(name: str) -> Response:
    body = assets().get(name)
    if body is None:
        raise NotFound("Resource not found")
    media_type = next(kind for suffix, kind in MEDIA_TYPES.items() if name.endswith(suffix))
    return Response(body, media_type=media_type)


async def page(request: Request) -> Response:
    return _answer("index.html")


async def asset(request: Request) -> Response:
    return _answer(request.path_params["name"])


routes = [
    Route("/console", page, methods=["GET"]),
    Route("/console/{name}", asset, methods=["GET"]),
]
