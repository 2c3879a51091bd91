"""Webhooks: an account's subscriptions (the admin API and ``parley webhook`` call ``Webhooks``),
and the sender that posts their deliveries (``Sender``, a worker on the leader).

Requests never post: the store inserts a delivery in the transaction of the change it reports, and
the sender posts it afterwards. A delivery is retried with the mail outbox's backoff until the
receiver answers 2xx or five days have passed; a crash between the receiver's answer and our mark
posts it again (at least once: receivers de-duplicate by ``X-Parley-Delivery``). Deliveries of one
chat to one subscription go out in order: the next waits until the one before it is delivered or
has failed for good; other chats are not held up by a slow one (bounded concurrency, timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

from parley.domain import webhooks as rules
from parley.domain.mail import MAX_ATTEMPTS, retry_delay_ms
from parley.domain.refusals import Invalid, NotFound
from parley.services.engine import Engine
from parley.services.tally import tally
from parley.store.protocol import Delivery, DueDelivery, Store, Webhook

log = logging.getLogger("parley.webhooks")

# Posts in flight at once: enough that a few slow receivers do not hold up the others, few enough
# that a backlog after an outage does not open hundreds of connections to one receiver.
CONCURRENCY = 16
# A receiver that has not answered in this long counts as down for this attempt.
TIMEOUT_S = 10.0
# The deliveries are re-read at least this often (a survey answer, a change made by another process).
RECHECK_S = 1.0
# The delivery log keeps deliveries done (delivered or failed) this long; swept once an hour.
LOG_KEPT_MS = 30 * 24 * 3600 * 1000
PRUNE_EVERY_MS = 3600 * 1000
MAX_SUBSCRIPTIONS = 100  # per account: each one is a delivery per event
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
USER_AGENT = "parley-webhooks"


def _now_ms() -> int:
    return int(time.time() * 1000)


def signed_headers(secret: str, kind: str, delivery_id: str, body: bytes, now_ms: int) -> dict[str, str]:
    timestamp = str(now_ms // 1000)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Parley-Event": kind,
        "X-Parley-Delivery": delivery_id,
        "X-Parley-Timestamp": timestamp,
        "X-Parley-Signature": rules.sign(secret, timestamp, body),
    }


async def post(
    client: httpx.AsyncClient, url: str, secret: str, kind: str, delivery_id: str, body: bytes, now_ms: int
) -> int:
    """POST one signed delivery; the receiver's status (its body is never read: it could be anything)."""
    headers = signed_headers(secret, kind, delivery_id, body, now_ms)
    async with client.stream("POST", url, content=body, headers=headers) as response:
        return response.status_code


def new_client() -> httpx.AsyncClient:
    # Redirects are not followed: a receiver that moved answers 3xx, which is retried and logged.
    return httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False)


