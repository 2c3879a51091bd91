"""Server settings. Every one has a ``PARLEY_*`` environment variable and a ``parley serve`` flag."""

from __future__ import annotations

import os
import ipaddress
from dataclasses import dataclass, fields
from functools import lru_cache

DEFAULT_DATABASE = "sqlite:///./parley.db"
CHOICES = {
    "ring_mode": ("single", "all"),
    "no_agent_policy": ("end", "queue"),
    "agent_default_availability": ("Online", "Away", "Occupied"),
}


@dataclass
class Settings:
    database: str = DEFAULT_DATABASE
    host: str = "127.0.0.1"
    port: int = 8080
    # Links, Location and baseURI come from here; without it, from the request's Host.
    public_url: str | None = None
    # info.chatTimeout when the request names no interactionTimeout (server spec §7.3).
    chat_timeout: int = 40
    ended_retention: int = 3600
    typing_ttl: int = 30
    # Login bearer lifetime after the last login or refresh (the Login Service's sessionTTl).
    session_ttl: int = 28800
    agent_default_availability: str = "Online"
    # "end": a chat nobody could take gets system line 2 and ends at once; "queue": it waits.
    no_agent_policy: str = "end"
    json_always_arrays: bool = False
    system_message_id_as_string: bool = False
    max_body_bytes: int = 1_048_576
    # How often the timers look for chats past their chatTimeout, rings past the ring timeout...
    sweep_interval: float = 1.0
    # A ring not accepted within this many seconds sets the agent Away and rings the next agent.
    ring_timeout: int = 20
    # "single": offer a chat to one agent at a time; "all": to every eligible agent, first accept wins.
    ring_mode: str = "single"
    # An agent session with no request for this long ends (its chats are requeued or ended).
    agent_session_idle_timeout: int = 120
    # Mail: smtp://host:port (plain or STARTTLS) or smtps://host:port (TLS from the start).
    smtp_url: str | None = None
    mail_from: str = "parley@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    # Verifies visitor ssoKey JWTs (V8): an HMAC secret, or a PEM public key or its file path.
    sso_jwt_key: str | None = None
    # Proxies (comma-separated CIDRs) whose X-Forwarded-For names the client; none by default.
    trusted_proxies: str | None = None

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name.replace('_', '-')} must be one of {', '.join(allowed)}")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"trusted-proxies: {exc}") from exc

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            raw = environ.get(env_name(spec.name))
            if raw is None or raw == "":
                continue
            values[spec.name] = _convert(raw, spec.type)
        return cls(**values)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(spec: str | None) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1"`` -> networks; a bad entry raises ValueError (checked at start)."""
    if not spec:
        return ()
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def env_name(field_name: str) -> str:
    return "PARLEY_" + field_name.upper()


def _convert(raw: str, annotation: str):
    if annotation == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if annotation == "int":
        return int(raw)
    if annotation == "float":
        return float(raw)
    return raw
