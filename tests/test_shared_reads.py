"""A page's reads in one transaction (``kit.sharing_reads``, casekit.store.uow.SharedReads)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from test_acting import CHECK

from casekit import Actor, PermissionDenied
from casekit.store.uow import UnitOfWork, set_local


class Watch:
    """The acting user's checks and the pooled connections taken while it listens."""

    def __init__(self, kit):
        self.kit, self.checks, self.checkouts = kit, 0, 0

    def _statement(self, _conn, _cursor, statement, *_args):
        self.checks += bool(CHECK.search(statement))

    def _checkout(self, *_args):
        self.checkouts += 1

    def __enter__(self):
        event.listen(self.kit.engine, "before_cursor_execute", self._statement)
        event.listen(self.kit.engine.pool, "checkout", self._checkout)
        return self

    def __exit__(self, *_exc):
        event.remove(self.kit.engine, "before_cursor_execute", self._statement)
        event.remove(self.kit.engine.pool, "checkout", self._checkout)


def _page_reads(kit, actor):
    """What a page asks besides its cases: names to compare."""
    return (
        [u.name for u in kit.directory.users(actor)],
        [t.name for t in kit.tags.list(actor, archived=True)],
        [v.name for v in kit.views.saved(actor)],
        [r.title for r in kit.canned_replies.list(actor)],
    )


def test_the_reads_of_a_block_take_one_connection_and_one_check(kit, world):
    me = world.shipper_manager_actor
    kit.views.save(me, "Mine", {"view": "all_cases"})
    with Watch(kit) as alone:
        expected = _page_reads(kit, me)
    assert (alone.checks, alone.checkouts) == (4, 4)
    with Watch(kit) as shared, kit.sharing_reads():
        assert _page_reads(kit, me) == expected
    assert (shared.checks, shared.checkouts) == (1, 1)
    assert expected[2] == ["Mine"]


def test_a_write_in_the_block_is_seen_by_the_reads_after_it(kit, world):
    """SQLite keeps a transaction's snapshot: the shared one ends before a write."""
    me = world.shipper_manager_actor
    with kit.sharing_reads():
        assert kit.views.saved(me) == []
        kit.views.save(me, "Mine", {"view": "all_cases"})
        assert [v.name for v in kit.views.saved(me)] == ["Mine"]
        case = kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
        assert kit.cases.get(me, case.number).number == case.number


def test_each_user_is_checked_once_in_the_shared_transaction(kit, world, admin):
    me, agent = world.shipper_manager_actor, world.shipper_actor
    kit.directory.deactivate_user(admin, world.shipper_agent.id)
    with Watch(kit) as watch, kit.sharing_reads():
        kit.views.saved(me)
        with pytest.raises(PermissionDenied, match="deactivated"):
            kit.views.saved(agent)
        # Refused again: a refusal is no check passed.
        with pytest.raises(PermissionDenied, match="deactivated"):
            kit.tags.list(agent)
        kit.tags.list(me)
        kit.views.saved(Actor.host())
    assert watch.checks == 3
    assert watch.checkouts == 1


def test_the_identity_check_of_a_request_is_the_transactions_check(kit, world):
    me = world.shipper_manager_actor
    with Watch(kit) as watch, kit.sharing_reads():
        assert kit.directory.may_act(me)
        kit.views.saved(me)
        kit.tags.list(me)
    assert (watch.checks, watch.checkouts) == (0, 1)


def test_a_failed_read_gives_its_session_up(kit):
    """On PostgreSQL a failed statement aborts its transaction: the next read
    begins another."""
    sessions = kit.sessions
    with kit.sharing_reads():
        with pytest.raises(DBAPIError), UnitOfWork(sessions, write=False) as uow:
            uow.session.execute(text("SELECT * FROM casekit_no_such_table"))
        with UnitOfWork(sessions, write=False) as uow:
            assert uow.session.execute(text("SELECT 1")).scalar() == 1


def test_reads_share_a_session_one_after_the_other_not_inside_each_other(kit):
    sessions = kit.sessions
    with kit.sharing_reads():
        with UnitOfWork(sessions, write=False) as first:
            with UnitOfWork(sessions, write=False) as inner:
                assert inner.session is not first.session
            kept = first.session
        with UnitOfWork(sessions, write=False) as second:
            assert second.session is kept
        with UnitOfWork(sessions, write=True) as writing:
            assert writing.session is not kept
    with UnitOfWork(sessions, write=False) as outside:
        assert outside.session is not kept


@pytest.mark.backends("postgresql")  # SET LOCAL is PostgreSQL's
def test_a_transaction_setting_is_set_back_for_the_next_read(kit):
    sessions = kit.sessions
    with kit.sharing_reads():
        with UnitOfWork(sessions, write=False) as uow:
            default = uow.session.execute(text("SHOW work_mem")).scalar()
            set_local(uow.session, "work_mem", "'1234kB'")
            assert uow.session.execute(text("SHOW work_mem")).scalar() == "1234kB"
            kept = uow.session
        with UnitOfWork(sessions, write=False) as uow:
            assert uow.session is kept
            assert uow.session.execute(text("SHOW work_mem")).scalar() == default != "1234kB"


def test_a_kit_on_the_hosts_transaction_shares_nothing(kit, world):
    with kit.engine.connect() as conn, conn.begin():
        bound = kit.bind(conn)
        with bound.sharing_reads():
            with UnitOfWork(bound.sessions, write=False) as first:
                kept = first.session
            with UnitOfWork(bound.sessions, write=False) as second:
                assert second.session is not kept
            assert bound.views.saved(world.shipper_actor) == []
