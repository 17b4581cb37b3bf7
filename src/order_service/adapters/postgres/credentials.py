"""Connecting with credentials from Secrets Manager (cached by Powertools), or a local URL.

The secret is read with the service's own Secrets Manager client: the function's timeouts and
attempts, and the invocation's deadline guard. A secret that cannot be read is the store being
unavailable (StoreUnavailableError), like a database that cannot be reached.
"""

from pathlib import Path
from typing import Any

import botocore
import psycopg
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from order_service.adapters.aws_clients import secretsmanager_client
from order_service.adapters.postgres.database import Connection, Database, connect
from order_service.ports import StoreUnavailableError
from order_service.settings import DatabaseSettings


def database_from_settings(settings: DatabaseSettings) -> Database:
    limits = {
        "time_limit_seconds": settings.database_worst_case_seconds(),
        "connect_timeout_seconds": settings.database_connect_timeout_seconds,
    }
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        return Database(
            lambda: connect(
                url,
                statement_timeout_ms=settings.database_statement_timeout_ms,
                connect_timeout_seconds=settings.database_connect_timeout_seconds,
            ),
            **limits,
        )
    secrets = SecretsProvider(boto3_client=secretsmanager_client(settings))
    return Database(lambda: _connect_with_secret(settings, secrets), **limits)


def _secret(settings: DatabaseSettings, secrets: SecretsProvider, *, refresh: bool) -> dict[str, Any]:
    assert settings.database_secret_arn is not None
    try:
        value = secrets.get(
            settings.database_secret_arn,
            transform="json",
            max_age=settings.database_secret_max_age_seconds,
            force_fetch=refresh,
        )
    except (GetParameterError, TransformParameterError) as error:
        raise StoreUnavailableError("the database credentials could not be read from Secrets Manager") from error
    if not isinstance(value, dict):
        raise StoreUnavailableError("the database secret is not a JSON object")
    return value


def _server_certificate_roots(settings: DatabaseSettings) -> dict[str, Any]:
    """What verifies the server's certificate: the configured bundle, or the Amazon Trust
    Services roots that sign RDS Proxy's certificates (they ship in botocore's CA bundle, which
    every function already carries). Lambda has no libpq default root store to fall back on."""
    if settings.database_sslmode not in ("verify-ca", "verify-full"):
        return {}
    return {"sslrootcert": settings.database_sslrootcert or str(Path(botocore.__file__).parent / "cacert.pem")}


def _connect_with_secret(settings: DatabaseSettings, secrets: SecretsProvider) -> Connection:
    for refresh in (False, True):
        secret = _secret(settings, secrets, refresh=refresh)
        try:
            return connect(
                statement_timeout_ms=settings.database_statement_timeout_ms,
                connect_timeout_seconds=settings.database_connect_timeout_seconds,
                host=settings.database_host or secret["host"],
                port=int(secret.get("port", settings.database_port)),
                dbname=settings.database_name or secret.get("dbname", "postgres"),
                user=secret["username"],
                password=secret["password"],
                sslmode=settings.database_sslmode,
                **_server_certificate_roots(settings),
            )
        except psycopg.OperationalError as error:
            # A rotated password: the cached secret is stale, fetch it once more.
            if refresh or "password authentication failed" not in str(error):
                raise
    raise AssertionError("unreachable")
