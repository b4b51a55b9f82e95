"""The ``casekit demo`` command, added to the ``casekit`` CLI through the plugin hook.

This module is the distribution's ``casekit`` entry point: it implements
only :func:`~casekit.hookspecs.casekit_add_cli_commands` and imports Flask
only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from casekit import hookimpl


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo's SQLite file and attachments (kept); a temporary one by default.",
)
@click.option("--shipments", default=300, show_default=True, type=int, help="Sample shipments.")
def demo(host: str, port: int, directory: Path | None, shipments: int) -> None:
    """Run the demo host: casekit's pages on SQLite with sample data.

    A merchant with two brands, two carriers (one email-only), customers,
    shipments and cases in every status. Switch between the demo identities
    from the banner at the top of every page; the mail casekit would send is
    captured and shown at /demo/mail/ instead. Demo only: anyone who can reach
    the address can act as anyone.
    """
    import tempfile

    from casekit_flask.demo import create_demo_app

    with tempfile.TemporaryDirectory(prefix="casekit-demo-") as tmp:
        folder = directory if directory is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        app = create_demo_app(folder, shipments=shipments)  # casekit's group reports its errors
        click.echo(f"casekit demo: data in {folder}")
        click.echo(f"open http://{host}:{port}/ (Ctrl+C stops it)")
        app.run(host=host, port=port, debug=False, use_reloader=False)


@hookimpl
def casekit_add_cli_commands(cli: click.Group) -> None:
    cli.add_command(demo)
