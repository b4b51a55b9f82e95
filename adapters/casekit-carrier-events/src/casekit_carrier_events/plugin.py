"""The casekit plugin: ``casekit import events FILE --format generic|easypost|x12``."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from casekit import InvalidInput, hookimpl
from casekit.cli import open_kit
from casekit.cli_progress import progress
from casekit_carrier_events import easypost, generic, x12
from casekit_carrier_events.common import Batch, record


@click.command("events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    required=True,
    type=click.Choice(["generic", "easypost", "x12"]),
    help="generic JSON (or JSON Lines), an EasyPost webhook payload, or X12 214.",
)
@click.option(
    "--carrier", help="External id of the carrier sending them (default: the host, any shipment)."
)
@click.option("--local-timezone", help="Time zone of X12 times given as local (AT7-07 LT).")
@click.pass_context
def import_events(
    ctx: click.Context,
    file: Path,
    format_: str,
    carrier: str | None,
    local_timezone: str | None,
) -> None:
    """Record the tracking events in FILE; bad events are reported, the rest kept."""
    data = file.read_bytes()
    if format_ == "x12":
        zone = None
        if local_timezone:
            try:
                zone = ZoneInfo(local_timezone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise click.BadParameter(f"unknown time zone {local_timezone!r}") from error
        batch: Batch = x12.parse(data, local_timezone=zone)
    elif format_ == "easypost":
        batch = easypost.parse(data)
    else:
        batch = generic.parse(data)
    with open_kit(ctx) as kit, progress("Recording", length=len(batch.events)) as bar:
        try:
            result = record(kit, batch, carrier=carrier, progress=bar.advance)
        except InvalidInput as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"{result.recorded} recorded, {result.duplicates} duplicates, "
        f"{len(result.rejected)} rejected, {len(result.opened)} case(s) opened, "
        f"{len(result.solved)} solved"
    )
    for bad in result.rejected:
        click.echo(f"  {bad.position}: {bad.reason}", err=True)
    if result.rejected:
        ctx.exit(1)


@hookimpl
def casekit_add_cli_commands(cli: click.Group) -> None:
    group = cli.commands.get("import")
    if not isinstance(group, click.Group):
        group = click.Group("import", help="Import data from files into casekit.")
        cli.add_command(group)
    group.add_command(import_events)
