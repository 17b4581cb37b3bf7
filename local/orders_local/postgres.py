"""A database of the stack's own on a PostgreSQL server of this machine: created and migrated
at start, its credentials handed to the functions through (emulated) Secrets Manager, dropped
at the end."""

import json
import os
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from samlocal.errors import StartError

from order_service.adapters.postgres.migrate import migrate

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """Where to create databases: ORDERS_DATABASE_URL, or the local server with trust auth."""
    return os.environ.get("ORDERS_DATABASE_URL", DEFAULT_ADMIN_URL)


class ServerUnavailableError(StartError):
    """No PostgreSQL server where ORDERS_DATABASE_URL points."""


class LocalDatabase:
    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self._server_url = server_url
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.OperationalError as error:
            raise ServerUnavailableError(
                f"no PostgreSQL server at {server_url} ({error}); point ORDERS_DATABASE_URL at one, e.g. "
                "postgresql://postgres@127.0.0.1:5432/postgres"
            ) from None
        self.params: dict[str, Any] = {**conninfo_to_dict(server_url), "dbname": name}
        self._route: tuple[str, int] | None = None
        with psycopg.connect(**self.params) as connection:
            migrate(connection)

    def route_through(self, host: str, port: int) -> None:
        """From now on `url`, `host` and `port` lead through a proxy (the stack's own upkeep, and
        `server_host`, `server_port`, keep going to the server)."""
        self._route = (host, port)

    @property
    def url(self) -> str:
        params = self.params
        credentials = params.get("user", "postgres") + (f":{params['password']}" if params.get("password") else "")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{self.name}"

    @property
    def host(self) -> str:
        return self.server_host if self._route is None else self._route[0]

    @property
    def port(self) -> int:
        return self.server_port if self._route is None else self._route[1]

    @property
    def server_host(self) -> str:
        return str(self.params.get("host", "127.0.0.1"))

    @property
    def server_port(self) -> int:
        return int(self.params.get("port", 5432))

    def secret_string(self, *, host: str | None = None, port: int | None = None) -> str:
        """The secret as RDS writes one; `host` and `port` point the functions elsewhere (a proxy)."""
        return json.dumps(
            {
                "engine": "postgres",
                "username": self.params.get("user", "postgres"),
                "password": self.params.get("password", ""),
                "host": host or self.host,
                "port": port or self.port,
                "dbname": self.name,
            }
        )

    def pending_outbox(self) -> int:
        with psycopg.connect(**self.params) as connection:
            row = connection.execute("SELECT count(*) FROM order_outbox WHERE published_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def drop(self) -> None:
        with psycopg.connect(self._server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
