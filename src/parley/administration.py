"""The administration verbs the admin API mirrors (``parley account list``, ``appkey revoke``,
``agent disable``, ``admin-token create`` …): the same service functions as ``/admin/v1/``.

Kept beside ``cli.py`` (which defines the groups, the options and ``_run_admin``) so neither file
grows past a screenful of screens; ``cli.py`` imports this module last, which registers them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import click
import orjson

from parley.cli import (
    CONTEXT,
    _admin,
    _existing_database,
    _load,
    _option,
    _run_admin,
    account,
    agent,
    appkey,
    cli,
    database_options,
    skill,
    survey,
)
from parley.domain.history import parse_time
from parley.domain.refusals import Refusal
from parley.domain.survey import KINDS as SURVEY_KINDS
from parley.domain.survey import Definition, document
from parley.services import accounts
from parley.services.admin_tokens import AdminTokens
from parley.services.app_credentials import AppCredentials
from parley.services.history import FORMATS, History
from parley.services.surveys import delete_survey, survey_definition, survey_definitions


def _account_line(account: Any) -> str:
    return (
        f"{account.id}\t{account.name}\ttimezone={account.timezone}"
        f"\tdefault_skill={account.default_skill_id or '-'}\toffline_email={account.offline_email or '-'}"
    )


@account.command("list", context_settings=CONTEXT)
@database_options
def account_list(config: str | None, database: str | None) -> int:
    """List accounts: id, name, time zone, default skill id, offline address."""
    return _run_admin(
        config,
        database,
        lambda a: a.accounts(),
        lambda accounts: "\n".join(map(_account_line, accounts)) or "no accounts",
    )


@account.command("show", context_settings=CONTEXT)
@_option("--id", "account_id", required=True, help="the account")
@database_options
def account_show(config: str | None, database: str | None, account_id: str) -> int:
    """Show one account."""
    return _run_admin(config, database, lambda a: a.account(account_id), _account_line)


@appkey.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@database_options
def appkey_list(config: str | None, database: str | None, account: str) -> int:
    """List an account's app keys: id and creation time (the keys themselves are not stored)."""
    return _run_admin(
        config,
        database,
        lambda a: a.app_keys(account),
        lambda keys: "\n".join(f"{accounts.key_id(k)}\t{_utc(k.created_ms)}" for k in keys) or "no app keys",
    )


@appkey.command("revoke", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "key_id", required=True, help="the key's id (see `parley appkey list`)")
@database_options
def appkey_revoke(config: str | None, database: str | None, account: str, key_id: str) -> int:
    """Revoke an app key: a running server refuses it within a second."""
    return _run_admin(
        config,
        database,
        lambda a: a.revoke_app_key(account, key_id),
        lambda k: f"app key {accounts.key_id(k)} of account {account} revoked",
    )


@skill.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@database_options
def skill_list(config: str | None, database: str | None, account: str) -> int:
    """List an account's skills: id and name."""
    return _run_admin(
        config,
        database,
        lambda a: a.skills(account),
        lambda skills: (
            "\n".join(f"{s.id}\t{s.name}" + ("\tretired" if s.retired else "") for s in skills) or "no skills"
        ),
    )


@skill.command("rename", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "skill_id", type=int, required=True, help="the skill's id (see `parley skill list`)")
@_option("--name", required=True, help="the new name")
@database_options
def skill_rename(config: str | None, database: str | None, account: str, skill_id: int, name: str) -> int:
    """Rename a skill; its chats, agents and surveys follow (they hold its id)."""
    return _run_admin(
        config, database, lambda a: a.rename_skill(account, skill_id, name), lambda s: f"skill {s.id} renamed {s.name}"
    )


