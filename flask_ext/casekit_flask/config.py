"""Where a Flask host's kit gets its settings: keyword arguments, ``app.config``,
the environment, then the Flask defaults (the app's instance folder)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from casekit import CaseKit
from casekit.errors import ConfigurationError
from casekit.settings import PREFIX, Settings, setting_keys

#: ``CASEKIT_*`` keys read by others than the extension's ``DEFAULTS``: the
#: OpenAPI document's (flask-smorest's, with casekit's prefix) and the demo's.
OTHER_KEYS = frozenset(
    PREFIX + name
    for name in (
        "API_TITLE",
        "API_VERSION",
        "API_SPEC_OPTIONS",
        "ETAG_DISABLED",
        "OPENAPI_VERSION",
        "OPENAPI_URL_PREFIX",
        "OPENAPI_JSON_PATH",
        "OPENAPI_REDOC_PATH",
        "OPENAPI_REDOC_URL",
        "OPENAPI_SWAGGER_UI_PATH",
        "OPENAPI_SWAGGER_UI_URL",
        "OPENAPI_SWAGGER_UI_CONFIG",
        "OPENAPI_RAPIDOC_PATH",
        "OPENAPI_RAPIDOC_URL",
        "OPENAPI_RAPIDOC_CONFIG",
        "DEMO_IDENTITIES",
        "DEMO_ORDERS",
    )
)

#: The file of the kit's SQLite database in the app's instance folder, by default.
DATABASE_FILE = "casekit.sqlite3"
#: The folder of attachments in the app's instance folder, by default.
ATTACHMENT_FOLDER = "casekit-attachments"


def check_keys(config: Mapping[str, Any], extension_keys: Iterable[str]) -> None:
    """Refuse a ``CASEKIT_*`` key of ``config`` that nothing reads (a misspelling),
    naming the closest valid key."""
    valid = {*extension_keys, *setting_keys(), *OTHER_KEYS}
    for key in config:
        if not key.startswith(PREFIX) or key in valid:
            continue
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigurationError(
            f"app.config has {key}, which is neither a casekit setting nor a "
            f"casekit-flask key{hint} (docs/flask.rst lists them)"
        )


def app_settings(app: Flask, **overrides: Any) -> Settings:
    """The settings of the kit :meth:`~casekit_flask.CaseKitFlask.init_app` builds for ``app``.

    ``overrides`` win over ``app.config``, which wins over the environment
    (``CASEKIT_*`` variables), which wins over the Flask defaults: a SQLite
    file ``casekit.sqlite3`` and a ``casekit-attachments`` folder in the app's
    instance folder (created when the database is the default one).
    """
    instance = Path(app.instance_path)
    defaults = {
        PREFIX + "DATABASE_URL": f"sqlite:///{instance / DATABASE_FILE}",
        PREFIX + "ATTACHMENT_DIR": instance / ATTACHMENT_FOLDER,
    }
    settings = Settings.from_mapping(defaults, os.environ, app.config, **overrides)
    if settings.database_url == defaults[PREFIX + "DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
    return settings


def check_kit(config: Mapping[str, Any], kit: CaseKit) -> None:
    """Refuse a core setting in ``config`` that the host's own ``kit`` does not have:
    it could not apply, and would be ignored without a word."""
    for key in sorted(setting_keys()):
        if config.get(key) is None:
            continue
        wanted = getattr(Settings.from_mapping({key: config[key]}), key[len(PREFIX) :].lower())
        has = getattr(kit.settings, key[len(PREFIX) :].lower())
        if wanted != has:
            raise ConfigurationError(
                f"app.config sets {key}, but the kit handed to casekit-flask was built "
                f"with another value; the kit's settings win: set it where the kit is "
                f"built (CaseKit(...)), or drop the key from app.config"
            )
