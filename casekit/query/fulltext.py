"""Full-text search: the cases whose words the actor may read hold the words typed.

Four texts are searched, each through its database's own index
(:mod:`casekit.store.fulltext`): message bodies, case subjects, attachment
names, and the customer's name and email. A text counts only where the
actor reads it, by the same rules as the timeline and the case page:

- a message (and the attachments on it) by its audience, through
  :func:`~casekit.query.scoped.entry_visibility`: another organization's
  internal note, a ``customer`` message for the carrier (until shared),
  anything but a ``customer`` or ``everyone`` message for a customer;
- the customer's name and email for the host, the shipper's staff and the
  customer; never for the carrier (a shared contact is read on the case,
  not searched from the list);
- the subject for everyone who sees the case.

So the index holds each text once, whoever may read it, and the query
filters the matches by the entry's audience against the actor, in the same
statement that finds them: a second index per audience would hold the same
words up to four times and need a second copy of the rules. The cases are
ordered by :func:`relevance`, computed in Python from the texts the actor
reads alone; :meth:`FullText.snippets` reads the matching readable texts of
each listed case again, takes the best by the same measure and marks the
words in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from attrs import frozen
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.mysql import match as mysql_match
from sqlalchemy.engine import Connection

from casekit.domain.case import EntryKind
from casekit.query.scoped import entry_visibility
from casekit.store import fulltext, tables
from casekit.store.database import in_list

c = tables.cases.c
e = tables.entries.c
a = tables.attachments.c
u = tables.customers.c

_MESSAGE: Any = literal_column(f"'{EntryKind.MESSAGE.value}'")
#: A word: letters and digits (what the engines' tokenizers keep).
_WORD = re.compile(r"[^\W_]+")
#: At most this many words of a search are used.
MAX_TERMS = 16
#: Words InnoDB leaves out of its FULLTEXT indexes (its default list), and the
#: shortest word it keeps: asked for, they would match nothing.
_MARIADB_STOPWORDS = frozenset(
    {
        *("a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for"),
        *("from", "how", "i", "in", "is", "it", "la", "of", "on", "or", "that", "the"),
        *("this", "to", "was", "what", "when", "where", "who", "will", "with", "und", "www"),
    }
)
_MARIADB_MIN = 3
#: English inflections left off a word asked of MariaDB (the longest first).
_ENGLISH_SUFFIXES = ("ies", "ing", "ed", "es", "e", "s", "y")
#: Words in more than COMMON_TEXTS messages are common (FullText.common); on
#: PostgreSQL, which guesses from statistics, also in more than COMMON_SHARE of
#: them (a word it has no statistics of is taken to be in at most 0.5%).
COMMON_SHARE = 0.01
COMMON_TEXTS = 10_000
#: The text a snippet shows around its first match, in characters.
SNIPPET = 160


@frozen
class Snippet:
    """Where a case matched the words, as the actor may read it.

    ``source`` is ``subject``, ``message``, ``attachment`` or ``customer``;
    ``text`` an excerpt (``…`` where cut); ``highlights`` the (start, end)
    offsets of the matched words in ``text``.
    """

    source: str
    text: str
    highlights: tuple[tuple[int, int], ...] = ()

    def parts(self) -> list[tuple[str, bool]]:
        """The text in pieces, each with whether it is a matched word (for markup)."""
        out: list[tuple[str, bool]] = []
        at = 0
        for start, end in self.highlights:
            if start > at:
                out.append((self.text[at:start], False))
            out.append((self.text[start:end], True))
            at = end
        if at < len(self.text):
            out.append((self.text[at:], False))
        return out


def mariadb_form(word: str, language: str) -> str:
    """``word`` as MariaDB's boolean mode is asked for it.

    InnoDB keeps words as written, without a language's stems; so that
    "pallets" finds "pallet" and "crushed" "crush" as on the other engines, an
    English word is asked in its inflected forms: its stem (the word without
    ``-ies``, ``-ing``, ``-ed``, ``-es``, ``-e``, ``-s`` or ``-y``) and the
    word itself, each with each of those endings, ``(pallets … pallet …)``
    ("address" finds "addresses" too). In another language,
    or ``simple``, the word is asked as it is.
    """
    if language != fulltext.DEFAULT_LANGUAGE:
        return word
    stem = word
    for suffix in _ENGLISH_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MARIADB_MIN:
            stem = word[: -len(suffix)]
            break
    endings = ("", *_ENGLISH_SUFFIXES)
    forms = dict.fromkeys(base + ending for base in (word, stem) for ending in endings)
    return f"({' '.join(forms)})"


def terms(text: str) -> list[str]:
    """The words of ``text``, lower-cased, in order, each once."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


