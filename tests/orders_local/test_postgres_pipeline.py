"""The PostgreSQL store end to end, in worker processes: announced from the outbox, and
surviving the server dropping the functions' connections."""

import uuid

import psycopg
from orders_local.stack import OrderStack
from samlocal.local_stack import LocalStack


def place(stack: LocalStack, email: str) -> str:
    body = {
        "customer_id": "c-pg",
        "customer_email": email,
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "5.00"}],
    }
    answer = stack.api_client().request("POST", "/orders", body)
    assert answer.status == 201, answer.body
    return str(answer.body["order_id"])


def test_an_order_is_announced_from_the_outbox_and_ends_completed_with_one_email(
    postgres_order_stack: OrderStack,
) -> None:
    email = f"pg-{uuid.uuid4().hex[:8]}@example.com"

    order_id = place(postgres_order_stack, email)
    assert postgres_order_stack.wait_until_idle(timeout=60)

    found = postgres_order_stack.api_client().request("GET", f"/orders/{order_id}")
    assert found.body["status"] == "completed"
    assert [sent.recipient for sent in postgres_order_stack.emulator.middleware.sent_emails].count(email) == 1
    assert postgres_order_stack.database is not None
    assert postgres_order_stack.database.pending_outbox() == 0


def test_the_next_invocation_reconnects_after_the_server_dropped_every_function_connection(
    postgres_order_stack: OrderStack,
) -> None:
    database = postgres_order_stack.database
    assert database is not None
    place(postgres_order_stack, f"before-{uuid.uuid4().hex[:8]}@example.com")

    with psycopg.connect(database.url, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'order-service'"
        ).fetchall()
    after = place(postgres_order_stack, f"after-{uuid.uuid4().hex[:8]}@example.com")

    assert dropped
    assert postgres_order_stack.api_client().request("GET", f"/orders/{after}").status == 200
