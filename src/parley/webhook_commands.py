"""``parley webhook create|list|delete|test``: the same service functions as the admin API's
``/admin/v1/accounts/{id}/webhooks`` (``services/webhooks.Webhooks``). Registered by ``cli.py``,
which imports this module last."""

from __future__ import annotations

import click

from parley.cli import CONTEXT, _option, _run_admin, cli, database_options
from parley.domain.webhooks import KINDS
from parley.services.webhooks import TestResult, Webhooks
from parley.store.protocol import Webhook


class NotDelivered(click.ClickException):
    """The test post did not get a 2xx: exit 3, so a script can tell it from a usage error (2)."""

    exit_code = 3


@cli.group(context_settings=CONTEXT)
def webhook() -> None:
    """Webhooks: where an account's chat events are posted, signed."""


def _line(hook: Webhook) -> str:
    return f"{hook.id}\t{'active' if hook.active else 'inactive'}\t{','.join(hook.kinds)}\t{hook.url}"


@webhook.command("create", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--url", required=True, help="where to POST (http:// or https://)")
@_option("--events", help=f"comma-separated kinds (default: all): {', '.join(KINDS)}")
@database_options
def webhook_create(config: str | None, database: str | None, account: str, url: str, events: str | None) -> int:
    """Subscribe URL to an account's events; prints the id and the signing secret (shown only now)."""
    kinds = None if events is None else [kind.strip() for kind in events.split(",") if kind.strip()]

    def show(hook: Webhook) -> str:
        click.echo(f"parley: webhook {hook.id} created; its secret is not shown again", err=True)
        return f"{hook.id}\t{hook.secret}"

    return _run_admin(config, database, lambda a: Webhooks(a.store).create(account, url, kinds), show)


@webhook.command("list", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@database_options
def webhook_list(config: str | None, database: str | None, account: str) -> int:
    """List an account's webhooks: id, active or inactive, events, URL (never the secrets)."""
    return _run_admin(
        config,
        database,
        lambda a: Webhooks(a.store).for_account(account),
        lambda hooks: "\n".join(map(_line, hooks)) or "no webhooks",
    )


@webhook.command("delete", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "hook_id", type=int, required=True, help="the webhook's id (see `parley webhook list`)")
@database_options
def webhook_delete(config: str | None, database: str | None, account: str, hook_id: int) -> int:
    """Delete a webhook and its delivery log (pending deliveries are dropped)."""
    return _run_admin(
        config,
        database,
        lambda a: Webhooks(a.store).delete(account, hook_id),
        lambda hook: f"webhook {hook.id} ({hook.url}) deleted",
    )


@webhook.command("test", context_settings=CONTEXT)
@_option("--account", required=True, help="account id")
@_option("--id", "hook_id", type=int, required=True, help="the webhook's id")
@database_options
def webhook_test(config: str | None, database: str | None, account: str, hook_id: int) -> int:
    """POST a signed webhook.test event now and print the receiver's answer (exit 3 unless 2xx)."""

    def show(result: TestResult) -> str:
        if result.status is None:
            raise NotDelivered(f"not delivered: {result.error}")
        if not result.ok:
            raise NotDelivered(f"not delivered: the receiver answered {result.status}")
        return f"delivered: the receiver answered {result.status}"

    return _run_admin(config, database, lambda a: Webhooks(a.store).test(account, hook_id), show)
