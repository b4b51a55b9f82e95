"""The ``casekit`` command. Plugins add subcommands with ``casekit_add_cli_commands``."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import attrs
import click
from click.core import ParameterSource

from casekit.cli_progress import progress
from casekit.errors import CaseKitError, ConfigurationError, DatabaseUnavailable
from casekit.settings import Settings, default_database_url

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from casekit.kit import CaseKit

#: The key in ``ctx.meta`` of a command's exit status for a configuration error (2 otherwise).
CONFIGURATION_ERROR_STATUS = "casekit.configuration_error_status"
#: The key in ``ctx.meta`` of a function giving the host's kit: a group that
#: sets it (``flask casekit``) runs the commands on that kit instead of
#: building one from ``--database-url`` and the environment.
HOST_KIT = "casekit.host_kit"


def _options(ctx: click.Context) -> dict[str, Any]:
    """The root command's options (none under a host's group)."""
    return ctx.find_object(dict) or {}


def _host_kit(ctx: click.Context) -> CaseKit | None:
    get = ctx.meta.get(HOST_KIT)
    return get() if get is not None else None


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    host = _host_kit(ctx)
    if host is not None:
        return attrs.evolve(host.settings, **overrides)
    if _options(ctx).get("database_url"):
        overrides.setdefault("database_url", _options(ctx)["database_url"])
    return Settings.from_env(**overrides)


@contextmanager
def _engine(url: str, *, tables: bool, create: bool = False) -> Iterator[Engine]:
    """An engine on ``url``, refused at once when casekit cannot use its database.

    With ``tables``, casekit's tables must be there and up to date too. A
    SQLite file that does not exist is refused, and not created, unless
    ``create``.
    """
    from casekit.store.database import check_database, create_casekit_engine

    engine = create_casekit_engine(url)
    try:
        check_database(engine, tables=tables, create=create)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _database(ctx: click.Context, *, tables: bool, create: bool = False) -> Iterator[Engine]:
    """The engine of the command's database: the host's kit's, or one on ``--database-url``."""
    host = _host_kit(ctx)
    if host is None:
        with _engine(_settings(ctx).database_url, tables=tables, create=create) as engine:
            yield engine
        return
    from casekit.store.database import check_database

    check_database(host.engine, tables=tables, create=create)
    yield host.engine


@contextmanager
def open_kit(
    ctx: click.Context, *, tables: bool = True, create: bool = False, **overrides: Any
) -> Iterator[CaseKit]:
    """A kit on the database the ``casekit`` command was given, for a subcommand.

    The database is checked first, so that a URL, server or schema casekit
    cannot use stops the command with one line naming the setting and the
    fix (``--debug`` shows the traceback). ``tables=False`` skips the check
    of casekit's tables, for a command that makes them, and ``create``
    lets it create a SQLite file that does not exist; ``overrides`` are
    settings that win over the environment's.
    """
    from casekit.kit import CaseKit

    host = _host_kit(ctx)
    if host is not None:  # the host's kit: checked, used, and left open for the host
        from casekit.store.database import check_database

        check_database(host.engine, tables=tables, create=create)
        yield host
        return
    settings = _settings(ctx, **overrides)
    with (
        _engine(settings.database_url, tables=tables, create=create) as engine,
        CaseKit(settings=settings, engine=engine) as kit,
    ):
        yield kit


def _database_url_source(ctx: click.Context) -> str:
    """Where the command's database URL came from, as the user would set it."""
    source = ctx.get_parameter_source("database_url")
    if source is ParameterSource.COMMANDLINE:
        return "--database-url"
    if source is ParameterSource.ENVIRONMENT:
        return "CASEKIT_DATABASE_URL"
    return f"CASEKIT_DATABASE_URL, not set (so {default_database_url()})"


