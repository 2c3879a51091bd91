"""Who is logged in: a Login Service session (bearer) and the agent sessions opened with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LoginSession:
    id: str  # the Session_id cookie
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
    last_seen_ms: int = 0  # last request on it; kept in memory only
