"""Reporting the stored orders a reader of many rows had to skip: they no longer read as orders.

Each is logged with its id and reason (field names and error types, no values) and counted
in `OrderUnreadable`, which has an alarm: the row stays in the store for an operator to fix.
"""

from collections.abc import Iterable

from aws_lambda_powertools.metrics import MetricUnit

from order_service.observability import logger, metrics
from order_service.ports import UnreadableOrder

METRIC = "OrderUnreadable"


def report_unreadable_orders(unreadable: Iterable[UnreadableOrder], *, reader: str) -> int:
    """Log each order `reader` skipped, count them all in the metric; return how many."""
    count = 0
    for order in unreadable:
        logger.error(
            "Stored order unreadable: skipped",
            extra={"order_id": order.order_id, "reason": order.reason, "reader": reader},
        )
        count += 1
    if count:
        metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=count)
    return count
