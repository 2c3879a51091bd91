"""The ASGI application: routes of every API surface on one listener, and the error bodies."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from parley.bus.local import LocalBus
from parley.bus.redis import RedisBus
from parley.config import Settings
from parley.domain import refusals
from parley.http import (
    admin,
    admin_surveys,
    agent,
    agent_chats,
    app_credentials,
    bridge,
    canned,
    console,
    discovery,
    erasure,
    history,
    login,
    metrics,
    surveys,
    transcripts,
    tunnel,
    visitor,
    webhooks,
    widget,
)
from parley.http.access import ROUTE_KEY, UNMATCHED, name_routes
from parley.http.exchange import engine_of, reply
from parley.http.express import Express
from parley.http.follower import FollowerGate, chat_version
from parley.http.gateway import Gateway
from parley.http.openapi import openapi_json
from parley.http.relay import RelayClient, RelayServer
from parley.http.throttles import Throttles
from parley.services import readiness
from parley.services.cluster import Cluster
from parley.services.engine import Engine
from parley.services.mail import Mailer
from parley.services.retention import Retention
from parley.services.webhooks import Sender
from parley.store import StoreUnavailable, is_postgres, open_store
from parley.wire import errors
from parley.wire.errors import ApiError, error_tree
from parley.wire.negotiation import JSON
from parley.wire.times import format_time

log = logging.getLogger("parley.http")

REFUSALS = {
    refusals.Malformed: (400, errors.BAD_BODY),
    refusals.Invalid: (400, errors.OUT_OF_RANGE),
    refusals.Unauthenticated: (401, errors.UNAUTHORIZED),
    refusals.Forbidden: (403, errors.UNAUTHORIZED),
    refusals.Conflict: (409, errors.OUT_OF_RANGE),
    refusals.NotFound: (404, errors.NOT_FOUND),
}
# Surfaces whose clients only speak JSON get JSON errors when they did not choose.
JSON_FIRST = ("/login", "/refresh", "/logout", "/baseURI", "/app/engagement", "/health", "/ready", "/metrics")


def error_response(request: Request, error: ApiError):
    engine = engine_of(request)
    account_id = (request.path_params or {}).get("account_id", "")
    zone = engine.directory.zone(account_id)
    if request.url.path.startswith(admin.PREFIX + "/"):  # the admin API speaks JSON only
        return admin.answer(error_tree(format_time(engine.clock(), zone), error), error.status)
    default = JSON if request.url.path.endswith(JSON_FIRST) or "/app/engagement" in request.url.path else "xml"
    return reply(request, error_tree(format_time(engine.clock(), zone), error), error.status, default=default)


async def on_api_error(request: Request, exc: ApiError):
    response = error_response(request, exc)
    response.headers.update(getattr(exc, "headers", None) or {})  # Retry-After of a 429
    return response


async def on_refusal(request: Request, exc: refusals.Refusal):
    status, code = next(v for k, v in REFUSALS.items() if isinstance(exc, k))
    return error_response(request, ApiError(status, code, exc.message))


async def on_http_error(request: Request, exc: HTTPException):
    if exc.status_code == 405:
        return error_response(request, ApiError(405, errors.METHOD, "Method not supported on this resource"))
    if exc.status_code == 404:
        return error_response(request, ApiError(404, errors.NOT_FOUND, "Resource not found"))
    return error_response(request, ApiError(exc.status_code, errors.BAD_BODY, str(exc.detail)))


# How long a client is told to wait before retrying a request the store could not serve.
STORE_RETRY_AFTER_SECONDS = 2


async def on_store_unavailable(request: Request, exc: StoreUnavailable):
    """The database is down or not answering: a retryable 503 in the API's error format (the JS
    SDK and agent clients retry it), never a 500; the store reconnects by itself."""
    log.warning("store unavailable on %s %s: %s", request.method, request.url.path, exc)
    response = error_response(request, ApiError(503, errors.NOT_READY, "Service temporarily unavailable"))
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
    return response


async def on_unexpected(request: Request, exc: Exception):
    # The route pattern, never the path (a chat id is a secret); the request id ties it to the access line.
    request_id = (request.scope.get("state") or {}).get("request_id", b"").decode()
    log.exception(
        "unexpected error on %s %s",
        request.method,
        request.scope.get(ROUTE_KEY, UNMATCHED),
        extra={"request_id": request_id},
    )
    return error_response(request, ApiError(500, errors.INTERNAL, "Unexpected server error"))


async def health(request: Request):
    """Alive: the process answers. Checks nothing else, so it stays cheap for frequent probes."""
    # One root element, as every body has: JSON is the mechanical mapping of the XML document.
    return reply(request, {"health": {"status": "ok", "version": readiness.version()}}, default=JSON)


async def ready(request: Request):
    """Ready to serve: the store answers and its schema is current; with many nodes also a leader
    answers (a load balancer routes by this). The bus's state is reported, not required."""
    state = await readiness.check(engine_of(request))
    if not state.ready:
        raise ApiError(503, errors.NOT_READY, f"Not ready: {state.problem}")
    body = {"status": "ready", "version": readiness.version(), "schema": state.schema_applied}
    if state.role is not None:
        body["role"] = state.role
        body["bus"] = state.bus
        body["pid"] = os.getpid()  # which process of the node answered (--workers share one port)
    return reply(request, {"ready": body}, default=JSON)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Gateway:
    settings = settings or Settings.from_env()
    # The one composition place: the store and the bus backends are chosen here.
    if engine is None:
        bus = RedisBus(settings.redis) if settings.redis and is_postgres(settings.database) else LocalBus()
        engine = Engine(settings, open_store(settings.database), bus)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        node = app.state.gateway.node
        await node.start()
        try:
            yield
        finally:
            await node.stop()

    # The mail worker sends the outbox and renders transcripts; requests only queue.
    mailer = Mailer(engine)
    engine.add_worker(mailer.run)
    engine.add_worker(Retention(engine).run)  # deletes chats past their account's retentionDays
    # The webhooks' sender posts the deliveries the store queued with each change.
    sender = Sender(engine)
    engine.commit_listeners.append(sender.notify)
    engine.add_worker(sender.run)

    # The busiest routes first: every request walks this list until a pattern matches, and the
    # visitor's polls are most requests (chat ids have their own pattern, so order is free).
    routes = visitor.routes + agent_chats.routes + agent.routes + transcripts.routes + surveys.routes + canned.routes
    routes += login.routes + discovery.routes
    routes += [Route("/health", health, methods=["GET"]), Route("/ready", ready, methods=["GET"])]
    routes += metrics.routes
    routes.append(Route("/openapi", openapi_json, methods=["GET"]))  # /openapi.json: the gateway strips .json
    routes += bridge.routes + tunnel.routes  # the JS Chat SDK's browser transports
    routes += widget.routes  # the visitor chat widget and its embed script
    routes += console.routes  # the agent console's pages
    routes += admin.routes  # /admin/v1/: accounts, keys, skills, agents (admin tokens)
    routes += admin_surveys.routes + app_credentials.routes  # /admin/v1/: surveys, bots' app credentials
    routes += history.routes  # /admin/v1/: chat history, text search, export
    routes += erasure.routes  # /admin/v1/: erase a visitor
    routes += webhooks.routes  # /admin/v1/accounts/{id}/webhooks
    name_routes(routes)  # the access log and /metrics name a request by its route's pattern
    # Each handler takes the exception class it is registered for; Starlette's annotation wants
    # every handler to take any Exception, which no handler of a narrower class can satisfy.
    handlers: dict[Any, Callable[..., Any]] = {
        ApiError: on_api_error,
        refusals.Refusal: on_refusal,
        StoreUnavailable: on_store_unavailable,
        HTTPException: on_http_error,
        Exception: on_unexpected,
    }
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.engine = engine
    app.state.mailer = mailer
    app.state.throttles = Throttles(settings)
    gateway = Gateway(app, engine)
    gateway.express = Express(app, routes, visitor.HOT)  # the busiest routes skip Starlette's chain
    app.state.gateway = gateway  # the JSONP tunnel replays its calls through all of it
    gateway.node = join_cluster(app, engine) if is_postgres(settings.database) else engine
    return gateway


