"""Server settings, defined once here (pydantic-settings).

Each setting comes from, in this order: a ``parley serve`` flag, a ``PARLEY_*`` environment
variable, a TOML file named by ``--config`` (keys are the setting names), its default. The CLI
builds its flags from these definitions, so a new field needs no CLI code.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import SCHEMES, storage_from_string
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_DATABASE = "sqlite:///./parley.db"
ENV_PREFIX = "PARLEY_"
OFF = "off"
RATE_SETTINGS = ("login_limit", "login_address_limit", "chat_request_limit", "submission_limit")

# The values of the --config file while Settings.load builds one (a source below the environment).
_file_values: ContextVar[dict[str, Any] | None] = ContextVar("parley_config_file", default=None)


class SettingsError(ValueError):
    """A setting that cannot be used, said in one line that names it and where it came from."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="forbid", coerce_numbers_to_str=True
    )  # TOML `transcript_recipients = 3`

    database: str = Field(
        DEFAULT_DATABASE,
        description="the store: sqlite:////absolute/path.db (embedded), or postgresql://user@host:5432/db",
    )
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=1, le=65535, description="TCP port to listen on")
    # Links, Location and baseURI come from here; without it, from the request's Host.
    public_url: str | None = Field(
        None,
        description="base of every href, Location and baseURI "
        "(https://chat.example.com); unset: the request's scheme and Host",
    )
    # info.chatTimeout when the request names no interactionTimeout (server spec §7.3).
    chat_timeout: int = Field(40, description="seconds of info.chatTimeout when a chat request names none")
    ended_retention: int = Field(3600, description="seconds an ended chat stays readable")
    typing_ttl: int = Field(30, description="seconds a typing flag lasts without a refresh")
    # Login bearer lifetime after the last login or refresh (the Login Service's sessionTTl).
    session_ttl: int = Field(28800, description="seconds a login bearer lives after the last login or refresh")
    agent_default_availability: Literal["Online", "Away", "Occupied"] = Field(
        "Online", description="availability of an agent's first session"
    )
    # "end": a chat nobody could take gets system line 2 and ends at once; "queue": it waits.
    no_agent_policy: Literal["end", "queue"] = Field(
        "end", description="a chat nobody could take: end it at once, or queue it"
    )
    json_always_arrays: bool = Field(False, description="render every repeated element as a JSON array")
    system_message_id_as_string: bool = Field(False, description='systemMessageId as "4" instead of 4')
    max_body_bytes: int = Field(1_048_576, description="larger request bodies get 413")
    # How often the timers look for chats past their chatTimeout, rings past the ring timeout...
    sweep_interval: float = Field(1.0, description="seconds between timer sweeps (timeouts, rings, expiry)")
    # Deletes what accounts with retentionDays keep no longer (services/retention.py), on the leader.
    retention_sweep_interval: float = Field(
        300.0, description="seconds between retention sweeps (chats past their account's retentionDays)"
    )
    # A ring not accepted within this many seconds sets the agent Away and rings the next agent.
    ring_timeout: int = Field(20, description="seconds a ring may go unanswered before the next agent is rung")
    # "single": offer a chat to one agent at a time; "all": to every eligible agent, first accept wins.
    ring_mode: Literal["single", "all"] = Field(
        "single", description="ring one agent at a time, or every eligible agent at once"
    )
    # An agent session with no request for this long ends (its chats are requeued or ended).
    agent_session_idle_timeout: int = Field(120, description="seconds without a request that end an agent session")
    # Mail: smtp://host:port (plain or STARTTLS) or smtps://host:port (TLS from the start).
    smtp_url: str | None = Field(None, description="where mail goes: smtp://host:port or smtps://host:port")
    mail_from: str = Field("parley@localhost", description="sender address of mail parley sends")
    smtp_starttls: bool = Field(False, description="upgrade smtp:// with STARTTLS")
    smtp_username: str | None = Field(None, description="SMTP login name")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (secret)")
    # Verifies visitor ssoKey JWTs (V8): an HMAC secret, or a PEM public key or its file path.
    sso_jwt_key: SecretStr | None = Field(
        None, description="verifies visitor ssoKey JWTs: an HMAC secret, or a PEM public key or its file path (secret)"
    )
    # Proxies (comma-separated CIDRs) whose X-Forwarded-For names the client; none by default.
    trusted_proxies: str | None = Field(
        None, description="comma-separated CIDRs of proxies whose X-Forwarded-For names the client"
    )
    # Abuse limits (README "Security"): "N/period" in the limits library's notation ("10/minute",
    # several joined by ";"), or "off". Counted in a moving window per process, or in a shared store.
    limits_storage: str = Field(
        "memory://", description="where limits count: memory:// or a shared store such as redis://host:6379"
    )
    login_limit: str = Field("10/minute", description="login attempts per login name, or off")
    login_address_limit: str = Field("20/minute", description="login attempts per client address, or off")
    chat_request_limit: str = Field("60/minute", description="chat requests per client address, or off")
    submission_limit: str = Field(
        "30/minute", description="survey submissions and transcript requests per client address, or off"
    )
    transcript_recipients: str = Field("3", description="distinct transcript addresses per chat, or off")
    # Origins (comma-separated) that get credentialed CORS; every other origin gets CORS without credentials.
    cors_credentialed_origins: str | None = Field(
        None, description="comma-separated origins that get credentialed CORS"
    )
    # Connections served at once (granian's backpressure); held long-polls and event streams take
    # all but a reserve (1/16, at least 8), so plain requests always get in. Capped by the open-file limit.
    max_connections: int = Field(
        16384,
        ge=16,
        description="connections served at once; held polls and streams take all but a reserve of 1/16 (at least 8)",
    )

    # Many nodes (a PostgreSQL database): news between nodes, and the link a follower hands requests
    # to the leader over. One machine needs none of the node settings; several set --node-host to
    # an interface the others reach (and --node-address when that is not how they reach it).
    redis: str | None = Field(
        None,
        description="many nodes: Redis for wake-ups between nodes "
        "(redis://host:6379/0); without it other nodes read the store every second",
    )
    workers: int = Field(
        1,
        ge=1,
        le=256,
        description="many nodes: server processes on this machine, one port (needs --database postgresql://...)",
    )
    node_host: str = Field("127.0.0.1", description="many nodes: address the node link listens on")
    node_port: int = Field(0, ge=0, le=65535, description="many nodes: port of the node link (0: any free port)")
    node_address: str | None = Field(
        None,
        description="many nodes: host:port other nodes reach this node's link at (default: node-host and its port)",
    )

    # Logs (docs/operations.md): JSON lines unless stderr is a terminal; "auto" guesses which.
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="log lines as JSON, as text, or auto: text on a terminal, JSON otherwise"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="least severe log lines written"
    )
    # /metrics answers only loopback clients that no proxy forwarded, unless this bearer is set.
    metrics_token: SecretStr | None = Field(
        None,
        description="bearer that /metrics requires (from any "
        "address); unset: only unproxied loopback clients may read it "
        "(secret)",
    )

    @field_validator(
        "trusted_proxies", "limits_storage", "transcript_recipients", "cors_credentialed_origins", *RATE_SETTINGS
    )
    @classmethod
    def _parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Parsed once at start, so a value that does not parse stops the server there."""
        PARSERS[str(info.field_name)](value)  # always set in a field validator
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags arrive as init values; no .env or secrets-dir lookups that nobody asked for.
        return init_settings, env_settings, InitSettingsSource(settings_cls, dict(_file_values.get() or {}))

    @classmethod
    def from_env(cls) -> Settings:
        """Defaults and ``PARLEY_*`` variables (what an app built without the CLI runs with)."""
        return cls.load({})

    @classmethod
    def load(cls, flags: dict[str, Any], config: str | Path | None = None) -> Settings:
        """Flags (those given), then ``PARLEY_*``, then the TOML file; raises SettingsError."""
        file_values = read_config(config) if config else {}
        token = _file_values.set(file_values)
        try:
            return cls(**flags)
        except ValidationError as exc:
            raise SettingsError(describe(exc, flags, file_values, config)) from None
        finally:
            _file_values.reset(token)

    def secret(self, name: str) -> str | None:
        """The plain value of a secret setting, for the one place that must hand it on."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else value