class FullText:
    """Full-text matches for one actor, on one connection's database."""

    def __init__(
        self,
        connection: Connection,
        *,
        language: str,
        customer: bool,
        unrestricted: bool,
        org_id: int | None,
        carrier: bool | None,
        shipper: bool | None,
        tenant: ColumnElement[bool],
        kept: Callable[[str, Callable[[], Any]], Any] | None = None,
    ) -> None:
        """``carrier`` / ``shipper``: the actor's organization is the carrier (the
        shipper) of every case it sees (None: no organization's role). ``tenant``
        is the actor's cases, asked of the matches by :meth:`texts`. ``kept(name,
        build)``: a statement built once for the actor and kept (the statements
        depend on nothing else), else built each time."""
        self.connection = connection
        self._kept = kept or (lambda _name, build: build())
        self.dialect = connection.dialect.name
        self.language = language
        self.tenant = tenant
        # An organization is a shipper or a carrier; were its role unknown, it
        # reads as the carrier would (no unshared customer message).
        acts_for_carrier = carrier if carrier is not None else org_id is not None
        self._entries = entry_visibility(customer, unrestricted, org_id, acts_for_carrier)
        if customer or unrestricted or shipper:
            self._contact: ColumnElement[bool] = true()
        elif carrier or org_id is None:
            self._contact = false()
        else:
            self._contact = c.shipper_org_id == org_id

    # -- what the words are in each engine's language ----------------------------------
    def params(self, text: str) -> dict[str, Any] | None:
        """The values of the statements' parameters; None when no word can match."""
        words = terms(text)
        if self.dialect in ("mysql", "mariadb"):
            words = [w for w in words if len(w) >= _MARIADB_MIN and w not in _MARIADB_STOPWORDS]
            query = " ".join(f"+{mariadb_form(w, self.language)}" for w in words)
        elif self.dialect == "sqlite":
            query = " ".join(f'"{w}"' for w in words)
        else:
            # PostgreSQL's parser reads the text itself (an email stays one word).
            query = text
        return {"fts_query": query} if words else None

    def _match(self, name: str, columns: Sequence[Any]) -> Any:
        """The condition that ``columns`` (of the table ``name``) hold the words."""
        q: Any = bindparam("fts_query")
        if self.dialect == "postgresql":
            names = tuple(col.name for col in columns)
            vector: Any = literal_column(fulltext.vector(self.language, names, prefix=f"{name}."))
            if fulltext.SPLIT.intersection(names):
                # The words as the index holds them: a file name's parts.
                q = func.translate(
                    q, fulltext.SPLIT_CHARACTERS, " " * len(fulltext.SPLIT_CHARACTERS)
                )
            query = func.plainto_tsquery(literal_column(f"'{self.language}'::regconfig"), q)
            return vector.op("@@")(query)
        if self.dialect in ("mysql", "mariadb"):
            return mysql_match(*columns, against=q).in_boolean_mode()
        return literal_column(fulltext.SQLITE_TABLES[name]).op("MATCH")(q)

    def _from(self, name: str, joined: Any, key: Any) -> Any:
        """``joined`` with SQLite's FTS5 table of ``name``, whose rowid is ``key``."""
        if self.dialect != "sqlite":
            return joined
        fts = table(fulltext.SQLITE_TABLES[name], column("rowid"))
        return joined.join(fts, fts.c.rowid == key)

    # -- the statements -----------------------------------------------------------------
    def _branches(self, only: bool = False) -> list[Select[Any]]:
        """(case id, source, text) of every readable text that holds the words,
        of any case (the caller applies the tenant); of ``:snippet_ids``' cases with
        ``only``.

        Without the cases' rows: planned with them, the database guesses the
        matches many (ten times too many for a rare word) and reads all the
        organization's cases to join them.
        """

        def of(case_id: Any) -> list[Any]:
            return [in_list(case_id, "snippet_ids", self.dialect)] if only else []

        # SQLite, for a few cases: their rows first, each looked up among the matches
        # (:meth:`_row_match`); else the matches first, their rows joined.
        by_row = only and self.dialect == "sqlite"

        def found(name: str, columns: list[Any], key: Any) -> Any:
            return self._row_match(name, key) if by_row else self._match(name, columns)

        def rows(name: str, joined: Any, key: Any) -> Any:
            return joined if by_row else self._from(name, joined, key)

        messages = (
            select(e.case_id, literal("message"), e.body)
            .select_from(rows("casekit_entries", tables.entries, e.id))
            # The kind as a literal: PostgreSQL's index holds the messages alone.
            .where(
                found("casekit_entries", [e.body], e.id),
                e.kind == _MESSAGE,
                self._entries,
                *of(e.case_id),
            )
        )
        attachments = (
            select(a.case_id, literal("attachment"), a.filename)
            .select_from(
                rows("casekit_attachments", tables.attachments, a.id).join(
                    tables.entries, e.id == a.entry_id
                )
            )
            .where(found("casekit_attachments", [a.filename], a.id), self._entries, *of(a.case_id))
        )
        subjects = (
            select(c.id, literal("subject"), c.subject)
            .select_from(rows("casekit_cases", tables.cases, c.id))
            .where(found("casekit_cases", [c.subject], c.id), *of(c.id))
        )
        customers = (
            select(c.id, literal("customer"), func.coalesce(u.name, "") + " " + u.email)
            .select_from(
                rows("casekit_customers", tables.customers, u.id).join(
                    tables.cases, c.customer_id == u.id
                )
            )
            .where(found("casekit_customers", [u.name, u.email], u.id), self._contact, *of(c.id))
        )
        return [messages, attachments, subjects, customers]

    def common(self, params: dict[str, Any]) -> bool:
        """Whether the words are common: in more than :data:`COMMON_TEXTS` messages
        (and, on PostgreSQL, more than :data:`COMMON_SHARE` of them).

        Then the list asks its cases in turn (:meth:`holds`) straight away:
        reading the first matching texts of the reader's cases to list them
        would only find them too many, at a cost (half a second at 1,000,000
        cases on PostgreSQL, where the index lists every match before the
        first row; 45 ms at 200,000 on SQLite). PostgreSQL's planner is asked
        how many it expects, from the statistics of the messages' words
        (:func:`casekit.store.fulltext.create_statistics`): nothing is read,
        and words it has no statistics of (rarer than the commonest thousand
        or so) are not common. SQLite counts the matches, up to one past the
        bound (FTS5 stops there: a few milliseconds). False on MariaDB, whose
        cases cannot be asked one by one (:meth:`walks`).
        """
        if self.dialect == "sqlite":
            fts = fulltext.SQLITE_TABLES["casekit_entries"]
            counted = self.connection.execute(
                sql_text(
                    f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH :fts_query "
                    "LIMIT :common)"
                ),
                {**params, "common": COMMON_TEXTS + 1},
            ).scalar_one()
            return bool(counted > COMMON_TEXTS)
        if self.dialect != "postgresql":
            return False
        vector = fulltext.vector(self.language, ("body",), prefix="e.")
        messages = f"SELECT 1 FROM casekit_entries e WHERE e.kind = '{EntryKind.MESSAGE.value}'"
        query = f"plainto_tsquery('{self.language}'::regconfig, :fts_query)"
        explain = f"EXPLAIN (FORMAT JSON) {messages} AND {vector} @@ {query} UNION ALL {messages}"
        plan = self.connection.execute(sql_text(explain), params).scalar_one()
        if isinstance(plan, str):
            plan = json.loads(plan)
        matching, every = (branch["Plan Rows"] for branch in plan[0]["Plan"]["Plans"])
        return bool(matching > COMMON_SHARE * every and matching > COMMON_TEXTS)

    def walks(self, *, common: bool) -> bool:
        """Whether a search whose matching texts are too many to list first asks the
        list's cases in turn (:meth:`holds`), else lists the cases of every match
        (:meth:`matches`).

        On PostgreSQL, when the words are ``common`` (:meth:`common`): words
        in fewer messages have fewer matches to list than the reader has
        cases to walk when few of them hold the words. On SQLite, always: it
        has no statistics of the words, and lists its matches in the
        organization's order no faster. Never on MariaDB: InnoDB answers
        ``MATCH`` only through its ``FULLTEXT`` index, reading it whole each
        time it is asked, so a case cannot be asked alone.
        """
        if self.dialect == "postgresql":
            return common
        return self.dialect == "sqlite"

    def holds(self) -> ColumnElement[bool]:
        """Whether the case of the outer statement (``casekit_cases``) has a text the
        actor reads that holds the words: its subject, then each other text asked by
        the case's own rows (an entry's, attachment's and customer's key).

        For words too common to list their cases first (:meth:`walks`): the
        list walks the actor's cases in its own order and asks each one, so a
        page stops once it is full instead of reading every text of every
        tenant that holds them. Each probe is a subquery PostgreSQL may not
        turn into a join (``OFFSET 0``), which would read the words' matches
        first; on SQLite each text's row is looked up among the matches, listed once.
        """
        subject = self._match("casekit_cases", [c.subject])
        if self.dialect == "sqlite":
            subject = self._row_match("casekit_cases", c.id)
        found = self._match("casekit_entries", [e.body])
        if self.dialect == "sqlite":
            found = self._row_match("casekit_entries", e.id)
        messages = (
            select(literal(1))
            .select_from(tables.entries)
            .where(e.case_id == c.id, e.kind == _MESSAGE, self._entries, found)
        )
        found = self._match("casekit_attachments", [a.filename])
        if self.dialect == "sqlite":
            found = self._row_match("casekit_attachments", a.id)
        attachments = (
            select(literal(1))
            .select_from(tables.attachments.join(tables.entries, e.id == a.entry_id))
            .where(a.case_id == c.id, self._entries, found)
        )
        found = self._match("casekit_customers", [u.name, u.email])
        if self.dialect == "sqlite":
            found = self._row_match("casekit_customers", u.id)
        customers = (
            select(literal(1)).select_from(tables.customers).where(u.id == c.customer_id, found)
        )
        asked = [
            (probe.offset(0) if self.dialect == "postgresql" else probe).exists()
            for probe in (messages, attachments, customers)
        ]
        return or_(subject, asked[0], asked[1], and_(self._contact, asked[2]))

    def _row_match(self, name: str, key: Any) -> ColumnElement[bool]:
        """SQLite: whether the row ``key`` of the table ``name`` is among its FTS5
        table's matches. SQLite lists the matches once per statement and looks each
        row up among them: asked about one row at a time, FTS5 reads the words'
        lists again each time (0.16 ms a row for common words at 200,000 cases,
        against 29 ms to list their 158,622 matches once)."""
        fts = table(fulltext.SQLITE_TABLES[name], column("rowid"))
        found = self._match(name, [])
        # ``key + 0``: not the primary key's index, which would walk every match.
        return (key + 0).in_(select(fts.c.rowid).where(found))  # type: ignore[no-any-return]

    def matches(self) -> Select[Any]:
        """The ids of the cases with matching texts (unranked, every one, any tenant)."""
        found = union_all(*(b.with_only_columns(b.selected_columns[0]) for b in self._branches()))
        return select(found.subquery().c[0])

    def texts(self) -> Select[Any]:
        """(case id, text) of the first ``:search_texts`` matching texts the actor reads
        on its own cases, in no order.

        Each text's case is asked by primary key, one probe per text, after the
        texts are found (on PostgreSQL a subquery it may not turn into a join):
        planned as a join, the database guesses a rare word's matches many and
        reads all the organization's cases to join them.
        """

        def build() -> Select[Any]:
            found = union_all(*self._branches()).subquery()
            mine = (
                select(literal(1)).select_from(tables.cases).where(c.id == found.c[0], self.tenant)
            )
            if self.dialect == "postgresql":
                mine = mine.offset(0)
            texts = select(found.c[0], found.c[2]).where(mine.exists())
            return texts.limit(bindparam("search_texts"))

        return self._kept("texts", build)  # type: ignore[no-any-return]

    def ranked(self, rows: Sequence[Any], text: str) -> list[int]:
        """The cases of ``rows`` (of :meth:`texts`), most relevant first (:func:`relevance`
        of each case's best readable text; the newest case first among equals)."""
        words = terms(text)
        phrase = _flat(text).lower()
        best: dict[int, float] = {}
        for case_id, body in rows:
            score = relevance(body or "", words, phrase)
            best[case_id] = max(best.get(case_id, score), score)
        return sorted(best, key=lambda i: (-best[i], -i))

    def snippets(
        self, params: dict[str, Any], case_ids: Sequence[int], text: str
    ) -> dict[int, Snippet]:
        """The best readable text of each of ``case_ids`` that holds the words, as a snippet.

        A text that holds what was typed as it was typed comes first (a phrase
        typed whole is the text the person is looking for), then the most
        relevant (:func:`relevance`, as the cases are ordered); the engines'
        own scores are not comparable between texts of different kinds, and
        SQLite's and MariaDB's weigh a word by texts the reader may not read.
        """
        if not case_ids:
            return {}

        def build() -> Select[Any]:
            return select(*union_all(*self._branches(only=True)).subquery().c)

        stmt = self._kept("snippets", build)
        words = terms(text)
        phrase = _flat(text).lower()
        best: dict[int, tuple[tuple[bool, float], str, str]] = {}
        for case_id, source, body in self._connection_rows(stmt, params, case_ids):
            body = body or ""
            rank = (bool(phrase) and phrase in _flat(body).lower(), relevance(body, words, phrase))
            if case_id not in best or rank > best[case_id][0]:
                best[case_id] = (rank, source, body)
        return {
            case_id: snippet(source, body, words) for case_id, (_rank, source, body) in best.items()
        }

    def _connection_rows(self, stmt: Any, params: dict[str, Any], ids: Sequence[int]) -> Any:
        return self.connection.execute(stmt, {**params, "snippet_ids": list(ids)})


