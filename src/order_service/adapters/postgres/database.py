"""One PostgreSQL connection per container, reused across invocations (the seed's pattern).

Before each unit of work the connection is checked with a round trip and reopened if the
server dropped it, so an invocation after a failover or an idle timeout just works. A
connection lost in the middle of a transaction is not retried here: nothing was committed,
the caller gets StoreUnavailableError, and its own retry (the client's, or the event
source's) opens a fresh connection.

Nothing waits on the database without a bound. The server ends a statement at its statement
timeout, and a wait for a lock at its lock timeout (the transaction is rolled back and the
connection stays usable); TCP keepalives and a TCP user timeout fail a connection whose peer
went silent. A stalled peer whose kernel
still acknowledges (a proxy, say) defeats both, so each unit of work (`transaction()`, its
connection check included) also has a client-side limit, capped by the invocation's deadline:
past it, a watchdog shuts the connection's socket down, the blocked wait returns, psycopg
raises, and the connection is discarded. Every one of these ends as StoreUnavailableError.

What RDS Proxy accepts, and what keeps it multiplexing. It refuses a startup packet with an
`options` parameter ("RDS Proxy currently doesn't support command-line options"), so no limit
travels in the startup. It pins a client connection to one database connection for the rest
of the session when it sees session state: a session-level `SET` or `set_config(..., false)`,
a server-side prepared statement, an advisory lock taken outside a transaction. So the
timeouts are `SET LOCAL` at the start of each transaction (they end with it, and a transaction
holds its database connection anyway), and psycopg never prepares statements (after
`prepare_threshold` executions of one query it would, by name). A role-level default (`ALTER
ROLE ... SET`) or the proxy's initialization query would not pin either, but they live outside
this code, and a limit that only a deployment step sets is a limit a deployment can forget.
"""

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from order_service.adapters import time_budget
from order_service.ports import StoreUnavailableError


class Connection(psycopg.Connection[DictRow]):
    """A connection of the service: it knows the limits each of its transactions sets."""

    statement_timeout_ms: int = 0
    lock_timeout_ms: int = 0

    def transaction_limits(self) -> sql.Composed:
        # Literals, not parameters: a query without parameters goes as one simple-protocol
        # message, both settings in one round trip.
        return sql.SQL("SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}").format(
            sql.Literal(f"{self.statement_timeout_ms}ms"), sql.Literal(f"{self.lock_timeout_ms}ms")
        )


ConnectionFactory = Callable[[], Connection]


# A connection idle this long is probed; after this many unanswered probes, this far apart, it is dead.
KEEPALIVE_IDLE_SECONDS = 5
KEEPALIVE_INTERVAL_SECONDS = 2
KEEPALIVE_COUNT = 2
# Sent data unacknowledged this long after the statement timeout fails the connection.
TCP_USER_TIMEOUT_MARGIN_MS = 1_000
SQLSTATE_QUERY_CANCELED = "57014"
SQLSTATE_LOCK_NOT_AVAILABLE = "55P03"


def connect(
    conninfo: str = "",
    *,
    statement_timeout_ms: int,
    lock_timeout_ms: int | None = None,
    connect_timeout_seconds: int = 2,
    **params: Any,
) -> Connection:
    """A connection in autocommit mode (transactions are explicit) whose transactions set a
    statement timeout and a lock timeout, with TCP keepalives and a TCP user timeout (libpq's
    parameters, which psycopg hands to libpq).

    The lock timeout is by default three quarters of the statement timeout: a statement stuck
    behind a lock fails as such, before its statement timeout, yet (3 s by default, so 2.25 s)
    it outwaits a migration statement queued for its lock (2 s at most), so a migration run
    while the service writes makes no write fail."""
    lock_timeout_ms = statement_timeout_ms * 3 // 4 if lock_timeout_ms is None else lock_timeout_ms
    if not 0 < lock_timeout_ms <= statement_timeout_ms:
        raise ValueError("the lock timeout must be positive and no longer than the statement timeout")
    connection = Connection.connect(
        conninfo,
        autocommit=True,
        prepare_threshold=None,
        row_factory=dict_row,
        connect_timeout=connect_timeout_seconds,
        application_name="order-service",
        keepalives=1,
        keepalives_idle=KEEPALIVE_IDLE_SECONDS,
        keepalives_interval=KEEPALIVE_INTERVAL_SECONDS,
        keepalives_count=KEEPALIVE_COUNT,
        tcp_user_timeout=statement_timeout_ms + TCP_USER_TIMEOUT_MARGIN_MS,
        **params,
    )
    connection.statement_timeout_ms = statement_timeout_ms
    connection.lock_timeout_ms = lock_timeout_ms
    return connection


