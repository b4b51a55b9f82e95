"""``flask casekit ...``: the casekit command's commands on the app's kit."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from casekit import Actor, CaseKit
from casekit_flask import CaseKitFlask


def host_app(url: str, tmp_path: Path) -> Flask:
    """A host app whose casekit is on ``url`` (not the environment's database)."""
    app = Flask("host")
    app.config["SECRET_KEY"] = "a host's secret of enough characters"
    kit = CaseKit(url, load_entry_points=False, attachment_dir=tmp_path / "attachments")
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    return app


@pytest.fixture
def app(tmp_path, monkeypatch):
    # The environment names another database: the commands must not use it.
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'environment.sqlite3'}")
    app = host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}", tmp_path)
    yield app
    app.extensions["casekit"].kit.close()


def test_the_commands_run_on_the_apps_kit(app, tmp_path):
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["casekit", "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert "casekit schema at" in upgraded.stdout
    assert (tmp_path / "host.sqlite3").is_file()
    current = runner.invoke(args=["casekit", "db", "current"])
    assert current.exit_code == 0, current.output
    assert "(up to date)" in current.stdout
    kit = app.extensions["casekit"].kit
    kit.directory.add_organization(Actor.host(), name="Acme", role="shipper", external_id="acme")
    made = runner.invoke(args=["casekit", "api-keys", "create", "acme", "--name", "TMS"])
    assert made.exit_code == 0, made.output
    assert kit.api_keys.authenticate(made.stdout.splitlines()[1]).scope == "read"
    swept = runner.invoke(args=["casekit", "rules", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert swept.stdout == "swept 0 shipments due: opened 0 cases\n"
    worked = runner.invoke(args=["casekit", "worker", "--once"])
    assert worked.exit_code == 0, worked.output
    assert not (tmp_path / "environment.sqlite3").exists()


def test_the_group_lists_the_casekit_commands_but_the_ones_with_their_own_database(app):
    result = app.test_cli_runner().invoke(args=["casekit", "--help"])
    assert result.exit_code == 0, result.output
    listed = result.stdout.split("Commands:")[1]
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert {"db", "worker", "rules", "inbound", "api-keys", "case-types", "plugins"} <= names
    assert not names & {"demo", "example"}


def test_a_database_without_casekit_tables_is_one_line_naming_the_apps_setting(tmp_path):
    (tmp_path / "empty.sqlite3").touch()
    app = host_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["casekit", "rules", "sweep"])
    finally:
        app.extensions["casekit"].kit.close()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: the app's casekit database (its kit, or CASEKIT_DATABASE_URL in its config): "
        f"sqlite:///{tmp_path / 'empty.sqlite3'} has no casekit tables: run `casekit db upgrade`"
    ]
