"""The visitor chat widget at ``/widget/`` and its one-line embed script ``/widget/embed.js``.

Any site frames the widget page (the embed script adds the iframe), so the page sets its own
framing policy as the bridge page does; it runs only its own scripts and styles and talks only to
this server's own origin (the visitor API). The files are a fixed list: nothing else under
``/widget/`` is served.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.wire import errors
from parley.wire.errors import ApiError

# Framed by any site (frame-ancestors *); otherwise the gateway's strict page policy: its own
# scripts and styles only, no inline code, calls to its own origin only, no form posts anywhere.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " base-uri 'none'; form-action 'none'; frame-ancestors *"
)

SCRIPT = "text/javascript; charset=utf-8"
ASSETS = {
    "embed.js": SCRIPT,
    "widget.js": SCRIPT,
    "api.js": SCRIPT,
    "feed.js": SCRIPT,
    "survey.js": SCRIPT,
    "lines.js": SCRIPT,
    "outbox.js": SCRIPT,
    "storage.js": SCRIPT,
    "widget.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    return resources.files("parley.web").joinpath("widget", name).read_bytes()


async def page(request: Request) -> Response:
    # "/widget/" arrives as "/widget": the gateway drops trailing slashes; the page names its
    # files by absolute path, so both spellings load them.
    return Response(
        _asset("index.html"), media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_POLICY}
    )


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, errors.NOT_FOUND, "Resource not found")
    return Response(_asset(name), media_type=media_type)


routes = [Route("/widget", page, methods=["GET"]), Route("/widget/{name}", asset, methods=["GET"])]
