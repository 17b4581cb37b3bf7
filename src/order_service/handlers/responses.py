"""JSON answers of the HTTP API, errors included, in one shape."""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, Field

ModelT = TypeVar("ModelT", bound=BaseModel)


class FieldError(BaseModel):
    field: str = Field(description="Where: body.items.0.quantity, query.limit, header.Idempotency-Key, ...")
    message: str


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    message: str
    errors: list[FieldError] | None = Field(default=None, description="The failing fields, for a 400 or 422")
    current_status: str | None = Field(default=None, description="The order's status, for a 409")


def error_responses(*statuses: HTTPStatus) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error answers a route can give."""
    return {
        int(status): {"description": status.phrase, "content": {"application/json": {"model": ErrorBody}}}
        for status in statuses
    }


def ok(model: type[BaseModel], description: str, status: HTTPStatus = HTTPStatus.OK) -> dict[int, OpenAPIResponse]:
    """The OpenAPI entry of a route's success answer."""
    return {int(status): {"description": description, "content": {"application/json": {"model": model}}}}


def json_response(status: HTTPStatus, body: ModelT, *, headers: dict[str, str] | None = None) -> Response[ModelT]:
    """A model answer with a status of its own; Powertools validates and serialises the body."""
    return Response(status, "application/json", body, headers=headers)


def error_response(
    status: HTTPStatus,
    message: str,
    *,
    errors: list[dict[str, str]] | None = None,
    retry_after: int | None = None,
    **details: str,
) -> Response[str]:
    body: dict[str, Any] = {"message": message, **details}
    if errors is not None:
        body["errors"] = errors
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Response(status, "application/json", json.dumps(body), headers=headers)


# A body of 100,000 unknown keys would otherwise be answered with 100,000 errors, each naming
# its key: more than the 6 MB a Lambda function may answer.
MAX_FIELD_ERRORS = 100
MAX_FIELD_PART_LENGTH = 100


def validation_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as `{field, message}` pairs, without echoing the input back: the first
    MAX_FIELD_ERRORS, a key of the body named by its first MAX_FIELD_PART_LENGTH characters."""
    return [
        {"field": ".".join(_field_part(part) for part in issue.get("loc", ())), "message": _message(issue)}
        for issue in error.errors()[:MAX_FIELD_ERRORS]
    ]


def _field_part(part: object) -> str:
    text = str(part)
    return text if len(text) <= MAX_FIELD_PART_LENGTH else text[: MAX_FIELD_PART_LENGTH - 1] + "…"


def _message(issue: Mapping[str, Any]) -> str:
    message = str(issue.get("msg", "invalid"))
    # What the JSON reader said ("Expecting value", "nested too deeply"): a position, never the input.
    reason = issue.get("ctx", {}).get("error") if issue.get("type") == "json_invalid" else None
    return message if reason is None else f"{message}: {reason}"
