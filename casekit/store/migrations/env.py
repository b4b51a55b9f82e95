"""Alembic environment for casekit's own migrations (online mode only)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from casekit.store import fulltext
from casekit.store.database import create_casekit_engine
from casekit.store.migrate import VERSION_TABLE
from casekit.store.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    url = config.get_main_option("sqlalchemy.url")
    engine = create_casekit_engine(url) if url else create_engine("sqlite://")


def include_object(obj, name, type_, reflected, compare_to):
    # Only casekit's tables are casekit's business: the host's live beside them.
    # The full-text indexes (and SQLite's FTS5 tables) are not in the metadata.
    if name is not None and fulltext.is_fulltext(name):
        return False
    if type_ == "table":
        return name is not None and name.startswith("casekit_")
    return True


progress = config.attributes.get("on_version_apply")


def on_version_apply(ctx, step, heads, run_args):
    # Each migration as it is applied, for `casekit db upgrade`'s progress.
    if progress is not None:
        progress(f"{step.up_revision_id} {step.up_revision.doc}")


with engine.connect() as connection:
    context.configure(
        on_version_apply=on_version_apply,
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