def join_cluster(app: Starlette, engine: Engine) -> Cluster:
    """Many nodes on one PostgreSQL: a follower answers visitors' reads from its view and hands
    everything else to the leader over the node link (``services/cluster.py``)."""
    settings = engine.settings
    relay = RelayClient(engine.store.leader)
    app.router = FollowerGate(app.router, engine, relay)  # type: ignore[assignment]  # the router's face
    servers: list[RelayServer] = []

    async def lead(secret: str) -> str:
        server = RelayServer(
            app,
            secret,
            cluster.on_touch,
            lambda scope: {**scope, "parley.engine": engine},
            lambda scope, start: chat_version(engine, scope, start),
        )
        servers.append(server)
        port = await server.start(settings.node_host, settings.node_port)
        return settings.node_address or f"{settings.node_host}:{port}"

    async def stop_leading() -> None:
        for server in servers:
            await server.stop()

    bus = engine.bus
    cluster = Cluster(
        engine,
        lead=lead,
        stop_leading=stop_leading,
        touch_leader=relay.touch,
        bus_connected=lambda: bool(getattr(bus, "connected", False)),
        leader_answers=relay.reachable,
    )
    if isinstance(bus, RedisBus):
        bus.on_news = cluster.news
        bus.on_reconnect = cluster.reconnected
    return cluster