class CommandGroup(click.Group):
    """A group of casekit's commands: a configuration error is one line on stderr.

    Not a traceback (``--debug`` shows it). The line names where the
    database URL came from (:meth:`database_setting`).
    """

    def database_setting(self, ctx: click.Context) -> str:
        """The setting that gave the database URL, as the user would set it."""
        return _database_url_source(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as error:
            if _options(ctx).get("debug"):
                raise
            message = str(error)
            if isinstance(error, DatabaseUnavailable):
                message = f"{self.database_setting(ctx)}: {error.reason}"
            click.echo(f"Error: {' '.join(message.split())}", err=True)
            ctx.exit(ctx.meta.get(CONFIGURATION_ERROR_STATUS, 2))


@click.group(cls=CommandGroup)
@click.option(
    "--database-url",
    envvar="CASEKIT_DATABASE_URL",
    help="SQLAlchemy URL of casekit's database [env: CASEKIT_DATABASE_URL].",
)
@click.option(
    "--debug", is_flag=True, help="Show a configuration error's traceback instead of one line."
)
@click.version_option(package_name="casekit")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, debug: bool) -> None:
    """casekit: case management for shippers, carriers and their customers.

    A setting casekit cannot use (a database it cannot reach, or whose
    tables are missing) stops a command with one line naming the setting
    and the fix, and exit status 2 (75 for `inbound read`).
    """
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url
    ctx.obj["debug"] = debug


@cli.group()
def db() -> None:
    """Create and upgrade casekit's tables."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Bring casekit's tables to the newest schema (safe to run again).

    A SQLite file that does not exist is created. On a terminal a bar shows
    each migration as it runs.
    """
    from casekit.store import migrate

    with _database(ctx, tables=False, create=True) as engine:
        steps = migrate.pending(engine, revision)
        with progress("Migrating", length=steps) as bar:
            migrate.upgrade(engine, revision, progress=bar.step)
        ran = f"{steps} migration{'s' if steps != 1 else ''} run"
        click.echo(f"casekit schema at {migrate.current(engine)} ({ran})")


