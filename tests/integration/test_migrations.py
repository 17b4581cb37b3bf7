"""Migrations run while the service writes: no write fails, a lock held elsewhere makes a
migration wait only `lock_timeout` at a time, and what a cut-short run leaves is picked up."""

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from orders_local.postgres import LocalDatabase
from psycopg import conninfo
from psycopg import sql as query

from order_service.adapters.postgres.database import Database, connect
from order_service.adapters.postgres.migrate import (
    MIGRATIONS,
    MigrationError,
    MigrationLockTimeoutError,
    Retries,
    migrate,
    migrations,
)
from order_service.adapters.postgres.orders import PostgresOrderRepository
from order_service.models.order import Order, OrderStatus
from tests.builders import a_pending_order

Admin = psycopg.Connection[tuple[object, ...]]
# The service's writes give up at their statement timeout; a migration statement waiting for
# its lock holds them up for lock_timeout at most, well within it.
WRITE_STATEMENT_TIMEOUT_MS = 2_000
LOCK_TIMEOUT_MS = 300
# A report, a slow relay run, a person at psql: a transaction that reads orders this long.
LONG_READ_SECONDS = 3.0

ONLINE_CHANGES = """-- migrate: no-transaction
ALTER TABLE orders ADD CONSTRAINT orders_version_bound CHECK (version < 1000000) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_version_bound;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_by_update ON orders (updated_at);
"""
CONCURRENT_INDEX = """-- migrate: no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_by_update ON orders (updated_at);
"""
CHECK_THEN_VALIDATE = """-- migrate: no-transaction
ALTER TABLE orders ADD CONSTRAINT orders_version_bound CHECK (version < 1000000) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_version_bound;
"""
ONE_TRANSACTION = "ALTER TABLE orders ADD COLUMN note text;\n"


@pytest.fixture
def empty_database(postgres_server: str) -> Iterator[str]:
    """The URL of a database of this test alone, with no schema: the tests below lock its
    tables and change its schema."""
    name = f"orders_migrations_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as server:
        server.execute(query.SQL("CREATE DATABASE {}").format(query.Identifier(name)))
    yield conninfo.make_conninfo(postgres_server, dbname=name)
    with psycopg.connect(postgres_server, autocommit=True) as server:
        server.execute(query.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(query.Identifier(name)))


@pytest.fixture
def fresh_database(empty_database: str) -> str:
    """The URL of a database of this test alone, migrated."""
    with admin(empty_database) as connection:
        migrate(connection)
    return empty_database


def a_folder(directory: Path, **files: str) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / f"{name}.sql").write_text(sql, encoding="utf-8")
    return directory


def admin(url: str) -> Admin:
    return psycopg.connect(url, autocommit=True)


def an_order() -> Order:
    return a_pending_order(customer_id="c-migrations", customer_email="writer@example.com")


@dataclass
class Writes:
    done: int = 0
    failures: list[str] = field(default_factory=list)
    slowest_seconds: float = 0.0


@contextmanager
def orders_written_continuously(url: str, threads: int = 3) -> Iterator[Writes]:
    """Threads placing and completing orders through the service's repository, until the block ends."""
    writes, stop, lock = Writes(), threading.Event(), threading.Lock()

    def write() -> None:
        store = Database(lambda: connect(url, statement_timeout_ms=WRITE_STATEMENT_TIMEOUT_MS), time_limit_seconds=4.0)
        repository = PostgresOrderRepository(store)
        try:
            while not stop.is_set():
                order = an_order()
                started = time.monotonic()
                try:
                    repository.add(order)
                    repository.transition(
                        order.order_id,
                        expected=OrderStatus.PENDING,
                        new=OrderStatus.COMPLETED,
                        reason=None,
                        at=datetime.now(UTC),
                    )
                except Exception as error:
                    with lock:
                        writes.failures.append(f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    writes.done += 1
                    writes.slowest_seconds = max(writes.slowest_seconds, time.monotonic() - started)
        finally:
            store.close()

    workers = [threading.Thread(target=write, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield writes
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)


@contextmanager
def lock_held(url: str, statement: str) -> Iterator[Callable[[], None]]:
    """A transaction of another session that ran `statement` and holds what it locked until
    released (by the function yielded, or at the end of the block)."""
    holder = psycopg.connect(url)
    holder.execute(statement.encode())
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            holder.commit()

    try:
        yield release
    finally:
        release()
        holder.close()


def in_background(run: Callable[[], list[str]]) -> "Future[list[str]]":
    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(run)
    executor.shutdown(wait=False)
    return future


def run_migrations(url: str, directory: Path, retries: Retries) -> Callable[[], list[str]]:
    def run() -> list[str]:
        with admin(url) as connection:
            return migrate(connection, directory=directory, retries=retries)

    return run


def applied(url: str) -> set[str]:
    with admin(url) as connection:
        return {str(row[0]) for row in connection.execute("SELECT version FROM schema_migrations")}


def index_state(url: str, name: str) -> str:
    with admin(url) as connection:
        row = connection.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
        ).fetchone()
    return "missing" if row is None else "valid" if row[0] else "invalid"


def constraint_validated(url: str, name: str) -> bool | None:
    with admin(url) as connection:
        row = connection.execute("SELECT convalidated FROM pg_constraint WHERE conname = %s", (name,)).fetchone()
    return None if row is None else bool(row[0])


def lock_timeouts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "lock_timeout (SQLSTATE 55P03)" in record.getMessage()]


