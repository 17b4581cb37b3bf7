"""Connecting with credentials from Secrets Manager (cached by Powertools), or a local URL."""

from typing import Any

import psycopg
from aws_lambda_powertools.utilities import parameters

from order_service.adapters.postgres.database import Connection, Database, connect
from order_service.settings import DatabaseSettings


def database_from_settings(settings: DatabaseSettings) -> Database:
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        return Database(lambda: connect(url, statement_timeout_ms=settings.database_statement_timeout_ms))
    return Database(lambda: _connect_with_secret(settings))


def _secret(settings: DatabaseSettings, *, refresh: bool) -> dict[str, Any]:
    assert settings.database_secret_arn is not None
    value: dict[str, Any] = parameters.get_secret(
        settings.database_secret_arn,
        transform="json",
        max_age=settings.database_secret_max_age_seconds,
        force_fetch=refresh,
    )
    return value


def _connect_with_secret(settings: DatabaseSettings) -> Connection:
    for refresh in (False, True):
        secret = _secret(settings, refresh=refresh)
        try:
            return connect(
                statement_timeout_ms=settings.database_statement_timeout_ms,
                host=settings.database_host or secret["host"],
                port=int(secret.get("port", settings.database_port)),
                dbname=settings.database_name or secret.get("dbname", "postgres"),
                user=secret["username"],
                password=secret["password"],
                sslmode=settings.database_sslmode,
            )
        except psycopg.OperationalError as error:
            # A rotated password: the cached secret is stale, fetch it once more.
            if refresh or "password authentication failed" not in str(error):
                raise
    raise AssertionError("unreachable")
