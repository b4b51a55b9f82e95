"""``casekit network``: the network benchmarks job, from cron or by hand."""

from __future__ import annotations

import click

from casekit.errors import CaseKitError


@click.group()
def network() -> None:
    """Network benchmarks: compute the figures each organization compares itself with."""


@network.command("compute")
@click.option(
    "--period",
    "periods",
    multiple=True,
    metavar="YYYY-MM",
    help="A month to compute (repeat for several); default: the latest CASEKIT_NETWORK_MONTHS.",
)
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Compute this many latest months, this one included.",
)
@click.pass_context
def network_compute(ctx: click.Context, periods: tuple[str, ...], months: int | None) -> None:
    """Compute the network benchmarks and put them in place of the old ones.

    Safe to run from several machines at once: the figures in place are
    always those of the latest read of the cases, never a mixture. Needs
    CASEKIT_NETWORK_BENCHMARKS on. Ends with one line per month.
    """
    from casekit.cli import open_kit
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        try:
            result = kit.network.compute(
                Actor.host(), list(periods) if periods else None, months=months
            )
        except CaseKitError as error:
            raise click.ClickException(str(error)) from None
    for period, written in result.figures.items():
        if written is None:
            click.echo(f"{period}: left to a later run that has written it")
        else:
            click.echo(f"{period}: {written} figure{'s' if written != 1 else ''}")
    click.echo(f"read {result.cases} case{'s' if result.cases != 1 else ''}")
