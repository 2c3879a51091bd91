"""``GET /metrics``: Prometheus text format (prometheus-client's exposition).

Gauges are computed when scraped, from the engine's in-memory view (open chats, the queue,
presence, held requests); counters are plain integers that the request path and the services
add to (``http.access.Requests``, ``Queue.rings_offered``, ``services.tally``). Nothing is
registered globally, so every app (and every test) has its own numbers.

Who may read it: with ``--metrics-token`` set, whoever sends it as a bearer (from anywhere);
without, only a client on a loopback address whose request no proxy forwarded (a proxy on the
same host would otherwise make every client look local). The names are in docs/operations.md.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley.domain.chat import WAITING
from parley.http import push
from parley.http.access import BUCKETS, Requests
from parley.http.exchange import engine_of
from parley.services import readiness
from parley.services.engine import Engine
from parley.services.tally import tally
from parley.wire import errors
from parley.wire.errors import ApiError

# The outbox is counted by reading its pending rows: up to this many, so a scrape stays cheap
# when an SMTP server has been down for long (the gauge then reads this number).
OUTBOX_COUNT_CAP = 1000
# Far in the future: every pending message is "due" by then.
FOREVER_MS = 1 << 62
# The classic text format every Prometheus reads (our names need none of 1.0.0's escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
_PROCESS = ProcessCollector(registry=None)


class Scrape:
    """One scrape's metrics (prometheus-client calls ``collect``)."""

    def __init__(self, engine: Engine, requests: Requests, outbox: int) -> None:
        self.engine = engine
        self.requests = requests
        self.outbox = outbox

    def collect(self) -> Iterator[Metric]:
        yield from self._requests()
        yield from self._chats()
        yield from self._agents()
        yield from self._activity()
        info = GaugeMetricFamily("parley_info", "The running version", labels=["version"])
        info.add_metric([readiness.version()], 1)
        yield info
        yield from _PROCESS.collect()

    def _requests(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "parley_requests", "Requests answered, by route pattern and status class", labels=["route", "status"]
        )
        latency = HistogramMetricFamily(
            "parley_request_duration_seconds",
            "Time from a request's arrival to its answer's end (long-polls and streams included)",
            labels=["route", "status"],
        )
        for (route, status_class), cell in sorted(self.requests.cells.items()):
            labels = [route, STATUS_CLASSES.get(status_class, "none")]
            total.add_metric(labels, cell[0])
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), cell[2:], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(labels, buckets, cell[1])
        yield total
        yield latency
        held = push.capacity(self.engine)
        gauge = GaugeMetricFamily(
            "parley_held_requests", "Requests held open now: long-polls and event streams", labels=["kind"]
        )
        gauge.add_metric(["poll"], held.held - held.streams)
        gauge.add_metric(["stream"], held.streams)
        yield gauge
        yield GaugeMetricFamily(
            "parley_held_requests_limit",
            "Held requests allowed at once (past it a poll answers at once)",
            value=held.limit,
        )

    def _chats(self) -> Iterator[Metric]:
        engine = self.engine
        by_state = Counter(chat.state for chat in engine.queue.chats.values())
        states = GaugeMetricFamily("parley_open_chats", "Chats not ended, by state", labels=["state"])
        for state, count in sorted(by_state.items()):
            states.add_metric([state], count)
        yield states
        now = engine.clock()
        waiting: dict[tuple[str, str], list[int]] = {}
        for chat_id in engine.queue.waiting:
            chat = engine.queue.chats.get(chat_id)
            if chat is None or chat.state != WAITING:
                continue
            skill = engine.directory.skill(chat.skill_id)
            key = (chat.account_id, skill.name if skill else "")
            waiting.setdefault(key, []).append(now - chat.waiting_since())
        waiting_chats = GaugeMetricFamily(
            "parley_waiting_chats", "Chats waiting for an agent, by account and skill", labels=["account", "skill"]
        )
        oldest = GaugeMetricFamily(
            "parley_oldest_wait_seconds",
            "How long the longest-waiting chat has waited, by account and skill",
            labels=["account", "skill"],
        )
        for key, waits in sorted(waiting.items()):
            waiting_chats.add_metric(list(key), len(waits))
            oldest.add_metric(list(key), max(waits) / 1000)
        yield waiting_chats
        yield oldest

    def _agents(self) -> Iterator[Metric]:
        engine = self.engine
        by_availability: Counter[tuple[str, str]] = Counter()
        for agent in engine.directory.snapshot.agents.values():
            if agent.enabled:
                by_availability[(agent.account_id, engine.presence.availability_of(agent.id))] += 1
        gauge = GaugeMetricFamily(
            "parley_agents",
            "Enabled agents by account and availability (Offline: no agent session)",
            labels=["account", "availability"],
        )
        for (account_id, availability), count in sorted(by_availability.items()):
            gauge.add_metric([account_id, availability], count)
        yield gauge

    def _activity(self) -> Iterator[Metric]:
        counts = tally(self.engine)
        lines = CounterMetricFamily("parley_lines", "Chat lines appended, by who wrote them", labels=["side"])
        lines.add_metric(["visitor"], counts.visitor_lines)
        lines.add_metric(["agent"], counts.agent_lines)
        yield lines
        yield CounterMetricFamily(
            "parley_rings", "Chats offered to an agent (rings)", value=self.engine.queue.rings_offered
        )
        yield CounterMetricFamily(
            "parley_ring_timeouts", "Rings not accepted in time (the agent was set Away)", value=counts.ring_timeouts
        )
        yield GaugeMetricFamily(
            "parley_mail_outbox", f"Mail waiting to be sent (counted up to {OUTBOX_COUNT_CAP})", value=self.outbox
        )
        yield CounterMetricFamily("parley_mail_sent", "Mail delivered to the SMTP server", value=counts.mail_sent)
        yield CounterMetricFamily(
            "parley_mail_retries", "Mail attempts that failed and will be retried", value=counts.mail_retries
        )
        yield CounterMetricFamily("parley_mail_failures", "Mail given up for good", value=counts.mail_failures)
        yield CounterMetricFamily(
            "parley_retention_deleted_chats", "Chats the retention sweep deleted", value=counts.retention_chats
        )
        yield CounterMetricFamily(
            "parley_retention_deleted_events", "Events the retention sweep deleted", value=counts.retention_events
        )
        yield CounterMetricFamily(
            "parley_retention_deleted_submissions",
            "Survey answers and offline messages the retention sweep deleted",
            value=counts.retention_submissions,
        )
        yield CounterMetricFamily("parley_erasures", "Visitors erased through the admin API", value=counts.erasures)
        yield CounterMetricFamily(
            "parley_webhooks_delivered", "Webhook deliveries a receiver took (2xx)", value=counts.webhooks_delivered
        )
        yield CounterMetricFamily(
            "parley_webhook_retries", "Webhook posts that failed and will be retried", value=counts.webhook_retries
        )
        yield CounterMetricFamily(
            "parley_webhook_failures", "Webhook deliveries given up for good", value=counts.webhook_failures
        )
        commits = self.engine.store.commits
        yield CounterMetricFamily(
            "parley_store_commits", "Store transactions committed (group commit)", value=commits.transactions
        )
        yield CounterMetricFamily(
            "parley_store_writes",
            "Writes those transactions carried (÷ commits: the mean batch size)",
            value=commits.writes,
        )
        cluster = self.engine.cluster
        if cluster is not None:
            yield GaugeMetricFamily(
                "parley_node_leader",
                "1 while this node leads the cluster, 0 while it follows",
                value=int(cluster.leading),
            )
            yield CounterMetricFamily(
                "parley_node_changes_applied",
                "Chat changes a follower applied from the bus (no store read)",
                value=cluster.changes_applied,
            )
            yield CounterMetricFamily(
                "parley_node_store_reads",
                "Chats a follower read from the store to catch up (news it could not apply, read-your-writes)",
                value=cluster.store_reads,
            )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
    proxied = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    return local and not proxied


def check_reader(request: Request) -> None:
    """Raise the API's own error unless this client may read the metrics."""
    token = engine_of(request).settings.secret("metrics_token")
    if token is None:
        if not _loopback(request):
            raise ApiError(
                403, errors.UNAUTHORIZED, "Metrics are readable from this host only, unless --metrics-token is set"
            )
        return
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        error = ApiError(401, errors.UNAUTHORIZED, "Metrics need the bearer set by --metrics-token")
        error.headers = {"WWW-Authenticate": 'Bearer realm="metrics"'}
        raise error


async def metrics(request: Request) -> Response:
    check_reader(request)
    engine = engine_of(request)
    outbox = len(await engine.store.mail.due(FOREVER_MS, OUTBOX_COUNT_CAP))
    body = generate_latest(Scrape(engine, request.app.state.gateway.requests, outbox))  # type: ignore[arg-type]
    return Response(body, media_type=CONTENT_TYPE)


routes = [Route("/metrics", metrics, methods=["GET"])]
