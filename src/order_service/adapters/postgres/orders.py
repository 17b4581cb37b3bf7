"""The PostgreSQL order repository and its outbox.

Every write stores the change and its outbox row in one transaction; the outbox relay
publishes the rows, so what is stored is always announced (as the DynamoDB stream does for
the other store).
"""

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from order_service.adapters.failures import describe_failure, is_permanent
from order_service.adapters.page_tokens import postgres_page_token, postgres_position
from order_service.adapters.postgres.database import Connection, Database
from order_service.adapters.unreadable import read_order
from order_service.models.order import Order, OrderStatus
from order_service.observability import redact_emails
from order_service.ports import (
    OrderAlreadyExistsError,
    OrderChange,
    OrderNotFoundError,
    OrderPage,
    PendingOrders,
    RelayedBatch,
    StoreUnavailableError,
    TransitionConflictError,
    UnreadableOrder,
)

_MAX_REASON = 1000  # the failure_reason column's CHECK

_SELECT_ORDERS = """
SELECT o.*,
       COALESCE(
           json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor)
                    ORDER BY i.line_number) FILTER (WHERE i.sku IS NOT NULL),
           '[]') AS items
  FROM orders o LEFT JOIN order_items i USING (order_id)
"""
# The oldest pending orders created before a cutoff, after a position: the inner query is
# answered from the partial index orders_pending_by_age (migration 0003).
_OLDEST_PENDING_BEFORE = """
 WHERE o.order_id IN (SELECT order_id FROM orders WHERE status = 'pending' AND created_at < %s
                         AND (created_at, order_id) > (%s, %s)
                      ORDER BY created_at, order_id LIMIT %s)
 GROUP BY o.order_id ORDER BY o.created_at, o.order_id
"""
# Before every stored position, for a first page.
_START = (datetime.min.replace(tzinfo=UTC), "")


def _read_rows(rows: Iterable[dict[str, Any]]) -> list[Order | UnreadableOrder]:
    """Each row as an order, or as unreadable when it no longer reads as one, in the order given."""
    return [read_order(str(row["order_id"]), partial(_order, row)) for row in rows]


def _orders(reads: Iterable[Order | UnreadableOrder]) -> list[Order]:
    return [read for read in reads if isinstance(read, Order)]


