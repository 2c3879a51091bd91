"""``parley``: serve the APIs, administer accounts, run a bot. Every flag also reads ``PARLEY_*``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

import httpx

from parley.config import DEFAULT_DATABASE, Settings, env_name
from parley.domain.survey import KINDS as SURVEY_KINDS
from parley.domain.refusals import Refusal
from parley.services import accounts
from parley.services.accounts import Admin
from parley.services.surveys import import_survey
from parley.store import claim_for_server, open_store
from parley.wire import jsoncodec, xmlcodec
from parley.wire.jsoncodec import BodyError


def _env(name: str, default=None):
    return os.environ.get(env_name(name), default)


def _option(parser: argparse.ArgumentParser, flag: str, **kwargs) -> None:
    """A flag whose default comes from ``PARLEY_<FLAG>``; required only when that is unset too."""
    name = flag.lstrip("-").replace("-", "_")
    default = _env(name, kwargs.pop("default", None))
    required = kwargs.pop("required", False) and default is None
    if "type" in kwargs and default is not None:
        default = kwargs["type"](default)
    parser.add_argument(flag, default=default, required=required, **kwargs)


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", default=_env("database", DEFAULT_DATABASE),
                        help="database URL (default sqlite:///./parley.db; env PARLEY_DATABASE)")


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    defaults = Settings.from_env()
    for spec in fields(Settings):
        if spec.name == "database":
            continue
        flag = "--" + spec.name.replace("_", "-")
        value = getattr(defaults, spec.name)
        if spec.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value,
                                help=f"(env {env_name(spec.name)})")
        else:
            kind = {"int": int, "float": float}.get(spec.type, str)
            parser.add_argument(flag, type=kind, default=value, help=f"default {value} (env {env_name(spec.name)})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve every API on one port")
    _add_database(serve)
    _settings_flags(serve)
    serve.add_argument("--demo", action="store_true", default=_env("demo", "") in ("1", "true"),
                       help="seed the demo account and run a demo bot agent")

    account = commands.add_parser("account", help="accounts").add_subparsers(dest="action", required=True)
    create = account.add_parser("create", help="create an account; prints its first app key")
    _add_database(create)
    _option(create, "--id", required=True)
    _option(create, "--name")
    _option(create, "--timezone", default="UTC")
    update = account.add_parser("update", help="change an account")
    _add_database(update)
    _option(update, "--id", required=True)
    _option(update, "--name")
    _option(update, "--timezone")
    _option(update, "--default-skill", help="skill name for chats requested without a skill")
    _option(update, "--offline-email", help="where offline-survey messages are mailed ('' to clear)")

    appkey = commands.add_parser("appkey", help="app keys").add_subparsers(dest="action", required=True)
    key_create = appkey.add_parser("create", help="add an app key to an account; prints it")
    _add_database(key_create)
    _option(key_create, "--account", required=True)

    skill = commands.add_parser("skill", help="skills").add_subparsers(dest="action", required=True)
    skill_create = skill.add_parser("create", help="create a skill; prints its id")
    _add_database(skill_create)
    _option(skill_create, "--account", required=True)
    _option(skill_create, "--name", required=True)

    agent = commands.add_parser("agent", help="agents").add_subparsers(dest="action", required=True)
    agent_create = agent.add_parser("create", help="create an agent user; prints its id")
    _add_database(agent_create)
    _option(agent_create, "--account", required=True)
    _option(agent_create, "--login", required=True)
    _option(agent_create, "--password", required=True)
    _option(agent_create, "--nickname")
    _option(agent_create, "--skills", default="", help="comma-separated skill names")
    _option(agent_create, "--max-chats", type=int, default=4, help="-1 = unlimited")

    survey = commands.add_parser("survey", help="surveys").add_subparsers(dest="action", required=True)
    survey_import = survey.add_parser("import", help="import a survey document (server spec §9); prints its id")
    _add_database(survey_import)
    _option(survey_import, "--account", required=True)
    _option(survey_import, "--kind", required=True, choices=SURVEY_KINDS)
    _option(survey_import, "--skill", help="the skill this survey is for (default: the account's default survey)")
    _option(survey_import, "--name", help="what surveyName selects (default: the survey's title)")
    survey_import.add_argument("file", help='a JSON or XML file holding {"survey": {...}}')

    bot = commands.add_parser("bot", help="run an agent bot that greets and echoes")
    _option(bot, "--url", default="http://127.0.0.1:8080")
    _option(bot, "--account", default=accounts.DEMO_ACCOUNT)
    _option(bot, "--login", default=accounts.DEMO_AGENT)
    _option(bot, "--password", default=accounts.DEMO_AGENT)
    bot.add_argument("--until-stdin-closes", action="store_true",
                     help="exit when stdin reaches its end (a parent process holds it open)")
    return parser


async def _admin(database: str, action):
    store = open_store(database)
    await store.open()
    try:
        return await action(Admin(store))
    finally:
        await store.close()


def _run_admin(args) -> int:
    command = (args.command, getattr(args, "action", None))
    actions = {
        ("account", "create"): lambda a: a.create_account(args.id, args.name, args.timezone),
        ("account", "update"): lambda a: a.update_account(
            args.id, args.name, args.timezone, args.default_skill, args.offline_email),
        ("appkey", "create"): lambda a: a.create_app_key(args.account),
        ("skill", "create"): lambda a: a.create_skill(args.account, args.name),
        ("survey", "import"): lambda a: import_survey(
            a.store, args.account, args.kind, _survey_document(args.file), args.skill, args.name,
            int(time.time() * 1000)),
        ("agent", "create"): lambda a: a.create_agent(
            args.account, args.login, args.password, args.nickname,
            [s for s in args.skills.split(",") if s.strip()], args.max_chats),
    }
    try:
        result = asyncio.run(_admin(args.database, actions[command]))
    except Refusal as exc:
        print(f"parley: {exc.message}", file=sys.stderr)
        return 2
    except (OSError, BodyError) as exc:  # a survey file that cannot be read or parsed
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    if command == ("account", "update"):
        print(f"account {result.id}: name={result.name} timezone={result.timezone}"
              f" offline_email={result.offline_email or ''}")
    else:
        print(result)
    return 0


def _survey_document(path: str) -> dict:
    """A survey file: JSON, or XML when it starts with ``<`` (read with the hardened parser)."""
    raw = Path(path).read_bytes()
    return xmlcodec.parse(raw) if raw.lstrip().startswith(b"<") else jsoncodec.parse(raw)


DEMO_HELP = """\
parley demo: account {account}, app key {key}, agent natalie/natalie (skill Sales), bot answering.

  B={base}/api/account/{account}
  K="v=1&NC=true&appKey={key}"
  curl -s "$B/chat/availability.json?$K"
  curl -si -X POST "$B/chat/request.json?$K" -H 'Content-Type: application/json' -d '{{"request":{{"skill":"Sales"}}}}'
  # copy the Location header: CHAT=<location>
  curl -s "$CHAT.json?$K"
  curl -s -X POST "$CHAT/events.json?$K" -H 'Content-Type: application/json' -d '{{"event":{{"@type":"line","text":"Hello"}}}}'
  curl -s "$CHAT/events.json?$K&from=0"
  curl -s -X POST "$CHAT/events.json?$K" -H 'Content-Type: application/json' -d '{{"event":{{"@type":"state","state":"ended"}}}}'
