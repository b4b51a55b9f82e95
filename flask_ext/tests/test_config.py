"""Where a Flask host's kit gets its settings: the kit handed over, ``app.config``,
the environment, the app's instance folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app
from flask import Flask

from casekit import CaseKit
from casekit.errors import ConfigurationError
from casekit.sample import World
from casekit_flask import CaseKitFlask
from casekit_flask.config import app_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "flask"


@pytest.fixture(autouse=True)
def _no_casekit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the ``CASEKIT_*`` variables it means (the test run may have others)."""
    for name in list(os.environ):
        if name.startswith("CASEKIT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def built() -> Iterator[list[CaseKit]]:
    """The kits the extension built in a test, closed after it."""
    kits: list[CaseKit] = []
    yield kits
    for kit in kits:
        kit.close()


def host(tmp_path: Path, **config: Any) -> Flask:
    app = Flask("config_host", instance_path=str(tmp_path / "instance"))
    app.config.update({"SECRET_KEY": "test", "CASEKIT_LOAD_ENTRY_POINTS": False, **config})
    return app


def start(app: Flask, built: list[CaseKit], **options: Any) -> CaseKit:
    CaseKitFlask(app, identity_loader=lambda: None, **options)
    kit: CaseKit = app.extensions["casekit"].kit
    built.append(kit)
    return kit


def test_the_case_number_prefix_comes_from_app_config(tmp_path, built):
    app = host(
        tmp_path,
        CASEKIT_DATABASE_URL=f"sqlite:///{tmp_path / 'cases.sqlite3'}",
        CASEKIT_CASE_NUMBER_PREFIX="ZZ",
    )
    kit = start(app, built)
    kit.create_schema()
    world = World.build(kit)
    case = kit.cases.open(world.shipper_actor, type="lost")
    assert case.number == "ZZ000001"
    assert str(kit.engine.url) == f"sqlite:///{tmp_path / 'cases.sqlite3'}"


def test_every_core_setting_comes_from_app_config(tmp_path, built):
    kit = start(
        host(
            tmp_path,
            CASEKIT_SMTP_HOST="smtp.example.test",
            CASEKIT_MAIL_FROM="cases@example.test",
            CASEKIT_REPLY_ADDRESS="reply@inbound.example.test",
            CASEKIT_CASE_URL="https://ops.example.test/cases/{number}",
            CASEKIT_NOTIFY_MAX_ATTEMPTS="3",
        ),
        built,
    )
    settings = kit.settings
    assert settings.smtp_host == "smtp.example.test"
    assert settings.mail_from == "cases@example.test"
    assert settings.reply_address == "reply@inbound.example.test"
    assert settings.case_url == "https://ops.example.test/cases/{number}"
    assert settings.notify_max_attempts == 3  # a string converts as a variable does
    assert settings.load_entry_points is False


def test_app_config_wins_over_the_environment(tmp_path, built, monkeypatch):
    monkeypatch.setenv("CASEKIT_SMTP_HOST", "smtp.env.test")
    monkeypatch.setenv("CASEKIT_MAIL_FROM", "env@example.test")
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    kit = start(host(tmp_path, CASEKIT_SMTP_HOST="smtp.config.test"), built)
    assert kit.settings.smtp_host == "smtp.config.test"
    assert kit.settings.mail_from == "env@example.test"  # not in app.config: the environment's
    assert kit.settings.database_url == f"sqlite:///{tmp_path / 'env.sqlite3'}"
    assert not (tmp_path / "instance").exists()  # the default database is not used


def test_keyword_arguments_win_over_app_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEKIT_SMTP_PORT", "2500")
    app = host(tmp_path, CASEKIT_SMTP_HOST="smtp.config.test", CASEKIT_SMTP_PORT=2525)
    settings = app_settings(app, smtp_host="smtp.kwargs.test")
    assert (settings.smtp_host, settings.smtp_port) == ("smtp.kwargs.test", 2525)


def test_native_config_values_are_taken_as_they_are(tmp_path, built):
    kit = start(
        host(
            tmp_path,
            CASEKIT_SMTP_PORT=2525,
            CASEKIT_WEBHOOK_ALLOW_HTTP_LOOPBACK=True,
            CASEKIT_PLUGINS_BLOCK=["noisy", "old"],
            CASEKIT_INBOUND_REPLY_LANGUAGES=("en", "de"),
            CASEKIT_ATTACHMENT_DIR=tmp_path / "files",
            CASEKIT_REPLY_SECRETS=["0123456789abcdef0123"],
        ),
        built,
    )
    settings = kit.settings
    assert settings.smtp_port == 2525
    assert settings.webhook_allow_http_loopback is True
    assert settings.plugins_block == ("noisy", "old")
    assert settings.inbound_reply_languages == ("en", "de")
    assert settings.attachment_dir == tmp_path / "files"
    assert settings.reply_secrets == ("0123456789abcdef0123",)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("CASEKIT_SMTP_PORT", "twenty-five", "invalid literal"),
        ("CASEKIT_SMTP_PORT", True, "not a whole number"),
        ("CASEKIT_SMTP_PORT", -1, "must be 0 or more"),
        ("CASEKIT_LOAD_ENTRY_POINTS", 1, "not a boolean"),
        ("CASEKIT_LOAD_ENTRY_POINTS", "maybe", "not a boolean"),
        ("CASEKIT_PLUGINS_BLOCK", [1, 2], "not a list of strings"),
        ("CASEKIT_CASE_NUMBER_PREFIX", "Z-Z", "1 to 8 ASCII letters or digits"),
        ("CASEKIT_MAIL_FROM", 42, "not a string"),
    ],
)
def test_a_bad_value_names_its_key_and_changes_nothing(tmp_path, key, value, says):
    app = host(tmp_path, **{key: value})
    with pytest.raises(ConfigurationError, match=f"^{key}: .*{says}"):
        CaseKitFlask(app, identity_loader=lambda: None)
    assert "casekit" not in app.extensions
    assert not app.blueprints


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("CASEKIT_SMTP_HOTS", "CASEKIT_SMTP_HOST"),
        ("CASEKIT_CASE_NUMBER_PREFX", "CASEKIT_CASE_NUMBER_PREFIX"),
        ("CASEKIT_STAFF_PREFIX", "CASEKIT_STAFF_URL_PREFIX"),
        ("CASEKIT_DATABASE_URI", "CASEKIT_DATABASE_URL"),
    ],
)
def test_a_misspelled_key_fails_with_the_closest_one(tmp_path, key, suggestion):
    app = host(tmp_path, **{key: "x"})
    with pytest.raises(ConfigurationError, match=f"{key}.*did you mean {suggestion}\\?"):
        CaseKitFlask(app, identity_loader=lambda: None)
    assert "casekit" not in app.extensions
    assert not app.blueprints


