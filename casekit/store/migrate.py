"""Running casekit's Alembic migrations, which ship inside the package.

casekit keeps its own version table, ``casekit_alembic_version``, so its
history never mixes with the host's Alembic history.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

VERSION_TABLE = "casekit_alembic_version"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("casekit.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(
    engine: Engine,
    revision: str = "head",
    *,
    progress: Callable[[str], None] | None = None,
    search_language: str | None = None,
) -> None:
    """Upgrade casekit's tables to ``revision`` (the newest by default).

    The default SQLite file's folder is created first when missing
    (:func:`casekit.settings.user_data_dir`). ``progress`` is called with
    each migration's revision and message once it has run.
    ``search_language`` is the language the full-text indexes are built in
    (``casekit.store.fulltext``; None: ``CASEKIT_SEARCH_LANGUAGE``, else
    English).
    """
    from casekit.store.database import make_default_folder
    from casekit.store.fulltext import DEFAULT_LANGUAGE, check_language

    make_default_folder(engine.url)
    config = alembic_config(engine)
    if search_language is None:
        search_language = os.environ.get("CASEKIT_SEARCH_LANGUAGE", DEFAULT_LANGUAGE)
    config.attributes["search_language"] = check_language(search_language)
    if progress is not None:
        config.attributes["on_version_apply"] = progress
    command.upgrade(config, revision)


def pending(engine: Engine, revision: str = "head") -> int:
    """How many migrations :func:`upgrade` to ``revision`` would run."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    now = current(engine)
    return len(list(script.iterate_revisions(revision, now)))


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first upgrade."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def revisions(engine: Engine) -> set[str]:
    """Every revision this casekit's migrations know."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return {revision.revision for revision in script.walk_revisions()}
