"""Whether this server can do its work now: the store answers and its schema is the one this code
expects. ``/health`` only says the process answers; ``/ready`` is what a load balancer or an
orchestrator should route by."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import metadata

from parley.services.engine import Engine
from parley.store.migrations import STEPS

# A store that takes longer than this to answer one tiny read is not fit to serve requests.
STORE_TIMEOUT_SECONDS = 5.0


def version() -> str:
    try:
        return metadata.version("parley")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


@dataclass(frozen=True)
class Readiness:
    ready: bool
    schema_applied: int | None
    schema_expected: int
    problem: str | None = None
    role: str | None = None  # many nodes: "leader" or "follower"
    bus: str | None = None  # many nodes: "connected", or why wake-ups come from reading the store


async def check(engine: Engine) -> Readiness:
    expected = len(STEPS)
    if engine.draining:
        return Readiness(False, None, expected, "stopping")
    try:
        applied = await asyncio.wait_for(engine.store.schema_version(), STORE_TIMEOUT_SECONDS)
    except TimeoutError:
        return Readiness(False, None, expected, f"store did not answer within {STORE_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # any driver error means the same to a load balancer: not ready
        return Readiness(False, None, expected, f"store unreachable: {type(exc).__name__}")
    if applied != expected:
        return Readiness(False, applied, expected, f"schema at step {applied}, this version needs {expected}")
    cluster = engine.cluster
    if cluster is None:
        return Readiness(True, applied, expected)
    role = "leader" if cluster.leading else "follower"
    # Without its bus a node still answers correctly (it reads the store every second for news),
    # so it stays ready: taking every node out when Redis is down would turn a slower cluster
    # into no cluster.
    ping = getattr(engine.bus, "ping", None)
    bus = (
        "none: reading the store every second"
        if ping is None
        else ("connected" if await ping() else "unreachable: reading the store every second")
    )
    if not cluster.leading and not await cluster.leader_known():
        return Readiness(False, applied, expected, "no leader node answers", role, bus)
    return Readiness(True, applied, expected, role=role, bus=bus)
