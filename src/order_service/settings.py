"""Per-function settings, read from the environment once per container and validated at init.

This is the only module that reads environment variables. A missing or invalid variable
stops the function's init with a message that names the variable.
"""

from decimal import Decimal
from functools import cache
from typing import Annotated, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from order_service.models.bounds import MAX_MINOR_UNITS
from order_service.models.money import AmountPrecisionError, CurrencyCode, format_minor_units, to_minor_units
from order_service.models.order import EmailAddress


class SettingsError(RuntimeError):
    """The function's environment is incomplete or invalid."""


# botocore's standard retry mode sleeps a random share of 1 s, 2 s, 4 s, ... (at most 20 s)
# before its 2nd, 3rd, 4th, ... attempt.
_BACKOFF_BASE_SECONDS = 2.0
_MAX_BACKOFF_SECONDS = 20.0
# The client-side watchdog of a database transaction fires this long after the server's own
# statement timeout would have (adapters/postgres/database.py).
DATABASE_WATCHDOG_MARGIN_SECONDS = 1.0


def worst_case_aws_call_seconds(attempts: int, connect_timeout: float, read_timeout: float) -> float:
    """The longest one AWS call can take: every attempt connecting and reading up to its
    timeout, with botocore's longest backoff between attempts."""
    backoff = sum(min(_BACKOFF_BASE_SECONDS ** (attempt - 1), _MAX_BACKOFF_SECONDS) for attempt in range(1, attempts))
    return attempts * (connect_timeout + read_timeout) + backoff


class _FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", frozen=True)

    # botocore's own retry policy absorbs throttles and 5xx answers from AWS. The worst case of
    # one call (3 x (0.5 + 1.0) + 1 + 2 = 7.5 s) must fit every function's Timeout with room to
    # answer: tests/template/test_time_budgets.py holds each function of the template to it.
    aws_max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    aws_connect_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 0.5
    aws_read_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0

    def aws_call_worst_case_seconds(self) -> float:
        return worst_case_aws_call_seconds(
            self.aws_max_attempts, self.aws_connect_timeout_seconds, self.aws_read_timeout_seconds
        )

    def worst_case_call_seconds(self) -> float:
        """The longest one call of this function can take (an AWS call, or a unit of work on
        the database for a function that uses it). A sequence of calls is bounded by the
        invocation's deadline instead (adapters/time_budget.py)."""
        return self.aws_call_worst_case_seconds()


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
    # Verify the server's certificate, against DATABASE_SSLROOTCERT (a PEM bundle shipped with
    # the code) or, without one, the Amazon Trust Services roots that sign RDS Proxy's.
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "verify-full"
    database_sslrootcert: str | None = None
    database_statement_timeout_ms: Annotated[int, Field(ge=100, le=60_000)] = 3_000
    # psycopg (like libpq) rounds a connect timeout under 2 s up to 2 s.
    database_connect_timeout_seconds: Annotated[int, Field(ge=2, le=30)] = 2
    database_secret_max_age_seconds: Annotated[int, Field(ge=0)] = 300

    @property
    def uses_database(self) -> bool:
        return True

    def database_worst_case_seconds(self) -> float:
        """The longest one unit of work on the database can take: connecting, then one
        transaction until its client-side watchdog ends it."""
        return (
            self.database_connect_timeout_seconds
            + self.database_statement_timeout_ms / 1000
            + DATABASE_WATCHDOG_MARGIN_SECONDS
        )

    def worst_case_call_seconds(self) -> float:
        aws = self.aws_call_worst_case_seconds()
        return max(aws, self.database_worst_case_seconds()) if self.uses_database else aws

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

    @property
    def uses_database(self) -> bool:
        return self.order_store == "postgres"

    @model_validator(mode="after")
    def _store_is_configured(self) -> Self:
        if self.order_store == "dynamodb" and not self.orders_table_name:
            raise ValueError("ORDERS_TABLE_NAME is required for ORDER_STORE=dynamodb")
        if self.order_store == "postgres":
            self._check_database()
        return self


class ApiSettings(OrderStoreSettings):
    default_page_size: Annotated[int, Field(ge=1, le=100)] = 20


