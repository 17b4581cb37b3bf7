"""`orders up --store postgres` puts a proxy that behaves as RDS Proxy does between the functions
and the database: what RDS Proxy refuses at startup fails locally, and what it would pin is
counted, so the functions, in their worker processes, are seen to pass it and never pin."""

import uuid

import psycopg
import pytest
from orders_local.stack import OrderStack
from samlocal.pg_proxy import OPTIONS_REFUSED


def test_the_functions_reach_the_database_through_the_stacks_rds_proxy_and_never_pin(
    postgres_order_stack: OrderStack,
) -> None:
    proxy, database = postgres_order_stack.database_proxy, postgres_order_stack.database
    assert proxy is not None
    assert database is not None
    body = {
        "customer_id": "c-rds-stack",
        "customer_email": f"rds-{uuid.uuid4().hex[:8]}@example.com",
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "5.00"}],
    }

    # When an order is placed, processed, announced from the outbox and read back
    placed = postgres_order_stack.api_client().request("POST", "/orders", body)
    assert placed.status == 201, placed.body
    assert postgres_order_stack.wait_until_idle(timeout=60)
    found = postgres_order_stack.api_client().request("GET", f"/orders/{placed.body['order_id']}")

    # Then it went through the proxy, and no session did what would pin it on RDS Proxy
    assert found.body["status"] == "completed"
    assert proxy.connections > 0
    assert proxy.pin_reasons == []
    assert proxy.pinned_sessions == 0


def test_the_stacks_proxy_refuses_startup_options_as_rds_proxy_does(postgres_order_stack: OrderStack) -> None:
    proxy, database = postgres_order_stack.database_proxy, postgres_order_stack.database
    assert proxy is not None
    assert database is not None

    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(
            host=proxy.host, port=proxy.port, user="postgres", dbname=database.name, options="-c work_mem=8MB"
        )

    assert OPTIONS_REFUSED in str(refused.value)
