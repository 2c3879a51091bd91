"""Server settings. Every one has a ``PARLEY_*`` environment variable and a ``parley serve`` flag."""

from __future__ import annotations

import os
import ipaddress
from dataclasses import dataclass, fields
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import SCHEMES, storage_from_string

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
    # Abuse limits (README "Security"): "N/period" in the limits library's notation ("10/minute",
    # several joined by ";"), or "off". Counted in a moving window per process, or in a shared store.
    limits_storage: str = "memory://"
    login_limit: str = "10/minute"  # login attempts per login name
    login_address_limit: str = "20/minute"  # login attempts per client address
    chat_request_limit: str = "60/minute"  # chat requests per client address
    submission_limit: str = "30/minute"  # offline/exit survey submissions and transcript requests per address
    transcript_recipients: str = "3"  # distinct transcript addresses per chat, or "off"
    # Origins (comma-separated) that get credentialed CORS; every other origin gets CORS without credentials.
    cors_credentialed_origins: str | None = None
    # Connections served at once (granian's backpressure); held long-polls and event streams take
    # all but a reserve (1/16, at least 8), so plain requests always get in. Capped by the open-file limit.
    max_connections: int = 16384

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name.replace('_', '-')} must be one of {', '.join(allowed)}")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"trusted-proxies: {exc}") from exc
        for name in RATE_SETTINGS:
            try:
                parse_rates(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name.replace('_', '-')}: {exc}") from exc
        try:
            recipient_cap(self.transcript_recipients)
            check_storage(self.limits_storage)
            credentialed_origins(self.cors_credentialed_origins)
        except ValueError as exc:
            raise ValueError(str(exc)) from exc

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


RATE_SETTINGS = ("login_limit", "login_address_limit", "chat_request_limit", "submission_limit")
OFF = "off"


@lru_cache(maxsize=32)
def parse_rates(spec: str) -> tuple[RateLimitItem, ...]:
    """``"10/minute"`` (or ``"10/minute;100/hour"``) -> limit items; ``"off"`` -> none."""
    spec = spec.strip()
    if spec.lower() == OFF:
        return ()
    try:
        items = tuple(parse_many(spec))
    except ValueError:
        raise ValueError(f"{spec!r} is not a limit like 10/minute, or off") from None
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(f"{spec!r}: a limit allows at least 1 request (write off to disable it)")
    return items


def recipient_cap(spec: str) -> int | None:
    """The transcript recipients setting: a count (at least 1), or None for ``off``."""
    spec = spec.strip()
    if spec.lower() == OFF:
        return None
    if not (spec.isascii() and spec.isdigit()) or not 1 <= int(spec) <= 1000:
        raise ValueError(f"transcript-recipients must be a number from 1 to 1000, or off (got {spec!r})")
    return int(spec)


def storage_uri(spec: str) -> str:
    """``memory://``, ``redis://host`` ... as the async storage URI the limits library wants."""
    uri = spec.strip()
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if not scheme.startswith("async+"):
        uri, scheme = "async+" + uri, "async+" + scheme
    if scheme not in SCHEMES:
        raise ValueError(f"limits-storage: unknown storage {spec!r} (memory://, redis://host:6379 ...)")
    return uri


def check_storage(spec: str) -> None:
    """A shared store needs its client library (``limits[async-redis]``...): say so at start."""
    uri = storage_uri(spec)
    if not uri.startswith("async+memory"):
        try:
            storage_from_string(uri)  # builds a client; connects only when first used
        except ConfigurationError as exc:
            raise ValueError(f"limits-storage: {exc}") from None


@lru_cache(maxsize=16)
def credentialed_origins(spec: str | None) -> frozenset[bytes]:
    """Origins as browsers send them (scheme://host[:port], no path); ``null`` is never one."""
    origins = [part.strip().rstrip("/") for part in (spec or "").split(",") if part.strip()]
    for origin in origins:
        if origin.lower() == "null" or "://" not in origin or "/" in origin.split("://", 1)[1]:
            raise ValueError(f"cors-credentialed-origins: {origin!r} is not an origin like https://agents.example.com")
    return frozenset(origin.encode("latin-1") for origin in origins)


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
