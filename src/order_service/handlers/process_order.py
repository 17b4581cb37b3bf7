"""`process_order`: an `OrderPlaced` event from EventBridge -> the order is decided."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.order_store import order_repository
from order_service.adapters.time_budget import within_time_budget
from order_service.models.events import OrderPlaced
from order_service.models.order import OrderStatus
from order_service.observability import logger, metrics, tracer
from order_service.services.order_lifecycle import process_order
from order_service.services.rules import OrderRules
from order_service.settings import ProcessOrderSettings, load_settings

settings = load_settings(ProcessOrderSettings)
orders = order_repository(settings)
rules = OrderRules(max_totals=settings.max_order_totals)

_METRIC_BY_STATUS = {OrderStatus.COMPLETED: "OrderCompleted", OrderStatus.REJECTED: "OrderRejected"}


class OrderPlacedEvent(EventBridgeModel):
    """The EventBridge envelope with its `detail` read as OrderPlaced."""

    detail: OrderPlaced


class InvalidOrderEventError(ValueError):
    """The event is not an OrderPlaced envelope. Raised, so it ends in the on-failure destination."""


def parse_order_placed(event: dict[str, Any]) -> OrderPlaced:
    try:
        envelope = parse(event=event, model=OrderPlacedEvent)
    except ValidationError as error:
        fields = ", ".join(
            f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
            for issue in error.errors(include_input=False, include_url=False)
        )
        raise InvalidOrderEventError(f"invalid OrderPlaced event ({fields})") from None
    return envelope.detail


def utc_now() -> datetime:
    return datetime.now(UTC)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        placed = parse_order_placed(event)
    except InvalidOrderEventError:
        metrics.add_metric(name="OrderEventInvalid", unit=MetricUnit.Count, value=1)
        logger.exception("Refusing an event that is not a valid OrderPlaced")
        raise
    logger.append_keys(order_id=placed.order_id)
    outcome = process_order(placed.order_id, orders=orders, rules=rules, clock=utc_now)
    order = outcome.order
    if outcome.transitioned:
        metrics.add_metric(name=_METRIC_BY_STATUS[order.status], unit=MetricUnit.Count, value=1)
        logger.info("Order decided", extra={"status": order.status.value, "reason": order.reason})
    else:
        logger.info("Order was already decided; nothing to do", extra={"status": order.status.value})
    return {"orderId": order.order_id, "status": order.status.value, "transitioned": outcome.transitioned}
