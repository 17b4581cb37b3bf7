"""Per-function settings, read from the environment once per container and validated at init.

This is the only module that reads environment variables. A missing or invalid variable
stops the function's init with a message that names the variable.
"""

from decimal import Decimal
from functools import cache
from typing import Annotated, TypeVar

from pydantic import Field, ValidationError
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


class ApiSettings(_FunctionSettings):
    orders_table_name: Annotated[str, Field(min_length=1)]
    default_page_size: Annotated[int, Field(ge=1, le=100)] = 20


class AnnouncerSettings(_FunctionSettings):
    event_bus_name: Annotated[str, Field(min_length=1)]
    notification_queue_url: Annotated[str, Field(min_length=1)]
    event_source: Annotated[str, Field(min_length=1)] = "order-service"


class ProcessOrderSettings(_FunctionSettings):
    orders_table_name: Annotated[str, Field(min_length=1)]
    # Supported currencies with their maximum order total, as JSON: {"EUR": "10000.00"}.
    max_order_totals: Annotated[dict[CurrencyCode, Decimal], Field(min_length=1)]


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
            variable = str(issue["loc"][0]).upper() if issue["loc"] else "?"
            if issue["type"] == "missing":
                problems.append(f"missing environment variable {variable}")
            else:
                problems.append(f"invalid environment variable {variable}: {issue['msg']}")
        raise SettingsError(f"{model.__name__}: " + "; ".join(problems)) from None