def _order(row: dict[str, Any]) -> Order:
    # Validated as one document, so that an error names its field's whole path (`items.0.sku`).
    return Order.model_validate(
        {
            "order_id": row["order_id"],
            "customer_id": row["customer_id"],
            "customer_email": row["customer_email"],
            "currency": row["currency"],
            "items": row["items"],
            "total_minor": int(row["total_minor"]),
            "status": OrderStatus(row["status"]),
            "reason": row["reason"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "version": row["version"],
            "idempotency_key": row["idempotency_key"],
            "request_fingerprint": row["request_fingerprint"],
        }
    )


def _record_change(connection: Connection, before: OrderStatus | None, after: Order) -> None:
    connection.execute(
        "INSERT INTO order_outbox (order_id, previous_status, snapshot) VALUES (%s, %s, %s)",
        (after.order_id, None if before is None else before.value, Jsonb(after.model_dump(mode="json"))),
    )


class PostgresOrderRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    def add(self, order: Order) -> None:
        try:
            with self._database.transaction() as connection:
                connection.execute(
                    "INSERT INTO orders (order_id, customer_id, customer_email, currency, total_minor, status, reason,"
                    " created_at, updated_at, version, idempotency_key, request_fingerprint)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        order.order_id,
                        order.customer_id,
                        order.customer_email,
                        order.currency,
                        order.total_minor,
                        order.status.value,
                        order.reason,
                        order.created_at,
                        order.updated_at,
                        order.version,
                        order.idempotency_key,
                        order.request_fingerprint,
                    ),
                )
                with connection.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO order_items (order_id, line_number, sku, quantity, unit_price_minor)"
                        " VALUES (%s, %s, %s, %s, %s)",
                        [
                            (order.order_id, line, item.sku, item.quantity, item.unit_price_minor)
                            for line, item in enumerate(order.items, start=1)
                        ],
                    )
                _record_change(connection, None, order)
        except psycopg.errors.UniqueViolation:
            raise OrderAlreadyExistsError(order.order_id) from None

    def get(self, order_id: str) -> Order | None:
        with self._database.transaction() as connection:
            return self._read(connection, order_id)

    def _read(self, connection: Connection, order_id: str) -> Order | None:
        row = connection.execute(_SELECT_ORDERS + " WHERE o.order_id = %s GROUP BY o.order_id", (order_id,)).fetchone()
        return None if row is None else _order(row)

    def list_by_customer(self, customer_id: str, limit: int, page_token: str | None) -> OrderPage:
        after = postgres_position(page_token, customer_id) if page_token is not None else None
        condition = "o.customer_id = %s"
        parameters: list[object] = [customer_id]
        if after is not None:
            condition += " AND (o.created_at, o.order_id) < (%s, %s)"
            parameters += [after[0], after[1]]
        # One more order than the page, to know whether there are more. An unreadable row is
        # skipped and the next rows are read in its place, so the page is still full and the
        # token still follows its last order.
        reads: list[Order | UnreadableOrder] = []
        while True:
            wanted = limit + 1 - len(_orders(reads))
            with self._database.transaction() as connection:
                rows = connection.execute(
                    _SELECT_ORDERS + f" WHERE {condition} GROUP BY o.order_id"
                    " ORDER BY o.created_at DESC, o.order_id DESC LIMIT %s",
                    (*parameters, wanted),
                ).fetchall()
            reads += _read_rows(rows)
            if len(_orders(reads)) > limit or len(rows) < wanted:
                break
            condition = "o.customer_id = %s AND (o.created_at, o.order_id) < (%s, %s)"
            parameters = [customer_id, rows[-1]["created_at"], rows[-1]["order_id"]]
        found: list[Order] = []
        unreadable: list[UnreadableOrder] = []
        more = False
        for read in reads:
            # Whatever follows a full page, readable or not, is the next page's.
            if len(found) == limit:
                more = True
                break
            if isinstance(read, UnreadableOrder):
                unreadable.append(read)
            else:
                found.append(read)
        orders = tuple(found)
        return OrderPage(orders, postgres_page_token(orders[-1]) if more and orders else None, tuple(unreadable))

    def transition(
        self, order_id: str, *, expected: OrderStatus, new: OrderStatus, reason: str | None, at: datetime
    ) -> Order:
        with self._database.transaction() as connection:
            # The row lock taken by the guarded UPDATE makes a concurrent transition wait, then
            # find the status changed and update nothing.
            updated = connection.execute(
                "UPDATE orders SET status = %s, reason = %s, updated_at = %s, version = version + 1"
                " WHERE order_id = %s AND status = %s RETURNING order_id",
                (new.value, reason, at, order_id, expected.value),
            ).fetchone()
            current = self._read(connection, order_id)
            if current is None:
                raise OrderNotFoundError(order_id)
            if updated is None:
                raise TransitionConflictError(current)
            _record_change(connection, expected, current)
            return current

    def pending_before(self, cutoff: datetime, limit: int) -> PendingOrders:
        """An unreadable order is skipped, not counted: the rows after it are read in its place."""
        found: list[Order] = []
        unreadable: list[UnreadableOrder] = []
        after = _START
        while len(found) < limit:
            wanted = limit - len(found)
            with self._database.transaction() as connection:
                rows = connection.execute(_SELECT_ORDERS + _OLDEST_PENDING_BEFORE, (cutoff, *after, wanted)).fetchall()
            for read in _read_rows(rows):
                if isinstance(read, UnreadableOrder):
                    unreadable.append(read)
                else:
                    found.append(read)
            if len(rows) < wanted:
                break
            after = (rows[-1]["created_at"], rows[-1]["order_id"])
        return PendingOrders(tuple(found), tuple(unreadable))


