"""The whole ASGI app in process: the app factory over the unit tests' seeded engine (manual
clock, temporary SQLite file, no background timers), reached through httpx's ASGI transport."""

from __future__ import annotations

import httpx
import pytest

from parley.http.app import create_app
from parley.services.accounts import DEMO_ACCOUNT, DEMO_APP_KEY

BASE = "http://parley.test"
ACCOUNT_URL = f"{BASE}/api/account/{DEMO_ACCOUNT}"
APP_KEY = f"appKey={DEMO_APP_KEY}"


@pytest.fixture
def app(engine):
    return create_app(engine.settings, engine)


def client(app, address: str = "127.0.0.1", raise_app_exceptions: bool = True, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000), raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers)


@pytest.fixture
async def http(app):
    async with client(app) as opened:
        yield opened
