"""`api`: the HTTP API (API Gateway REST proxy), with validation and an OpenAPI document."""

import json
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from snapshot_restore_py import register_before_snapshot

from order_service.adapters.order_store import order_repository
from order_service.adapters.time_budget import within_time_budget
from order_service.handlers.request_body import JSON_MEDIA_TYPE, json_api
from order_service.handlers.responses import error_response, error_responses, json_response, ok, validation_errors
from order_service.handlers.unreadable_orders import report_unreadable_orders
from order_service.models.bounds import PAGE_TOKEN_MAX_LENGTH
from order_service.models.order import CustomerId, OrderId, OrderPageView, OrderView, PlaceOrderRequest
from order_service.observability import logger, metrics, tracer
from order_service.ports import InvalidPageTokenError, OrderNotFoundError, StoreUnavailableError
from order_service.services import order_lifecycle
from order_service.settings import ApiSettings, load_settings

settings = load_settings(ApiSettings)
orders = order_repository(settings)
app = json_api()
# API Gateway answers a body over its 10 MB limit itself, on every route, with {"message": ...}.
TOO_LARGE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Retrying with the same key returns the first answer and places no second order",
    ),
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@app.post(
    "/orders",
    summary="Place an order",
    responses={
        **ok(OrderView, "The order, pending", HTTPStatus.CREATED),
        **error_responses(
            HTTPStatus.BAD_REQUEST,
            TOO_LARGE,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            HTTPStatus.SERVICE_UNAVAILABLE,
        ),
    },
)
@tracer.capture_method
def place_order(request: PlaceOrderRequest, idempotency_key: IdempotencyKey = None) -> Response[OrderView]:
    placed = order_lifecycle.place_order(request, orders=orders, clock=utc_now, idempotency_key=idempotency_key)
    logger.append_keys(order_id=placed.order.order_id)
    if placed.replayed:
        logger.info("Idempotent retry answered with the first order")
        headers = {"Idempotent-Replayed": "true"}
    else:
        logger.info("Order placed", extra={"total_minor": placed.order.total_minor, "currency": placed.order.currency})
        metrics.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=1)
        headers = {}
    return json_response(HTTPStatus.CREATED, OrderView.of(placed.order), headers=headers)


@app.get(
    "/orders/<order_id>",
    summary="Get an order",
    responses={
        **ok(OrderView, "The order"),
        **error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, TOO_LARGE, HTTPStatus.SERVICE_UNAVAILABLE),
    },
)
@tracer.capture_method
def get_order(order_id: Annotated[OrderId, Path()]) -> OrderView:
    return OrderView.of(order_lifecycle.get_order(order_id, orders=orders))


@app.get(
    "/orders",
    summary="List a customer's orders, newest first",
    responses={
        **ok(OrderPageView, "A page of orders"),
        **error_responses(HTTPStatus.BAD_REQUEST, TOO_LARGE, HTTPStatus.SERVICE_UNAVAILABLE),
    },
)
@tracer.capture_method
def list_orders(
    customer_id: Annotated[CustomerId, Query()],
    limit: Annotated[int, Query(ge=1, le=100)] = settings.default_page_size,
    next_token: Annotated[str | None, Query(max_length=PAGE_TOKEN_MAX_LENGTH)] = None,
) -> OrderPageView:
    page = order_lifecycle.list_orders(customer_id, limit=limit, page_token=next_token, orders=orders)
    # An order that no longer reads is left out of the page, not a 500 for the whole listing.
    report_unreadable_orders(page.unreadable, reader="order listing")
    return OrderPageView(orders=[OrderView.of(order) for order in page.orders], next_token=page.next_token)


@app.post(
    "/orders/<order_id>/cancel",
    summary="Cancel a pending order",
    responses={
        **ok(OrderView, "The order, cancelled"),
        **error_responses(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.NOT_FOUND,
            HTTPStatus.CONFLICT,
            TOO_LARGE,
            HTTPStatus.SERVICE_UNAVAILABLE,
        ),
    },
)
@tracer.capture_method
def cancel_order(order_id: Annotated[OrderId, Path()]) -> OrderView:
    order = order_lifecycle.cancel_order(order_id, orders=orders, clock=utc_now)
    logger.append_keys(order_id=order_id)
    logger.info("Order cancelled")
    metrics.add_metric(name="OrderCancelled", unit=MetricUnit.Count, value=1)
    return OrderView.of(order)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(HTTPStatus.OK, "application/json", openapi_json())


