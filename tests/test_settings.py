"""Settings: defaults, CASEKIT_* variables, overrides, validation."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from casekit import CaseKit, ConfigurationError, FrozenClock, Settings
from casekit.testing import make_kit


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings()
    # The per-user data folder, not the working directory; nothing is made yet.
    assert settings.database_url == f"sqlite:///{tmp_path / 'casekit' / 'casekit.sqlite3'}"
    assert settings.case_number_prefix == "CV"
    assert settings.load_entry_points is True
    assert settings.plugins_allow == ()
    assert settings.plugins_block == ()
    assert settings.attachment_dir == tmp_path / "casekit" / "attachments"
    assert list(tmp_path.iterdir()) == []
    assert settings.max_attachment_bytes == 25 * 1024 * 1024
    assert settings.view_window_months == 13
    assert settings.worker_lease_seconds == 60


def test_an_empty_environment_gives_the_defaults():
    assert Settings.from_env({}) == Settings()


def test_unrelated_variables_are_ignored():
    environ = {"DATABASE_URL": "postgresql://elsewhere", "CASEKIT_NOT_A_SETTING": "x"}
    assert Settings.from_env(environ) == Settings()


def test_from_env_reads_every_field(tmp_path):
    environ = {
        "CASEKIT_DATABASE_URL": "postgresql://casekit@db/cases",
        "CASEKIT_CASE_NUMBER_PREFIX": "AB",
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
        "CASEKIT_PLUGINS_ALLOW": "casekit-shopify, casekit-fedex",
        "CASEKIT_PLUGINS_BLOCK": "casekit-legacy",
        "CASEKIT_ATTACHMENT_DIR": str(tmp_path / "files"),
        "CASEKIT_MAX_ATTACHMENT_BYTES": "1048576",
        "CASEKIT_VIEW_WINDOW_MONTHS": "0",
    }
    settings = Settings.from_env(environ)
    assert settings == Settings(
        database_url="postgresql://casekit@db/cases",
        case_number_prefix="AB",
        load_entry_points=False,
        plugins_allow=("casekit-shopify", "casekit-fedex"),
        plugins_block=("casekit-legacy",),
        attachment_dir=tmp_path / "files",
        max_attachment_bytes=1048576,
        view_window_months=0,
    )
    assert isinstance(settings.attachment_dir, Path)
    assert isinstance(settings.max_attachment_bytes, int)


# One raw value and its parsed setting per field: a new field fails here until
# it is readable from its CASEKIT_* variable.
SAMPLES = {
    "database_url": ("mysql://casekit@db/cases", "mysql://casekit@db/cases"),
    "case_number_prefix": ("CASE", "CASE"),
    "search_language": ("german", "german"),
    "load_entry_points": ("off", False),
    "plugins_allow": ("a,b", ("a", "b")),
    "plugins_block": ("c", ("c",)),
    "attachment_dir": ("/srv/casekit/files", Path("/srv/casekit/files")),
    "max_attachment_bytes": ("2048", 2048),
    "view_window_months": ("6", 6),
    "inbound_retention_days": ("7", 7),
    "inbound_attachment_types": ("image/*, application/pdf", ("image/*", "application/pdf")),
    "inbound_max_message_bytes": ("1000", 1000),
    "inbound_case_type": ("lost", "lost"),
    "inbound_reply_languages": ("en,de", ("en", "de")),
    "inbound_burst_limit": ("0", 0),
    "inbound_burst_minutes": ("30", 30),
    "mail_from": ("cases@acme.example", "cases@acme.example"),
    "reply_address": ("reply@inbound.acme.example", "reply@inbound.acme.example"),
    "reply_secrets": (
        "new-secret-0123456789,old-secret-0123456789",
        ("new-secret-0123456789", "old-secret-0123456789"),
    ),
    "case_url": ("https://acme.example/cases/{number}", "https://acme.example/cases/{number}"),
    "portal_case_url": (
        "https://acme.example/my-account/cases/{number}",
        "https://acme.example/my-account/cases/{number}",
    ),
    "unsubscribe_url": (
        "https://acme.example/unsubscribe/{token}",
        "https://acme.example/unsubscribe/{token}",
    ),
    "smtp_host": ("mail.acme.example", "mail.acme.example"),
    "smtp_port": ("587", 587),
    "smtp_security": ("starttls", "starttls"),
    "smtp_username": ("casekit", "casekit"),
    "smtp_password": ("s3cret", "s3cret"),
    "smtp_timeout": ("10", 10),
    "smtp_ca_file": ("/etc/ssl/company-ca.pem", Path("/etc/ssl/company-ca.pem")),
    "smtp_auth": ("xoauth2", "xoauth2"),
    "oauth_token_url": (
        "https://oauth2.googleapis.com/token",
        "https://oauth2.googleapis.com/token",
    ),
    "oauth_client_id": ("1234.apps.googleusercontent.com", "1234.apps.googleusercontent.com"),
    "oauth_client_secret": ("client-s3cret", "client-s3cret"),
    "oauth_refresh_token": ("1//refresh", "1//refresh"),
    "oauth_scope": ("https://mail.google.com/", "https://mail.google.com/"),
    "oauth_token_keys": ("new-key, old-key", ("new-key", "old-key")),
    "imap_host": ("imap.gmail.com", "imap.gmail.com"),
    "imap_port": ("1993", 1993),
    "imap_security": ("starttls", "starttls"),
    "imap_username": ("cases@acme.example", "cases@acme.example"),
    "imap_password": ("imap-s3cret", "imap-s3cret"),
    "imap_auth": ("xoauth2", "xoauth2"),
    "imap_ca_file": ("/etc/ssl/imap-ca.pem", Path("/etc/ssl/imap-ca.pem")),
    "imap_folder": ("Cases", "Cases"),
    "imap_move_to": ("Cases/Taken", "Cases/Taken"),
    "imap_idle": ("off", False),
    "imap_poll_seconds": ("15", 15),
    "imap_batch_size": ("500", 500),
    "imap_timeout": ("12", 12),
    "notify_max_attempts": ("3", 3),
    "notify_retry_seconds": ("5", 5),
    "notify_retry_max_seconds": ("600", 600),
    "worker_batch_size": ("200", 200),
    "worker_poll_seconds": ("1", 1),
    "worker_lease_seconds": ("20", 20),
    "sla_sweep_seconds": ("0", 0),
    "webhook_timeout": ("3", 3),
    "health_max_outbox_lag_seconds": ("0", 0),
    "replica_url": ("postgresql://casekit@replica/cases", "postgresql://casekit@replica/cases"),
    "replica_max_lag_seconds": ("5", 5),
    "replica_read_your_writes": ("process", "process"),
    "webhook_allow_http_loopback": ("true", True),
    "webhook_allow_private_addresses": ("true", True),
    "webhook_ca_file": ("/etc/casekit/ca.pem", "/etc/casekit/ca.pem"),
    "network_benchmarks": ("on", True),
    "network_min_organizations": ("7", 7),
    "network_max_share_percent": ("40", 40),
    "network_min_cases": ("25", 25),
    "network_months": ("3", 3),
}


def test_every_field_is_read_from_its_variable():
    assert set(SAMPLES) == {f.name for f in attrs.fields(Settings)}
    for name, (raw, expected) in SAMPLES.items():
        variable = f"CASEKIT_{name.upper()}"
        parsed = getattr(Settings.from_env({variable: raw}), name)
        assert parsed == expected, variable
        assert parsed != getattr(Settings(), name), f"{variable}: pick a non-default sample"


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", "on", " On "])
def test_true_booleans(raw):
    assert Settings.from_env({"CASEKIT_LOAD_ENTRY_POINTS": raw}).load_entry_points is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "", "  "])
def test_false_booleans(raw):
    assert Settings.from_env({"CASEKIT_LOAD_ENTRY_POINTS": raw}).load_entry_points is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        (" a , b ,, c ,", ("a", "b", "c")),
        ("", ()),
        (" , ", ()),
    ],
)
def test_comma_lists(raw, expected):
    settings = Settings.from_env({"CASEKIT_PLUGINS_ALLOW": raw, "CASEKIT_PLUGINS_BLOCK": raw})
    assert settings.plugins_allow == expected
    assert settings.plugins_block == expected


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CASEKIT_LOAD_ENTRY_POINTS", "maybe"),
        ("CASEKIT_LOAD_ENTRY_POINTS", "2"),
        ("CASEKIT_MAX_ATTACHMENT_BYTES", "lots"),
        ("CASEKIT_MAX_ATTACHMENT_BYTES", "10MB"),
        ("CASEKIT_MAX_ATTACHMENT_BYTES", "1.5"),
        ("CASEKIT_MAX_ATTACHMENT_BYTES", "0"),
        ("CASEKIT_MAX_ATTACHMENT_BYTES", "-1"),
        ("CASEKIT_VIEW_WINDOW_MONTHS", "-1"),
        ("CASEKIT_VIEW_WINDOW_MONTHS", "a year"),
        ("CASEKIT_CASE_NUMBER_PREFIX", "C-V"),
        ("CASEKIT_CASE_NUMBER_PREFIX", ""),
        ("CASEKIT_CASE_NUMBER_PREFIX", "TOOLONGPREFIX"),
        ("CASEKIT_WORKER_LEASE_SECONDS", "0"),
        ("CASEKIT_WORKER_LEASE_SECONDS", "1m"),
    ],
)
def test_a_bad_value_names_the_variable(variable, raw):
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({variable: raw})
    assert variable in str(info.value)
    assert repr(raw) in str(info.value) or raw in str(info.value)


def test_a_bad_variable_fails_kit_construction(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'k.sqlite3'}")
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "perhaps")
    with pytest.raises(ConfigurationError, match="CASEKIT_LOAD_ENTRY_POINTS"):
        CaseKit()


def test_overrides_win_over_the_environment(tmp_path):
    environ = {
        "CASEKIT_CASE_NUMBER_PREFIX": "AB",
        "CASEKIT_LOAD_ENTRY_POINTS": "yes",
        "CASEKIT_MAX_ATTACHMENT_BYTES": "100",
    }
    settings = Settings.from_env(environ, case_number_prefix="XY", load_entry_points=False)
    assert settings.case_number_prefix == "XY"
    assert settings.load_entry_points is False
    assert settings.max_attachment_bytes == 100  # not overridden: from the environment


def test_overrides_are_validated():
    with pytest.raises(ConfigurationError, match="case_number_prefix"):
        Settings.from_env({}, case_number_prefix="no way")
    with pytest.raises(ConfigurationError, match="max_attachment_bytes"):
        Settings.from_env({}, max_attachment_bytes=0)
    with pytest.raises(ConfigurationError, match="view_window_months"):
        Settings(view_window_months=-1)
    with pytest.raises(ConfigurationError, match="replica_read_your_writes: database or process"):
        Settings.from_env({"CASEKIT_REPLICA_READ_YOUR_WRITES": "redis"})


def test_from_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("CASEKIT_CASE_NUMBER_PREFIX", "ENV")
    assert Settings.from_env().case_number_prefix == "ENV"


@pytest.mark.parametrize("prefix", ["A", "CV", "CASE", "AB12", "ABCDEFGH", "9"])
def test_valid_case_number_prefixes(prefix):
    assert Settings(case_number_prefix=prefix).case_number_prefix == prefix


@pytest.mark.parametrize("prefix", ["", "ABCDEFGHI", "C-V", "C V", "CV ", "ÄB", "C_V", "C/V", "١٢"])
def test_invalid_case_number_prefixes_are_rejected(prefix):
    with pytest.raises(ConfigurationError, match="case_number_prefix"):
        Settings(case_number_prefix=prefix)


def test_settings_are_immutable():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Settings().case_number_prefix = "XY"  # type: ignore[misc]


# -- how CaseKit takes its settings ----------------------------------------------------


def test_kit_reads_the_environment_when_given_no_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("CASEKIT_CASE_NUMBER_PREFIX", "ENV")
    monkeypatch.setenv("CASEKIT_LOAD_ENTRY_POINTS", "0")
    with CaseKit() as kit:
        assert kit.settings.case_number_prefix == "ENV"
        assert kit.settings.load_entry_points is False
        assert kit.engine.url.database == str(tmp_path / "env.sqlite3")
    # keyword overrides and database_url win over the environment
    other = tmp_path / "arg.sqlite3"
    with CaseKit(f"sqlite:///{other}", case_number_prefix="ARG") as kit:
        assert kit.settings.case_number_prefix == "ARG"
        assert kit.settings.load_entry_points is False
        assert kit.engine.url.database == str(other)


def test_kit_with_settings_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEKIT_CASE_NUMBER_PREFIX", "ENV")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'k.sqlite3'}",
        load_entry_points=False,
        case_number_prefix="SET",
    )
    with CaseKit(settings=settings) as kit:
        assert kit.settings is settings
    with CaseKit(settings=settings, case_number_prefix="OVR") as kit:
        assert kit.settings.case_number_prefix == "OVR"
        assert kit.settings.database_url == settings.database_url
    assert settings.case_number_prefix == "SET"


def test_kit_rejects_an_invalid_prefix(tmp_path):
    with pytest.raises(ConfigurationError, match="case_number_prefix"):
        CaseKit(
            f"sqlite:///{tmp_path / 'k.sqlite3'}",
            case_number_prefix="A-B",
            load_entry_points=False,
            clock=FrozenClock(),
        )


def test_case_numbers_use_the_configured_prefix(kit, world, database_url, tmp_path, clock):
    prefixed = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        case_number_prefix="AB",
    )
    try:
        first = prefixed.cases.open(world.shipper_actor, type="lost")
        second = prefixed.cases.open(world.shipper_actor, type="cancel")
    finally:
        prefixed.close()
    assert re.fullmatch(r"AB\d{6}", first.number)
    assert first.number == f"AB{first.id:06d}"
    assert second.number == f"AB{second.id:06d}"
    assert first.number != second.number
    # the default kit on the same database keeps its own prefix
    third = kit.cases.open(world.shipper_actor, type="lost")
    assert third.number == f"CV{third.id:06d}"
    assert kit.cases.get(world.shipper_actor, first.number).id == first.id


@pytest.mark.parametrize(
    ("variable", "raw", "names"),
    [
        ("CASEKIT_SMTP_SECURITY", "tls", "smtp_security"),
        ("CASEKIT_REPLY_ADDRESS", "reply+x@inbound.example", "reply_address"),
        ("CASEKIT_REPLY_ADDRESS", "inbound.example", "reply_address"),
        ("CASEKIT_MAIL_FROM", "nobody", "mail_from"),
        ("CASEKIT_REPLY_SECRETS", "short", "reply_secrets"),
        ("CASEKIT_NOTIFY_MAX_ATTEMPTS", "0", "notify_max_attempts"),
    ],
)
def test_bad_mail_settings_name_their_variable(variable, raw, names):
    with pytest.raises(ConfigurationError, match=variable) as info:
        Settings.from_env({variable: raw})
    assert names in str(info.value)


def test_the_smtp_password_is_not_in_the_settings_repr():
    assert "s3cret" not in repr(Settings(smtp_password="s3cret"))


# -- from_mapping: the environment, a Flask app's config, several at once ------------

#: A value of its own type for each setting, none the default.
NATIVE = {
    "database_url": "postgresql://casekit@db/cases",
    "replica_url": "postgresql://casekit@replica/cases",
    "replica_max_lag_seconds": 5,
    "replica_read_your_writes": "process",
    "case_number_prefix": "ZZ",
    "search_language": "simple",
    "load_entry_points": False,
    "plugins_allow": ("casekit-shopify",),
    "plugins_block": ["casekit-legacy"],
    "attachment_dir": Path("/srv/casekit/files"),
    "max_attachment_bytes": 1024,
    "view_window_months": 0,
    "inbound_retention_days": 7,
    "inbound_attachment_types": ["image/*"],
    "inbound_max_message_bytes": 2048,
    "inbound_case_type": "lost",
    "inbound_burst_limit": 0,
    "inbound_burst_minutes": 30,
    "health_max_outbox_lag_seconds": 60,
    "network_benchmarks": True,
    "network_min_organizations": 7,
    "network_max_share_percent": 40,
    "network_min_cases": 25,
    "network_months": 3,
    "inbound_reply_languages": ("en", "de"),
    "mail_from": "cases@example.test",
    "reply_address": "reply@inbound.example.test",
    "reply_secrets": ["0123456789abcdef0123"],
    "case_url": "https://ops.example.test/cases/{number}",
    "portal_case_url": "https://shop.example.test/my-account/cases/{number}",
    "unsubscribe_url": "https://shop.example.test/unsubscribe/{token}",
    "smtp_host": "smtp.example.test",
    "smtp_port": 2525,
    "smtp_security": "starttls",
    "smtp_username": "casekit",
    "smtp_password": "secret",
    "smtp_timeout": 5,
    "smtp_ca_file": Path("/etc/ssl/company.pem"),
    "smtp_auth": "xoauth2",
    "oauth_token_url": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
    "oauth_client_id": "00000000-aaaa",
    "oauth_client_secret": "client-secret",
    "oauth_refresh_token": "refresh",
    "oauth_scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    "oauth_token_keys": ["key-one"],
    "imap_host": "outlook.office365.com",
    "imap_port": 993,
    "imap_security": "starttls",
    "imap_username": "cases@contoso.example",
    "imap_password": "pw",
    "imap_auth": "xoauth2",
    "imap_ca_file": Path("/etc/ssl/imap.pem"),
    "imap_folder": "Support",
    "imap_move_to": "Taken",
    "imap_idle": False,
    "imap_poll_seconds": 30,
    "imap_batch_size": 50,
    "imap_timeout": 9,
    "notify_max_attempts": 3,
    "notify_retry_seconds": 30,
    "notify_retry_max_seconds": 600,
    "worker_batch_size": 10,
    "worker_poll_seconds": 2,
    "worker_lease_seconds": 45,
    "sla_sweep_seconds": 300,
    "webhook_timeout": 3,
    "webhook_allow_http_loopback": True,
    "webhook_allow_private_addresses": True,
    "webhook_ca_file": "/etc/ssl/hooks.pem",
}


def test_every_setting_takes_a_value_of_its_own_type():
    assert set(NATIVE) == {field.name for field in attrs.fields(Settings)}
    mapping = {"CASEKIT_" + name.upper(): value for name, value in NATIVE.items()}
    settings = Settings.from_mapping(mapping)
    expected = {
        name: tuple(value) if isinstance(value, list) else value for name, value in NATIVE.items()
    }
    assert settings == Settings(**expected)
    for name in NATIVE:
        assert getattr(settings, name) != getattr(Settings(), name), name


def test_a_later_mapping_wins_and_overrides_win_over_all():
    environ = {
        "CASEKIT_SMTP_HOST": "env.test",
        "CASEKIT_SMTP_PORT": "25",
        "CASEKIT_SMTP_TIMEOUT": "9",
    }
    config = {
        "CASEKIT_SMTP_HOST": "config.test",
        "CASEKIT_SMTP_PORT": 2525,
        "CASEKIT_SMTP_TIMEOUT": None,
    }
    settings = Settings.from_mapping(environ, config, smtp_host="kwargs.test")
    assert settings.smtp_host == "kwargs.test"
    assert settings.smtp_port == 2525
    assert settings.smtp_timeout == 9  # None counts as not set


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("CASEKIT_SMTP_PORT", True, "not a whole number"),
        ("CASEKIT_SMTP_PORT", 25.0, "not a whole number"),
        ("CASEKIT_LOAD_ENTRY_POINTS", 0, "not a boolean"),
        ("CASEKIT_PLUGINS_ALLOW", {"a"}, "not a list of strings"),
        ("CASEKIT_PLUGINS_ALLOW", ["a", 1], "not a list of strings"),
        ("CASEKIT_ATTACHMENT_DIR", 3, "not a string"),
        ("CASEKIT_SMTP_HOST", ["a"], "not a string"),
        ("CASEKIT_WORKER_BATCH_SIZE", 0, "must be at least 1"),
        ("CASEKIT_NETWORK_MAX_SHARE_PERCENT", 0, "must be from 1 to 100"),
        ("CASEKIT_NETWORK_MAX_SHARE_PERCENT", "101", "must be from 1 to 100"),
        ("CASEKIT_NETWORK_MIN_ORGANIZATIONS", 0, "must be at least 1"),
        ("CASEKIT_MAIL_FROM", "nobody", "not an email address"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_key(key, value, says):
    with pytest.raises(ConfigurationError, match=f"^{key}: .*{says}"):
        Settings.from_mapping({key: value})


def test_setting_keys_names_every_setting():
    from casekit.settings import setting_keys

    assert setting_keys() == {"CASEKIT_" + f.name.upper() for f in attrs.fields(Settings)}


@pytest.mark.parametrize(
    "url", ["https://acme.example/unsubscribe", "/unsubscribe/{token}", "ftp://x/{token}"]
)
def test_an_unsubscribe_url_without_a_token_or_a_host_is_refused(url):
    with pytest.raises(ConfigurationError, match="unsubscribe_url"):
        Settings(unsubscribe_url=url)


def test_search_language_names_a_text_search_configuration():
    assert Settings(search_language="german").search_language == "german"
    with pytest.raises(ConfigurationError, match="search_language"):
        Settings(search_language="english'; drop table x")
