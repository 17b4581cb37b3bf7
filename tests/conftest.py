import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from orders_local.postgres import DEFAULT_ADMIN_URL, LocalDatabase
from samlocal.pg_proxy import PostgresProxy

# A shared, noisy 2-core machine: timing-based health checks and deadlines would flake.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A PostgreSQL server to create test databases on. Skips without one, except in CI."""
    url = os.environ.get("ORDERS_TEST_DATABASE_URL", DEFAULT_ADMIN_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        message = (
            f"no PostgreSQL server at {url} ({str(error).strip()}); point ORDERS_TEST_DATABASE_URL at one, "
            "e.g. postgresql://postgres@127.0.0.1:5432/postgres, to run the PostgreSQL tests"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[LocalDatabase]:
    """A database of this test run, migrated; dropped afterwards. Its `url`, `host` and `port`
    lead through a proxy that refuses at startup what RDS Proxy refuses, as a deployment's
    would (`server_host` and `server_port` go to the server itself)."""
    database = LocalDatabase(postgres_server, f"orders_test_{uuid.uuid4().hex[:12]}")
    if database.server_host.startswith("/"):  # a Unix socket: no TCP proxy in front of it
        yield database
    else:
        with PostgresProxy(database.server_host, database.server_port, rds_proxy=True) as proxy:
            database.route_through(proxy.host, proxy.port)
            yield database
    database.drop()
