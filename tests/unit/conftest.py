"""Small shared fixtures: a manual clock, a store on a temporary file, a seeded engine."""

from __future__ import annotations

import pytest

from parley.bus.local import LocalBus
from parley.config import Settings
from parley.services.accounts import DEMO_ACCOUNT, DEMO_AGENT, Admin
from parley.services.agents import Agents
from parley.services.engine import Engine
from parley.services.visitors import Visitors
from parley.store import open_store

# 2024-01-15T12:00:00Z: an arbitrary fixed start, far from any DST switch.
START_MS = 1_705_320_000_000


class ManualClock:
    """An injectable clock (epoch ms) that moves only when a test says so."""

    def __init__(self, now_ms: int = START_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at its cheapest: the tests check logins, not the hash cost."""
    from argon2 import PasswordHasher

    import parley.services.passwords

    monkeypatch.setattr(parley.services.passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "parley.db")


@pytest.fixture
async def store(db_path):
    opened = open_store(db_path)
    await opened.open()
    yield opened
    await opened.close()


async def start_engine(db_path: str, clock: ManualClock, **settings) -> Engine:
    engine = Engine(Settings(database=db_path, **settings), open_store(db_path), LocalBus(), clock=clock)
    await engine.start(run_timers=False)
    return engine


@pytest.fixture
async def engine(db_path, clock):
    """A started engine (no background timers) on a fresh file, seeded with the demo account."""
    running = await start_engine(db_path, clock)
    await Admin(running.store).seed_demo()
    await running.reload_directory()
    yield running
    await running.stop()


@pytest.fixture
def visitors(engine) -> Visitors:
    return Visitors(engine)


@pytest.fixture
def agents(engine) -> Agents:
    return Agents(engine)


@pytest.fixture
def account_id() -> str:
    return DEMO_ACCOUNT


async def log_in(agents: Agents, login: str = DEMO_AGENT, password: str = DEMO_AGENT):
    """Log an agent in and open one agent session; returns (login session, agent, agent session)."""
    result, agent = await agents.login(DEMO_ACCOUNT, login, password)
    session = await agents.start_session(result.session)
    return result.session, agent, session
