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

from order_service.adapters.postgres.database import Connection, Database
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.ports import (
    InvalidPageTokenError,
    OrderAlreadyExistsError,
    OrderChange,
    OrderNotFoundError,
    OrderPage,
    TransitionConflictError,
)

_SELECT_ORDERS = """
SELECT o.*,
       COALESCE(
           json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity, 'unit_price_minor', i.unit_price_minor)
                    ORDER BY i.line_number) FILTER (WHERE i.sku IS NOT NULL),
           '[]') AS items
  FROM orders o LEFT JOIN order_items i USING (order_id)
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


class PostgresOutbox:
    """The unpublished changes, oldest first; rows taken by one relay are skipped by another."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def publish_pending(self, limit: int, publish: Callable[[OrderChange], object]) -> int:
        """Hand up to `limit` changes to `publish`, marking each once it returned. A failure
        stops the batch: what was published before it is kept, and the error is raised."""
        failure: Exception | None = None
        published: list[int] = []
        with self._database.transaction() as connection:
            rows = connection.execute(
                "SELECT id, previous_status, snapshot FROM order_outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (limit,),
            ).fetchall()
            for row in rows:
                after = Order.model_validate(row["snapshot"])
                before = None
                if row["previous_status"] is not None:
                    before = after.model_copy(update={"status": OrderStatus(row["previous_status"]), "reason": None})
                try:
                    publish(OrderChange(before, after))
                except Exception as error:  # kept, then raised once the successes are recorded
                    failure = error
                    break
                published.append(row["id"])
            if published:
                connection.execute("UPDATE order_outbox SET published_at = now() WHERE id = ANY(%s)", (published,))
        if failure is not None:
            raise failure
        return len(published)

    def pending(self) -> int:
        with self._database.transaction() as connection:
            row = connection.execute("SELECT count(*) AS n FROM order_outbox WHERE published_at IS NULL").fetchone()
        return int(row["n"]) if row else 0


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