class _Watchdog:
    """Shuts the connection's socket down at `until` (time.monotonic()) unless disarmed first.

    The lock orders the two: once `disarm()` returned, the socket is never touched again (so
    the connection may be closed, and its descriptor reused); if the watchdog fired first,
    `disarm()` says so and the connection must be discarded, even if its transaction ended."""

    def __init__(self, connection: Connection, until: float) -> None:
        self._fd = connection.fileno()
        self._lock = threading.Lock()
        self._armed = True
        self.fired = False
        self._timer = threading.Timer(max(0.0, until - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self._armed = False
            self.fired = True
            # shutdown() acts on the socket itself, not on this duplicate of its descriptor: the
            # wait blocked on it returns at once, with an error, in every thread.
            with contextlib.suppress(OSError), socket.socket(fileno=os.dup(self._fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> bool:
        """Stop the watchdog; True if it had already fired."""
        with self._lock:
            self._armed = False
        self._timer.cancel()
        return self.fired


class Database:
    def __init__(
        self, connect: ConnectionFactory, *, time_limit_seconds: float = 8.0, connect_timeout_seconds: float = 2.0
    ) -> None:
        """`time_limit_seconds`: the longest one unit of work may take, connecting included
        (settings.database_worst_case_seconds()); `connect_timeout_seconds`: the connection
        factory's own, so a connection is not started without the time to finish it."""
        self._connect = connect
        self._time_limit = time_limit_seconds
        self._connect_timeout = connect_timeout_seconds
        self._connection: Connection | None = None
        self.reconnects = 0

    @property
    def backend_pid(self) -> int | None:
        """The server process serving this container's connection (for operators and tests)."""
        return None if self._connection is None or self._connection.closed else self._connection.info.backend_pid

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        until = self._unit_deadline()
        connection, watchdog = self._healthy_connection(until)
        try:
            with connection.transaction():
                connection.execute(connection.transaction_limits())
                yield connection
        except psycopg.OperationalError as error:
            timed_out = watchdog.disarm()
            lost = connection.closed or connection.broken
            if timed_out or lost:
                self._discard()
            raise StoreUnavailableError(self._failure(error, timed_out=timed_out, lost=lost)) from error
        finally:
            if watchdog.disarm():
                self._discard()

    def _unit_deadline(self) -> float:
        now = time.monotonic()
        until = now + self._time_limit
        left = time_budget.seconds_left()
        if left is not None:
            until = min(until, now + left)
        if until <= now:
            raise StoreUnavailableError("no time left in this invocation for the database")
        return until

    def _failure(self, error: psycopg.OperationalError, *, timed_out: bool, lost: bool = False) -> str:
        if timed_out:
            return "the database did not answer in time; the transaction was abandoned"
        if lost:
            return "the database connection was lost; nothing was written"
        if error.sqlstate == SQLSTATE_QUERY_CANCELED:
            return "the database statement timed out; nothing was written"
        if error.sqlstate == SQLSTATE_LOCK_NOT_AVAILABLE:
            return "the database statement waited too long for a lock; nothing was written"
        return f"the database could not complete the transaction ({error.sqlstate}); nothing was written"

    def _healthy_connection(self, until: float) -> tuple[Connection, _Watchdog]:
        """The connection, checked with a round trip under the unit's watchdog, or a new one."""
        connection = self._connection
        if connection is not None and not (connection.closed or connection.broken):
            watchdog = _Watchdog(connection, until)
            try:
                connection.execute("SELECT 1")
                return connection, watchdog
            except psycopg.OperationalError as error:
                timed_out = watchdog.disarm()
                self._discard()
                if timed_out:
                    raise StoreUnavailableError(self._failure(error, timed_out=True)) from error
        if self._connection is not None:
            self._discard()
        if until - time.monotonic() < self._connect_timeout:
            raise StoreUnavailableError("no time left in this invocation to connect to the database")
        try:
            connection = self._connect()
        except psycopg.OperationalError as error:
            raise StoreUnavailableError("the database cannot be reached") from error
        self._connection = connection
        self.reconnects += 1
        return connection, _Watchdog(connection, until)

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def close(self) -> None:
        self._discard()