# --- while orders are written --------------------------------------------------------------------


def the_project_migrations_after_0003(url: str, tmp_path: Path) -> Path:
    """The schema as deployed before these rules (0001-0003): the project's later migrations,
    each future one included, are the ones run."""
    first_three = a_folder(tmp_path / "first")
    for migration in migrations()[:3]:
        shutil.copy(migration.path, first_three)
    with admin(url) as connection:
        migrate(connection, directory=first_three)
    return MIGRATIONS


def the_online_changes(url: str, tmp_path: Path) -> Path:
    """The project's schema, and a migration of this test's own that takes locks on orders:
    a constraint added NOT VALID then validated, and an index built concurrently."""
    with admin(url) as connection:
        migrate(connection)
    return a_folder(tmp_path / "online", **{"0100_online_changes": ONLINE_CHANGES})


@pytest.mark.parametrize("folder", [the_online_changes, the_project_migrations_after_0003])
def test_a_migration_run_while_orders_are_written_fails_no_write_and_completes(
    empty_database: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    folder: Callable[[str, Path], Path],
) -> None:
    # Given orders written continuously, and a long read of orders holding its lock
    directory = folder(empty_database, tmp_path)
    pending = [m.version for m in migrations(directory) if m.version not in applied(empty_database)]
    with admin(empty_database) as connection:
        connection.execute(
            "INSERT INTO orders (order_id, customer_id, customer_email, currency, total_minor, status,"
            " created_at, updated_at, version)"
            " SELECT 'seed-' || n, 'c-seed', 'seed@example.com', 'EUR', 100, 'completed', now(), now(), 2"
            " FROM generate_series(1, 20000) AS n"
        )
    retries = Retries(lock_timeout_ms=LOCK_TIMEOUT_MS, attempts=20, backoff_seconds=0.2)
    caplog.set_level(logging.WARNING)
    with orders_written_continuously(empty_database) as writes:
        time.sleep(0.5)
        with lock_held(empty_database, "SELECT count(*) FROM orders"):
            # When the migration runs
            migration = in_background(run_migrations(empty_database, directory, retries))
            time.sleep(LONG_READ_SECONDS)
        done = migration.result(timeout=60)
        time.sleep(0.5)

    # Then it waited for the read a lock_timeout at a time, then completed, and no write failed
    assert writes.failures == []
    assert writes.slowest_seconds < WRITE_STATEMENT_TIMEOUT_MS / 1000
    assert writes.done > 0
    assert done == pending
    assert lock_timeouts(caplog)
    if "0100_online_changes" in done:
        assert constraint_validated(empty_database, "orders_version_bound") is True
        assert index_state(empty_database, "orders_by_update") == "valid"


# --- a lock held elsewhere -----------------------------------------------------------------------