@skill.command("retire", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "skill_id", type=int, required=True, help="the skill's id (see `parley skill list`)")
@click.option("--restore", is_flag=True, help="bring a retired skill back")
@database_options
def skill_retire(config: str | None, database: str | None, account: str, skill_id: int, restore: bool) -> int:
    """Retire a skill: new chats cannot ask for it and it is not offered (its waiting chats are
    still served, and chats keep its name). --restore brings it back."""
    return _run_admin(
        config,
        database,
        lambda a: a.retire_skill(account, skill_id, not restore),
        lambda s: f"skill {s.id} ({s.name}) {'retired' if s.retired else 'restored'}",
    )


@skill.command("delete", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "skill_id", type=int, required=True, help="the skill's id (see `parley skill list`)")
@_option("--move-to", type=int, help="the skill id its chats move to (required while chats wait for it)")
@database_options
def skill_delete(config: str | None, database: str | None, account: str, skill_id: int, move_to: int | None) -> int:
    """Delete a skill: agents lose it, its surveys and the account's default go; refused while
    chats wait for it unless --move-to names where they go (a running server moves them within a second)."""
    return _run_admin(
        config,
        database,
        lambda a: a.delete_skill(account, skill_id, move_to),
        lambda s: f"skill {s.id} ({s.name}) deleted" + (f"; its chats move to skill {move_to}" if move_to else ""),
    )


def _agent_line(agent: Any) -> str:
    return (
        f"{agent.id}\t{agent.login}\tnickname={agent.nickname}\tmax_chats={agent.max_chats}"
        f"\tskills={','.join(map(str, agent.skill_ids)) or '-'}\t{'enabled' if agent.enabled else 'disabled'}"
    )


@agent.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@database_options
def agent_list(config: str | None, database: str | None, account: str) -> int:
    """List an account's agents: id, login, nickname, chats at once, skill ids, enabled."""
    return _run_admin(
        config, database, lambda a: a.agents(account), lambda agents: "\n".join(map(_agent_line, agents)) or "no agents"
    )


@agent.command("show", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "agent_id", type=int, required=True, help="the agent's id (see `parley agent list`)")
@database_options
def agent_show(config: str | None, database: str | None, account: str, agent_id: int) -> int:
    """Show one agent."""
    return _run_admin(config, database, lambda a: a.agent(account, agent_id), _agent_line)


@agent.command("update", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "agent_id", type=int, required=True, help="the agent's id")
@_option("--nickname", help="name visitors see")
@_option("--skills", help="comma-separated skill names (replaces the agent's skills; '' for none)")
@_option("--max-chats", type=int, help="chats at once; -1 = unlimited")
@database_options
def agent_update(
    config: str | None,
    database: str | None,
    account: str,
    agent_id: int,
    nickname: str | None,
    skills: str | None,
    max_chats: int | None,
) -> int:
    """Change an agent's nickname, skills or chats at once."""
    names = None if skills is None else [name for name in skills.split(",") if name.strip()]
    return _run_admin(
        config, database, lambda a: a.update_agent(account, agent_id, nickname, names, max_chats), _agent_line
    )


@agent.command("reset-password", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "agent_id", type=int, required=True, help="the agent's id")
@_option("--password", required=True, help="the new password")
@database_options
def agent_reset_password(config: str | None, database: str | None, account: str, agent_id: int, password: str) -> int:
    """Set an agent's password (logins already open stay open; disable to end them)."""
    return _run_admin(
        config,
        database,
        lambda a: a.update_agent(account, agent_id, password=password),
        lambda agent: f"agent {agent.id} ({agent.login}): password changed",
    )


@agent.command("disable", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "agent_id", type=int, required=True, help="the agent's id")
@database_options
def agent_disable(config: str | None, database: str | None, account: str, agent_id: int) -> int:
    """Switch an agent's login off: a running server ends its sessions within a second (its chats
    are requeued, or ended when nobody could take them) and refuses its logins."""
    return _run_admin(config, database, lambda a: a.update_agent(account, agent_id, enabled=False), _agent_line)


