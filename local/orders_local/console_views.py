"""The order service's views of the local console: the orders, and one order's timeline.

They join the engine's views (`samlocal.console.views`) in `orders up`'s console.
"""

import json
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from samlocal.console import model
from samlocal.console.server import WebConsole
from samlocal.console.views import ENGINE_VIEWS, Query, View
from samlocal.local_stack import LocalStack
from samlocal.logs import LogLine


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    customer_id: str
    status: str
    total: str
    created_at: str


def _money(minor: int, currency: str) -> str:
    exponent = 0 if currency == "JPY" else 2
    return f"{minor / 10**exponent:.{exponent}f} {currency}"


class OrderIndex:
    """The orders the functions have logged, newest first, kept up to date line by line.

    Listing orders from the logs costs the pipeline nothing: a scan of the table on every
    refresh would compete with the functions for the emulator (measured: a fifth fewer orders a
    second with the console open). The order page reads the order itself from the store."""

    def __init__(self) -> None:
        self._orders: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def feed(self, function: str, text: str) -> None:
        if not text.startswith("{") or '"order_id"' not in text:
            return
        try:
            record = json.loads(text)
        except ValueError:
            return
        order_id = record.get("order_id") if isinstance(record, dict) else None
        if not isinstance(order_id, str):
            return
        with self._lock:
            entry = self._orders.get(order_id)
            if record.get("message") == "Order placed":
                entry = self._orders.setdefault(order_id, {"status": "pending"})
                entry["placed"] = str(record.get("timestamp", ""))[:19]
                entry["total"] = _money(int(record.get("total_minor", 0)), str(record.get("currency", "")))
            if entry is None:
                return
            if record.get("message") == "Order cancelled":
                entry["status"] = "cancelled"
            elif isinstance(record.get("status"), str):
                entry["status"] = record["status"]

    def latest(self, limit: int = 50) -> list[OrderRow]:
        with self._lock:
            placed = [(order_id, dict(entry)) for order_id, entry in self._orders.items() if "placed" in entry]
        placed.sort(key=lambda item: item[1]["placed"], reverse=True)
        return [
            OrderRow(order_id, "", entry["status"], entry["total"], entry["placed"])
            for order_id, entry in placed[:limit]
        ]


def stored_status(stack: LocalStack, order_id: str) -> str | None:
    """The order's status in the store now, or None if the store has no such order."""
    database = getattr(stack, "database", None)  # the order profile's PostgreSQL store, if any
    if database is not None:
        with psycopg.connect(**database.params) as connection:
            row = connection.execute("SELECT status FROM orders WHERE order_id = %s", (order_id,)).fetchone()
        return None if row is None else str(row[0])
    table = stack.resources.tables.get("OrdersTable")
    if table is None:
        return None
    item = (
        stack.client("dynamodb")
        .get_item(TableName=table, Key={"PK": {"S": f"order#{order_id}"}, "SK": {"S": "order"}}, ConsistentRead=True)
        .get("Item")
    )
    return None if item is None else str(item.get("status", {}).get("S", ""))


def latest_orders(stack: LocalStack, limit: int = 50) -> list[OrderRow]:
    """The most recently placed orders, newest first, read from the store (a scan: for tests and
    tools, not for a page that refreshes)."""
    database = getattr(stack, "database", None)  # the order profile's PostgreSQL store, if any
    if database is not None:
        with psycopg.connect(**database.params) as connection:
            rows = connection.execute(
                "SELECT order_id, customer_id, status, total_minor, currency, created_at FROM orders"
                " ORDER BY created_at DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [
            OrderRow(row[0], row[1], row[2], _money(int(row[3]), row[4]), row[5].isoformat(timespec="seconds"))
            for row in rows
        ]
    table = stack.resources.tables.get("OrdersTable")
    if table is None:
        return []
    items: list[dict[str, Any]] = []
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    for page in pages:
        items += [item for item in page["Items"] if item.get("SK", {}).get("S") == "order"]
    items.sort(key=lambda item: item.get("created_at", {}).get("S", ""), reverse=True)
    return [
        OrderRow(
            order_id=item["order_id"]["S"],
            customer_id=item.get("customer_id", {}).get("S", ""),
            status=item.get("status", {}).get("S", ""),
            total=_money(int(item.get("total_minor", {}).get("N", "0")), item.get("currency", {}).get("S", "")),
            created_at=item.get("created_at", {}).get("S", "")[:19],
        )
        for item in items[:limit]
    ]


def _index(console: WebConsole) -> "OrderIndex":
    index: OrderIndex = console.state["orders"]
    return index


def _follow_orders(console: WebConsole) -> None:
    index = console.state["orders"] = OrderIndex()

    def feed(line: LogLine) -> None:
        index.feed(line.function, line.text)

    console.listen(feed)


def _orders(console: WebConsole, _query: Query) -> dict[str, Any]:
    return {"orders": _index(console).latest()}


def _order(console: WebConsole, query: Query) -> dict[str, Any]:
    stack = console.stack
    order_id = query.get("id", [""])[0]
    lines = [(line.function, line.text) for line in list(stack.logs.lines)]
    return {
        "order_id": order_id,
        "status": stored_status(stack, order_id),
        "invocations": model.timeline(order_id, lines, stack.traces.documents()) if order_id else [],
    }


ORDER_VIEWS: tuple[View, ...] = (
    View("orders", _orders, package="orders_local", attach=_follow_orders),
    View("order", _order, package="orders_local", tab=False, parent="orders", keeps=("id",)),
)
# What `orders up` shows: the orders first, then the engine's views.
CONSOLE_VIEWS: tuple[View, ...] = (*ORDER_VIEWS, *ENGINE_VIEWS)


def order_console(stack: LocalStack, port: int = 0) -> WebConsole:
    """The console of an order stack: its order views and the engine's."""
    return WebConsole(stack, port, views=CONSOLE_VIEWS, title="orders")
