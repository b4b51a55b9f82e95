"""Scenario ``search``: the list's search box at scale, beside hand-written SQL floors.

``python -m benchmarks search --cases N --database-url URL [--json FILE]``
generates the data set first when the database does not hold it (see
:mod:`benchmarks.generate`), plants a rare word, then times, for a user of
the largest shipper and one of the largest carrier, the first page of 50
of ``kit.views.search``:

- full text: a rare word (``quokka``, in a partners message on one case in
  1,000, and in a carrier's internal note on another one in 1,000, which
  the shipper must not find), and two common words of the generated
  messages (``damaged pallet``, in a large share of them); each in the
  list's date order (beside the floor, which reads that order) and best
  match first (``….relevance``, the default order of a search: computed in
  Python from the matching texts, so without a floor);
- identifiers: a tracking number's first six characters in lower case, a
  case number's digits without the zeros, the actor's own CRM number.

Each floor is hand-written SQL on the same indexes returning the same page
(the list's columns, as :mod:`benchmarks.views` writes them) and, for the
full-text searches, reading the page's matching messages again as the
snippets do. The rare word's floor lists the matching cases first; the
common words' walks the actor's cases in the list's order and asks each
whether a text it reads holds the words (on MariaDB, which cannot ask one
row, it lists them too). It also reports the full-text and identifier indexes' sizes.
The write cost the search indexes add to opening a case is
``create.search_indexes`` of ``python -m benchmarks create``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.common import Context, Result, scenario
from benchmarks.generate import DEFAULT_CASES, generated_kit
from benchmarks.views import Floors, Measure, Side, measure, search_params, sides
from casekit.kit import CaseKit
from casekit.query.filters import DEFAULT_SORT
from casekit.query.listing import BuiltinView, ListQuery
from casekit.store import fulltext

NAME = "search"
RARE = "quokka"
EVERY = 1000
WORDS = {"rare": RARE, "common": "damaged pallet"}


def plant(engine: Engine) -> int:
    """The rare word on one case in ``EVERY`` (partners) and another (the carrier's
    internal note), once; how many entries hold it."""
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT COUNT(*) FROM casekit_entries WHERE case_id = 1 AND body LIKE :b"),
            {"b": f"%{RARE}%"},
        ).scalar_one()
        if not found:
            insert = (
                "INSERT INTO casekit_entries (case_id, kind, audience, created_at, actor_kind, "
                "org_id, body) SELECT c.id, 'message', :audience, c.created_at, 'user', "
                "{org}, :body FROM casekit_cases c WHERE c.id % :every = :at{more}"
            )
            conn.execute(
                text(insert.format(org="c.shipper_org_id", more="")),
                {"audience": "partners", "body": f"The {RARE} crate", "every": EVERY, "at": 1},
            )
            conn.execute(
                text(insert.format(org="c.carrier_org_id", more=" AND c.carrier_org_id > 0")),
                {"audience": "internal", "body": f"{RARE} note", "every": EVERY, "at": 500},
            )
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE casekit_entries")
        return int(
            conn.execute(
                text("SELECT COUNT(*) FROM casekit_entries WHERE body LIKE :b"),
                {"b": f"%{RARE}%"},
            ).scalar_one()
        )


class TextFloors:
    """Hand-written full-text statements, knowing the actor's side."""

    def __init__(self, floors: Floors, side: Side, language: str) -> None:
        self.floors = floors
        self.side = side
        self.backend = floors.backend
        self.language = language

    def _match(
        self, table: str, alias: str, columns: tuple[str, ...], key: str, *, by_row: bool = False
    ) -> str:
        """The condition that a row holds the words; ``by_row``: rows found otherwise,
        each looked up among the matches (on SQLite not through the key's index,
        which would walk every match)."""
        if self.backend == "postgresql":
            vector = fulltext.vector(self.language, columns, prefix=f"{alias}.")
            return f"{vector} @@ plainto_tsquery('{self.language}'::regconfig, :q)"
        if self.backend in ("mysql", "mariadb"):
            return (
                f"MATCH ({', '.join(f'{alias}.{c}' for c in columns)}) AGAINST (:q IN BOOLEAN MODE)"
            )
        fts = fulltext.SQLITE_TABLES[table]
        return f"{key}{' + 0' if by_row else ''} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :q)"

    def reads(self) -> str:
        """The entries the actor reads."""
        own = "(e.audience <> 'internal' OR e.org_id = :org)"
        if self.side.label == "carrier":
            own += " AND NOT (e.audience = 'customer' AND e.shared_at IS NULL)"
        return own

    def where(self) -> str:
        messages = (
            "SELECT e.case_id AS id FROM casekit_entries e WHERE "
            f"{self._match('casekit_entries', 'e', ('body',), 'e.id')} "
            f"AND e.kind = 'message' AND {self.reads()}"
        )
        files = (
            "SELECT a.case_id AS id FROM casekit_attachments a JOIN casekit_entries e "
            "ON e.id = a.entry_id WHERE "
            f"{self._match('casekit_attachments', 'a', ('filename',), 'a.id')} AND {self.reads()}"
        )
        subjects = (
            "SELECT c2.id FROM casekit_cases c2 WHERE "
            f"{self._match('casekit_cases', 'c2', ('subject',), 'c2.id')}"
        )
        branches = [messages, files, subjects]
        if self.side.label == "shipper":
            branches.append(
                "SELECT c2.id FROM casekit_cases c2 JOIN casekit_customers u "
                "ON u.id = c2.customer_id WHERE "
                f"{self._match('casekit_customers', 'u', ('name', 'email'), 'u.id')}"
            )
        union = " UNION ".join(branches)
        own = f"c.{self.side.column} = :org"
        if self.backend == "postgresql":
            return f"{own} AND c.id = ANY(ARRAY({union}))"
        return f"{own} AND c.id IN (SELECT x.id FROM ({union}) x)"

    def walk(self) -> str:
        """The list's cases in its order, each asked whether a text it reads holds the
        words (for words too common to list their cases first); MariaDB's ``MATCH``
        reads its whole index each time it is asked, so there the cases are listed."""
        if self.backend in ("mysql", "mariadb"):
            return self.where()

        def holds(table: str, alias: str, columns: tuple[str, ...], key: str) -> str:
            return self._match(table, alias, columns, key, by_row=True)

        # PostgreSQL: asked per case, not joined.
        tail = " OFFSET 0" if self.backend == "postgresql" else ""
        branches = [
            holds("casekit_cases", "c", ("subject",), "c.id"),
            "EXISTS (SELECT 1 FROM casekit_entries e WHERE e.case_id = c.id "
            f"AND e.kind = 'message' AND {self.reads()} "
            f"AND {holds('casekit_entries', 'e', ('body',), 'e.id')}{tail})",
            "EXISTS (SELECT 1 FROM casekit_attachments a JOIN casekit_entries e "
            f"ON e.id = a.entry_id WHERE a.case_id = c.id AND {self.reads()} "
            f"AND {holds('casekit_attachments', 'a', ('filename',), 'a.id')}{tail})",
        ]
        if self.side.label == "shipper":
            branches.append(
                "EXISTS (SELECT 1 FROM casekit_customers u WHERE u.id = c.customer_id "
                f"AND {holds('casekit_customers', 'u', ('name', 'email'), 'u.id')}{tail})"
            )
        return f"c.{self.side.column} = :org AND ({' OR '.join(branches)})"

    def page(self, params: dict[str, Any], *, walk: bool = False) -> list[int]:
        """The page (its cases listed first, or with ``walk`` each asked in the list's
        order), then its matching messages again (what the snippets read)."""
        ids = self.floors.page(self.walk() if walk else self.where(), params)
        if ids:
            listed = ", ".join(str(int(i)) for i in ids)
            with self.floors.engine.connect() as conn:
                conn.execute(
                    text(
                        "SELECT e.case_id, e.body FROM casekit_entries e WHERE "
                        f"e.case_id IN ({listed}) AND "
                        f"{self._match('casekit_entries', 'e', ('body',), 'e.id', by_row=True)} "
                        f"AND e.kind = 'message' AND {self.reads()}"
                    ),
                    params,
                ).all()
        return ids


