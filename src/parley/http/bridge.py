"""The postMessage bridge page of LivePerson's JS Chat SDK (browser-transports spec §3).

The SDK loads it in a hidden iframe from the chat domain and posts its REST calls to it; the
page's script (``parley/web/bridge.js``) sends them to this server's own origin. It is the one
page meant to be framed by any site, so it sets its own framing policy, and the gateway leaves
it alone (every other HTML answer stays unframeable).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The three paths the SDK loads the bridge from (spec §3.1): chat domain, its lpsunco variant
# for the QA/DEV/CI/CLOUD environments, and the engagement domain.
PAGES = ("/hcp/html/postmessage.min.html", "/hcp/html/lpsunco/postmessage.html", "/postmessage/postmessage.min.html")
SCRIPT = "/postmessage/bridge.js"

# Framed by anyone (frame-ancestors *: any http(s) page), but running only its own script and
# talking only to its own origin; no X-Frame-Options, which could only forbid.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"
)


@cache
def _asset(name: str) -> bytes:
    return resources.files("parley.web").joinpath(name).read_bytes()


async def page(request: Request) -> Response:
    return Response(
        _asset("bridge.html"), media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_POLICY}
    )


async def script(request: Request) -> Response:
    return Response(_asset("bridge.js"), media_type="text/javascript; charset=utf-8")


routes = [Route(path, page, methods=["GET"]) for path in PAGES] + [Route(SCRIPT, script, methods=["GET"])]