@db.command("downgrade")
@click.argument("revision")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Go back to REVISION ("base" removes casekit's tables and their data)."""
    from casekit.store import migrate

    with _database(ctx, tables=False) as engine:
        migrate.downgrade(engine, revision)
        click.echo(f"casekit schema at {migrate.current(engine) or 'base'}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the schema revision of the database and whether it is the newest.

    Exit status 1 when it is behind; a SQLite file that does not exist is an
    error (status 2), and is not created.
    """
    from casekit.store import fulltext, migrate

    with _database(ctx, tables=False) as engine:
        now, newest = migrate.current(engine), migrate.head(engine)
        with engine.connect() as conn:
            built = fulltext.language(conn) if now == newest else None
    state = "up to date" if now == newest else f"newest is {newest}; run `casekit db upgrade`"
    click.echo(f"{now or 'empty (no casekit tables)'} ({state})")
    wanted = _settings(ctx).search_language
    if built is not None and built != wanted:
        click.echo(
            f"the search indexes hold {built!r} words, search_language is {wanted!r}:"
            " run `casekit db rebuild-search`"
        )
    if now != newest:
        sys.exit(1)


@db.command("rebuild-search")
@click.option(
    "--language",
    help="A PostgreSQL text search configuration [default: the search_language setting,"
    " CASEKIT_SEARCH_LANGUAGE].",
)
@click.pass_context
def db_rebuild_search(ctx: click.Context, language: str | None) -> None:
    """Make PostgreSQL's full-text search indexes again, in the search language.

    They hold each word in one language's form: after changing
    search_language, run this (a search in another language than its indexes'
    reads every row). Writes wait while the indexes are made. SQLite's and
    MariaDB's words have no language: there is nothing to rebuild.
    """
    from casekit.store import fulltext

    wanted = language or _settings(ctx).search_language
    try:
        fulltext.check_language(wanted)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--language") from None
    with _database(ctx, tables=True) as engine, engine.begin() as conn:
        before = fulltext.language(conn)
        rebuilt = fulltext.rebuild(conn, wanted)
        after = fulltext.language(conn)
    if rebuilt:
        click.echo(f"search indexes rebuilt in {after!r} (they were in {before!r})")
    else:
        click.echo(f"nothing to rebuild: {engine.dialect.name}'s search words have no language")


@cli.command()
@click.pass_context
def example(ctx: click.Context) -> None:
    """Open, work and solve a case, and print its timeline.

    Uses a fresh temporary SQLite database, removed afterwards, unless one is
    named before the command (`casekit --database-url URL example`, or
    CASEKIT_DATABASE_URL); its attachments are always temporary.
    """
    from casekit.example import run_example

    with tempfile.TemporaryDirectory(prefix="casekit-example-") as tmp:
        url = _options(ctx).get("database_url") or f"sqlite:///{Path(tmp) / 'example.sqlite3'}"
        with open_kit(
            ctx,
            tables=False,
            create=True,
            database_url=url,
            attachment_dir=Path(tmp) / "attachments",
        ) as kit:
            run_example(kit, click.echo)


@cli.command()
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (for cron).")
@click.option(
    "--max-batches", type=click.IntRange(min=1), default=None, help="Stop after this many batches."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Notifications claimed at a time [default: CASEKIT_WORKER_BATCH_SIZE].",
)
@click.option(
    "--lease-seconds",
    type=click.IntRange(min=1),
    default=None,
    help="How long a claim holds without renewal; renewed every third of it while a batch "
    "is delivered [default: CASEKIT_WORKER_LEASE_SECONDS].",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as one JSON object each (casekit.logs.JsonFormatter).",
)
@click.option(
    "--metrics",
    is_flag=True,
    help="Count deliveries for Prometheus (casekit[metrics]); with PROMETHEUS_MULTIPROC_DIR "
    "shared with the web processes, their metrics endpoint shows them.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    once: bool,
    max_batches: int | None,
    batch_size: int | None,
    lease_seconds: int | None,
    log_format: str,
    metrics: bool,
) -> None:
    """Deliver the notifications and webhook requests in the outbox.

    Runs until interrupted, pausing CASEKIT_WORKER_POLL_SECONDS when nothing
    is due. Several workers may run at once on PostgreSQL or MariaDB 10.6+;
    on SQLite run one. A worker holds the rows it claimed with a lease that
    it renews while it delivers them: when it dies (even by SIGKILL), another
    worker sends them once the lease lapses.
    It also sweeps the service-level clocks and the freight claims' clocks for
    warnings when it starts and every CASEKIT_SLA_SWEEP_SECONDS (0: never).
    """
    import logging
    import signal

    with open_kit(ctx) as kit:
        if log_format == "json":
            from casekit.logs import configure

            handler = configure(json=True, logger="")
            ctx.call_on_close(lambda: logging.getLogger().removeHandler(handler))
        else:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        if metrics:
            from casekit.metrics import CaseKitMetrics

            counting = CaseKitMetrics(kit)
            ctx.call_on_close(counting.close)
        runner = kit.notifications.worker(
            batch_size=batch_size, lease_seconds=lease_seconds, sweep=True
        )
        logging.getLogger(__name__).info(
            "casekit worker: batches of %d, a lease of %d s renewed every %.3g s",
            runner.batch_size,
            runner.lease_seconds,
            runner.lease_seconds / 3,
        )

        def stop(_signum: int, _frame: object) -> None:
            runner.stopping.set()

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            batches = runner.run(once=once, max_batches=max_batches)
        except KeyboardInterrupt:
            batches = 0
        finally:
            signal.signal(signal.SIGTERM, previous)
        click.echo(f"casekit worker: {batches} batch(es) delivered")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
@click.pass_context
def health(ctx: click.Context, as_json: bool) -> None:
    """Check the database, casekit's schema and the outbox's lag; exit 1 when one fails.

    For a container's health probe or a deploy script. The outbox fails when
    a due delivery waited longer than CASEKIT_HEALTH_MAX_OUTBOX_LAG_SECONDS.
    A database casekit cannot use (or whose tables are behind) stops it with
    one line and exit status 2, as every command.
    """
    import json

    with open_kit(ctx) as kit:
        report = kit.health()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for check in report.checks:
            click.echo(f"{'ok' if check.ok else 'FAILED':<6} {check.name}: {check.detail}")
    ctx.exit(0 if report.ok else 1)


@cli.command("case-types")
@click.pass_context
def case_types(ctx: click.Context) -> None:
    """List the case type catalogue (built-in and from plugins)."""
    from casekit.kit import CaseKit

    host = _host_kit(ctx)
    with CaseKit(settings=_settings(ctx)) if host is None else nullcontext(host) as kit:
        for case_type in kit.case_types.values():
            click.echo(f"{case_type.code:24} {case_type.label}")


@cli.command()
@click.pass_context
def plugins(ctx: click.Context) -> None:
    """List the registered plugins and the hooks each implements."""
    from casekit.plugins import make_plugin_manager

    host = _host_kit(ctx)
    pm = make_plugin_manager(_settings(ctx)) if host is None else host.plugin_manager
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        click.echo(f"{name}: {', '.join(hooks)}")


@cli.group("api-keys")
def api_keys() -> None:
    """Create, list and revoke organizations' API keys (as the host)."""


def _org_id(kit: Any, external_id: str) -> int:
    """The id of the organization the host knows as ``external_id``."""
    from casekit.domain.actor import Actor

    try:
        org = kit.directory.organization_by_external_id(Actor.host(), external_id)
    except CaseKitError as error:
        raise click.BadParameter(f"no organization {external_id!r} ({error})") from error
    return int(org.id)


@api_keys.command("create")
@click.argument("organization")
@click.option("--name", required=True, help="What the key is for, e.g. 'TMS sync'.")
@click.option(
    "--scope", type=click.Choice(["read", "write", "admin"]), default="read", show_default=True
)
@click.pass_context
def api_keys_create(ctx: click.Context, organization: str, name: str, scope: str) -> None:
    """Create a key for ORGANIZATION (its external id); prints the token once."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        try:
            created = kit.api_keys.create(
                Actor.host(), org_id=_org_id(kit, organization), name=name, scope=scope
            )
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"key {created.key.id} ({created.key.public_id}), scope {scope}")
        click.echo(created.token)
        click.echo("Store the token now: casekit keeps only a hash of it.", err=True)


@api_keys.command("list")
@click.argument("organization")
@click.pass_context
def api_keys_list(ctx: click.Context, organization: str) -> None:
    """List the keys of ORGANIZATION (its external id)."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        for key in kit.api_keys.list(Actor.host(), org_id=_org_id(kit, organization)):
            used = key.last_used_at.isoformat() if key.last_used_at else "never used"
            state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
            click.echo(f"{key.id:>6} {key.public_id} {key.scope:6} {state:32} {used:26} {key.name}")


@api_keys.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def api_keys_revoke(ctx: click.Context, key_id: int) -> None:
    """Revoke key KEY_ID: its token is refused from now on."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        try:
            key = kit.api_keys.revoke(Actor.host(), key_id)
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"key {key.id} ({key.public_id}) revoked")


@cli.group()
def inbound() -> None:
    """Take inbound email: an SMTP/LMTP receiver, an IMAP mailbox, or one message at a time."""


def _print_result(result: Any, name: str = "") -> None:
    prefix = f"{name}: " if name else ""
    parts = [result.outcome.value]
    if result.case_number:
        parts.append(result.case_number)
    if result.reason:
        parts.append(f"({result.reason})")
    click.echo(prefix + " ".join(parts))


@inbound.command("read")
@click.argument(
    "source", default="-", type=click.Path(exists=True, allow_dash=True, path_type=Path)
)
@click.option("--sender", "envelope_from", help="The envelope sender (Postfix: ${sender}).")
@click.option(
    "--recipient",
    "envelope_to",
    multiple=True,
    help="An envelope recipient (Postfix: ${original_recipient}); repeat for several.",
)
@click.option("--maildir", is_flag=True, help="SOURCE is a maildir: read every message in it.")
@click.pass_context
def inbound_read(
    ctx: click.Context,
    source: Path,
    envelope_from: str | None,
    envelope_to: tuple[str, ...],
    maildir: bool,
) -> None:
    """Take one message from SOURCE (a file, or - for standard input).

    For an MTA's pipe transport. The exit status follows sysexits: 0 when
    casekit has the message, 69 when it refuses it for good (too large),
    75 when it could not take it now and the MTA should try again (also
    when casekit's settings or database are unusable).
    """
    from casekit.services.inbound import Outcome

    ctx.meta[CONFIGURATION_ERROR_STATUS] = 75  # the MTA keeps the message and tries again
    status = 0
    with open_kit(ctx) as kit:
        if maildir:
            import mailbox

            if not (source / "cur").is_dir() or not (source / "new").is_dir():
                raise click.BadParameter(f"{source} is not a maildir", param_hint="SOURCE")

            box = mailbox.Maildir(source, factory=None, create=False)
            for key in sorted(box.keys()):
                with box.get_file(key) as message:
                    result = kit.inbound.receive(
                        cast(BinaryIO, message), envelope_to=list(envelope_to)
                    )
                _print_result(result, key)
            return
        if str(source) == "-":
            result = kit.inbound.receive(
                sys.stdin.buffer, envelope_from=envelope_from, envelope_to=list(envelope_to)
            )
        else:
            with source.open("rb") as message:
                result = kit.inbound.receive(
                    message, envelope_from=envelope_from, envelope_to=list(envelope_to)
                )
        _print_result(result)
        if result.outcome is Outcome.REJECTED and result.reason:
            if "larger than" in result.reason:
                status = 69
            elif result.reason.startswith("could not be processed"):
                status = 75
    sys.exit(status)


@inbound.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, help="Port to listen on.")
@click.option("--lmtp", is_flag=True, help="Speak LMTP instead of SMTP.")
@click.pass_context
def inbound_serve(ctx: click.Context, host: str, port: int, lmtp: bool) -> None:
    """Receive mail over SMTP (or LMTP) from an MTA until stopped."""
    import signal
    import threading

    from casekit.mail.server import InboundServer

    stop = threading.Event()
    with open_kit(ctx) as kit:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # once the database is usable
        server = InboundServer(kit, hostname=host, port=port, lmtp=lmtp)
        server.start()
        click.echo(f"casekit inbound: {'LMTP' if lmtp else 'SMTP'} on {host}:{port}", err=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


@inbound.command("poll")
@click.option("--folder", help="The folder to take mail from [setting: imap_folder].")
@click.option(
    "--move-to", help="Move taken mail to this folder; else flag it \\Seen [setting: imap_move_to]."
)
@click.option("--once", is_flag=True, help="Take what is waiting, then exit.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that read and file the messages [default: one per CPU].",
)
@click.pass_context
def inbound_poll(
    ctx: click.Context, folder: str | None, move_to: str | None, once: bool, workers: int | None
) -> None:
    """Take mail from an IMAP mailbox (Gmail, Microsoft 365, any IMAP server) until stopped.

    The mailbox is named by the imap_* settings; several mailboxes are
    several processes, each with its own settings. Waits with IDLE where
    the server offers it, connects again when the server drops the
    connection, and stops after the messages in hand on SIGTERM. The
    messages fetched are read and filed by --workers processes, each
    message in its own transaction. Exit status 2 when the settings are
    unusable.
    """
    import signal
    import threading

    from casekit.mail.imap import CONNECTION_ERRORS, ImapPoller, Mailbox
    from casekit.mail.imap_workers import default_workers

    stop = threading.Event()
    with open_kit(ctx) as kit:
        mailbox = Mailbox.from_settings(kit.settings, folder=folder, move_to=move_to)
        poller = ImapPoller(kit, mailbox, stop=stop, workers=workers or default_workers())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"casekit inbound: IMAP {mailbox.name}", err=True)
        try:
            poller.run(once=once)
        except KeyboardInterrupt:
            pass
        except CONNECTION_ERRORS as error:  # with --once
            raise click.ClickException(f"IMAP {mailbox.name}: {error}") from error
        click.echo(f"casekit inbound: {poller.taken} messages taken from {mailbox.name}", err=True)


@inbound.command("purge")
@click.pass_context
def inbound_purge(ctx: click.Context) -> None:
    """Delete raw inbound mail older than inbound_retention_days, and stale webhook tokens."""
    with open_kit(ctx) as kit:
        click.echo(f"purged {kit.inbound.purge()} raw messages")
        click.echo(f"purged {kit.inbound.purge_tokens()} stale webhook tokens")


@inbound.group("addresses")
def inbound_addresses() -> None:
    """Organizations' case addresses: mail to one opens cases (as the host).

    In ``update``, an empty value ("") clears an option.
    """


def _print_address(kit: Any, address: Any) -> None:
    from casekit.domain.actor import Actor

    def external(org_id: int | None) -> str:
        if org_id is None:
            return "-"
        return kit.directory.organization(Actor.host(), org_id).external_id or str(org_id)

    click.echo(
        f"{address.email} {address.role.value} {external(address.org_id)}"
        f" type={address.case_type or '(default)'} owner={address.owner_id or '-'}"
        f" partner={external(address.partner_id)} unknown-senders={address.unknown_senders.value}"
    )


def _address_options(
    kit: Any, case_type: str | None, owner: str | None, partner: str | None
) -> Any:
    """The options given on the command line, by ``update``'s rules ("" clears)."""
    from casekit.services.case_addresses import UNCHANGED

    options: dict[str, Any] = {}
    if case_type is not None:
        options["case_type"] = case_type or None
    if owner is not None:
        if owner and not owner.isdigit():
            raise click.BadParameter("a user id", param_hint="--owner")
        options["owner_id"] = int(owner) if owner else None
    if partner is not None:
        options["partner_id"] = _org_id(kit, partner) if partner else None
    return {name: options.get(name, UNCHANGED) for name in ("case_type", "owner_id", "partner_id")}


_TYPE = click.option("--type", "case_type", help="The case type of the cases it opens.")
_OWNER = click.option("--owner", help="The id of the user of the organization who owns them.")
_PARTNER = click.option("--partner", help="An organization of the other role (its external id).")
_UNKNOWN = click.option(
    "--unknown-senders",
    type=click.Choice(["open", "triage"]),
    help="Mail from unknown senders opens a case, or waits in triage.",
)


@inbound_addresses.command("list")
@click.argument("organization", required=False)
@click.pass_context
def inbound_addresses_list(ctx: click.Context, organization: str | None) -> None:
    """List the case addresses of ORGANIZATION (its external id), or of all."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        org_id = _org_id(kit, organization) if organization else None
        for address in kit.case_addresses.list(Actor.host(), org_id):
            _print_address(kit, address)


@inbound_addresses.command("add")
@click.argument("organization")
@click.argument("email")
@_TYPE
@_OWNER
@_PARTNER
@_UNKNOWN
@click.pass_context
def inbound_addresses_add(
    ctx: click.Context,
    organization: str,
    email: str,
    case_type: str | None,
    owner: str | None,
    partner: str | None,
    unknown_senders: str | None,
) -> None:
    """Make EMAIL a case address of ORGANIZATION (its external id)."""
    from casekit.domain.actor import Actor
    from casekit.services.case_addresses import UNCHANGED

    with open_kit(ctx) as kit:
        options = _address_options(kit, case_type, owner, partner)
        try:
            added = kit.case_addresses.add(
                Actor.host(),
                email,
                org_id=_org_id(kit, organization),
                unknown_senders=unknown_senders,
                **{k: v for k, v in options.items() if v is not UNCHANGED},
            )
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
        _print_address(kit, added)


@inbound_addresses.command("update")
@click.argument("email")
@_TYPE
@_OWNER
@_PARTNER
@_UNKNOWN
@click.pass_context
def inbound_addresses_update(
    ctx: click.Context,
    email: str,
    case_type: str | None,
    owner: str | None,
    partner: str | None,
    unknown_senders: str | None,
) -> None:
    """Change the options of case address EMAIL that are given."""
    from casekit.domain.actor import Actor
    from casekit.services.case_addresses import UNCHANGED

    with open_kit(ctx) as kit:
        options = _address_options(kit, case_type, owner, partner)
        try:
            changed = kit.case_addresses.update(
                Actor.host(), email, unknown_senders=unknown_senders or UNCHANGED, **options
            )
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
        _print_address(kit, changed)


@inbound_addresses.command("remove")
@click.argument("email")
@click.pass_context
def inbound_addresses_remove(ctx: click.Context, email: str) -> None:
    """Stop opening cases from mail to EMAIL."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        try:
            kit.case_addresses.remove(Actor.host(), email)
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"removed {email.strip().lower()}")


@cli.group()
def rules() -> None:
    """Shippers' rules: the sweep of time conditions, listing, dry runs."""


@rules.command("sweep")
@click.pass_context
def rules_sweep(ctx: click.Context) -> None:
    """Check every enabled time rule against the clock and open the cases due.

    Idempotent and safe to run from cron on several machines at once. On a
    terminal a bar shows the shipments due as they are worked; the command
    ends with one line: how many it swept, and the cases it opened.
    """
    with open_kit(ctx) as kit, progress("Sweeping") as bar:
        outcome = kit.rules.sweep(progress=bar.report)
    click.echo(sweep_summary(outcome))


def sweep_summary(outcome: Any, shown: int = 20) -> str:
    """One line saying what a sweep did; the first ``shown`` case numbers opened."""
    opened = len(outcome.opened)
    numbers = " ".join(outcome.opened[:shown])
    if opened > shown:
        numbers += f" and {opened - shown} more"
    line = f"swept {outcome.swept} shipment{'s' if outcome.swept != 1 else ''} due: "
    line += f"opened {opened} case{'s' if opened != 1 else ''}"
    if numbers:
        line += f" ({numbers})"
    if outcome.raced:
        line += f", {len(outcome.raced)} opened meanwhile by another sweep"
    if outcome.failed:
        line += f", {len(outcome.failed)} failed (see the log)"
    return line


@cli.group()
def actions() -> None:
    """Delivery appointments and dispositions on cases."""


@actions.command("sweep")
@click.pass_context
def actions_sweep(ctx: click.Context) -> None:
    """Judge the accepted delivery appointments whose window has ended: kept, or
    missed (the shipment exception ``missed_appointment``, which rules act on).

    Run it from cron as often as ``casekit rules sweep``.
    """
    with open_kit(ctx) as kit:
        outcome = kit.actions.sweep()
    click.echo(f"appointments kept: {len(outcome.kept)}, missed: {len(outcome.missed)}")


@cli.group()
def claims() -> None:
    """Freight claims on cases."""


@claims.command("sweep")
@click.pass_context
def claims_sweep(ctx: click.Context) -> None:
    """Write the warnings of the claims' filing, acknowledgment and disposition
    clocks that are due to the outbox, once each.

    Run it from cron as often as ``casekit sla sweep``.
    """
    with open_kit(ctx) as kit:
        outcome = kit.claims.sweep()
    click.echo(
        f"claim clocks warned: {outcome.clocks} ({outcome.due_soon} due soon, "
        f"{outcome.breached} breached), notifications: {outcome.notifications}"
    )


@rules.command("list")
@click.argument("shipper")
@click.pass_context
def rules_list(ctx: click.Context, shipper: str) -> None:
    """List the rules of SHIPPER (its external id), Tier 1 first."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        for rule in kit.rules.list(Actor.host(), org_id=_org_id(kit, shipper)):
            state = "enabled " if rule.enabled else "disabled"
            click.echo(f"{rule.id:6} tier {int(rule.tier)} {state} {rule.name}")


@rules.command("starters")
@click.argument("shipper")
@click.pass_context
def rules_starters(ctx: click.Context, shipper: str) -> None:
    """Add the starter rule set to SHIPPER, disabled (names it has are skipped)."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        added = kit.rules.install_starters(Actor.host(), org_id=_org_id(kit, shipper))
        click.echo(f"added {len(added)} disabled rules")


@rules.command("dry-run")
@click.argument("rule_id", type=int)
@click.pass_context
def rules_dry_run(ctx: click.Context, rule_id: int) -> None:
    """List the shipments RULE_ID would open cases for now (writes nothing)."""
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        try:
            found = kit.rules.dry_run(Actor.host(), rule_id)
        except CaseKitError as error:
            raise click.ClickException(str(error)) from error
    for reference in found:
        click.echo(reference)
    click.echo(f"{len(found)} shipment(s)", err=True)


@cli.group()
def sla() -> None:
    """Service levels: the sweep of the clocks' warnings, recomputing the clocks."""


@sla.command("sweep")
@click.pass_context
def sla_sweep(ctx: click.Context) -> None:
    """Write the service-level warnings that are due to the outbox, and escalate breaches.

    Each warning is written once, however often it runs: safe from cron on
    several machines at once (`casekit worker` also runs it every
    CASEKIT_SLA_SWEEP_SECONDS). Ends with one line saying what it wrote.
    """
    with open_kit(ctx) as kit:
        outcome = kit.service_levels.sweep()
    click.echo(sla_sweep_summary(outcome))


def sla_sweep_summary(outcome: Any) -> str:
    """One line saying what a service-level sweep did."""
    line = (
        f"warned {outcome.clocks} clock{'s' if outcome.clocks != 1 else ''} "
        f"({outcome.due_soon} due soon, {outcome.breached} breached): "
        f"{outcome.notifications} notification{'s' if outcome.notifications != 1 else ''} queued"
    )
    if outcome.escalated:
        line += f", {outcome.escalated} escalated"
    if outcome.raced:
        line += f", {outcome.raced} taken meanwhile by another sweep"
    if outcome.failed:
        line += f", {outcome.failed} failed (see the log)"
    return line


@sla.command("recompute")
@click.option(
    "--organization",
    default=None,
    help="Only this organization's cases (its external id); default: every organization "
    "with targets.",
)
@click.pass_context
def sla_recompute(ctx: click.Context, organization: str | None) -> None:
    """Recompute the clocks of the open cases from their timelines.

    After restoring a backup, changing a plugin's case types, or an upgrade
    that changes how clocks count. Safe while casekit runs: each batch of
    cases is locked while its clocks are rewritten.
    """
    from casekit.domain.actor import Actor

    with open_kit(ctx) as kit:
        org_id = _org_id(kit, organization) if organization is not None else None
        counted = kit.service_levels.recompute(Actor.host(), org_id=org_id)
    click.echo(f"recomputed the clocks of {counted} case{'s' if counted != 1 else ''}")


def _add_network() -> None:
    from casekit.cli_network import network

    cli.add_command(network)


_add_network()


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
