"""The PostgreSQL outbox relay when the bus is slow and when relays overlap, on the real server
with the database's time limits as deployed: a slow publish never holds a transaction open,
each run keeps what it published, and no change is published by two relays."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import pytest
from orders_local.postgres import LocalDatabase

from order_service.adapters import time_budget
from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.orders import PostgresOrderRepository, PostgresOutbox
from order_service.models.events import Notification, OrderPlaced
from order_service.models.order import Order
from order_service.ports import RelayedBatch, StoreUnavailableError
from order_service.services.announcements import relay_changes
from order_service.settings import DatabaseSettings, RelaySettings
from tests.builders import a_pending_order

# The limits a deployed relay has: a statement timeout, and a watchdog that ends any unit of
# work after connect + statement timeout + margin (6 s by default).
DEPLOYED = DatabaseSettings()
BATCH_SIZE = RelaySettings.model_fields["relay_batch_size"].default
PUBLISH_SECONDS = 2.0
# A run: a short invocation that stops handing out changes when one slow publish and its mark
# would no longer fit.
RUN_SECONDS = 8.0
ROW_SECONDS = PUBLISH_SECONDS + 1.0
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def an_order() -> Order:
    return a_pending_order(customer_id="c-relay", customer_email="relay@example.com", at=T0)


@dataclass
class SlowBus:
    """Accepts every event after `seconds`, as EventBridge does on a bad day; records who sent what."""

    seconds: float
    published: Counter[str] = field(default_factory=Counter)
    by_relay: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish_order_placed(self, event: OrderPlaced) -> None:
        time.sleep(self.seconds)
        with self._lock:
            self.published[event.order_id] += 1
            self.by_relay.setdefault(threading.current_thread().name, []).append(event.order_id)

    def enqueue(self, notification: Notification) -> None:
        raise AssertionError("new orders queue no notification")


@dataclass(frozen=True)
class Context:
    seconds: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def deployed_database(database: LocalDatabase) -> Database:
    return Database(
        lambda: connect(
            database.url,
            statement_timeout_ms=DEPLOYED.database_statement_timeout_ms,
            connect_timeout_seconds=DEPLOYED.database_connect_timeout_seconds,
        ),
        time_limit_seconds=DEPLOYED.database_worst_case_seconds(),
        connect_timeout_seconds=DEPLOYED.database_connect_timeout_seconds,
    )


@pytest.fixture
def database(postgres_database: LocalDatabase) -> Iterator[Database]:
    opened = deployed_database(postgres_database)
    yield opened
    opened.close()


@pytest.fixture
def admin(postgres_database: LocalDatabase) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        # Only the changes a test stores are pending.
        connection.execute("UPDATE order_outbox SET published_at = now() WHERE published_at IS NULL")
        yield connection


def pending(admin: psycopg.Connection[tuple[object, ...]]) -> int:
    row = admin.execute("SELECT count(*) FROM order_outbox WHERE published_at IS NULL AND failed_at IS NULL").fetchone()
    assert row is not None
    return int(str(row[0]))


def stored_orders(database: Database, count: int) -> list[str]:
    repository = PostgresOrderRepository(database)
    orders = [an_order() for _ in range(count)]
    for order in orders:
        repository.add(order)
    return [order.order_id for order in orders]


def one_run(database: Database, bus: SlowBus, *, seconds: float = RUN_SECONDS) -> RelayedBatch:
    """A relay invocation of `seconds`, as the handler runs one: its deadline known to the
    database, its claims for the invocation, no change handed out past the safety margin."""
    started = time.monotonic()
    time_budget.start(Context(seconds))
    try:
        return relay_changes(
            PostgresOutbox(database, lease_seconds=seconds, row_seconds=ROW_SECONDS),
            events=bus,
            notifications=bus,
            batch_size=BATCH_SIZE,
            time_left=lambda: seconds - (time.monotonic() - started) > ROW_SECONDS,
        )
    finally:
        time_budget.end()


def test_with_a_slow_bus_every_run_moves_the_outbox_forward_until_it_is_drained_each_change_once(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Given more changes than one run can publish at 2 s a publish (more than the 6 s the
    # database allows a unit of work)
    order_ids = stored_orders(database, 6)
    bus = SlowBus(PUBLISH_SECONDS)
    failures: list[str] = []

    # When the relay runs again and again
    for run in range(1, len(order_ids) + 1):
        before = pending(admin)
        try:
            one_run(database, bus)
        except StoreUnavailableError as error:
            failures.append(str(error))
        # Then each run keeps what it published
        assert pending(admin) < before, f"run {run} published {bus.published.total()} so far and marked none"
        if pending(admin) == 0:
            break

    # And the outbox is drained, each change published once, and no run failed
    assert pending(admin) == 0
    assert bus.published == Counter(dict.fromkeys(order_ids, 1))
    assert failures == []


def test_two_relays_at_once_never_publish_the_same_change(
    postgres_database: LocalDatabase, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Given changes enough for both relays, each in its own container
    databases = [deployed_database(postgres_database) for _ in range(2)]
    order_ids = stored_orders(databases[0], 8)
    bus = SlowBus(0.3)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def relay(database: Database) -> None:
        start.wait()
        try:
            relay_changes(
                PostgresOutbox(database, lease_seconds=30, row_seconds=ROW_SECONDS),
                events=bus,
                notifications=bus,
                batch_size=2,
            )
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    # When two relays run side by side
    threads = [threading.Thread(target=relay, args=(db,), name=f"relay-{n}") for n, db in enumerate(databases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for database in databases:
        database.close()

    # Then both published, and every change went out exactly once
    assert errors == []
    assert set(bus.by_relay) == {"relay-0", "relay-1"}
    assert bus.published == Counter(dict.fromkeys(order_ids, 1))
    assert pending(admin) == 0


def test_a_claim_whose_relay_died_is_taken_again_once_its_lease_ends_and_a_live_one_is_left_alone(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Given a change claimed by a relay that died a while ago, and one claimed by a live relay
    expired, held = stored_orders(database, 2)
    claim = (
        "UPDATE order_outbox SET claimed_by = %s, claimed_until = now() + %s * interval '1 second' WHERE order_id = %s"
    )
    admin.execute(claim, ("died", -1, expired))
    admin.execute(claim, ("alive", 600, held))
    bus = SlowBus(0)

    # When another relay runs
    relayed = relay_changes(PostgresOutbox(database), events=bus, notifications=bus)

    # Then it publishes the expired claim only
    assert relayed.published == 1
    assert bus.published == Counter({expired: 1})
    assert pending(admin) == 1


def test_a_run_cut_short_gives_back_at_once_the_changes_it_claimed_and_did_not_publish(
    database: Database, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    # Given three changes, and a run with time for one
    first, *rest = stored_orders(database, 3)
    bus = SlowBus(0)
    handed_out = iter([True, True])

    # When it runs out of time after the first change of its batch
    relayed = relay_changes(
        PostgresOutbox(database), events=bus, notifications=bus, time_left=lambda: next(handed_out, False)
    )

    # Then the first is published, and the others are pending and claimed by no one
    assert (relayed.published, bus.published) == (1, Counter({first: 1}))
    unclaimed = admin.execute(
        "SELECT order_id FROM order_outbox WHERE published_at IS NULL AND claimed_by IS NULL ORDER BY id"
    ).fetchall()
    assert [str(row[0]) for row in unclaimed] == rest