@agent.command("enable", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "agent_id", type=int, required=True, help="the agent's id")
@database_options
def agent_enable(config: str | None, database: str | None, account: str, agent_id: int) -> int:
    """Let a disabled agent log in again."""
    return _run_admin(config, database, lambda a: a.update_agent(account, agent_id, enabled=True), _agent_line)


@agent.group("app-credentials", context_settings=CONTEXT)
def app_credentials() -> None:
    """A bot's application credentials (app key, secret, access token, token secret) for L1 login."""


@app_credentials.command("create", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--agent", "agent_id", type=int, required=True, help="the agent's id (see `parley agent list`)")
@database_options
def app_credentials_create(config: str | None, database: str | None, account: str, agent_id: int) -> int:
    """Make application credentials for an agent user; prints them as JSON (the only time they
    are shown: only a digest is stored)."""

    async def create(admin: accounts.Admin) -> str:
        username = (await admin.agent(account, agent_id)).login
        record, made = await AppCredentials(admin.store).create(account, agent_id)
        return orjson.dumps({"id": record.id, "username": username, **made.as_tree()}).decode()

    return _run_admin(config, database, create)


@app_credentials.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--agent", "agent_id", type=int, required=True, help="the agent's id")
@database_options
def app_credentials_list(config: str | None, database: str | None, account: str, agent_id: int) -> int:
    """List an agent's application credentials: id and creation time (never the values)."""
    return _run_admin(
        config,
        database,
        lambda a: AppCredentials(a.store).list(account, agent_id),
        lambda records: "\n".join(f"{r.id}\t{_utc(r.created_ms)}" for r in records) or "no app credentials",
    )


@app_credentials.command("revoke", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--agent", "agent_id", type=int, required=True, help="the agent's id")
@_option("--id", "credential_id", type=int, required=True, help="the credentials' id (see `list`)")
@database_options
def app_credentials_revoke(
    config: str | None, database: str | None, account: str, agent_id: int, credential_id: int
) -> int:
    """Revoke application credentials: the next login with them is refused."""
    return _run_admin(
        config,
        database,
        lambda a: AppCredentials(a.store).revoke(account, agent_id, credential_id),
        lambda _: f"app credentials {credential_id} of agent {agent_id} revoked",
    )


def _survey_line(definition: Definition) -> str:
    skill = definition.skill_id if definition.skill_id is not None else "-"
    return (
        f"{definition.kind}\t{definition.survey.id}\tskill={skill}\t{_utc(definition.imported_ms)}\t{definition.name}"
    )


@survey.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--kind", type=click.Choice(SURVEY_KINDS), help="only surveys of this kind")
@_option("--skill", help="only the surveys of this skill (by name)")
@database_options
def survey_list(config: str | None, database: str | None, account: str, kind: str | None, skill: str | None) -> int:
    """List an account's surveys: kind, id, skill id (- for the account default), imported, name."""
    return _run_admin(
        config,
        database,
        lambda a: survey_definitions(a.store, account, kind, skill),
        lambda found: "\n".join(map(_survey_line, found)) or "no surveys",
    )


@survey.command("show", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--kind", required=True, type=click.Choice(SURVEY_KINDS), help="the survey's kind")
@_option("--id", "survey_id", type=int, required=True, help="the survey's id (see `parley survey list`)")
@database_options
def survey_show(config: str | None, database: str | None, account: str, kind: str, survey_id: int) -> int:
    """Print a survey's document as JSON (a file `parley survey import` takes back)."""
    return _run_admin(
        config,
        database,
        lambda a: survey_definition(a.store, account, kind, survey_id),
        lambda d: orjson.dumps(document(d.survey), option=orjson.OPT_INDENT_2).decode(),
    )


@survey.command("delete", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--kind", required=True, type=click.Choice(SURVEY_KINDS), help="the survey's kind")
@_option("--id", "survey_id", type=int, required=True, help="the survey's id")
@database_options
def survey_delete(config: str | None, database: str | None, account: str, kind: str, survey_id: int) -> int:
    """Delete a survey: visitors get "no survey" (or the next that fits) from their next request."""
    return _run_admin(
        config,
        database,
        lambda a: delete_survey(a.store, account, kind, survey_id),
        lambda d: f"{kind} survey {survey_id} ({d.name}) deleted",
    )


@cli.group("admin-token", context_settings=CONTEXT)
def admin_token() -> None:
    """Admin tokens: the bearers of the /admin/v1/ API."""


@admin_token.command("create", context_settings=CONTEXT)
@_option("--name", required=True, help="whose token this is, or what it is for")
@database_options
def admin_token_create(config: str | None, database: str | None, name: str) -> int:
    """Create an admin token; prints it (the only time it is shown: only its digest is stored)."""

    def show(result: tuple[int, str]) -> str:
        token_id, token = result
        click.echo(f"parley: admin token {token_id} ({name}) created; it is not shown again", err=True)
        return token

    return _run_admin(config, database, lambda a: AdminTokens(a.store).create(name), show)


@admin_token.command("list", context_settings=CONTEXT)
@database_options
def admin_token_list(config: str | None, database: str | None) -> int:
    """List admin tokens: id, created, revoked (or -), name. Never the tokens themselves."""

    def show(tokens: list) -> str:
        return (
            "\n".join(
                f"{t.id}\t{_utc(t.created_ms)}\t{_utc(t.revoked_ms) if t.revoked_ms else '-'}\t{t.name}" for t in tokens
            )
            or "no admin tokens"
        )

    return _run_admin(config, database, lambda a: AdminTokens(a.store).list(), show)


@admin_token.command("revoke", context_settings=CONTEXT)
@_option("--id", "token_id", type=int, required=True, help="the token's id (see `parley admin-token list`)")
@database_options
def admin_token_revoke(config: str | None, database: str | None, token_id: int) -> int:
    """Revoke an admin token: refused from its next request on, by every running server."""
    return _run_admin(
        config,
        database,
        lambda a: AdminTokens(a.store).revoke(token_id),
        lambda t: f"admin token {t.id} ({t.name}) revoked",
    )


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


@cli.command("export", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--format", "kind", type=click.Choice(FORMATS), default="jsonl", help="one chat per line, or one line per row")
@_option("--from", "start", help="chats started at or after this (ISO-8601 or epoch ms)")
@_option("--to", "end", help="chats started before this (ISO-8601 or epoch ms)")
@_option("--output", default="-", help="file to write, - for standard output")
@database_options
def export(
    config: str | None, database: str | None, account: str, kind: str, start: str | None, end: str | None, output: str
) -> int:
    """Export an account's chats (every event, surveys, transcript requests) as JSON Lines, or
    their lines as CSV: the same bytes as GET /admin/v1/accounts/{id}/export. Streams: memory
    stays flat however many chats there are."""
    try:
        from_ms = parse_time(start, "from") if start else None
        to_ms = parse_time(end, "to") if end else None
    except Refusal as exc:
        raise click.ClickException(exc.message) from None
    url = _existing_database(_load(config, {"database": database}).database)

    async def write(admin: accounts.Admin) -> int:
        chunks = await History(admin.store).export(account, kind, from_ms, to_ms)
        sink = sys.stdout.buffer if output == "-" else open(output, "wb")  # noqa: SIM115 (closed below)
        written = 0
        try:
            async for chunk in chunks:
                sink.write(chunk)
                written += len(chunk)
        finally:
            sink.flush()
            if sink is not sys.stdout.buffer:
                sink.close()
        return written

    try:
        written = asyncio.run(_admin(url, write))
    except Refusal as exc:
        raise click.ClickException(exc.message) from None
    except OSError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"parley: exported {written} bytes of account {account} ({kind})", err=True)
    return 0
