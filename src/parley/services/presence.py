"""Who is logged in: login sessions (bearers), agent sessions, and each agent's availability."""

from __future__ import annotations

from dataclasses import dataclass

from parley.domain.account import OFFLINE


@dataclass
class LoginSession:
    id: str
    account_id: str
    agent_id: int
    bearer_digest: str
    csrf: str
    expires_ms: int


@dataclass
class AgentSession:
    id: int
    account_id: str
    agent_id: int
    login_session_id: str
    created_ms: int
    last_seen_ms: int


class Presence:
    def __init__(self) -> None:
        self.logins: dict[str, LoginSession] = {}  # by login session id
        self.by_bearer: dict[str, LoginSession] = {}  # by bearer digest
        self.sessions: dict[int, AgentSession] = {}
        self.availability: dict[int, str] = {}

    def add_login(self, login: LoginSession) -> None:
        self.logins[login.id] = login
        self.by_bearer[login.bearer_digest] = login

    def drop_login(self, login: LoginSession) -> list[AgentSession]:
        """Forget a login; returns the agent sessions opened with it (still to be closed)."""
        self.logins.pop(login.id, None)
        self.by_bearer.pop(login.bearer_digest, None)
        return [s for s in self.sessions.values() if s.login_session_id == login.id]

    def sessions_of(self, agent_id: int) -> list[AgentSession]:
        return [s for s in self.sessions.values() if s.agent_id == agent_id]

    def logged_in(self, agent_id: int) -> bool:
        return any(s.agent_id == agent_id for s in self.sessions.values())

    def availability_of(self, agent_id: int) -> str:
        """Offline without a live agent session, whatever was last chosen."""
        if not self.logged_in(agent_id):
            return OFFLINE
        return self.availability.get(agent_id, OFFLINE)
