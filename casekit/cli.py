"""The ``casekit`` command. Plugins add subcommands with ``casekit_add_cli_commands``."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from casekit.errors import CaseKitError
from casekit.settings import Settings


def _settings(ctx: click.Context) -> Settings:
    overrides: dict[str, Any] = {}
    if ctx.obj and ctx.obj.get("database_url"):
        overrides["database_url"] = ctx.obj["database_url"]
    try:
        return Settings.from_env(**overrides)
    except CaseKitError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _engine(ctx: click.Context) -> Iterator[Any]:
    from casekit.store.database import create_casekit_engine

    engine = create_casekit_engine(_settings(ctx).database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@click.group()
@click.option(
    "--database-url",
    envvar="CASEKIT_DATABASE_URL",
    help="SQLAlchemy URL of casekit's database [env: CASEKIT_DATABASE_URL].",
)
@click.version_option(package_name="casekit")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """casekit: case management for shippers, carriers and their customers."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url


@cli.group()
def db() -> None:
    """Create and upgrade casekit's tables."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Bring casekit's tables to the newest schema (safe to run again)."""
    from casekit.store import migrate

    with _engine(ctx) as engine:
        migrate.upgrade(engine, revision)
        click.echo(f"casekit schema at {migrate.current(engine)}")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Go back to REVISION ("base" removes casekit's tables and their data)."""
    from casekit.store import migrate

    with _engine(ctx) as engine:
        migrate.downgrade(engine, revision)
        click.echo(f"casekit schema at {migrate.current(engine) or 'base'}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the schema revision of the database and whether it is the newest."""
    from casekit.store import migrate

    with _engine(ctx) as engine:
        now, newest = migrate.current(engine), migrate.head(engine)
    state = "up to date" if now == newest else f"newest is {newest}; run `casekit db upgrade`"
    click.echo(f"{now or 'empty (no casekit tables)'} ({state})")
    if now != newest:
        sys.exit(1)


@cli.command()
@click.pass_context
def example(ctx: click.Context) -> None:
    """Open, work and solve a case on SQLite, and print its timeline.

    Uses a fresh temporary database unless --database-url is given.
    """
    from casekit.example import run_example
    from casekit.kit import CaseKit

    with tempfile.TemporaryDirectory(prefix="casekit-example-") as tmp:
        url = (ctx.obj or {}).get("database_url") or f"sqlite:///{Path(tmp) / 'example.sqlite3'}"
        settings = Settings.from_env(database_url=url, attachment_dir=Path(tmp) / "attachments")
        with CaseKit(settings=settings) as kit:
            run_example(kit, click.echo)


@cli.command("case-types")
@click.pass_context
def case_types(ctx: click.Context) -> None:
    """List the case type catalogue (built-in and from plugins)."""
    from casekit.kit import CaseKit

    with CaseKit(settings=_settings(ctx)) as kit:
        for case_type in kit.case_types.values():
            click.echo(f"{case_type.code:24} {case_type.label}")


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List the registered plugins and the hooks each implements."""
    from casekit.plugins import make_plugin_manager

    pm = make_plugin_manager(_settings(ctx))
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        click.echo(f"{name}: {', '.join(hooks)}")


def build_cli() -> click.Group:
    """The root command with the plugins' subcommands added."""
    from casekit.plugins import make_plugin_manager

    try:
        pm = make_plugin_manager(Settings.from_env())
    except CaseKitError as error:
        click.echo(f"casekit: plugins not loaded: {error}", err=True)
        return cli
    pm.hook.casekit_add_cli_commands(cli=cli)
    return cli


def main() -> None:
    build_cli()(prog_name="casekit")