@cache
def openapi_json() -> str:
    """The API's OpenAPI document, built once per container.

    Powertools documents a 422 `HTTPValidationError` on every route; this API answers invalid
    requests with a 400 `ErrorBody` instead (and documents it), so that entry is dropped."""
    document = json.loads(app.get_openapi_json_schema(title="Order service", version="1"))
    for operations in document["paths"].values():
        for operation in operations.values():
            refused = operation["responses"].get("422", {})
            if "HTTPValidationError" in json.dumps(refused):
                del operation["responses"]["422"]
    document["components"]["schemas"].pop("HTTPValidationError", None)
    document["components"]["schemas"].pop("ValidationError", None)
    return json.dumps(document)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "The request is invalid", errors=validation_errors(error))


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(error: RequestUnsupportedContentType) -> Response[str]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        f"The body must be {JSON_MEDIA_TYPE}",
        errors=[{"field": "header.Content-Type", "message": f"must be {JSON_MEDIA_TYPE}"}],
    )


@app.not_found
def no_such_route(error: NotFoundError) -> Response[str]:
    # Behind API Gateway an unknown route never gets here (it answers 403 itself); an event
    # sent to the function directly may.
    return error_response(HTTPStatus.NOT_FOUND, "No such route")


@app.exception_handler(UnicodeDecodeError)
def body_is_not_text(error: UnicodeDecodeError) -> Response[str]:
    # A binary body arrives base64-encoded; it cannot be JSON if it is not UTF-8 text.
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "The request is invalid",
        errors=[{"field": "body", "message": "the body must be UTF-8 encoded JSON"}],
    )


@app.exception_handler(InvalidPageTokenError)
def invalid_page_token(error: InvalidPageTokenError) -> Response[str]:
    return error_response(
        HTTPStatus.BAD_REQUEST,
        "The request is invalid",
        errors=[{"field": "query.next_token", "message": str(error)}],
    )


@app.exception_handler(OrderNotFoundError)
def order_not_found(error: OrderNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, str(error))


@app.exception_handler(order_lifecycle.InvalidTransitionError)
def invalid_transition(error: order_lifecycle.InvalidTransitionError) -> Response[str]:
    return error_response(HTTPStatus.CONFLICT, str(error), current_status=error.order.status.value)


@app.exception_handler(order_lifecycle.IdempotencyKeyReusedError)
def idempotency_key_reused(error: order_lifecycle.IdempotencyKeyReusedError) -> Response[str]:
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        str(error),
        errors=[{"field": "header.Idempotency-Key", "message": str(error)}],
    )


@app.exception_handler(ClientError)
@app.exception_handler(BotoCoreError)
@app.exception_handler(StoreUnavailableError)
def dependency_unavailable(error: Exception) -> Response[str]:
    # Retries already ran inside botocore, and a lost database transaction wrote nothing:
    # the client may safely retry.
    logger.exception("A backing service failed")
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "Temporarily unavailable, retry later", retry_after=1)


@register_before_snapshot
def warm_before_snapshot() -> None:
    """Under SnapStart, run once before the snapshot so every restored environment has it:
    each route's validation models and the OpenAPI document. Pure CPU work on a synthetic
    request that is refused before any AWS call: no connection, credential or random state
    ends up in the snapshot."""
    for method, path in (("POST", "/orders"), ("GET", "/orders"), ("GET", "/openapi.json")):
        app.resolve(warm_up_request(method, path), _SNAPSHOT_CONTEXT)


def warm_up_request(method: str, path: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": "before-snapshot", "stage": "v1", "httpMethod": method, "path": path},
        "body": "{}",
        "isBase64Encoded": False,
    }


_SNAPSHOT_CONTEXT: Any = None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
