"""Per-function settings, read from the environment once per container and validated at init.

This is the only module that reads environment variables. A missing or invalid variable
stops the function's init with a message that names the variable.
"""

from decimal import Decimal
from functools import cache
from typing import Annotated, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from order_service.models.money import CurrencyCode


class SettingsError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class _FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    # botocore's own retry policy absorbs throttles and 5xx answers from AWS.
    aws_max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    aws_connect_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 2.0
    aws_read_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


class DatabaseSettings(_FunctionSettings):
    """Where the PostgreSQL store is. In AWS the credentials come from a Secrets Manager secret
    (RDS's format: username, password and optionally host, port, dbname); a plain URL is
    accepted only for a server on this machine, for development and tests."""

    database_secret_arn: str | None = None
    database_url: SecretStr | None = None
    database_host: str | None = None
    database_port: Annotated[int, Field(ge=1, le=65535)] = 5432
    database_name: str | None = None
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "require"
    database_statement_timeout_ms: Annotated[int, Field(ge=100, le=60_000)] = 5_000
    database_secret_max_age_seconds: Annotated[int, Field(ge=0)] = 300

    def _check_database(self) -> None:
        if (self.database_secret_arn is None) == (self.database_url is None):
            raise ValueError("set exactly one of DATABASE_SECRET_ARN and DATABASE_URL for ORDER_STORE=postgres")
        if self.database_url is not None:
            host = urlsplit(self.database_url.get_secret_value()).hostname or ""
            if host not in _LOOPBACK_HOSTS:
                raise ValueError("DATABASE_URL is for a local server only; use DATABASE_SECRET_ARN elsewhere")


class OrderStoreSettings(DatabaseSettings):
    """The order store a function reads and writes: DynamoDB (default) or PostgreSQL."""

    order_store: Literal["dynamodb", "postgres"] = "dynamodb"
    orders_table_name: str | None = None

    @model_validator(mode="after")
    def _store_is_configured(self) -> Self:
        if self.order_store == "dynamodb" and not self.orders_table_name:
            raise ValueError("ORDERS_TABLE_NAME is required for ORDER_STORE=dynamodb")
        if self.order_store == "postgres":
            self._check_database()
        return self


class ApiSettings(OrderStoreSettings):
    default_page_size: Annotated[int, Field(ge=1, le=100)] = 20


class AnnouncerSettings(_FunctionSettings):
    event_bus_name: Annotated[str, Field(min_length=1)]
    notification_queue_url: Annotated[str, Field(min_length=1)]
    event_source: Annotated[str, Field(min_length=1)] = "order-service"


class ProcessOrderSettings(OrderStoreSettings):
    # Supported currencies with their maximum order total, as JSON: {"EUR": "10000.00"}.
    max_order_totals: Annotated[dict[CurrencyCode, Decimal], Field(min_length=1)]


class RelaySettings(DatabaseSettings):
    event_bus_name: Annotated[str, Field(min_length=1)]
    notification_queue_url: Annotated[str, Field(min_length=1)]
    event_source: Annotated[str, Field(min_length=1)] = "order-service"
    # Small batches: each is one transaction, and a run cut short by its timeout republishes
    # (at most) the batch it was in.
    relay_batch_size: Annotated[int, Field(ge=1, le=1000)] = 10

    @model_validator(mode="after")
    def _database_is_configured(self) -> Self:
        self._check_database()
        return self


class NotificationSettings(_FunctionSettings):
    sender_email: Annotated[str, Field(min_length=3)]
    idempotency_table_name: Annotated[str, Field(min_length=1)]
    # How long a sent notification is remembered; redeliveries within it send nothing.
    idempotency_ttl_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600


SettingsT = TypeVar("SettingsT", bound=_FunctionSettings)


@cache
def load_settings(model: type[SettingsT]) -> SettingsT:
    """The function's settings, built once per container."""
    try:
        return model()
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_input=False, include_url=False):
            variable = str(issue["loc"][0]).upper() if issue["loc"] else ""
            if not variable:
                problems.append(str(issue["msg"]).removeprefix("Value error, "))
            elif issue["type"] == "missing":
                problems.append(f"missing environment variable {variable}")
            else:
                problems.append(f"invalid environment variable {variable}: {issue['msg']}")
        raise SettingsError(f"{model.__name__}: " + "; ".join(problems)) from None
