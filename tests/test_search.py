"""Full-text search: the words of messages, subjects, attachment names and customers,
only where the actor may read them, ranked, with snippets; its indexes kept in step."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text

from casekit.attachments import Upload
from casekit.errors import InvalidInput
from casekit.query.fulltext import Snippet, mariadb_form, snippet, terms
from casekit.store import fulltext


def numbers(page):
    return [row.number for row in page.rows]


def found(kit, actor, words):
    return set(numbers(kit.views.search(actor, words)))


@pytest.fixture
def scene(kit, world):
    """A case with a message for every audience, each with its own marker word."""
    s, c = world.shipper_actor, world.carrier_actor
    case = kit.cases.open(
        s,
        type="osd_damaged",
        carrier=world.carrier.id,
        customer=world.customer.id,
        subject="Crushed pallet of ceramics",
    ).number
    kit.messages.post(s, case, "Forklift gouged the crate zebrawood", audience="everyone")
    kit.messages.post(s, case, "Our own note: refund quietly marmalade", audience="internal")
    kit.messages.post(c, case, "Driver admits fault tangerine", audience="internal")
    kit.messages.post(s, case, "Partners only: claim amount pineapple", audience="partners")
    kit.messages.post(world.customer_actor, case, "Please hurry, my mother visits gooseberry")
    kit.messages.post(
        s,
        case,
        "Photos attached",
        audience="partners",
        attachments=[Upload("inspection-walnut.jpg", io.BytesIO(b"x"), "image/jpeg")],
    )
    other = kit.cases.open(s, type="lost", subject="Nothing in common").number
    return case, other


@pytest.fixture(params=["listed", "overflowing", "common"])
def how(request, monkeypatch):
    """How the search finds the cases whose texts hold the words: listed first (a
    few matches); past SEARCH_TEXTS, each case of the list asked in turn (SQLite)
    or the cases of every match (PostgreSQL, MariaDB); or, words PostgreSQL's
    planner expects in many messages, each case asked without listing first."""
    from casekit.query import fulltext as words
    from casekit.query import listing

    if request.param == "overflowing":
        monkeypatch.setattr(listing, "SEARCH_TEXTS", 0)
    elif request.param == "common":
        monkeypatch.setattr(words, "COMMON_SHARE", 0)
        monkeypatch.setattr(words, "COMMON_TEXTS", -1)
    return request.param


def test_words_match_only_where_the_actor_reads_them(kit, world, scene, how):
    case, other = scene
    s, c, me = world.shipper_actor, world.carrier_actor, world.customer_actor
    # marker: who finds the case by it
    readers = {
        "zebrawood": {"shipper", "carrier", "customer"},
        "marmalade": {"shipper"},  # the shipper's internal note
        "tangerine": {"carrier"},  # the carrier's internal note
        "pineapple": {"shipper", "carrier"},  # partners: never the customer
        "gooseberry": {"shipper", "customer"},  # the customer's: not the carrier, unshared
        "walnut": {"shipper", "carrier"},  # an attachment's name, on a partners message
        "ceramics": {"shipper", "carrier", "customer"},  # the subject
        "casey": {"shipper", "customer"},  # the customer's name: not the carrier's to read
        "casey@example.test": {"shipper", "customer"},
    }
    actors = {"shipper": s, "carrier": c, "customer": me}
    for word, who in readers.items():
        for name, actor in actors.items():
            page = kit.views.search(actor, word)
            assert numbers(page) == ([case] if name in who else []), (word, name)
            assert kit.views.count(actor, {"view": "all_cases", "search": word}) == len(page.rows)
            for row in page.rows:
                # The snippet shows the text the word matched, marked.
                assert row.snippet is not None, (word, name)
                marked = [part for part, hit in row.snippet.parts() if hit]
                assert marked, (word, name, row.snippet)
    # Every word must be in one text (a message, a subject...).
    assert found(kit, s, "forklift crate") == {case}
    assert found(kit, s, "refund marmalade") == {case}
    assert found(kit, c, "refund marmalade") == set()
    assert found(kit, s, "forklift marmalade") == set()
    assert found(kit, s, "forklift nowhere") == set()
    # Stemmed: "gouging" finds "gouged", "pallets" "pallet" (on MariaDB by the
    # inflected forms it is asked); "gou" is no word of the case.
    assert found(kit, s, "gouging") == {case}
    assert found(kit, s, "pallets crushing") == {case}
    assert found(kit, s, "gou") == set()
    # A file name is found as it is written, its parts too.
    assert found(kit, s, "inspection-walnut.jpg") == {case}
    assert found(kit, s, "Inspection-Walnut") == {case}
    # A contact the shipper shares is read on the case, never searched from the list.
    kit.cases.share_contact(s, case)
    assert found(kit, c, "casey") == set()
    assert other not in found(kit, s, "ceramics")


def test_snippets_never_show_what_the_actor_cannot_read(kit, world, scene):
    case, _ = scene
    c = world.carrier_actor
    kit.messages.post(world.shipper_actor, case, "secret strawberry forklift", audience="internal")
    row = kit.views.search(c, "forklift").rows[0]
    assert row.number == case
    assert row.snippet is not None
    assert "strawberry" not in row.snippet.text
    assert row.snippet.source == "message"
    assert "zebrawood" in row.snippet.text


def test_search_combines_with_views_and_filters(kit, world, scene):
    case, _ = scene
    s = world.shipper_actor
    query = {"view": "all_cases", "search": "zebrawood"}
    assert numbers(kit.views.list(s, query)) == [case]
    filtered = {**query, "filters": [{"field": "type", "op": "in", "value": ["lost"]}]}
    assert numbers(kit.views.list(s, filtered)) == []
    kit.cases.solve(s, case)
    assert numbers(kit.views.list(s, {"view": "all_active", "search": "zebrawood"})) == []
    view = kit.views.save(s, "Zebra", query)
    assert numbers(kit.views.list(s, json.loads(view.definition))) == [case]


def test_the_snippet_shows_the_text_that_holds_the_words_as_typed(kit, world):
    s = world.shipper_actor
    case = kit.cases.open(s, type="other", subject="quince damage report quince").number
    kit.messages.post(s, case, "The quince report: damage seen", audience="internal")
    kit.messages.post(s, case, "Damage report", audience="internal")
    row = kit.views.search(s, "damage  report").rows[0]
    assert row.snippet is not None
    assert row.snippet.text in ("quince damage report quince", "Damage report")
    row = kit.views.search(s, "report: damage").rows[0]
    assert row.snippet is not None
    assert row.snippet.text == "The quince report: damage seen"


def test_mariadb_is_asked_for_a_words_english_forms():
    forms = set(mariadb_form("pallets", "english").strip("()").split())
    assert {"pallet", "pallets", "palleted"} <= forms
    assert {"address", "addresses", "addressed"} <= set(
        mariadb_form("address", "english").strip("()").split()
    )
    assert "filename" not in mariadb_form("file", "english")
    assert mariadb_form("pallets", "simple") == "pallets"
    assert mariadb_form("pallets", "german") == "pallets"


def test_ranked_best_first(kit, world):
    s = world.shipper_actor
    weak = kit.cases.open(s, type="other", subject="a parcel", message="kumquat once").number
    strong = kit.cases.open(
        s, type="other", subject="kumquat kumquat", message="kumquat kumquat kumquat"
    ).number
    page = kit.views.search(s, "kumquat")
    assert set(numbers(page)) == {weak, strong}
    lister_hits = kit.views.search(s, "kumquat")
    assert {r.number for r in lister_hits.rows} == {weak, strong}


def test_the_index_follows_the_rows(kit, world, scene):
    """Kept by the database in the same transaction: a message's words changed
    (redacted) or deleted leave the index; a new one is found at once."""
    case, _ = scene
    s = world.shipper_actor
    with kit.engine.begin() as conn:
        conn.execute(
            text("UPDATE casekit_entries SET body = :b WHERE body LIKE :old"),
            {"b": "[redacted]", "old": "%zebrawood%"},
        )
    assert found(kit, s, "zebrawood") == set()
    assert found(kit, s, "redacted") == {case}
    with kit.engine.begin() as conn:
        conn.execute(text("DELETE FROM casekit_attachments"))
    assert found(kit, s, "walnut") == set()
    kit.messages.post(s, case, "new word elderflower", audience="partners")
    assert found(kit, s, "elderflower") == {case}


def test_identifiers_and_words_together_and_no_words(kit, world, scene):
    _, other = scene
    s = world.shipper_actor
    # A case number and a word: either finds.
    assert found(kit, s, other) == {other}
    # Punctuation alone has no words and no identifier.
    assert found(kit, s, "---") == set()


def test_terms_and_snippets():
    assert terms("Kai  Park, kai@example.com!") == ["kai", "park", "example", "com"]
    made = snippet("message", "x " * 200 + "the parcel arrived damaged " + "y " * 200, ["damage"])
    assert made.text.startswith("…")
    assert made.text.endswith("…")
    assert [p for p, hit in made.parts() if hit] == ["damaged"]
    assert len(made.text) <= 162
    assert Snippet("subject", "ab", ((0, 1),)).parts() == [("a", True), ("b", False)]


def test_full_text_structures_are_named(kit):
    assert fulltext.is_fulltext("ix_casekit_entries_fts")
    assert fulltext.is_fulltext("casekit_entries_fts_data")
    assert not fulltext.is_fulltext("casekit_entries")
    with pytest.raises(ValueError, match="search_language"):
        fulltext.check_language("english'; drop")


def test_common_words_read_in_the_lists_order_with_the_same_rules(kit, world, scene, monkeypatch):
    """Past SEARCH_TEXTS matching texts, the page holds the words' subquery: the
    same cases, the same audiences, snippets still."""
    from casekit.query import listing

    case, _ = scene
    monkeypatch.setattr(listing, "SEARCH_TEXTS", 1)
    s, c, me = world.shipper_actor, world.carrier_actor, world.customer_actor
    assert found(kit, s, "marmalade") == {case}
    assert found(kit, c, "marmalade") == set()
    assert found(kit, me, "pineapple") == set()
    assert kit.views.count(c, {"view": "all_cases", "search": "marmalade"}) == 0
    row = kit.views.search(c, "forklift").rows[0]
    assert row.snippet is not None
    assert "zebrawood" in row.snippet.text


def test_the_indexes_are_rebuilt_in_another_language_from_the_command_line(kit, world):
    """``casekit db rebuild-search``: PostgreSQL's indexes in the language asked,
    ``db current`` saying when they are not in the setting's; the others rebuilt."""
    from click.testing import CliRunner

    from casekit.cli import cli

    s = world.shipper_actor
    case = kit.cases.open(s, type="other", subject="Die Paletten wurden beschädigt").number
    url = kit.engine.url.render_as_string(hide_password=False)
    assert found(kit, s, "Paletten") == {case}

    def invoke(*args: str, language: str = "english"):
        env = {"CASEKIT_DATABASE_URL": url, "CASEKIT_SEARCH_LANGUAGE": language}
        return CliRunner().invoke(cli, list(args), env=env)

    bad = invoke("db", "rebuild-search", "--language", "no-such; drop")
    assert bad.exit_code == 2
    assert "--language" in bad.output
    done = invoke("db", "rebuild-search", language="german")
    assert done.exit_code == 0, done.output
    with kit.engine.connect() as conn:
        built = fulltext.language(conn)
    if kit.engine.dialect.name == "postgresql":
        assert built == "german"
        assert "in 'german' (they were in 'english')" in done.output
        current = invoke("db", "current")
        assert "hold 'german' words, search_language is 'english'" in current.output
        assert current.exit_code == 0
        assert "search_language" not in invoke("db", "current", language="german").output
    else:
        assert built is None
        assert "nothing to rebuild" in done.output
    # The rebuilt indexes hold the rows already stored.
    assert found(kit, s, "Paletten") == {case}
    invoke("db", "rebuild-search")
    assert found(kit, s, "Paletten") == {case}