"""


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


def _serve(args) -> int:
    try:
        settings = Settings(**{spec.name: getattr(args, spec.name) for spec in fields(Settings)})
    except ValueError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    try:
        claim = claim_for_server(settings.database)
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 2
    if not _port_is_free(settings.host, settings.port):
        print(f"parley: {settings.host}:{settings.port} is already in use", file=sys.stderr)
        return 2
    if args.demo:
        asyncio.run(_admin(settings.database, lambda a: a.seed_demo()))
    else:
        asyncio.run(_admin(settings.database, lambda a: asyncio.sleep(0)))  # create or migrate the schema
    base = f"http://{settings.host}:{settings.port}"
    bot = None
    if args.demo:
        print(DEMO_HELP.format(account=accounts.DEMO_ACCOUNT, key=accounts.DEMO_APP_KEY,
                               base=settings.public_url or base), flush=True)
        # The bot reads its stdin until it closes: the kernel closes our end however this
        # process ends, SIGKILL included, so the bot never outlives its server.
        bot = subprocess.Popen([sys.executable, "-m", "parley", "bot", "--url", base, "--until-stdin-closes"],
                               stdin=subprocess.PIPE)
    try:
        from parley.http.server import serve

        return asyncio.run(serve(settings, on_stop=lambda: _end_child(bot, wait=False)))
    finally:
        _end_child(bot)
        claim.close()


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


def _bot(args) -> int:
    from parley.bot import Bot

    if args.until_stdin_closes:
        _exit_when_stdin_closes()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # started beside the server: wait until it answers
        try:
            httpx.get(f"{args.url}/health", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    async def main() -> None:
        bot = Bot(args.url, args.account, args.login, args.password)
        running = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, running.cancel)  # a long-poll in flight ends at once too
        try:
            await bot.run()
        except asyncio.CancelledError:
            await bot.close()

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per bot poll drowns the log
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "bot":
        return _bot(args)
    return _run_admin(args)
