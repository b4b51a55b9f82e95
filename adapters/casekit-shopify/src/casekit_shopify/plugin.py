"""The casekit plugin: ``casekit import shopify`` replays saved webhook payloads."""

from __future__ import annotations

from pathlib import Path

import click

from casekit import hookimpl
from casekit.cli import open_kit
from casekit.cli_progress import progress
from casekit.schemas.facts import read_json
from casekit_shopify.webhooks import TOPICS, WebhookRejected, parse, store


@click.command("shopify")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--topic",
    required=True,
    type=click.Choice(TOPICS),
    help="The webhook topic the payloads were sent under.",
)
@click.option("--shipper", required=True, help="External id of the shop's shipper.")
@click.pass_context
def import_shopify(ctx: click.Context, files: tuple[Path, ...], topic: str, shipper: str) -> None:
    """Store saved Shopify webhook payloads (JSON files) of one TOPIC.

    For payloads already verified when they were received (a replay, a
    backfill); live webhooks go through casekit_shopify.handle_webhook.
    """
    failed = orders = shipments = events = opened = 0
    with open_kit(ctx) as kit, progress("Storing", length=len(files)) as bar:
        for path in files:
            bar.advance()
            try:
                payload = read_json(path.read_bytes())
                result = store(kit, topic, parse(topic, payload, shipper=shipper), shipper=shipper)
            except WebhookRejected as error:
                failed += 1
                click.echo(f"{path}: rejected: {error.errors}", err=True)
                continue
            except ValueError as error:  # not JSON
                failed += 1
                click.echo(f"{path}: {error}", err=True)
                continue
            orders += result.orders
            shipments += result.shipments
            events += result.events
            opened += len(result.opened)
    click.echo(
        f"{len(files) - failed} of {len(files)} payload(s) stored: {orders} order(s), "
        f"{shipments} shipment(s), {events} event(s), {opened} case(s) opened"
    )
    if failed:
        ctx.exit(1)


@hookimpl
def casekit_add_cli_commands(cli: click.Group) -> None:
    group = cli.commands.get("import")
    if not isinstance(group, click.Group):
        group = click.Group("import", help="Import data from files into casekit.")
        cli.add_command(group)
    group.add_command(import_shopify)
