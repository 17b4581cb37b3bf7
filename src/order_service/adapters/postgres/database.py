"""One PostgreSQL connection per container, reused across invocations (the seed's pattern).

Before each unit of work the connection is checked with a round trip and reopened if the
server dropped it, so an invocation after a failover or an idle timeout just works. A
connection lost in the middle of a transaction is not retried here: nothing was committed,
the caller gets StoreUnavailableError, and its own retry (the client's, or the event
source's) opens a fresh connection.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from order_service.ports import StoreUnavailableError

Connection = psycopg.Connection[DictRow]
ConnectionFactory = Callable[[], Connection]


def connect(
    conninfo: str = "", *, statement_timeout_ms: int, connect_timeout_seconds: int = 5, **params: Any
) -> Connection:
    """A connection in autocommit mode (transactions are explicit), with a statement timeout."""
    connection: Connection = psycopg.connect(
        conninfo,
        autocommit=True,
        row_factory=dict_row,
        connect_timeout=connect_timeout_seconds,
        options=f"-c statement_timeout={statement_timeout_ms}",
        application_name="order-service",
        **params,
    )
    return connection


class Database:
    def __init__(self, connect: ConnectionFactory) -> None:
        self._connect = connect
        self._connection: Connection | None = None
        self.reconnects = 0

    @property
    def backend_pid(self) -> int | None:
        """The server process serving this container's connection (for operators and tests)."""
        return None if self._connection is None or self._connection.closed else self._connection.info.backend_pid

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        connection = self._healthy_connection()
        try:
            with connection.transaction():
                yield connection
        except psycopg.OperationalError as error:
            if connection.closed or connection.broken:
                self._discard()
                raise StoreUnavailableError("the database connection was lost; nothing was written") from error
            raise

    def _healthy_connection(self) -> Connection:
        if self._connection is not None and not (self._connection.closed or self._connection.broken):
            try:
                self._connection.execute("SELECT 1")
                return self._connection
            except psycopg.OperationalError:
                self._discard()
        if self._connection is not None:
            self._discard()
        try:
            self._connection = self._connect()
        except psycopg.OperationalError as error:
            raise StoreUnavailableError("the database cannot be reached") from error
        self.reconnects += 1
        return self._connection

    def _discard(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None

    def close(self) -> None:
        self._discard()