#: The length in words at which :func:`relevance` neither favours nor penalises a text.
RELEVANCE_LENGTH = 50


def relevance(body: str, words: Sequence[str], phrase: str = "") -> float:
    """How well one text matches the search: computed from that text alone.

    For each word searched, its count ``n`` in the text (a word starting with its
    stem, as :func:`snippet` marks it) adds ``n / (n + 1.2 * (0.25 + 0.75 * L / 50))``,
    ``L`` the text's length in words: the term-frequency part of BM25 with a fixed
    length, and no inverse document frequency. Typed whole (``phrase``), the search
    adds 1. The engines' own scores (``bm25``, InnoDB's relevance) weigh a word by
    how rare it is among *all* indexed texts — other organizations' internal notes
    too — so an order built on them would move with words the reader may not read;
    this one moves only with the texts the reader reads.
    """
    flat = _flat(body).lower()
    tokens = _WORD.findall(flat)
    if not tokens:
        return 0.0
    norm = 1.2 * (0.25 + 0.75 * len(tokens) / RELEVANCE_LENGTH)
    score = 0.0
    for word in words:
        stem = word[: max(3, len(word) - 2)]
        n = sum(
            1
            for token in tokens
            if token.startswith(stem) or (stem.startswith(token) and len(token) >= 3)
        )
        score += n / (n + norm)
    if phrase and phrase in flat:
        score += 1.0
    return score


