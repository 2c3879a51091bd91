"""``parley``: serve the APIs, administer accounts, run a bot (click).

The ``parley serve`` flags are generated from the Settings definition in ``parley.config``;
the admin commands' own options read ``PARLEY_<OPTION>`` too (``--account`` <- ``PARLEY_ACCOUNT``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import click
import httpx

from parley import logs, workers
from parley.config import Settings, SettingsError, env_name, flag_name, is_secret
from parley.domain.refusals import Refusal
from parley.domain.survey import KINDS as SURVEY_KINDS
from parley.services import accounts
from parley.services.accounts import Admin
from parley.services.surveys import import_survey
from parley.store import StoreUnavailable, claim_for_server, database_path, describe, is_postgres, open_store
from parley.wire import jsoncodec, xmlcodec
from parley.wire.jsoncodec import BodyError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _setting_option(name: str) -> Callable:
    """The flag of one setting: its type, choices, default and variable shown in ``--help``."""
    spec = Settings.model_fields[name]
    kinds = [kind for kind in (get_args(spec.annotation) or (spec.annotation,)) if kind is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else str
    if get_origin(spec.annotation) is Literal:
        kind = spec.annotation
    # default=None: a flag not given is left out, so the variable, the file or the default applies;
    # the default is shown in the help text instead (click would show it in parentheses).
    extra = [f"env var: {env_name(name)}"]
    if not is_secret(name) and spec.default is not None:
        shown = {True: "on", False: "off"}.get(spec.default, spec.default) if kind is bool else spec.default
        extra.insert(0, f"default: {shown}")
    help_text = f"{spec.description or name.replace('_', ' ')}  [{'; '.join(extra)}]"
    common: dict[str, Any] = {"default": None, "help": help_text, "show_default": False}
    flag = "--" + flag_name(name)
    if kind is bool:
        return click.option(f"{flag}/--no-{flag_name(name)}", name, **common)
    if get_origin(kind) is Literal:
        return click.option(flag, name, type=click.Choice(get_args(kind)), **common)
    click_type = {int: click.INT, float: click.FLOAT}.get(kind, click.STRING)
    return click.option(flag, name, type=click_type, **common)


def setting_options(names: Iterable[str] | None = None) -> Callable:
    """Flags for the named settings (every setting when ``names`` is None), plus ``--config``."""

    def decorate(command: Callable) -> Callable:
        for name in reversed(list(Settings.model_fields if names is None else names)):
            command = _setting_option(name)(command)
        return click.option(
            "--config",
            "config",
            type=click.Path(dir_okay=False),
            envvar="PARLEY_CONFIG",
            show_envvar=True,
            help="TOML file of settings (keys are setting names); flags and PARLEY_* variables override it",
        )(command)

    return decorate


def _load(config: str | None, flags: dict[str, Any]) -> Settings:
    return Settings.load({name: value for name, value in flags.items() if value is not None}, config)


def _option(*flags: str, **kwargs: Any) -> Callable:
    """An admin command option that also reads ``PARLEY_<OPTION>``."""
    name = flags[0].lstrip("-").replace("-", "_")
    return click.option(
        *flags, envvar=env_name(name), show_envvar=True, show_default=kwargs.get("default") not in (None, ""), **kwargs
    )


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="parley", prog_name="parley", message="%(prog)s %(version)s")
def cli() -> None:
    """A live-chat server speaking LivePerson's legacy chat REST APIs.

    Settings come from flags, then PARLEY_* variables, then a TOML file given with --config.
    """


# ---- serve, migrate -------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@setting_options()
@click.option(
    "--demo",
    is_flag=True,
    envvar="PARLEY_DEMO",
    show_envvar=True,
    help="seed the demo account and run a demo bot agent",
)
def serve(config: str | None, demo: bool, **flags: Any) -> int:
    """Serve every API on one port.

    Creates the database, or migrates its schema, at start; stops cleanly on SIGTERM or SIGINT.
    """
    settings = _load(config, flags)
    logs.configure(settings.log_format, settings.log_level)
    worker = workers.is_worker()
    if settings.workers > 1 and not worker and not is_postgres(settings.database):
        raise click.ClickException(
            "--workers needs a store that many processes share (--database "
            "postgresql://...): the embedded SQLite mode is one process"
        )
    try:
        claim = claim_for_server(settings.database)
    except (RuntimeError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if not worker and not _port_is_free(settings.host, settings.port):
        raise click.ClickException(f"{settings.host}:{settings.port} is already in use")
    if worker:
        _exit_when_stdin_closes()  # the supervisor holds our stdin: EOF means it is gone
        demo = False  # the supervisor seeded the demo and runs its bot
    if demo:
        asyncio.run(_admin(settings.database, _seed_demo))
    else:
        asyncio.run(_admin(settings.database, lambda a: asyncio.sleep(0)))  # create or migrate the schema
    base = f"http://{settings.host}:{settings.port}"
    bot = None
    if demo:
        print(
            DEMO_HELP.format(
                account=accounts.DEMO_ACCOUNT, key=accounts.DEMO_APP_KEY, base=settings.public_url or base
            ),
            flush=True,
        )
        # The bot reads its stdin until it closes: the kernel closes our end however this
        # process ends, SIGKILL included, so the bot never outlives its server.
        # The bot writes to the same stderr: the server's log settings keep its lines in one format.
        bot_env = {
            **os.environ,
            "PARLEY_LOG_FORMAT": logs.chosen_format(settings.log_format, sys.stderr),
            "PARLEY_LOG_LEVEL": settings.log_level,
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "parley", "bot", "--url", base, "--until-stdin-closes"],
            stdin=subprocess.PIPE,
            env=bot_env,
        )
    try:
        if settings.workers > 1 and not worker:
            return workers.supervise(settings.workers, sys.argv[1:])
        from parley.http.server import serve as serve_http

        return asyncio.run(serve_http(settings, on_stop=lambda: _end_child(bot, wait=False)))
    finally:
        _end_child(bot)
        claim.close()


@cli.command(context_settings=CONTEXT)
@setting_options(["database"])
def migrate(config: str | None, **flags: Any) -> int:
    """Create or migrate the database, without serving."""
    url = _load(config, flags).database
    where = describe(url) if is_postgres(url) else _sqlite_path(url)
    version = asyncio.run(_admin(url, lambda a: a.store.schema_version()))
    click.echo(f"parley: database {where} is at schema version {version}", err=True)
    return 0


# ---- administration -------------------------------------------------------------------------
# Each works on a database that exists (``--database``/``--config``/``PARLEY_DATABASE`` say which).

database_options = setting_options(["database"])


@cli.group(context_settings=CONTEXT)
def account() -> None:
    """Accounts."""


@account.command("create", context_settings=CONTEXT)
@_option("--id", "account_id", required=True, help="account id (the number in API paths)")
@_option("--name", help="display name")
@_option("--timezone", default="UTC", help="IANA time zone of the account")
@database_options
def account_create(config: str | None, database: str | None, account_id: str, name: str | None, timezone: str) -> int:
    """Create an account; prints its first app key."""
    return _run_admin(config, database, lambda a: a.create_account(account_id, name, timezone))


@account.command("update", context_settings=CONTEXT)
@_option("--id", "account_id", required=True, help="the account to change")
@_option("--name", help="display name")
@_option("--timezone", help="IANA time zone of the account")
@_option("--default-skill", help="skill name for chats requested without a skill")
@_option("--offline-email", help="where offline-survey messages are mailed ('' to clear)")
@_option("--retention-days", type=int, help="delete chats ended more than this many days ago (0: keep forever)")
@database_options
def account_update(
    config: str | None,
    database: str | None,
    account_id: str,
    name: str | None,
    timezone: str | None,
    default_skill: str | None,
    offline_email: str | None,
    retention_days: int | None,
) -> int:
    """Change an account."""

    def show(result: Any) -> str:
        return (
            f"account {result.id}: name={result.name} timezone={result.timezone}"
            f" offline_email={result.offline_email or ''} retention_days={result.retention_days or 'forever'}"
        )

    return _run_admin(
        config,
        database,
        lambda a: a.update_account(account_id, name, timezone, default_skill, offline_email, retention_days),
        show,
    )


@cli.group(context_settings=CONTEXT)
def appkey() -> None:
    """App keys."""


@appkey.command("create", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@database_options
def appkey_create(config: str | None, database: str | None, account: str) -> int:
    """Add an app key to an account; prints it."""
    return _run_admin(config, database, lambda a: a.create_app_key(account))


@cli.group(context_settings=CONTEXT)
def skill() -> None:
    """Skills."""


@skill.command("create", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--name", required=True, help="skill name")
@database_options
def skill_create(config: str | None, database: str | None, account: str, name: str) -> int:
    """Create a skill; prints its id."""
    return _run_admin(config, database, lambda a: a.create_skill(account, name))


@cli.group(context_settings=CONTEXT)
def agent() -> None:
    """Agents."""


@agent.command("create", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--login", required=True, help="login name")
@_option("--password", required=True, help="password")
@_option("--nickname", help="name visitors see")
@_option("--skills", default="", help="comma-separated skill names")
@_option("--max-chats", type=int, default=4, help="chats at once; -1 = unlimited")
@database_options
def agent_create(
    config: str | None,
    database: str | None,
    account: str,
    login: str,
    password: str,
    nickname: str | None,
    skills: str,
    max_chats: int,
) -> int:
    """Create an agent user; prints its id."""
    names = [name for name in skills.split(",") if name.strip()]
    return _run_admin(config, database, lambda a: a.create_agent(account, login, password, nickname, names, max_chats))


@cli.group(context_settings=CONTEXT)
def survey() -> None:
    """Surveys."""


@survey.command("import", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--kind", required=True, type=click.Choice(SURVEY_KINDS), help="which survey this is")
@_option("--skill", help="the skill this survey is for (default: the account's default survey)")
@_option("--name", help="what surveyName selects (default: the survey's title)")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@database_options
def survey_import(
    config: str | None, database: str | None, account: str, kind: str, skill: str | None, name: str | None, file: str
) -> int:
    """Import a survey document (server spec §9) from FILE, JSON or XML holding {"survey": {...}}; prints its id."""
    return _run_admin(
        config,
        database,
        lambda a: import_survey(a.store, account, kind, _survey_document(file), skill, name, int(time.time() * 1000)),
    )


def _sqlite_path(url: str) -> Path:
    try:
        return Path(database_path(url)).absolute()
    except ValueError as exc:
        raise SettingsError(f"database: {exc}") from None


def _existing_database(url: str) -> str:
    """Admin commands never create a database: a typo'd path would silently start an empty one.
    (A PostgreSQL database is created by its administrator; opening one that does not exist fails.)"""
    if is_postgres(url):
        click.echo(f"parley: database {describe(url)}", err=True)
        return url
    path = _sqlite_path(url)
    if not path.is_file():
        shown = database_path(url)
        raise click.ClickException(
            f"no database at {shown}; create it with `parley migrate --database {url}` or `parley serve`"
        )
    click.echo(f"parley: database {path}", err=True)
    return url


async def _admin(database: str, action: Callable) -> Any:
    store = open_store(database)
    try:
        await store.open()
    except StoreUnavailable as exc:  # a server that does not answer, a database that does not exist
        raise click.ClickException(str(exc)) from None
    try:
        return await action(Admin(store))
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await store.close()


def _run_admin(config: str | None, database: str | None, action: Callable, show: Callable[[Any], str] = str) -> int:
    url = _existing_database(_load(config, {"database": database}).database)
    try:
        result = asyncio.run(_admin(url, action))
    except Refusal as exc:
        raise click.ClickException(exc.message) from None
    except (OSError, BodyError) as exc:  # a survey file that cannot be read or parsed
        raise click.ClickException(str(exc)) from None
    click.echo(show(result))
    return 0


def _survey_document(path: str) -> dict:
    """A survey file: JSON, or XML when it starts with ``<`` (read with the hardened parser)."""
    raw = Path(path).read_bytes()
    return xmlcodec.parse(raw) if raw.lstrip().startswith(b"<") else jsoncodec.parse(raw)


# ---- bot --------------------------------------------------------------------------------------


@cli.command(context_settings=CONTEXT)
@_option("--url", default="http://127.0.0.1:8080", help="the parley server")
@_option("--account", default=accounts.DEMO_ACCOUNT, help="account id")
@_option("--login", default=accounts.DEMO_AGENT, help="agent login name")
@_option("--password", default=accounts.DEMO_AGENT, help="agent password")
@_option(
    "--app-credentials",
    type=click.File("rb"),
    help="log in with application credentials: the JSON `parley agent app-credentials create` printed",
)
@click.option(
    "--until-stdin-closes", is_flag=True, help="exit when stdin reaches its end (a parent process holds it open)"
)
def bot(url: str, account: str, login: str, password: str, app_credentials: Any, until_stdin_closes: bool) -> int:
    """Run an agent bot that accepts rings, greets and echoes."""
    from parley.bot import Bot

    credentials = jsoncodec.parse(app_credentials.read()) if app_credentials else None

    if until_stdin_closes:
        _exit_when_stdin_closes()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # started beside the server: wait until it answers
        try:
            httpx.get(f"{url}/health", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)

    async def main() -> None:
        agent = Bot(url, account, login, password, app_credentials=credentials)
        running = asyncio.current_task()
        assert running is not None  # main() runs as asyncio.run's task
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, running.cancel)  # a long-poll in flight ends at once too
        try:
            await agent.run()
        except asyncio.CancelledError:
            await agent.close()

    asyncio.run(main())
    return 0


async def _seed_demo(admin: accounts.Admin) -> None:
    await admin.seed_demo()
    await admin.seed_demo_human()


DEMO_HELP = """\
parley demo: account {account}, app key {key}, agent natalie/natalie (skill Sales), bot answering.
Agent console: {base}/console/?account={account}, log in as alex/alex (skill Support: ask for a Support chat).

  B={base}/api/account/{account}
  K="v=1&NC=true&appKey={key}"
  curl -s "$B/chat/availability.json?$K"
  curl -si -X POST "$B/chat/request.json?$K" -H 'Content-Type: application/json' -d '{{"request":{{"skill":"Sales"}}}}'
  # copy the Location header: CHAT=<location>
  curl -s "$CHAT.json?$K"
  curl -s -X POST "$CHAT/events.json?$K" -H 'Content-Type: application/json' -d '{{"event":{{"@type":"line","text":"Hello"}}}}'
  curl -s "$CHAT/events.json?$K&from=0"
  curl -s -X POST "$CHAT/events.json?$K" -H 'Content-Type: application/json' -d '{{"event":{{"@type":"state","state":"ended"}}}}'