def test_a_migration_blocked_by_a_held_lock_is_retried_and_applies_once_the_lock_goes(
    fresh_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a session holding ACCESS EXCLUSIVE on orders
    directory = a_folder(tmp_path, **{"0100_note": ONE_TRANSACTION})
    retries = Retries(lock_timeout_ms=200, attempts=30, backoff_seconds=0.1)
    caplog.set_level(logging.WARNING)
    with lock_held(fresh_database, "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE") as release:
        # When the migration runs, and the lock goes a while later
        migration = in_background(run_migrations(fresh_database, directory, retries))
        time.sleep(1.5)
        applied_while_held = applied(fresh_database)
        timeouts_while_held = len(lock_timeouts(caplog))
        release()
        done = migration.result(timeout=30)

    # Then each attempt gave up at lock_timeout, nothing applied while the lock was held, and it applied after
    assert timeouts_while_held >= 2
    assert "0100_note" not in applied_while_held
    assert done == ["0100_note"]
    assert "0100_note" in applied(fresh_database)


def test_a_migration_whose_locks_stay_held_fails_naming_its_file_after_its_attempts(
    fresh_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a long transaction that wrote to orders and is still open
    directory = a_folder(tmp_path, **{"0100_note": ONE_TRANSACTION})
    retries = Retries(lock_timeout_ms=100, attempts=3, backoff_seconds=0.05)
    caplog.set_level(logging.WARNING)
    with lock_held(fresh_database, "UPDATE orders SET version = version WHERE false"):
        # When the migration runs
        started = time.monotonic()
        migration = in_background(run_migrations(fresh_database, directory, retries))
        # Then it fails, soon, naming the file, with nothing applied
        with pytest.raises(MigrationLockTimeoutError, match=r"0100_note\.sql: .* each of 3 attempts"):
            migration.result(timeout=10)
        took = time.monotonic() - started

    assert len(lock_timeouts(caplog)) == 2
    assert took < 3
    assert "0100_note" not in applied(fresh_database)


def test_an_index_build_cut_short_leaves_an_invalid_index_that_the_next_run_replaces(
    fresh_database: str, tmp_path: Path
) -> None:
    # Given a concurrent index build that gave up waiting for a write transaction still open,
    # leaving an invalid index behind
    directory = a_folder(tmp_path, **{"0100_index": CONCURRENT_INDEX})
    once = Retries(lock_timeout_ms=200, attempts=1)
    with lock_held(fresh_database, "UPDATE orders SET version = version WHERE false"):
        with pytest.raises(MigrationLockTimeoutError, match=r"0100_index\.sql \(statement 1 of 1\)"):
            run_migrations(fresh_database, directory, once)()
        left = index_state(fresh_database, "orders_by_update")

    # When the migration runs again
    done = run_migrations(fresh_database, directory, once)()

    # Then the index it left is replaced by a valid one
    assert left == "invalid"
    assert done == ["0100_index"]
    assert index_state(fresh_database, "orders_by_update") == "valid"


def test_a_file_without_a_transaction_resumes_after_its_last_statement_done(
    fresh_database: str, tmp_path: Path
) -> None:
    # Given a stored order the new constraint refuses: the constraint is added (NOT VALID
    # checks only what is written from now on), and its validation fails
    with admin(fresh_database) as connection:
        connection.execute(
            "INSERT INTO orders (order_id, customer_id, customer_email, currency, total_minor, status,"
            " created_at, updated_at, version) VALUES ('old', 'c', 'old@example.com', 'EUR', 1, 'pending',"
            " now(), now(), 1000000)"
        )
    directory = a_folder(tmp_path, **{"0100_check": CHECK_THEN_VALIDATE})
    with pytest.raises(MigrationError, match=r"0100_check\.sql \(statement 2 of 2\): .*orders_version_bound"):
        run_migrations(fresh_database, directory, Retries())()
    added = constraint_validated(fresh_database, "orders_version_bound")

    # When the order is fixed and the migration runs again
    with admin(fresh_database) as connection:
        connection.execute("UPDATE orders SET version = 1 WHERE order_id = 'old'")
    done = run_migrations(fresh_database, directory, Retries())()

    # Then it goes on from the validation, rather than adding the constraint a second time
    assert added is False
    assert done == ["0100_check"]
    assert constraint_validated(fresh_database, "orders_version_bound") is True


# --- 0005 -------------------------------------------------------------------------------------


def test_the_database_refuses_a_request_fingerprint_that_is_not_a_sha256_digest(
    postgres_database: LocalDatabase,
) -> None:
    order = an_order().model_copy(update={"idempotency_key": "k-1", "request_fingerprint": "0f" * 32})
    store = Database(lambda: connect(postgres_database.url, statement_timeout_ms=5000))
    try:
        PostgresOrderRepository(store).add(order)
    finally:
        store.close()

    with admin(postgres_database.url) as connection:
        for refused in ("0F" * 32, "0f" * 33, "not a digest"):
            with pytest.raises(psycopg.errors.CheckViolation, match="orders_request_fingerprint_is_a_digest"):
                connection.execute(
                    "UPDATE orders SET request_fingerprint = %s WHERE order_id = %s", (refused, order.order_id)
                )
    assert constraint_validated(postgres_database.url, "orders_request_fingerprint_is_a_digest") is True