CHOICES = {
    name: get_args(spec.annotation)
    for name, spec in Settings.model_fields.items()
    if get_origin(spec.annotation) is Literal
}


def is_secret(name: str) -> bool:
    spec = Settings.model_fields.get(name)
    return spec is not None and (spec.annotation is SecretStr or SecretStr in get_args(spec.annotation))


def flag_name(name: str) -> str:
    return name.replace("_", "-")


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def read_config(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML file; a missing file, bad TOML or an unknown key is a SettingsError."""
    try:
        with open(path, "rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"config {path}: no such file") from None
    except OSError as exc:
        raise SettingsError(f"config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config {path}: not valid TOML: {exc}") from None
    for key in values:
        if key not in Settings.model_fields:
            close = difflib.get_close_matches(key.replace("-", "_"), Settings.model_fields, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"config {path}: {key} is not a setting{hint}")
    return values


def describe(
    exc: ValidationError, flags: dict[str, Any], file_values: dict[str, Any], config: str | Path | None
) -> str:
    """One line for the first bad setting: its name, what is wrong, the value and where it came from."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "settings"
    if name in flags:
        origin = "--" + flag_name(name)
    elif os.environ.get(env_name(name)):
        origin = env_name(name)
    elif name in file_values:
        origin = f"{name} in {config}"
    else:
        origin = "the default"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        message = "must be one of " + ", ".join(CHOICES[name])
    message = message[:1].lower() + message[1:]
    value = repr(error["input"])
    shown = "" if is_secret(name) or value in message else f"got {value} "  # never a secret, never twice
    more = len(exc.errors()) - 1
    tail = f"; and {more} more" if more else ""
    return f"{flag_name(name)}: {message} ({shown}from {origin}){tail}"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(spec: str | None) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1"`` -> networks; a bad entry raises ValueError (checked at start)."""
    if not spec:
        return ()
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


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
        raise ValueError("must be a number from 1 to 1000, or off")
    return int(spec)


def storage_uri(spec: str) -> str:
    """``memory://``, ``redis://host`` ... as the async storage URI the limits library wants."""
    uri = spec.strip()
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if not scheme.startswith("async+"):
        uri, scheme = "async+" + uri, "async+" + scheme
    if scheme not in SCHEMES:
        raise ValueError(f"unknown storage {spec!r} (memory://, redis://host:6379 ...)")
    return uri


def check_storage(spec: str) -> None:
    """A shared store needs its client library (``limits[async-redis]``...): say so at start."""
    uri = storage_uri(spec)
    if not uri.startswith("async+memory"):
        try:
            storage_from_string(uri)  # builds a client; connects only when first used
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None


@lru_cache(maxsize=16)
def credentialed_origins(spec: str | None) -> frozenset[bytes]:
    """Origins as browsers send them (scheme://host[:port], no path); ``null`` is never one."""
    origins = [part.strip().rstrip("/") for part in (spec or "").split(",") if part.strip()]
    for origin in origins:
        if origin.lower() == "null" or "://" not in origin or "/" in origin.split("://", 1)[1]:
            raise ValueError(f"{origin!r} is not an origin like https://agents.example.com")
    return frozenset(origin.encode("latin-1") for origin in origins)


# What Settings._parses runs per setting (a ValueError names the problem in one line).
PARSERS: dict[str, Callable[[Any], object]] = {
    "trusted_proxies": parse_networks,
    "limits_storage": check_storage,
    "transcript_recipients": recipient_cap,
    "cors_credentialed_origins": credentialed_origins,
    **{name: parse_rates for name in RATE_SETTINGS},
}
