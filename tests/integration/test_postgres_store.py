"""What the PostgreSQL store adds: migrations, constraints in the database, the outbox, and
surviving a dropped connection."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from orders_local.postgres import LocalDatabase

from order_service.adapters.postgres.credentials import _server_certificate_roots
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.migrate import MigrationChangedError, migrate, migrations
from order_service.adapters.postgres.orders import PostgresOrderRepository, PostgresOutbox
from order_service.models.bounds import (
    EMAIL_MAX_LENGTH,
    ID_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MAX_ITEMS_PER_ORDER,
    MAX_MINOR_UNITS,
    MAX_QUANTITY,
    REASON_MAX_LENGTH,
)
from order_service.models.order import LineItem, Order, OrderStatus
from order_service.ports import OrderChange, PublishError, StoreUnavailableError
from order_service.services.announcements import relay_changes
from order_service.settings import ApiSettings, SettingsError, load_settings
from tests.fakes import RecordingPublisher, RecordingQueue

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def an_order(sku: str = "A", key: str | None = None, customer: str = "c-pg") -> Order:
    return Order(
        order_id=str(uuid.uuid4()),
        customer_id=customer,
        customer_email="pg@example.com",
        currency="EUR",
        items=(LineItem(sku=sku, quantity=2, unit_price_minor=1050),),
        total_minor=2100,
        status=OrderStatus.PENDING,
        created_at=T0,
        updated_at=T0,
        idempotency_key=key,
    )


@pytest.fixture
def database(postgres_database: LocalDatabase) -> Iterator[Database]:
    opened = Database(lambda: connect(postgres_database.url, statement_timeout_ms=5000))
    yield opened
    opened.close()


@pytest.fixture
def admin(postgres_database: LocalDatabase) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        yield connection


def rows(admin: psycopg.Connection[tuple[object, ...]], sql: str, *args: object) -> list[tuple[object, ...]]:
    return admin.execute(sql, args).fetchall()


# --- migrations --------------------------------------------------------------------------------


def test_migrations_are_applied_once_in_order(postgres_server: str) -> None:
    name = f"orders_migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(postgres_server.rsplit("/", 1)[0] + f"/{name}") as connection:
            first, second = migrate(connection), migrate(connection)
            recorded = [row[0] for row in connection.execute("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as server:
            server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    assert first == [migration.version for migration in migrations()] == recorded
    assert second == []


def test_a_migration_edited_after_it_was_applied_is_refused(admin: psycopg.Connection[tuple[object, ...]]) -> None:
    admin.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0001_orders'")
    try:
        with pytest.raises(MigrationChangedError, match=r"0001_orders\.sql changed"):
            migrate(admin)
    finally:
        admin.execute(
            "UPDATE schema_migrations SET checksum = %s WHERE version = '0001_orders'", (migrations()[0].checksum,)
        )


def test_no_column_holds_money_or_anything_else_as_a_float(admin: psycopg.Connection[tuple[object, ...]]) -> None:
    types = rows(
        admin, "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
    )
    money = {(table, column): kind for table, column, kind in types if str(column).endswith("_minor")}

    assert not [row for row in types if row[2] in ("real", "double precision", "money")]
    assert set(money.values()) == {"numeric"}
    assert set(money) == {("orders", "total_minor"), ("order_items", "unit_price_minor")}


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE orders SET status = 'shipped' WHERE order_id = %s", "orders_status_check"),
        ("UPDATE order_items SET quantity = 0 WHERE order_id = %s", "order_items_quantity_check"),
        ("UPDATE orders SET total_minor = -1 WHERE order_id = %s", "orders_total_minor_check"),
    ],
)
def test_the_database_itself_refuses_invalid_values(
    database: Database, admin: psycopg.Connection[tuple[object, ...]], statement: str, constraint: str
) -> None:
    order = an_order()
    PostgresOrderRepository(database).add(order)

    with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
        admin.execute(statement, (order.order_id,))


def test_an_idempotency_key_is_unique_per_customer_in_the_database(database: Database) -> None:
    repository = PostgresOrderRepository(database)
    repository.add(an_order(key="k-1", customer="c-unique"))
    repository.add(an_order(key="k-1", customer="c-other"))

    with pytest.raises(Exception, match="already exists"):
        repository.add(an_order(key="k-1", customer="c-unique"))


# --- the outbox --------------------------------------------------------------------------------


def test_every_write_leaves_its_change_in_the_outbox_in_the_same_transaction(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    repository = PostgresOrderRepository(database)
    order = an_order()
    repository.add(order)
    repository.transition(order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.COMPLETED, reason=None, at=T0)

    changes = rows(
        admin,
        "SELECT previous_status, snapshot->>'status' FROM order_outbox WHERE order_id = %s ORDER BY id",
        order.order_id,
    )

    assert changes == [(None, "pending"), ("pending", "completed")]


def test_the_relay_announces_pending_changes_in_order_and_marks_them(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    admin.execute("UPDATE order_outbox SET published_at = now() WHERE published_at IS NULL")
    repository = PostgresOrderRepository(database)
    order = an_order()
    repository.add(order)
    repository.transition(order.order_id, expected=OrderStatus.PENDING, new=OrderStatus.REJECTED, reason="no", at=T0)
    events, queue = RecordingPublisher(), RecordingQueue()

    relayed = relay_changes(PostgresOutbox(database), events=events, notifications=queue, batch_size=1)

    assert (relayed.published, relayed.set_aside) == (2, 0)
    assert [event.order_id for event in events.published] == [order.order_id]
    assert [(n.order_id, n.kind.value, n.reason) for n in queue.queued] == [(order.order_id, "order_rejected", "no")]
    assert PostgresOutbox(database).pending() == 0


def test_a_failed_announcement_keeps_what_was_published_before_it_and_stops(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    admin.execute("UPDATE order_outbox SET published_at = now() WHERE published_at IS NULL")
    repository = PostgresOrderRepository(database)
    first, second = an_order(), an_order()
    repository.add(first)
    repository.add(second)
    published: list[str] = []

    def bus_fails_on_the_second(change: OrderChange) -> None:
        if change.after.order_id == second.order_id:
            raise PublishError("bus down", code="InternalFailure")
        published.append(change.after.order_id)

    with pytest.raises(PublishError, match="bus down"):
        PostgresOutbox(database).publish_pending(10, bus_fails_on_the_second)

    assert published == [first.order_id]
    assert PostgresOutbox(database).pending() == 1


def test_a_change_that_can_never_be_announced_is_marked_failed_and_the_ones_behind_it_go_out(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Given a change whose snapshot no release of the code can read, then a good one
    admin.execute("UPDATE order_outbox SET published_at = now() WHERE published_at IS NULL")
    repository = PostgresOrderRepository(database)
    broken, good = an_order(), an_order()
    repository.add(broken)
    admin.execute("UPDATE order_outbox SET snapshot = snapshot - 'currency' WHERE order_id = %s", (broken.order_id,))
    repository.add(good)
    events, queue = RecordingPublisher(), RecordingQueue()

    # When the relay runs
    relayed = relay_changes(PostgresOutbox(database), events=events, notifications=queue, batch_size=10)

    # Then the good one is announced, and the broken one is kept, failed, with why
    assert [event.order_id for event in events.published] == [good.order_id]
    assert (relayed.published, relayed.set_aside) == (1, 1)
    assert rows(
        admin,
        "SELECT published_at IS NULL, failure_reason LIKE 'ValidationError: currency: Field required%%'"
        " FROM order_outbox WHERE order_id = %s",
        broken.order_id,
    ) == [(True, True)]
    assert PostgresOutbox(database).pending() == 0


def test_published_changes_are_purged_after_the_retention_period_and_the_rest_are_kept(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    repository = PostgresOrderRepository(database)
    old, recent, unpublished = an_order(), an_order(), an_order()
    for order in (old, recent, unpublished):
        repository.add(order)
    admin.execute(
        "UPDATE order_outbox SET published_at = now() - interval '8 days' WHERE order_id = %s", (old.order_id,)
    )
    admin.execute("UPDATE order_outbox SET published_at = now() WHERE order_id = %s", (recent.order_id,))

    purged = PostgresOutbox(database).purge_published(published_before=datetime.now(UTC) - timedelta(days=7))

    left = {str(row[0]) for row in rows(admin, "SELECT order_id FROM order_outbox")}
    assert purged >= 1
    assert old.order_id not in left
    assert {recent.order_id, unpublished.order_id} <= left


# --- one definition of every bound -------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "limit"),
    [
        ("UPDATE orders SET total_minor = %s WHERE order_id = %s", MAX_MINOR_UNITS),
        ("UPDATE order_items SET unit_price_minor = %s WHERE order_id = %s", MAX_MINOR_UNITS),
        ("UPDATE order_items SET quantity = %s WHERE order_id = %s", MAX_QUANTITY),
        ("UPDATE order_items SET line_number = %s WHERE order_id = %s", MAX_ITEMS_PER_ORDER),
        ("UPDATE order_items SET sku = repeat('S', %s) WHERE order_id = %s", ID_MAX_LENGTH),
        ("UPDATE orders SET customer_id = repeat('c', %s) WHERE order_id = %s", ID_MAX_LENGTH),
        ("UPDATE orders SET customer_email = repeat('e', %s - 6) || '@x.com' WHERE order_id = %s", EMAIL_MAX_LENGTH),
        (
            "UPDATE orders SET status = 'rejected', reason = repeat('r', %s) WHERE order_id = %s",
            REASON_MAX_LENGTH,
        ),
        ("UPDATE orders SET idempotency_key = repeat('k', %s) WHERE order_id = %s", IDEMPOTENCY_KEY_MAX_LENGTH),
    ],
)
def test_the_schema_holds_exactly_the_bounds_the_models_hold(
    database: Database, admin: psycopg.Connection[tuple[object, ...]], statement: str, limit: int
) -> None:
    order = an_order()
    PostgresOrderRepository(database).add(order)

    admin.execute(statement, (limit, order.order_id))
    with pytest.raises(psycopg.errors.CheckViolation):
        admin.execute(statement, (limit + 1, order.order_id))


# --- a dropped connection ----------------------------------------------------------------------


def test_a_connection_dropped_between_invocations_is_reopened_and_the_next_call_succeeds(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    repository = PostgresOrderRepository(database)
    first = an_order()
    repository.add(first)
    backend = database.backend_pid

    admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    second = an_order()
    repository.add(second)

    assert repository.get(second.order_id) == second
    assert database.backend_pid != backend
    assert database.reconnects == 2


def test_a_connection_lost_mid_transaction_gives_a_clean_error_no_partial_write_and_a_retry_succeeds(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # The server itself ends the session after the order row, before its items are written.
    admin.execute(
        "CREATE OR REPLACE FUNCTION die_on_doomed_sku() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.sku = 'DOOMED' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$"
    )
    admin.execute(
        "CREATE TRIGGER die_mid_transaction BEFORE INSERT ON order_items"
        " FOR EACH ROW EXECUTE FUNCTION die_on_doomed_sku()"
    )
    repository = PostgresOrderRepository(database)
    order = an_order(sku="DOOMED")
    try:
        with pytest.raises(StoreUnavailableError, match="nothing was written"):
            repository.add(order)
        left_behind = rows(admin, "SELECT count(*) FROM orders WHERE order_id = %s", order.order_id)
        outbox = rows(admin, "SELECT count(*) FROM order_outbox WHERE order_id = %s", order.order_id)
    finally:
        admin.execute("DROP TRIGGER die_mid_transaction ON order_items")

    repository.add(order)

    assert left_behind == [(0,)]
    assert outbox == [(0,)]
    assert repository.get(order.order_id) == order


def test_an_unreachable_server_is_a_clean_store_error() -> None:
    database = Database(
        lambda: connect("postgresql://nobody@127.0.0.1:1/none", statement_timeout_ms=1000, connect_timeout_seconds=1)
    )

    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        PostgresOrderRepository(database).get("x")


# --- settings ----------------------------------------------------------------------------------


def test_a_database_url_is_accepted_only_for_a_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_STORE", "postgres")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:secret@db.internal.example.com/orders")
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="DATABASE_URL is for a local server only"):
        load_settings(ApiSettings)
    load_settings.cache_clear()


def test_the_postgres_store_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_STORE", "postgres")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_SECRET_ARN", raising=False)
    load_settings.cache_clear()

    with pytest.raises(SettingsError, match="set exactly one of DATABASE_SECRET_ARN and DATABASE_URL"):
        load_settings(ApiSettings)
    load_settings.cache_clear()


def test_the_server_certificate_is_verified_against_amazons_roots_unless_a_bundle_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDER_STORE", "postgres")
    monkeypatch.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    load_settings.cache_clear()
    default = load_settings(ApiSettings)
    load_settings.cache_clear()
    monkeypatch.setenv("DATABASE_SSLROOTCERT", "/var/task/rds-global-bundle.pem")
    configured = load_settings(ApiSettings)
    load_settings.cache_clear()

    roots = Path(_server_certificate_roots(default)["sslrootcert"])
    assert default.database_sslmode == "verify-full"
    assert "Amazon Root CA 1" in roots.read_text()
    assert _server_certificate_roots(configured) == {"sslrootcert": "/var/task/rds-global-bundle.pem"}
    assert _server_certificate_roots(default.model_copy(update={"database_sslmode": "require"})) == {}