def _hits(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Where ``text``'s words start like one of ``words`` (a stem: all but its last
    two letters, at least three), in order."""
    stems = [w[: max(3, len(w) - 2)] for w in words]
    if not stems:
        return []
    # A word that starts with a stem, or that a stem starts with (three letters or more).
    starts = re.compile("|".join(re.escape(stem) for stem in stems)).match
    shorter = {stem[:n] for stem in stems for n in range(3, len(stem) + 1)}
    found = []
    for m in _WORD.finditer(text):
        word = m.group().lower()
        if starts(word) or word in shorter:
            found.append((m.start(), m.end()))
    return found


def _flat(text: str) -> str:
    """``text`` with each run of white space one space."""
    return " ".join(text.split())


def snippet(source: str, body: str, words: Sequence[str]) -> Snippet:
    """An excerpt of ``body`` around its first matched word, the words marked."""
    flat = _flat(body)
    hits = _hits(flat, words)
    start = 0
    if hits and hits[0][0] > SNIPPET // 3:
        start = flat.rfind(" ", 0, hits[0][0] - SNIPPET // 3) + 1
    end = min(len(flat), start + SNIPPET)
    if end < len(flat):
        cut = flat.rfind(" ", start, end)
        end = cut if cut > start else end
    text = flat[start:end]
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(flat) else ""
    shift = len(lead) - start
    marks = tuple((s + shift, t + shift) for s, t in hits if s >= start and t <= end)
    return Snippet(source, f"{lead}{text}{tail}", marks)
