"""The casekit plugin: the ``casekit import orders`` command and the lookup hooks.

Registered under the ``casekit`` entry point group as ``orderfeed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from casekit import Actor, CaseKit, InvalidInput, NotFound, OrderFacts, ShipmentFacts, hookimpl
from casekit.cli import open_kit
from casekit.cli_progress import progress
from casekit_orderfeed.feed import count_rows, import_file


def _as(organization: Any) -> Actor:
    return Actor.system_actor("api", org_id=organization.id)


@hookimpl
def casekit_lookup_shipment(
    kit: CaseKit, organization: Any, reference: str
) -> ShipmentFacts | None:
    """A shipment the organization ships or carries, by reference or tracking number."""
    try:
        return kit.shipments.shipment(_as(organization), reference)
    except NotFound:
        return None


@hookimpl
def casekit_lookup_order(kit: CaseKit, organization: Any, number: str) -> OrderFacts | None:
    """One of the shipper's imported orders."""
    try:
        return kit.shipments.order(_as(organization), number)
    except NotFound:
        return None


@click.command("orders")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--shipper",
    help="External id of the shipper the rows belong to (default: each row's shipper column).",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file mapping casekit's fields to the file's column names.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "jsonl"]),
    help="The file's format (default: by its suffix).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rejected rows here as CSV (line, key, reason); print only the first 20.",
)
@click.pass_context
def import_orders(
    ctx: click.Context,
    file: Path,
    shipper: str | None,
    mapping: Path | None,
    format_: str | None,
    rejects: Path | None,
) -> None:
    """Import FILE, a storefront's order and shipment export (CSV or JSON Lines).

    Rows are upserted: importing the same file again changes nothing. Bad rows
    are reported with their line and reason; the good rows are imported.
    """
    if rejects is not None:  # found out before the import, not after it
        try:
            rejects.write_text("")
        except OSError as error:
            raise click.ClickException(f"{rejects} cannot be written: {error.strerror}") from None
    with open_kit(ctx) as kit:
        try:
            with progress("Importing", length=count_rows(file)) as bar:
                report = import_file(
                    kit,
                    file,
                    shipper=shipper,
                    mapping=mapping,
                    format=format_,
                    progress=bar.advance,
                )
        except InvalidInput as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"{report.rows} rows: orders {report.orders_created} created, "
        f"{report.orders_updated} updated; shipments {report.shipments_created} created, "
        f"{report.shipments_updated} updated; {report.unchanged} unchanged; "
        f"{len(report.rejected)} rejected"
    )
    # Every reject is printed, or the first 20 when the rejects file has them all.
    shown = report.rejected if rejects is None else report.rejected[:20]
    for row in shown:
        click.echo(f"  line {row.line} ({row.key or '-'}): {row.reason}", err=True)
    if len(shown) < len(report.rejected):
        click.echo(f"  ... and {len(report.rejected) - len(shown)} more in {rejects}", err=True)
    if rejects is not None:
        report.write_rejects(rejects)
        click.echo(f"rejected rows written to {rejects}")
    if report.rejected:
        ctx.exit(1)


@hookimpl
def casekit_add_cli_commands(cli: click.Group) -> None:
    group = cli.commands.get("import")
    if not isinstance(group, click.Group):
        group = click.Group("import", help="Import data from files into casekit.")
        cli.add_command(group)
    group.add_command(import_orders)