def test_unknown_environment_variables_are_left_alone(tmp_path, built, monkeypatch):
    monkeypatch.setenv("CASEKIT_TEST_SOMETHING", "1")
    monkeypatch.setenv("CASEKIT_SMTP_HOTS", "typo.test")
    kit = start(host(tmp_path), built)
    assert kit.settings.smtp_host == "localhost"


def test_the_keys_of_the_api_document_and_the_demo_are_known(tmp_path, built):
    start(
        host(
            tmp_path,
            CASEKIT_API_TITLE="Cases",
            CASEKIT_OPENAPI_SWAGGER_UI_PATH="/docs",
            CASEKIT_DEMO_IDENTITIES={},
        ),
        built,
    )


def test_without_a_database_url_the_app_uses_its_instance_folder(tmp_path, built, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = host(tmp_path)
    assert not (tmp_path / "instance").exists()
    kit = start(app, built)
    kit.create_schema()
    instance = tmp_path / "instance"
    assert kit.settings.database_url == f"sqlite:///{instance / 'casekit.sqlite3'}"
    assert (instance / "casekit.sqlite3").is_file()
    assert kit.settings.attachment_dir == instance / "casekit-attachments"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance"]  # nothing in the cwd


def test_init_app_takes_the_hosts_kit(kit, world):
    app = Flask("own_kit")
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    other = CaseKit("sqlite://", load_entry_points=False)
    ext = CaseKitFlask(kit=other, identity_loader=lambda: world.shipper_actor)
    ext.init_app(app, kit=kit)  # init_app's kit wins for this app
    other.close()
    assert app.extensions["casekit"].kit is kit
    created = app.test_client().post("/cases/new", data={"type": "lost"})
    assert created.status_code == 302
    assert kit.cases.get(world.shipper_actor, created.headers["Location"].split("/")[-1])


def test_a_kit_and_a_setting_in_app_config_that_differs_are_refused(kit):
    prefix = kit.settings.case_number_prefix
    app = Flask("both")
    app.config.update(SECRET_KEY="test", CASEKIT_CASE_NUMBER_PREFIX="ZZ")
    with pytest.raises(ConfigurationError, match=r"CASEKIT_CASE_NUMBER_PREFIX.*kit"):
        CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    assert not app.blueprints
    same = make_app(
        kit, CASEKIT_CASE_NUMBER_PREFIX=prefix, CASEKIT_SMTP_PORT=str(kit.settings.smtp_port)
    )
    assert same.extensions["casekit"].kit is kit


def test_the_documented_example_prints_what_the_docs_show(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEKIT_")}
    env["CASEKIT_SMTP_HOST"] = "smtp.internal.example"
    env["CASEKIT_CASE_NUMBER_PREFIX"] = "ENV"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "settings_precedence.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (EXAMPLES / "settings_precedence.out").read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == []  # nothing written in the current directory