def query_text(backend: str, words: str) -> str:
    if backend in ("mysql", "mariadb"):
        return " ".join(f"+{w}" for w in words.split())
    if backend == "sqlite":
        return " ".join(f'"{w}"' for w in words.split())
    return words


def _search_ids(kit: CaseKit, side: Side, value: str) -> list[int]:
    """The first page in the list's date order, the order of the floors."""
    query = ListQuery(view=BuiltinView.ALL_CASES, search=value, sort=DEFAULT_SORT)
    return [r.id for r in kit.views.list(side.actor, query, limit=50).rows]


def _relevance_ids(kit: CaseKit, side: Side, value: str) -> list[int]:
    """The first page best match first (a search's default order): computed in Python
    from the matching texts the actor reads, so it has no SQL floor."""
    return [r.id for r in kit.views.search(side.actor, value, limit=50).rows]


def _identifiers(engine: Engine, side: Side) -> dict[str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.number, s.tracking_number FROM casekit_cases c "
                "JOIN casekit_shipments s ON s.id = c.shipment_id "
                f"WHERE c.{side.column} = :org AND s.tracking_number IS NOT NULL "
                "ORDER BY c.id DESC LIMIT 1"
            ),
            {"org": side.org_id},
        ).one()
        crm = conn.execute(
            text(
                "SELECT n.number FROM casekit_crm_numbers n WHERE n.org_id = :org "
                "ORDER BY n.case_id DESC LIMIT 1"
            ),
            {"org": side.org_id},
        ).scalar_one()
    return {
        "tracking_prefix": row.tracking_number[:6].lower(),
        "case_digits": row.number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").lstrip("0"),
        "crm": crm.lower(),
    }