def test_a_search_lists_the_best_match_first_and_pages_in_that_order(kit, world):
    from casekit.query.filters import Sort
    from casekit.query.listing import BuiltinView, ListQuery

    s = world.shipper_actor
    strong = kit.cases.open(
        s, type="other", subject="kumquat crate", message="kumquat kumquat kumquat"
    ).number
    middle = kit.cases.open(
        s, type="other", subject="a parcel", message="two kumquat kumquat"
    ).number
    weak = kit.cases.open(
        s,
        type="other",
        subject="a parcel",
        message="the driver called twice about the gate code and a kumquat " + "word " * 60,
    ).number
    kit.cases.open(s, type="other", subject="nothing to see")
    # No sort asked for: best first, though the weakest is the newest.
    assert numbers(kit.views.search(s, "kumquat")) == [strong, middle, weak]
    query = {"view": "all_cases", "search": "kumquat"}
    assert numbers(kit.views.list(s, query)) == [strong, middle, weak]
    # An explicit sort is honoured; relevance ascending is the weakest first.
    by_date = query | {"sort": {"field": "created_at", "direction": "desc"}}
    assert numbers(kit.views.list(s, by_date)) == [weak, middle, strong]
    weakest = query | {"sort": {"field": "relevance", "direction": "asc"}}
    assert numbers(kit.views.list(s, weakest)) == [weak, middle, strong]
    # Keyset pages walk the same order, each case once.
    for asked in (query, weakest):
        seen, cursor = [], None
        while True:
            page = kit.views.list(s, asked, limit=1, cursor=cursor)
            seen += numbers(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == numbers(kit.views.list(s, asked))
    # Filters still apply; a case an identifier matches comes before the words'.
    solved = kit.cases.change(s, middle, {"status": "solved"})
    assert solved is not None
    assert numbers(kit.views.list(s, query | {"view": "all_active"})) == [strong, weak]
    assert numbers(kit.views.search(s, weak))[0] == weak
    # Without a search, relevance is the view's own order; a cursor of another list is
    # refused by field.
    plain = ListQuery(view=BuiltinView.ALL_CASES, sort=Sort("relevance"))
    newest_first = ListQuery(view=BuiltinView.ALL_CASES)
    assert numbers(kit.views.list(s, plain)) == numbers(kit.views.list(s, newest_first))
    with pytest.raises(InvalidInput) as refused:
        kit.views.list(s, query, cursor="bm90LWEtY3Vyc29y")
    assert "cursor" in refused.value.errors


def test_a_private_note_never_moves_the_order_a_reader_sees(kit, world):
    """Relevance reads the texts the reader reads alone: the shipper's internal notes —
    one on a listed case, many holding the words elsewhere (which would change how rare
    each word is among all texts, and so an engine's own score) — leave the carrier's
    order as it was."""
    s, c = world.shipper_actor, world.carrier_actor

    def opened(subject: str, body: str) -> str:
        number = kit.cases.open(s, type="other", carrier=world.carrier.id, subject=subject).number
        kit.messages.post(s, number, body, audience="partners")
        return number

    first = opened("crate one", "alpha alpha beta")
    second = opened("crate two", "alpha beta beta")
    opened("crate three", "beta only here")
    before = numbers(kit.views.search(c, "alpha beta"))
    assert sorted(before) == sorted([first, second])
    assert numbers(kit.views.search(s, "alpha beta")) == before
    kit.messages.post(s, first, "alpha beta beta beta alpha beta", audience="internal")
    elsewhere = opened("crate four", "nothing")
    for _ in range(12):
        kit.messages.post(s, elsewhere, "alpha alpha alpha alpha", audience="internal")
    assert numbers(kit.views.search(c, "alpha beta")) == before
    # Equal for the carrier (the newer first); the shipper reads its own note, which
    # puts the first case first: had the note counted for the carrier, it would too.
    assert before == [second, first]
    assert numbers(kit.views.search(s, "alpha beta")) == [first, second]


def test_a_count_may_stop_past_a_bound(kit, world, how):
    """``at_most``: a count above it means more (a search of common words asks each
    case in turn, and its count stops there); a saved view's badge with a search
    stops past SEARCH_COUNT."""
    s, c = world.shipper_actor, world.carrier_actor
    for n in range(4):
        case = kit.cases.open(s, type="lost", carrier=world.carrier.id, subject=f"Box {n}").number
        kit.messages.post(s, case, "The quince arrived bruised", audience="partners")
    kit.messages.post(s, case, "Our own quince note", audience="internal")
    query = {"view": "all_cases", "search": "quince"}
    assert kit.views.count(s, query) == 4
    assert kit.views.count(s, query, at_most=2) == 3
    assert kit.views.count(s, query, at_most=4) == 4
    assert kit.views.count(c, query, at_most=2) == 3
    assert kit.views.count(c, {**query, "search": "own note"}, at_most=2) == 0
    assert kit.views.count(s, {"view": "all_cases"}, at_most=1) == 2
    view = kit.views.save(s, "Quince", query)
    plain = kit.views.save(s, "Everything", {"view": "all_cases"})
    with pytest.MonkeyPatch.context() as patch:
        from casekit.services import views

        patch.setattr(views, "SEARCH_COUNT", 2)
        counts = kit.views.counts(s)
    assert counts[f"saved:{view.id}"] == 3
    assert counts[f"saved:{plain.id}"] == 4


@pytest.mark.backends("postgresql", "sqlite")
def test_common_words_are_known_before_their_texts_are_read(kit, world, monkeypatch):
    """PostgreSQL's planner, from the statistics of the messages' words (migration
    0043), or SQLite's bounded count says which words are common; a word the
    statistics do not know is not. MariaDB has no such question (it never walks)."""
    from datetime import UTC, datetime

    from casekit.query import fulltext as words
    from casekit.query.listing import Lister

    s = world.shipper_actor
    case = kit.cases.open(s, type="lost", subject="Fruit").number
    for n in range(30):
        kit.messages.post(s, case, f"mango shipment {n}", audience="partners")
    kit.messages.post(s, case, "one durian", audience="partners")
    with kit.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE casekit_entries")
    monkeypatch.setattr(words, "COMMON_TEXTS", 10)
    with kit.sessions(write=False) as session:
        lister = Lister(session, s, now=datetime.now(UTC), window_months=0)
        found = lister.fulltext()
        assert found.common({"fts_query": "mango"})
        assert not found.common({"fts_query": "durian"})
        assert not found.common({"fts_query": "rambutan"})
        monkeypatch.setattr(words, "COMMON_TEXTS", 100)
        assert not found.common({"fts_query": "mango"})
    # Common, the page asks each case and finds it; the count stops past its bound.
    monkeypatch.setattr(words, "COMMON_TEXTS", 10)
    assert numbers(kit.views.search(s, "mango shipment")) == [case]
    assert kit.views.count(s, {"view": "all_cases", "search": "mango"}, at_most=0) == 1
