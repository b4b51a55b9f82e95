"""casekit-flask's commands: ``casekit demo``, and the ``flask casekit`` group.

This module is the distribution's ``casekit`` entry point: it implements
only :func:`~casekit.hookspecs.casekit_add_cli_commands` and imports Flask
only when a command runs. :data:`flask_group` is what
:class:`~casekit_flask.CaseKitFlask` adds to ``app.cli``: the ``casekit``
command's commands, run on the app's kit.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from casekit import hookimpl
from casekit.cli import HOST_KIT, CommandGroup, build_cli


def _check_port(host: str, port: int) -> None:
    """Stop at once, in one line, when the demo could not listen on ``host:port``."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OverflowError) as error:
        raise click.BadParameter(f"{host}:{port}: {error}", param_hint="--host/--port") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As the server will: a port left in TIME_WAIT is free, one in use is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(is another program using the port? choose one with --port)"
            ) from None


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl+C does: the server stops and the temporary folder goes."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo's SQLite file and attachments (kept); a temporary one by default, "
    "removed when the demo stops.",
)
@click.option("--shipments", default=300, show_default=True, type=int, help="Sample shipments.")
@click.option(
    "--screenshots",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Instead of serving: photograph the case list, a case, the portal's list and a "
    "portal case at 1366 and 390 px wide into this folder with /usr/bin/chromium (needs "
    "playwright), then stop.",
)
def demo(
    host: str, port: int, directory: Path | None, shipments: int, screenshots: Path | None
) -> None:
    """Run the demo host: casekit's pages on SQLite with sample data.

    A merchant with two brands, two carriers (one email-only), a second
    shipper (email-only), customers, shipments and cases in every status and
    from every source, spread over the last three months up to today. Switch
    between the demo identities from the banner at the top of every page; the
    mail casekit would send is captured and shown at /demo/mail/ instead. Demo
    only: anyone who can reach the address can act as anyone. Ctrl+C or SIGTERM
    stops it.
    """
    import tempfile

    from casekit_flask.demo import _orderfeed, create_demo_app

    _orderfeed()  # casekit's group reports a missing extra in one line
    if screenshots is not None:
        _screenshots(screenshots, directory, shipments)
        return
    _check_port(host, port)  # before building anything
    with _sigterm_exits(), tempfile.TemporaryDirectory(prefix="casekit-demo-") as tmp:
        folder = directory if directory is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        # The mail's links to cases go to the address the demo is reached at.
        shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
        shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
        try:
            app = create_demo_app(folder, shipments=shipments, base_url=f"http://{shown}:{port}")
        except KeyboardInterrupt:  # stopped while the data loads
            return
        click.echo(f"casekit demo: data in {folder}")
        click.echo(f"open http://{shown}:{port}/ (Ctrl+C stops it)")
        try:
            app.run(host=host, port=port, debug=False, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            app.extensions["casekit_demo"].stop()
            app.extensions["casekit"].kit.close()


def _screenshots(folder: Path, directory: Path | None, shipments: int) -> None:
    """``casekit demo --screenshots``: build the demo, photograph its pages, stop."""
    import tempfile

    from casekit_flask.demo import create_demo_app
    from casekit_flask.demo_screenshots import take_screenshots

    with tempfile.TemporaryDirectory(prefix="casekit-demo-") as tmp:
        data = directory if directory is not None else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        app = create_demo_app(data, shipments=shipments, deliver=False)
        try:
            for path in take_screenshots(app, folder):
                click.echo(str(path))
        finally:
            app.extensions["casekit"].kit.close()


@hookimpl
def casekit_add_cli_commands(cli: click.Group) -> None:
    cli.add_command(demo)


#: The ``casekit`` commands that make no sense on a host's kit: they run their own.
NOT_ON_THE_HOST = frozenset({"demo", "example"})


class FlaskCommandGroup(CommandGroup):
    """``flask casekit``: the ``casekit`` command's commands, on the app's kit.

    The commands are those of ``casekit`` (its plugins' included) but
    ``demo`` and ``example``; they use ``current_app.extensions["casekit"].kit``
    and its settings instead of ``--database-url`` and the environment.
    """

    def _commands(self) -> dict[str, click.Command]:
        return {
            name: command
            for name, command in build_cli().commands.items()
            if name not in NOT_ON_THE_HOST
        }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._commands())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._commands().get(cmd_name)

    def database_setting(self, ctx: click.Context) -> str:
        return "the app's casekit database (its kit, or CASEKIT_DATABASE_URL in its config)"


def _app_kit() -> Any:
    from flask import current_app

    state = current_app.extensions.get("casekit")
    if state is None:
        raise click.UsageError(
            "the app has no casekit: call CaseKitFlask(app) or ext.init_app(app) in its factory"
        )
    return state.kit


@click.group("casekit", cls=FlaskCommandGroup)
@click.pass_context
def flask_group(ctx: click.Context) -> None:
    """casekit's commands on this app's kit (its database and settings)."""
    from flask import current_app
    from flask.cli import ScriptInfo

    if not current_app:  # as flask.cli.with_appcontext does, for every subcommand
        app = ctx.ensure_object(ScriptInfo).load_app()
        ctx.with_resource(app.app_context())
    ctx.meta[HOST_KIT] = _app_kit