@dataclass(frozen=True)
class TestResult:
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Webhooks:
    """What administrators do with subscriptions (the admin API and the CLI call these)."""

    store: Store
    clock: Callable[[], int] = _now_ms

    async def _account(self, account_id: str) -> None:
        if account_id not in (await self.store.load_directory()).accounts:
            raise NotFound(f"no account {account_id}")

    async def create(self, account_id: str, url: object, kinds: object | None) -> Webhook:
        """A new active subscription with a new secret (show it now: nowhere else shows it)."""
        await self._account(account_id)
        checked_url = rules.check_url(url)
        checked_kinds = rules.KINDS if kinds is None else rules.check_kinds(kinds)
        if len(await self.store.webhooks.for_account(account_id)) >= MAX_SUBSCRIPTIONS:
            raise Invalid(f"an account has at most {MAX_SUBSCRIPTIONS} webhooks")
        hook_id = await self.store.webhooks.create(
            account_id, checked_url, checked_kinds, rules.new_secret(), self.clock()
        )
        return await self.get(account_id, hook_id)

    async def for_account(self, account_id: str) -> list[Webhook]:
        await self._account(account_id)
        return await self.store.webhooks.for_account(account_id)

    async def get(self, account_id: str, hook_id: int) -> Webhook:
        await self._account(account_id)
        hook = await self.store.webhooks.get(account_id, hook_id)
        if hook is None:
            raise NotFound(f"no webhook {hook_id} in account {account_id}")
        return hook

    async def update(
        self, account_id: str, hook_id: int, url: object = None, kinds: object = None, active: object = None
    ) -> Webhook:
        hook = await self.get(account_id, hook_id)
        if active is not None and not isinstance(active, bool):
            raise Invalid("active is true or false")
        changed = replace(
            hook,
            url=hook.url if url is None else rules.check_url(url),
            kinds=hook.kinds if kinds is None else rules.check_kinds(kinds),
            active=hook.active if active is None else active,
        )
        await self.store.webhooks.update(changed)
        return changed

    async def delete(self, account_id: str, hook_id: int) -> Webhook:
        hook = await self.get(account_id, hook_id)
        await self.store.webhooks.delete(account_id, hook_id)
        return hook

    async def deliveries(self, account_id: str, hook_id: int, before_id: int | None, limit: int) -> list[Delivery]:
        """Newest first; ``before_id``: the page after the one that ended with that delivery."""
        await self.get(account_id, hook_id)
        return await self.store.webhooks.deliveries(hook_id, before_id, limit)

    async def test(self, account_id: str, hook_id: int) -> TestResult:
        """Post a signed ``webhook.test`` event now (not queued, not retried) and say what came back."""
        hook = await self.get(account_id, hook_id)
        now = self.clock()
        body = rules.sample_body(account_id, hook.id, now)
        async with new_client() as client:
            try:
                status = await post(client, hook.url, hook.secret, rules.TEST_KIND, f"test-{now}", body, now)
            except httpx.HTTPError as exc:
                return TestResult(None, describe(exc))
        return TestResult(status)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Sender:
    """The worker that posts due deliveries (``engine.add_worker``: it runs on the leader only)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.records = engine.store.webhooks
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task] = {}
        # Attempts that ended (their mark committed): they leave ``_inflight`` only before the next read
        # of the heads starts, so a read begun before a mark cannot hand the same delivery out again.
        self._finished: set[int] = set()
        self.client: httpx.AsyncClient | None = None
        self._pruned_ms = 0

    def notify(self) -> None:
        """Something was committed that may have queued deliveries: look now."""
        self._wake.set()

    async def run(self) -> None:
        async with new_client() as client:
            self.client = client
            try:
                while True:
                    wait_s = RECHECK_S
                    try:
                        wait_s = await self.step()
                    except Exception:  # a failed pass must not stop the next one; the rows are still there
                        log.exception("webhook pass failed")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, wait_s))
                    self._wake.clear()
            finally:
                for task in self._inflight.values():
                    task.cancel()
                for task in list(self._inflight.values()):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def step(self) -> float:
        """Start the due deliveries there is room for; the seconds until the next one is due."""
        now = self.engine.clock()
        if now - self._pruned_ms >= PRUNE_EVERY_MS:
            self._pruned_ms = now
            await self.records.prune(now - LOG_KEPT_MS)
        for delivery_id in self._finished:
            self._inflight.pop(delivery_id, None)
        self._finished.clear()
        free = CONCURRENCY - len(self._inflight)
        if free <= 0:
            return RECHECK_S  # a finishing post wakes the loop
        heads = await self.records.heads(free + len(self._inflight))
        now = self.engine.clock()
        for due in heads:
            delivery = due.delivery
            if delivery.id in self._inflight:
                continue
            if delivery.next_attempt_ms > now:  # heads come earliest first: the rest wait longer
                return min(RECHECK_S, (delivery.next_attempt_ms - now) / 1000)
            if free == 0:
                break
            self._inflight[delivery.id] = asyncio.create_task(self._attempt(due))
            free -= 1
        return RECHECK_S

    async def _attempt(self, due: DueDelivery) -> None:
        try:
            await self.deliver(due)
        except Exception:  # the store could not take the mark: the delivery stays pending, sent again
            log.exception("webhook delivery %s could not be recorded", due.delivery.id)
        finally:
            self._finished.add(due.delivery.id)
            self._wake.set()  # the chat's next delivery may go now

    async def deliver(self, due: DueDelivery) -> None:
        client = self.client
        if client is None:  # run() sets it before any delivery starts
            raise RuntimeError("the webhook sender is not running")
        delivery = due.delivery
        attempts = delivery.attempts + 1
        now = self.engine.clock()
        code: int | None = None
        try:
            code = await post(client, due.url, due.secret, delivery.kind, str(delivery.id), delivery.body, now)
        except Exception as exc:  # refused, reset, timed out, a URL the client cannot use
            error = describe(exc)
        else:
            if 200 <= code < 300:
                await self.records.mark_delivered(delivery.id, attempts, self.engine.clock(), code)
                tally(self.engine).webhooks_delivered += 1
                return
            error = f"the receiver answered {code}"
        done = self.engine.clock()
        if attempts >= MAX_ATTEMPTS:
            log.error("webhook delivery %s to %s failed after %d attempts: %s", delivery.id, due.url, attempts, error)
            await self.records.mark_failed(delivery.id, attempts, done, code, error)
            tally(self.engine).webhook_failures += 1
            return
        delay = retry_delay_ms(attempts)
        log.warning(
            "webhook delivery %s to %s failed (attempt %d), retrying in %.0f s: %s",
            delivery.id,
            due.url,
            attempts,
            delay / 1000,
            error,
        )
        await self.records.mark_retry(delivery.id, attempts, done, done + delay, code, error)
        tally(self.engine).webhook_retries += 1
