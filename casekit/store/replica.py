"""A PostgreSQL read replica: where the reads that may lag go, and when they may not.

The read paths that show many cases at once (lists, counts, search, exports,
reports) ask for a session on the replica (``kit.sessions(write=False,
replica=True)``); every other read, and every write, stays on the primary.
:class:`ReadReplica` decides, for the actor of the running call, whether the
replica may serve the read:

- **read-your-writes**: after each write, the primary's WAL insert position
  (``pg_current_wal_insert_lsn()``, taken once the commit returned) is kept
  for the actor who wrote. The replica serves that actor again only once it
  has replayed that position (``pg_last_wal_replay_lsn()``); until then
  their reads go to the primary. Other actors may read a little behind.
  With ``shared`` (``replica_read_your_writes = "database"``, the default)
  the position is kept in the primary's ``casekit_write_positions`` too,
  written in the statement that reads it, and read by every process before
  the replica serves that actor: one small statement on the primary per
  read, so a user whose next request reaches another web process still
  reads their write.
- **lag**: a replica more than ``max_lag_seconds`` behind (WAL received and
  not yet replayed for that long) serves nobody; reads go to the primary.
- **away**: a replica that cannot be reached serves nobody for
  :data:`RETRY_AFTER` seconds; reads go to the primary, and a warning is
  logged. A user never sees an error for it.

The replica's replayed position only grows, so the last one seen is a safe
lower bound: it is asked again at most every :data:`CHECK_EVERY` seconds, or
sooner when an actor's last write is beyond it. Each process also keeps the
positions of the last :data:`REMEMBERED` actors who wrote in it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine, exc, text

from casekit.domain.actor import Actor
from casekit.errors import ConfigurationError
from casekit.store.database import create_casekit_engine, normalize_url

if TYPE_CHECKING:
    from casekit.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a replica's replayed position and lag are trusted before it is asked again.
CHECK_EVERY = 1.0
#: Seconds a replica that could not be reached is left alone before it is tried again.
RETRY_AFTER = 10.0
#: How many actors' last writes a process remembers (the oldest are forgotten).
REMEMBERED = 10_000
#: Seconds to wait for the replica to accept a connection before reading from the primary.
CONNECT_TIMEOUT = 3

_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")
#: The position kept for every process: the greater of the one kept and this one.
_SHARE = text(
    "INSERT INTO casekit_write_positions (actor_key, position, written_at) "
    "VALUES (:key, pg_current_wal_insert_lsn() - '0/0'::pg_lsn, now()) "
    "ON CONFLICT (actor_key) DO UPDATE SET "
    "position = GREATEST(casekit_write_positions.position, EXCLUDED.position), "
    "written_at = EXCLUDED.written_at "
    "RETURNING position"
)
_SHARED = text("SELECT position FROM casekit_write_positions WHERE actor_key = :key")
_STATUS = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "CASE WHEN pg_last_wal_receive_lsn() IS NULL "
    "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


def read_replica(settings: Settings, primary: Engine) -> ReadReplica | None:
    """The read replica ``settings.replica_url`` names, for the ``primary``; None without one.

    Both must be PostgreSQL (a standby streaming from the primary):
    :class:`~casekit.errors.ConfigurationError` otherwise.
    """
    if not settings.replica_url:
        return None
    try:
        backend = normalize_url(settings.replica_url).get_backend_name()
    except (exc.ArgumentError, ValueError):
        backend = ""
    if backend != "postgresql" or primary.dialect.name != "postgresql":
        raise ConfigurationError(
            "replica_url: a read replica needs PostgreSQL, for the database and the "
            "replica (a standby streaming from it), e.g. postgresql://casekit@replica.example/casekit"
        )
    engine = create_casekit_engine(
        settings.replica_url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )
    return ReadReplica(
        engine,
        primary,
        max_lag_seconds=settings.replica_max_lag_seconds,
        shared=settings.replica_read_your_writes == "database",
    )


def lsn(value: str) -> int:
    """A PostgreSQL WAL position (``16/B374D848``) as a number that compares."""
    high, _slash, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def actor_key(actor: Actor | None) -> str | None:
    """Whom a write is remembered for: a user, a customer or a system (per organization)."""
    if actor is None:
        return None
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    if actor.customer_id is not None:
        return f"customer:{actor.customer_id}"
    return f"{actor.kind}:{actor.system}:{actor.org_id}"


class ReadReplica:
    """The replica's engine, and whether it may serve an actor now.

    :param engine: the replica's engine.
    :param primary: the primary's engine, asked for its WAL position after a write.
    :param max_lag_seconds: the most a replica may be behind and still serve.
    :param shared: keep each actor's last write position in the primary's
        ``casekit_write_positions`` for every process, not only in this one.
    """

    def __init__(
        self,
        engine: Engine,
        primary: Engine,
        *,
        max_lag_seconds: float,
        shared: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.shared = shared
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._written: OrderedDict[str, int] = OrderedDict()
        self._replayed = -1
        self._lag = 0.0
        self._checked_at = float("-inf")
        self._away_until = float("-inf")
        #: Why the last read went to the primary ("" when the replica served it).
        self.last_reason = ""

    def serves(self, actor: Actor | None) -> bool:
        """Whether the replica may serve ``actor``'s read now (else: the primary)."""
        now = self._monotonic()
        if now < self._away_until:
            return self._primary("away")
        key = actor_key(actor)
        with self._lock:
            needed = self._written.get(key, -1) if key is not None else -1
        if self.shared and key is not None:
            shared = self._shared_position(key)
            if shared is None:
                return self._primary("position unknown")
            needed = max(needed, shared)
        if now - self._checked_at > CHECK_EVERY or needed > self._replayed:
            self._check(now)
            if now < self._away_until:
                return self._primary("away")
        if self._replayed < 0:
            return self._primary("not a standby")
        if self._lag > self.max_lag_seconds:
            return self._primary("behind")
        if needed > self._replayed:
            return self._primary("own write")
        if key is not None and needed >= 0:
            with self._lock:
                self._written.pop(key, None)  # replayed: nothing left to wait for
        self.last_reason = ""
        return True

    def wrote(self, actor: Actor | None) -> None:
        """``actor`` just committed a write on the primary: remember where it ended."""
        key = actor_key(actor)
        if key is None:
            return
        try:
            with self.primary.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if self.shared:
                    position = int(conn.scalar(_SHARE, {"key": key}))
                else:
                    position = lsn(str(conn.scalar(_POSITION)))
        except exc.DBAPIError:
            log.warning("casekit: the primary's WAL position could not be read", exc_info=True)
            return
        with self._lock:
            self._written[key] = max(position, self._written.pop(key, -1))
            while len(self._written) > REMEMBERED:
                self._written.popitem(last=False)

    def _shared_position(self, key: str) -> int | None:
        """Where ``key``'s last write ended, as every process kept it (-1: none); None
        when the primary could not say (the read then stays on the primary)."""
        try:
            with self.primary.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                found = conn.scalar(_SHARED, {"key": key})
        except exc.DBAPIError:
            log.warning("casekit: the actors' write positions could not be read", exc_info=True)
            return None
        return -1 if found is None else int(found)

    def went_away(self) -> None:
        """The replica failed a read's connection: leave it alone for a while."""
        self._away_until = self._monotonic() + RETRY_AFTER
        self.engine.dispose()

    def _check(self, now: float) -> None:
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                standby, replayed, lag = conn.execute(_STATUS).one()
        except exc.DBAPIError as error:
            log.warning(
                "casekit: the read replica %s cannot be reached (%s); reads go to the "
                "primary for %d s",
                self.engine.url.render_as_string(hide_password=True),
                str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else error,
                RETRY_AFTER,
            )
            self.went_away()
            return
        self._checked_at = now
        if not standby or replayed is None:
            if self._replayed >= 0 or not self.last_reason:
                log.warning(
                    "casekit: the read replica %s is no standby; reads go to the primary",
                    self.engine.url.render_as_string(hide_password=True),
                )
            self._replayed = -1
            return
        self._replayed = max(self._replayed, lsn(replayed))
        lag = float(lag)
        if lag > self.max_lag_seconds >= self._lag:
            log.warning(
                "casekit: the read replica is %.1f s behind (more than %s): reads go to "
                "the primary until it catches up",
                lag,
                self.max_lag_seconds,
            )
        self._lag = lag

    def _primary(self, reason: str) -> bool:
        self.last_reason = reason
        return False
