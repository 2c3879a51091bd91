"""Abuse limits: how often one client may try a password, start a chat or submit a form.

The visitor API opens with a public app key, so anyone can call it; these limits bound what one
client address (or one login name) can make the server do, and are generous enough that a real
client never meets them. Polls, lines and reads are never counted (server spec §7.2: real clients
burst, and a limited poll would break a chat). Counting is the ``limits`` library's moving
window, in this process's memory by default or in a shared store (``--limits-storage``).

Over a limit: 429, ``Retry-After`` in whole seconds (at least 1: LivePerson's clients wait at
least that long), and the API's error body with internalCode 27.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time

from limits import RateLimitItem
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from starlette.requests import Request

from parley.config import Settings, parse_rates, storage_uri
from parley.http.clients import client_address
from parley.wire.errors import RATE_LIMITED, ApiError

log = logging.getLogger("parley.limits")


class Throttled(ApiError):
    """A request over one of the limits; ``headers`` go on the error response."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, RATE_LIMITED, f"Too many requests; retry in {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


class Throttles:
    """One per process: the limiter and the parsed limits of the settings."""

    def __init__(self, settings: Settings) -> None:
        # wrap_exceptions: a shared store that is down raises StorageError, which fails open below.
        self.limiter = MovingWindowRateLimiter(
            storage_from_string(storage_uri(settings.limits_storage), wrap_exceptions=True)
        )
        self.login_name = parse_rates(settings.login_limit)
        self.login_address = parse_rates(settings.login_address_limit)
        self.chat_requests = parse_rates(settings.chat_request_limit)
        self.submissions = parse_rates(settings.submission_limit)

    async def login(self, request: Request, account_id: str, login: str) -> None:
        """Every attempt counts, right or wrong: counting before the password check keeps parallel
        guesses from slipping past, and a real agent logs in a few times a day."""
        await self._hit(self.login_address, "login-address", client_key(request))
        await self._hit(self.login_name, "login", account_id, login)

    async def chat_request(self, request: Request) -> None:
        await self._hit(self.chat_requests, "chat-request", client_key(request))

    async def submission(self, request: Request) -> None:
        await self._hit(self.submissions, "submission", client_key(request))

    async def _hit(self, items: tuple[RateLimitItem, ...], *key: str) -> None:
        for item in items:
            try:
                if await self.limiter.hit(item, *key):
                    continue
                stats = await self.limiter.get_window_stats(item, *key)
            except StorageError:
                # A limit store that is down must not take the API down with it.
                log.warning("limits storage unavailable; %s not counted", key[0], exc_info=True)
                return
            raise Throttled(max(1, math.ceil(stats.reset_time - time.time())))


def client_key(request: Request) -> str:
    """The client address a count belongs to. An IPv6 client usually holds a whole /64 (one
    home, one server), so its addresses share one count instead of each having its own."""
    address = client_address(request)
    if ":" in address:
        try:
            return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
        except ValueError:
            pass
    return address


def throttles_of(request: Request) -> Throttles:
    return request.app.state.throttles