"""  # noqa: E501  (whole commands, to copy and paste)


def _port_is_free(host: str, port: int) -> bool:
    """Granian listens with SO_REUSEPORT, so a second server on a busy port would silently share it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # REUSEADDR: connections of a server that just stopped (TIME_WAIT) do not count as in use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _end_child(child: subprocess.Popen | None, wait: bool = True) -> None:
    """Close the child's stdin (it ends on that); with ``wait``, reap it, killing it after 5 s."""
    if child is None:
        return
    if child.stdin is not None and not child.stdin.closed:
        child.stdin.close()
    if wait:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _exit_when_stdin_closes() -> None:
    """``--until-stdin-closes``: the parent holds our stdin open; EOF means it is gone."""

    def watch() -> None:
        while sys.stdin.buffer.read(65536):
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # the same clean exit as a stop by signal

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _error_line(exc: click.ClickException) -> str:
    """click's usage errors as one line (no usage block), named like the settings' errors."""
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter) and exc.param:
        return f"{flag_name(exc.param.name or '')}: {exc.message}"
    line = exc.format_message()
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        line += f" (see {exc.ctx.command_path} --help)"
    return line


def main(argv: list[str] | None = None) -> int:
    try:
        # A bad PARLEY_* variable is reported before anything else, even before --help.
        environment = Settings.from_env()
        logs.configure(environment.log_format, environment.log_level)  # `serve` applies its flags too
        result = cli.main(args=argv, prog_name="parley", standalone_mode=False)
    except SettingsError as exc:
        click.echo(f"parley: {exc}", err=True)
        return 2
    except click.exceptions.NoArgsIsHelpError as exc:  # plain `parley`: the help, as click prints it
        click.echo(exc.format_message(), err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"parley: {_error_line(exc)}", err=True)
        return 2 if isinstance(exc, click.UsageError) or exc.exit_code == 1 else exc.exit_code
    except click.Abort:
        click.echo("parley: aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0


# The administration verbs the admin API mirrors live in their own module; importing it registers them.
from parley import administration, webhook_commands  # noqa: E402,F401