class PostgresOutbox:
    """The unpublished changes, oldest first, claimed by relays in small batches.

    Nothing is published inside a transaction: the database's watchdog ends a unit of work
    after a few seconds, and a slow bus or queue would take every mark of the batch with it,
    so the same changes would be sent again at every run. Instead a relay claims a batch in
    one short transaction (a lease: `claimed_by`, `claimed_until`), publishes each change
    outside any transaction, and marks it in its own short transaction right after.

    Relays may run side by side (a scheduled run overlapping a slow one, a manual run): a
    claim skips the rows another relay holds, so each change is published by one relay. The
    rows of a relay that died come back once its lease has ended; a change it had published
    but not yet marked is published again then, which the consumers tolerate (OrderPlaced is
    decided by a guarded transition, a notification has a stable id). Each relay publishes its
    batch oldest first; relays side by side interleave their batches.
    """

    def __init__(self, database: Database, *, lease_seconds: float = 60.0, row_seconds: float = 15.0) -> None:
        """`lease_seconds`: how long a claim holds its rows; `row_seconds`: the longest one change
        may take, its publish and its mark: none is started with less than that left of the lease."""
        if not 0 < row_seconds < lease_seconds:
            raise ValueError("a change must fit in the lease: 0 < row_seconds < lease_seconds")
        self._database = database
        self._lease_seconds = lease_seconds
        self._row_seconds = row_seconds

    def publish_pending(
        self, limit: int, publish: Callable[[OrderChange], object], *, time_left: Callable[[], bool] = lambda: True
    ) -> RelayedBatch:
        """Claim up to `limit` changes and hand them to `publish`, oldest first, marking each once
        it returned. A change that can never be published is marked failed with its reason and
        the batch goes on; any other failure stops the batch and is raised, with what was done
        before it kept. Claimed changes not handed out (no time left, a failure) are released."""
        claim = uuid.uuid4().hex
        # Counted from before the claim: the database's lease ends no sooner than this one.
        lease_ends = time.monotonic() + self._lease_seconds
        rows = self._claim(claim, limit)
        published = set_aside = 0
        done: set[int] = set()
        try:
            for row in rows:
                if not time_left() or time.monotonic() + self._row_seconds > lease_ends:
                    break
                try:
                    publish(_change(row))
                except Exception as error:
                    if not is_permanent(error):
                        raise
                    self._mark_failed(row["id"], redact_emails(describe_failure(error))[:_MAX_REASON])
                    set_aside += 1
                else:
                    self._mark_published(row["id"])
                    published += 1
                done.add(row["id"])
        finally:
            self._release(claim, [row["id"] for row in rows if row["id"] not in done])
        return RelayedBatch(len(rows), published, set_aside)

    def _claim(self, claim: str, limit: int) -> list[dict[str, Any]]:
        with self._database.transaction() as connection:
            rows = connection.execute(
                "UPDATE order_outbox SET claimed_by = %s, claimed_until = now() + make_interval(secs => %s)"
                " WHERE id IN (SELECT id FROM order_outbox"
                "               WHERE published_at IS NULL AND failed_at IS NULL"
                "                 AND (claimed_until IS NULL OR claimed_until <= now())"
                "               ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, previous_status, snapshot",
                (claim, self._lease_seconds, limit),
            ).fetchall()
        return sorted(rows, key=lambda row: int(row["id"]))

    def _mark_published(self, row_id: int) -> None:
        # Whoever holds the row now: the change is out.
        with self._database.transaction() as connection:
            connection.execute(
                "UPDATE order_outbox SET published_at = now() WHERE id = %s AND published_at IS NULL", (row_id,)
            )

    def _mark_failed(self, row_id: int, reason: str) -> None:
        with self._database.transaction() as connection:
            connection.execute(
                "UPDATE order_outbox SET failed_at = now(), failure_reason = %s"
                " WHERE id = %s AND published_at IS NULL AND failed_at IS NULL",
                (reason, row_id),
            )

    def _release(self, claim: str, row_ids: list[int]) -> None:
        """Give claimed rows back at once, for the next run; if the database cannot be reached,
        their lease ends by itself."""
        if not row_ids:
            return
        with contextlib.suppress(StoreUnavailableError), self._database.transaction() as connection:
            connection.execute(
                "UPDATE order_outbox SET claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ANY(%s) AND claimed_by = %s",
                (row_ids, claim),
            )

    def purge_published(self, published_before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` changes published before the given moment: an outbox row holds
        a copy of the order, customer address included, that nothing needs once it is out."""
        with self._database.transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM order_outbox WHERE id IN (SELECT id FROM order_outbox"
                " WHERE published_at < %s ORDER BY published_at LIMIT %s)",
                (published_before, limit),
            )
            return deleted.rowcount

    def pending(self) -> int:
        """Changes neither published nor failed, claimed or not."""
        with self._database.transaction() as connection:
            row = connection.execute(
                "SELECT count(*) AS n FROM order_outbox WHERE published_at IS NULL AND failed_at IS NULL"
            ).fetchone()
        return int(row["n"]) if row else 0


def _change(row: dict[str, Any]) -> OrderChange:
    after = Order.model_validate(row["snapshot"])
    before = None
    if row["previous_status"] is not None:
        before = after.model_copy(update={"status": OrderStatus(row["previous_status"]), "reason": None})
    return OrderChange(before, after)
