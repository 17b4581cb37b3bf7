"""`relay_outbox`: the PostgreSQL store's outbox -> OrderPlaced events and notifications.

Runs on a schedule (and may be invoked at any time): it publishes every pending change,
oldest first, and marks each only once the bus or the queue accepted it. It does for the
PostgreSQL store what the table's stream and `announce_order_changes` do for DynamoDB. A
change that can never be announced is marked failed with its reason (and counted) instead
of blocking the ones behind it; published changes are purged after the retention period.
Runs side by side share the outbox: each claims its batches for the rest of its invocation
(PostgresOutbox), so a run that overlaps a slow one publishes other changes.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from order_service.adapters.aws_clients import events_client, sqs_client
from order_service.adapters.eventbridge_publisher import EventBridgePublisher
from order_service.adapters.postgres.credentials import database_from_settings
from order_service.adapters.postgres.orders import PostgresOutbox
from order_service.adapters.sqs_notification_queue import SqsNotificationQueue
from order_service.adapters.time_budget import within_time_budget
from order_service.observability import logger, metrics, trace_psycopg, tracer
from order_service.services.announcements import relay_changes
from order_service.settings import RelaySettings, load_settings

settings = load_settings(RelaySettings)
trace_psycopg()
database = database_from_settings(settings)
publisher = EventBridgePublisher(
    events_client(settings), bus_name=settings.event_bus_name, source=settings.event_source
)
notifications = SqsNotificationQueue(sqs_client(settings), settings.notification_queue_url)

# Stop handing out changes when less than this is left of the invocation: one change's
# publish, retried by botocore under throttling, and its mark on the database can take
# seconds (_ROW_SECONDS, below this margin).
_SAFETY_MARGIN_MS = 15_000
_ROW_SECONDS = settings.aws_call_worst_case_seconds() + settings.database_worst_case_seconds()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@within_time_budget
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A claim lasts as long as this invocation can: a live run never outlives its claims, and
    # the changes of a run that died come back when it would have been stopped anyway.
    outbox = PostgresOutbox(
        database,
        lease_seconds=max(context.get_remaining_time_in_millis() / 1000, _ROW_SECONDS + 1),
        row_seconds=_ROW_SECONDS,
    )
    try:
        relayed = relay_changes(
            outbox,
            events=publisher,
            notifications=notifications,
            batch_size=settings.relay_batch_size,
            time_left=lambda: context.get_remaining_time_in_millis() > _SAFETY_MARGIN_MS,
        )
    except Exception:
        metrics.add_metric(name="AnnouncementFailed", unit=MetricUnit.Count, value=1)
        logger.exception("Relaying the outbox failed; the rest waits for the next run")
        raise
    if relayed.published:
        logger.info("Outbox relayed", extra={"changes": relayed.published})
        metrics.add_metric(name="ChangesRelayed", unit=MetricUnit.Count, value=relayed.published)
    if relayed.set_aside:
        logger.error("Changes set aside: they can never be announced", extra={"changes": relayed.set_aside})
        metrics.add_metric(name="AnnouncementSetAside", unit=MetricUnit.Count, value=relayed.set_aside)
    purged = purge_published_changes(outbox)
    return {"relayed": relayed.published, "setAside": relayed.set_aside, "purged": purged}


def purge_published_changes(outbox: PostgresOutbox) -> int:
    """Published changes older than the retention period go: each holds a copy of its order."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.outbox_retention_days)
    purged = outbox.purge_published(published_before=cutoff)
    if purged:
        logger.info("Published outbox rows purged", extra={"rows": purged})
    return purged
