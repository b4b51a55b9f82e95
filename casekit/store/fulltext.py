"""The full-text indexes, in each database's own engine.

The search box reads the words of four texts (:mod:`casekit.query.fulltext`):

==============  =========================================  ==========================
text            PostgreSQL (GIN of ``to_tsvector``)         SQLite (FTS5 table)
==============  =========================================  ==========================
message bodies  ``ix_casekit_entries_fts`` (messages only)   ``casekit_entries_fts``
case subjects   ``ix_casekit_cases_fts``                    ``casekit_cases_fts``
attachment      ``ix_casekit_attachments_fts``              ``casekit_attachments_fts``
names
customer name   ``ix_casekit_customers_fts``                ``casekit_customers_fts``
and email
==============  =========================================  ==========================

MariaDB has a ``FULLTEXT`` index of the same name as PostgreSQL's on each.

Each index is of the rows themselves, so the database keeps it in step with
every write (a new message, an edit, a deleted row) in the same
transaction; SQLite's FTS5 tables hold no copy of the text
(``content=`` the table) and are kept by triggers. None of them is in
:data:`casekit.store.tables.metadata`: the migration that makes them
(0036) and :func:`create` / :func:`drop` are their only definition.

PostgreSQL's index holds the words in one language's form (stemmed,
without stop words): the ``search_language`` setting, a text search
configuration (``english`` by default, ``simple`` for none). The
migration builds them in the language its Alembic configuration names
(``search_language`` among its attributes; :func:`casekit.store.migrate.upgrade`
passes it), else English. A query reads the index only in the language it
was built in: after changing the setting, ``casekit db rebuild-search``
(:func:`rebuild`) makes them again in the new one.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

#: The indexed texts: table, the PostgreSQL / MariaDB index, the columns, and
#: which rows (None: all).
SOURCES: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("casekit_entries", "ix_casekit_entries_fts", ("body",), "kind = 'message'"),
    ("casekit_cases", "ix_casekit_cases_fts", ("subject",), None),
    ("casekit_attachments", "ix_casekit_attachments_fts", ("filename",), None),
    ("casekit_customers", "ix_casekit_customers_fts", ("name", "email"), None),
)
#: The names of the indexes (PostgreSQL, MariaDB).
INDEXES = frozenset(index for _table, index, _columns, _where in SOURCES)
#: SQLite's FTS5 table of each table.
SQLITE_TABLES = {table: f"{table}_fts" for table, _index, _columns, _where in SOURCES}
#: The tables FTS5 keeps beside each of its own.
_SHADOWS = ("_data", "_idx", "_docsize", "_config")
DEFAULT_LANGUAGE = "english"
_LANGUAGE = re.compile(r"[a-z_]{1,63}")


def is_fulltext(name: str) -> bool:
    """Whether a table or index is one of these (for schema comparisons)."""
    if name in INDEXES:
        return True
    return any(name in (fts, *(fts + s for s in _SHADOWS)) for fts in SQLITE_TABLES.values())


def check_language(language: str) -> str:
    """``language`` if it can name a text search configuration, else ValueError."""
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(f"search_language {language!r}: a text search configuration's name")
    return language


#: The columns PostgreSQL reads with dashes, underscores and dots as spaces: its
#: parser keeps ``inspection-walnut.jpg`` one word (a file name), and its words are
#: what a person types.
SPLIT = frozenset({"filename"})
#: The characters read as spaces there; a query of those columns reads them so too.
SPLIT_CHARACTERS = "-_."


def vector(language: str, columns: tuple[str, ...], prefix: str = "") -> str:
    """PostgreSQL's ``to_tsvector`` of ``columns``, as the indexes spell it."""

    def one(column: str) -> str:
        value = f"coalesce({prefix}{column}, '')"
        spaces = " " * len(SPLIT_CHARACTERS)
        return f"translate({value}, '{SPLIT_CHARACTERS}', '{spaces}')" if column in SPLIT else value

    text = " || ' ' || ".join(one(column) for column in columns)
    return f"to_tsvector('{check_language(language)}'::regconfig, {text})"