class _PublishesEvents(_FunctionSettings):
    """A function that puts events on the order bus."""

    event_bus_name: Annotated[str, Field(min_length=1)]
    event_source: Annotated[str, Field(min_length=1)] = "order-service"


class _AnnouncesChanges(_PublishesEvents):
    """A function that announces stored changes: events on the bus, notifications on the queue."""

    notification_queue_url: Annotated[str, Field(min_length=1)]


class AnnouncerSettings(_AnnouncesChanges):
    # Where a change that can never be announced is set aside, so it does not block the stream.
    unannounced_changes_queue_url: Annotated[str, Field(min_length=1)]


def _limits_are_amounts_of_their_currency(limits: dict[str, Decimal]) -> dict[str, Decimal]:
    """A limit finer than its currency's minor unit, negative or past the largest amount
    stops init here, instead of failing every order of that currency later."""
    for currency, limit in limits.items():
        try:
            minor = to_minor_units(limit, currency)
        except (AmountPrecisionError, ArithmeticError):
            raise ValueError(f"{currency} {limit} is not an amount of {currency}") from None
        if not 0 <= minor <= MAX_MINOR_UNITS:
            raise ValueError(f"{currency} {limit} is outside 0 to {format_minor_units(MAX_MINOR_UNITS, currency)}")
    return limits


# Supported currencies with their maximum order total, as JSON: {"EUR": "10000.00"}. A type of
# its own, so the order tooling reads a stack's MaxOrderTotals as process_order reads it.
MaxOrderTotals = Annotated[
    dict[CurrencyCode, Decimal], Field(min_length=1), AfterValidator(_limits_are_amounts_of_their_currency)
]


class ProcessOrderSettings(OrderStoreSettings):
    max_order_totals: MaxOrderTotals


class RelaySettings(DatabaseSettings, _AnnouncesChanges):
    # Small batches: a batch is claimed at once, so a run that dies leaves at most one batch
    # waiting for its claim to end (adapters/postgres/orders.py, PostgresOutbox).
    relay_batch_size: Annotated[int, Field(ge=1, le=1000)] = 10
    # Published outbox rows are kept this long (for an operator's replay), then deleted.
    outbox_retention_days: Annotated[int, Field(ge=1, le=365)] = 7

    @model_validator(mode="after")
    def _database_is_configured(self) -> Self:
        self._check_database()
        return self


class StalledOrderSweepSettings(OrderStoreSettings, _PublishesEvents):
    # An order still pending this long after it was placed is announced again. Longer than the
    # pipeline ever takes when healthy (seconds), so a healthy order is never swept.
    stalled_order_age_minutes: Annotated[int, Field(ge=5, le=1440)] = 15
    # Orders re-announced per run at most (one PutEvents each); the rest waits for the next run.
    stalled_order_sweep_limit: Annotated[int, Field(ge=1, le=1000)] = 100


# The notification queue's retention (SQS's default: it sets none) and its dead-letter queue's.
NOTIFICATION_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
NOTIFICATION_DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


class NotificationSettings(OrderStoreSettings):
    """send_notification reads the order a notification is about from the order store."""

    sender_email: EmailAddress
    idempotency_table_name: Annotated[str, Field(min_length=1)]
    # Where a notification goes back to, delayed, while SES is throttling.
    notification_queue_url: Annotated[str, Field(min_length=1)]
    # The first such delay; each further deferral of the same notification doubles it (at most 900 s).
    ses_throttle_deferral_seconds: Annotated[int, Field(ge=1, le=900)] = 30
    # How long a sent notification is remembered; a delivery within it sends nothing. At least
    # as long as a message can come back: a dead letter is kept the dead-letter queue's retention
    # from when it was first queued, and its redriven copy the queue's retention more
    # (tests/template/test_notification_guarantees.py holds the template's value to that).
    idempotency_ttl_seconds: Annotated[int, Field(ge=60)] = (
        NOTIFICATION_QUEUE_RETENTION_SECONDS + NOTIFICATION_DEAD_LETTER_RETENTION_SECONDS
    )


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
