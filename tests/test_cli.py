"""The casekit command, run as a user would: a real subprocess and click's runner."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from click.testing import CliRunner

from casekit import hookimpl
from casekit.cli import build_cli, cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casekit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEKIT_LOAD_ENTRY_POINTS": "false", **(env or {})},
        timeout=120,
        check=False,
    )


def test_db_upgrade_and_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    before = run("--database-url", url, "db", "current")
    assert before.returncode == 1
    assert "empty" in before.stdout
    up = run("--database-url", url, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    now = run("db", "current", env={"CASEKIT_DATABASE_URL": url})
    assert now.returncode == 0
    assert "up to date" in now.stdout
    again = run("--database-url", url, "db", "upgrade")
    assert again.returncode == 0
    down = run("--database-url", url, "db", "downgrade", "base")
    assert down.returncode == 0
    assert "base" in down.stdout


def test_example_plays_a_case(tmp_path):
    result = run("example", env={"CASEKIT_ATTACHMENT_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    shipper, carrier, customer = out.split("sees it")[1:]
    note = "Refund approved if the carrier confirms damage."
    assert note in shipper
    assert note not in carrier
    assert note not in customer
    assert "Please confirm the damage" in carrier
    assert "Please confirm the damage" not in customer
    assert "ZD-88231" in shipper
    assert "ZD-88231" not in carrier
    assert "status Solved" in customer


def test_case_types_and_plugins(tmp_path):
    runner = CliRunner()
    env = {
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
        "CASEKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    types = runner.invoke(cli, ["case-types"], env=env)
    assert types.exit_code == 0
    assert "where_is_my_order" in types.output
    assert "Customer Feedback" in types.output
    plugins = runner.invoke(cli, ["plugins"], env=env)
    assert (
        "casekit.filesystem_storage: casekit_delete_attachment, casekit_open_attachment, "
        "casekit_store_attachment"
    ) in (plugins.output)


def test_bad_setting_is_a_clear_error(tmp_path):
    result = run("case-types", env={"CASEKIT_CASE_NUMBER_PREFIX": "not ok!"})
    assert result.returncode != 0
    assert "case_number_prefix" in result.stderr
    assert "Traceback" not in result.stderr


class GreeterPlugin:
    @hookimpl
    def casekit_add_cli_commands(self, cli: click.Group) -> None:
        @cli.command("hello")
        def hello() -> None:
            click.echo("hello from a plugin")


def test_plugins_add_subcommands(monkeypatch):
    from casekit import plugins

    original = plugins.builtin_plugins
    monkeypatch.setattr(
        plugins, "builtin_plugins", lambda s: [*original(s), ("greeter", GreeterPlugin())]
    )
    group = build_cli()
    try:
        result = CliRunner().invoke(group, ["hello"])
        assert result.output == "hello from a plugin\n"
    finally:
        group.commands.pop("hello", None)


def test_api_keys_from_the_command_line(tmp_path):
    from casekit import Actor, CaseKit

    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        kit.create_schema()
        kit.directory.add_organization(
            Actor.host(), name="Acme", role="shipper", external_id="acme"
        )
    made = run(
        "--database-url", url, "api-keys", "create", "acme", "--name", "TMS", "--scope", "write"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[1]
    assert "keeps only a hash" in made.stderr
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        assert kit.api_keys.authenticate(token).scope == "write"
    listed = run("--database-url", url, "api-keys", "list", "acme")
    assert "TMS" in listed.stdout
    assert "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # the secret may hold "_" itself
    key_id = made.stdout.split()[1]
    revoked = run("--database-url", url, "api-keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run("--database-url", url, "api-keys", "list", "acme").stdout
    unknown = run("--database-url", url, "api-keys", "list", "nobody")
    assert unknown.returncode == 2
    assert "nobody" in unknown.stderr
