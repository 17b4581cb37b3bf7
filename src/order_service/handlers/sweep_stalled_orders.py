"""`sweep_stalled_orders`: orders still pending past an age -> OrderPlaced again.

Runs on a schedule (and may be invoked at any time). Every order pending for longer than
`STALLED_ORDER_AGE_MINUTES` is announced again, oldest first, up to `STALLED_ORDER_SWEEP_LIMIT`
a run; `process_order` decides each once whatever the number of announcements. Any order it
finds means an announcement was lost or is very late: the `StalledOrdersReannounced` metric
says how many, and its alarm tells someone to look. A pending order that no longer reads as
an order is skipped, logged by id with its reason, and counted in `OrderUnreadable` (alarmed);
the orders behind it are still swept.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.aws_clients import events_client
from order_service.adapters.eventbridge_publisher import EventBridgePublisher
from order_service.adapters.order_store import order_repository
from order_service.adapters.time_budget import within_time_budget
from order_service.handlers.unreadable_orders import report_unreadable_orders
from order_service.models.order import Order
from order_service.observability import logger, metrics, tracer
from order_service.ports import UnreadableOrder
from order_service.services.stalled_orders import reannounce_stalled_orders
from order_service.settings import StalledOrderSweepSettings, load_settings

settings = load_settings(StalledOrderSweepSettings)
orders = order_repository(settings)
publisher = EventBridgePublisher(
    events_client(settings), bus_name=settings.event_bus_name, source=settings.event_source
)

# Stop publishing when less than this is left of the invocation: one PutEvents, retried by
# botocore under throttling, can take seconds.
_SAFETY_MARGIN_MS = 10_000
_READER = "stalled-order sweep"


def utc_now() -> datetime:
    return datetime.now(UTC)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reannounced: list[str] = []
    unreadable: list[UnreadableOrder] = []

    def log_reannounced(order: Order) -> None:
        reannounced.append(order.order_id)
        logger.info(
            "Stalled order re-announced",
            extra={"order_id": order.order_id, "placed_at": order.created_at.isoformat()},
        )

    try:
        count = reannounce_stalled_orders(
            orders=orders,
            events=publisher,
            clock=utc_now,
            older_than=timedelta(minutes=settings.stalled_order_age_minutes),
            limit=settings.stalled_order_sweep_limit,
            time_left=lambda: context.get_remaining_time_in_millis() > _SAFETY_MARGIN_MS,
            on_reannounced=log_reannounced,
            on_unreadable=unreadable.append,
        )
    except Exception:
        report_unreadable_orders(unreadable, reader=_READER)
        metrics.add_metric(name="StalledOrdersReannounced", unit=MetricUnit.Count, value=len(reannounced))
        metrics.add_metric(name="StalledOrderSweepFailed", unit=MetricUnit.Count, value=1)
        logger.exception(
            "Sweeping stalled orders failed; the rest waits for the next run",
            extra={"reannounced": len(reannounced)},
        )
        raise
    # Every run, zero included: the alarm's Sum over a period is how many orders needed a second
    # announcement, and a gap in the series is a sweeper that stopped running.
    metrics.add_metric(name="StalledOrdersReannounced", unit=MetricUnit.Count, value=count)
    if count:
        logger.info("Stalled orders re-announced", extra={"reannounced": count})
    skipped = report_unreadable_orders(unreadable, reader=_READER)
    return {"reannounced": count, "unreadable": skipped}
