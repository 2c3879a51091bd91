"""The gateway's page policy on HTML answers (the server has no page yet; a later bridge page
must stay framable, so a page that sets its own policy keeps it)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from parley.http.gateway import Gateway

OWN_POLICY = "frame-ancestors *"


async def page(request):
    return HTMLResponse("<p>hello</p>")


async def framable_page(request):
    return HTMLResponse("<p>bridge</p>", headers={"Content-Security-Policy": OWN_POLICY})


async def broken_page(request):
    return HTMLResponse("<p>gone</p>", status_code=404)


async def text(request):
    return PlainTextResponse("plain")


def client(engine) -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/page", page),
            Route("/bridge", framable_page),
            Route("/gone", broken_page),
            Route("/text", text),
        ]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Gateway(app, engine)), base_url="http://parley.test")


async def test_an_html_page_gets_a_strict_policy_and_no_framing(engine):
    async with client(engine) as http:
        for path in ("/page", "/gone"):
            response = await http.get(path)
            assert response.headers["x-frame-options"] == "DENY"
            policy = response.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"


async def test_a_page_with_its_own_policy_keeps_it(engine):
    async with client(engine) as http:
        response = await http.get("/bridge")
    assert response.headers.get_list("content-security-policy") == [OWN_POLICY]
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_other_answers_get_no_page_policy(engine):
    async with client(engine) as http:
        response = await http.get("/text")
    assert "content-security-policy" not in response.headers and "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