def create(conn: Connection, language: str = DEFAULT_LANGUAGE) -> None:
    """Make the indexes (and on SQLite their tables, triggers and contents)."""
    name = conn.dialect.name
    for table, index, columns, where in SOURCES:
        if name == "postgresql":
            partial = f" WHERE {where}" if where else ""
            conn.exec_driver_sql(
                f"CREATE INDEX {index} ON {table} USING gin ({vector(language, columns)}){partial}"
            )
        elif name in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"CREATE FULLTEXT INDEX {index} ON {table} ({', '.join(columns)})")
        elif name == "sqlite":
            _create_fts5(conn, table, columns, where)


#: PostgreSQL's statistics of the words of the messages (an extended statistics object).
STATISTICS = "casekit_entries_fts_words"


def create_statistics(conn: Connection, language: str = DEFAULT_LANGUAGE) -> None:
    """PostgreSQL 14 and newer: statistics of the messages' words, which ``ANALYZE``
    then gathers (how many messages hold each common word).

    The planner reads no statistics of a partial index's expression, so
    without these it takes any words to be in 0.5% of the messages;
    :meth:`casekit.query.fulltext.FullText.common` asks it how many hold a
    search's words. Elsewhere (and on an older PostgreSQL) nothing is made.
    """
    if conn.dialect.name != "postgresql" or (conn.dialect.server_version_info or (0,)) < (14,):
        return
    table, _index, columns, _where = SOURCES[0]
    conn.exec_driver_sql(
        f"CREATE STATISTICS {STATISTICS} ON ({vector(language, columns)}) FROM {table}"
    )
    conn.exec_driver_sql(f"ANALYZE {table}")


def _create_fts5(conn: Connection, table: str, columns: tuple[str, ...], where: str | None) -> None:
    fts = SQLITE_TABLES[table]
    listed = ", ".join(columns)
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, content='{table}', content_rowid='id',"
        " tokenize='porter unicode61 remove_diacritics 2')"
    )
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    if_new = f" WHERE new.{where}" if where else ""
    if_old = f" WHERE old.{where}" if where else ""
    add = f"INSERT INTO {fts}(rowid, {listed}) SELECT new.id, {new}{if_new};"
    remove = f"INSERT INTO {fts}({fts}, rowid, {listed}) SELECT 'delete', old.id, {old}{if_old};"
    conn.exec_driver_sql(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END")
    conn.exec_driver_sql(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END")
    # One trigger, the old words out before the new ones in.
    conn.exec_driver_sql(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {listed} ON {table} BEGIN {remove} {add} END"
    )
    rows = f" WHERE {where}" if where else ""
    conn.exec_driver_sql(
        f"INSERT INTO {fts}(rowid, {listed}) SELECT id, {listed} FROM {table}{rows}"
    )


#: The language in PostgreSQL's definition of an index.
_BUILT_IN = re.compile(r"to_tsvector\('([a-z_]+)'::regconfig")


def language(conn: Connection) -> str | None:
    """The language PostgreSQL's indexes hold their words in (None on the other
    databases, whose words have none, or when the indexes are missing)."""
    if conn.dialect.name != "postgresql":
        return None
    definition = conn.exec_driver_sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = %(name)s"
        " AND schemaname = current_schema()",
        {"name": SOURCES[0][1]},
    ).scalar()
    found = _BUILT_IN.search(definition or "")
    return found.group(1) if found else None


def rebuild(conn: Connection, language: str = DEFAULT_LANGUAGE) -> bool:
    """Make PostgreSQL's indexes again from the rows, in ``language``; whether
    there was anything to make (SQLite's and MariaDB's words have no language,
    and their indexes are kept as they are)."""
    check_language(language)
    if conn.dialect.name != "postgresql":
        return False
    drop(conn)
    create(conn, language)
    create_statistics(conn, language)
    return True


def drop(conn: Connection) -> None:
    """Remove what :func:`create` and ``create_statistics`` made."""
    name = conn.dialect.name
    if name == "postgresql":
        conn.exec_driver_sql(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    for table, index, _columns, _where in SOURCES:
        if name == "postgresql":
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        elif name in ("mysql", "mariadb"):
            conn.exec_driver_sql(f"DROP INDEX {index} ON {table}")
        elif name == "sqlite":
            fts = SQLITE_TABLES[table]
            for suffix in ("insert", "delete", "update"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