def index_sizes(engine: Engine) -> list[Result]:
    """The full-text indexes' sizes (and on SQLite their tables'), in MB."""
    out = []
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            names = [
                *sorted(fulltext.INDEXES),
                "ix_casekit_shipments_tracking",
                "ix_casekit_shipments_reference",
                "ix_casekit_orders_number_key",
                "ix_casekit_crm_numbers_org_number",
            ]
            for name in names:
                size = conn.execute(
                    text("SELECT pg_relation_size(to_regclass(:n))"), {"n": name}
                ).scalar_one()
                out.append(Result(f"index.{name}", "mb", round((size or 0) / 2**20, 2)))
        elif engine.dialect.name == "sqlite":
            try:
                rows = conn.execute(
                    text(
                        "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE '%fts%' "
                        "OR name LIKE 'ix_casekit_%_key' OR name LIKE 'ix_casekit_shipments_%' "
                        "GROUP BY name ORDER BY name"
                    )
                ).all()
            except Exception:  # a SQLite built without dbstat
                rows = []
            for name, size in rows:
                out.append(Result(f"index.{name}", "mb", round(size / 2**20, 2)))
    return out


@scenario(
    NAME,
    help="the search box: full text and identifiers at scale, beside SQL floors",
    default_cases=DEFAULT_CASES,
)
def run(ctx: Context) -> list[Result]:
    with generated_kit(ctx) as (kit, dataset, results):
        engine = kit.engine
        results.append(Result("planted", "count", float(plant(engine))))
        backend = engine.dialect.name
        language = kit.settings.search_language
        since = dataset.anchor - timedelta(days=400)
        for side in sides(dataset):
            floors = Floors(engine, side, since, dataset.anchor)
            words = TextFloors(floors, side, language)
            measures = [
                Measure(
                    f"{side.label}.words.{label}",
                    partial(_search_ids, kit, side, value),
                    partial(
                        words.page,
                        {"org": side.org_id, "q": query_text(backend, value)},
                        walk=label == "common",
                    ),
                )
                for label, value in WORDS.items()
            ]
            measures += [
                Measure(
                    f"{side.label}.words.{label}.relevance",
                    partial(_relevance_ids, kit, side, value),
                    None,
                )
                for label, value in WORDS.items()
            ]
            for label, value in _identifiers(engine, side).items():
                params, ranges = search_params(side.org_id, value)
                measures.append(
                    Measure(
                        f"{side.label}.id.{label}",
                        partial(_search_ids, kit, side, value),
                        partial(floors.page, floors.search(ranges), params),
                    )
                )
            results += measure(measures, ctx)
        results += index_sizes(engine)
    return results
