"""The PostgreSQL order repository and its outbox.

Every write stores the change and its outbox row in one transaction; the outbox relay
publishes the rows, so what is stored is always announced (as the DynamoDB stream does for
the other store).
"""

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from order_service.adapters.failures import describe_failure, is_permanent
from order_service.adapters.postgres.database import Connection, Database
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.observability import redact_emails
from order_service.ports import (
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderChange,
    OrderNotFoundError,
    OrderPage,
    RelayedBatch,
    TransitionConflictError,
)

_RELAY_LOCK_ID = 0x0D3E5_0002  # one relay at a time (0x0D3E5_0001 is the migration runner's)
_MAX_REASON = 1000  # the failure_reason column's CHECK

_SELECT_ORDERS = """
SELECT o.*,
       COALESCE(
           json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor)
                    ORDER BY i.line_number) FILTER (WHERE i.sku IS NOT NULL),
           '[]') AS items
  FROM orders o LEFT JOIN order_items i USING (order_id)
"""
# The oldest pending orders created before a cutoff: the inner query is answered from the
# partial index orders_pending_by_age (migration 0003).
_OLDEST_PENDING_BEFORE = """
 WHERE o.order_id IN (SELECT order_id FROM orders WHERE status = 'pending' AND created_at < %s
                      ORDER BY created_at, order_id LIMIT %s)
 GROUP BY o.order_id ORDER BY o.created_at, o.order_id
"""


def _order(row: dict[str, Any]) -> Order:
    return Order(
        order_id=row["order_id"],
        customer_id=row["customer_id"],
        customer_email=row["customer_email"],
        currency=row["currency"],
        items=tuple(LineItem(**item) for item in row["items"]),
        total_minor=int(row["total_minor"]),
        status=OrderStatus(row["status"]),
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        idempotency_key=row["idempotency_key"],
        request_fingerprint=row["request_fingerprint"],
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
        after = _decode_page_token(page_token, customer_id) if page_token is not None else None
        condition = "o.customer_id = %s"
        parameters: list[object] = [customer_id]
        if after is not None:
            condition += " AND (o.created_at, o.order_id) < (%s, %s)"
            parameters += [after[0], after[1]]
        with self._database.transaction() as connection:
            rows = connection.execute(
                _SELECT_ORDERS + f" WHERE {condition} GROUP BY o.order_id"
                " ORDER BY o.created_at DESC, o.order_id DESC LIMIT %s",
                (*parameters, limit + 1),
            ).fetchall()
        orders = tuple(_order(row) for row in rows[:limit])
        more = len(rows) > limit
        return OrderPage(orders, _encode_page_token(orders[-1]) if more and orders else None)

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

    def pending_before(self, cutoff: datetime, limit: int) -> tuple[Order, ...]:
        with self._database.transaction() as connection:
            rows = connection.execute(_SELECT_ORDERS + _OLDEST_PENDING_BEFORE, (cutoff, limit)).fetchall()
        return tuple(_order(row) for row in rows)


class PostgresOutbox:
    """The unpublished changes, oldest first, relayed by one relay at a time."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def publish_pending(self, limit: int, publish: Callable[[OrderChange], object]) -> RelayedBatch:
        """Hand up to `limit` changes to `publish`, marking each once it returned. A change that
        can never be published is marked failed with its reason and the batch goes on; any other
        failure stops the batch: what was done before it is kept, and the error is raised."""
        failure: Exception | None = None
        published: list[int] = []
        set_aside: list[tuple[int, str]] = []
        with self._database.transaction() as connection:
            # Relays running side by side would publish interleaved batches out of order: the
            # transaction-scoped lock lets one relay at a time in (and works through RDS Proxy).
            locked = connection.execute("SELECT pg_try_advisory_xact_lock(%s) AS locked", (_RELAY_LOCK_ID,)).fetchone()
            if not (locked and locked["locked"]):
                return RelayedBatch(0, 0, 0)
            rows = connection.execute(
                "SELECT id, previous_status, snapshot FROM order_outbox"
                " WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (limit,),
            ).fetchall()
            for row in rows:
                try:
                    publish(_change(row))
                except Exception as error:  # kept, then raised once the successes are recorded
                    if not is_permanent(error):
                        failure = error
                        break
                    set_aside.append((row["id"], redact_emails(describe_failure(error))[:_MAX_REASON]))
                    continue
                published.append(row["id"])
            if published:
                connection.execute("UPDATE order_outbox SET published_at = now() WHERE id = ANY(%s)", (published,))
            for row_id, reason in set_aside:
                connection.execute(
                    "UPDATE order_outbox SET failed_at = now(), failure_reason = %s WHERE id = %s", (reason, row_id)
                )
        if failure is not None:
            raise failure
        return RelayedBatch(len(rows), len(published), len(set_aside))

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


def _encode_page_token(last: Order) -> str:
    plain = {"c": last.customer_id, "t": last.created_at.isoformat(), "o": last.order_id}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


def _decode_page_token(token: str, customer_id: str) -> tuple[datetime, str]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(plain, dict) or set(plain) != {"c", "t", "o"} or plain["c"] != customer_id:
            raise ValueError(token)
        return datetime.fromisoformat(plain["t"]), str(plain["o"])
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        raise InvalidPageTokenError("next_token is not a token this API issued for this customer") from None
