"""Who is logged in now: login sessions (bearers), agent sessions, and each agent's availability."""

from __future__ import annotations

from collections import Counter

from parley.domain.account import OFFLINE
from parley.domain.session import AgentSession, LoginSession


class Presence:
    def __init__(self) -> None:
        self.logins: dict[str, LoginSession] = {}  # by login session id
        self.by_bearer: dict[str, LoginSession] = {}  # by bearer digest
        self.sessions: dict[int, AgentSession] = {}
        self.availability: dict[int, str] = {}
        # Live sessions per agent: routing asks "is this agent logged in?" for every candidate.
        self._live: Counter[int] = Counter()

    def add_session(self, session: AgentSession) -> None:
        if session.id not in self.sessions:
            self._live[session.agent_id] += 1
        self.sessions[session.id] = session

    def remove_session(self, session: AgentSession) -> None:
        if self.sessions.pop(session.id, None) is not None:
            self._live[session.agent_id] -= 1
            if not self._live[session.agent_id]:
                del self._live[session.agent_id]

    def add_login(self, login: LoginSession) -> None:
        self.logins[login.id] = login
        self.by_bearer[login.bearer_digest] = login

    def drop_login(self, login: LoginSession) -> list[AgentSession]:
        """Forget a login; returns the agent sessions opened with it (still to be closed)."""
        self.logins.pop(login.id, None)
        self.by_bearer.pop(login.bearer_digest, None)
        return [s for s in self.sessions.values() if s.login_session_id == login.id]

    def logged_in(self, agent_id: int) -> bool:
        return self._live.get(agent_id, 0) > 0

    def availability_of(self, agent_id: int) -> str:
        """Offline without a live agent session, whatever was last chosen."""
        if not self.logged_in(agent_id):
            return OFFLINE
        return self.availability.get(agent_id, OFFLINE)
