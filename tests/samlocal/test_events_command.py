"""`orders events ID`: one order's log records, across functions, in time order."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from samlocal.events import Event, events_of

ROOT = Path(__file__).resolve().parents[2]
ORDER = "3352f2f5-95a0-5026-b46d-e73280be9487"
OTHER_ORDER = "9d0e1c47-1111-5222-8333-944455556666"
API_REQUEST = "7ad82578-d237-4c0c-94cd-33f37bb90254"


def record(function: str, second: float, message: str, **keys: object) -> str:
    stamp = datetime(2026, 11, 28, 8, 30, 0, tzinfo=UTC).timestamp() + second
    moment = datetime.fromtimestamp(stamp, UTC)
    timestamp = moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}+0000"
    fields = {"level": "INFO", "message": message, "timestamp": timestamp, "service": "order-service", **keys}
    return f"{function} {json.dumps(fields)}"


def at(second: float) -> datetime:
    return datetime.fromtimestamp(datetime(2026, 11, 28, 8, 30, 0, tzinfo=UTC).timestamp() + second, UTC)


# Two orders interleaved, as `orders up` appends them; the workers' readers write each
# function's lines as they come, so a later record can sit before an earlier one.
LOG = [
    record("ApiFunction", 0.100, "Order placed", correlation_id=API_REQUEST, order_id=ORDER),
    record("ApiFunction", 0.150, "Order placed", correlation_id="other-request", order_id=OTHER_ORDER),
    'ApiFunction {"_aws": {"Timestamp": 1795854619190, "CloudWatchMetrics": []}, "OrderPlaced": [1.0]}',
    "ApiFunction REPORT RequestId: 211438a7 Duration: 2.83 ms Memory Size: 256 MB Max Memory Used: 79 MB",
    record("ProcessOrderFunction", 0.900, "Order decided", correlation_id="event-1", order_id=ORDER),
    record("AnnounceOrderChangesFunction", 0.400, "Order change announced", order_id=ORDER),
    record("AnnounceOrderChangesFunction", 0.450, "Order change announced", order_id=OTHER_ORDER),
    record(
        "SendNotificationFunction",
        2.000,
        "Notifications sent",
        notifications=[{"order_id": ORDER, "kind": "order_completed"}, {"order_id": OTHER_ORDER}],
    ),
    record("ProcessOrderFunction", 0.950, "Order decided", correlation_id="event-2", order_id=OTHER_ORDER),
    # Logged by the API request of the order before its id was known: tied to it by correlation id.
    record("ApiFunction", 0.050, "Validating the request", correlation_id=API_REQUEST),
    "ProcessOrderFunction not JSON at all",
]


def test_an_orders_records_come_from_every_function_in_time_order() -> None:
    events = events_of(LOG, ORDER)

    assert events == [
        Event(at(0.050), "ApiFunction", "INFO", "Validating the request"),
        Event(at(0.100), "ApiFunction", "INFO", "Order placed"),
        Event(at(0.400), "AnnounceOrderChangesFunction", "INFO", "Order change announced"),
        Event(at(0.900), "ProcessOrderFunction", "INFO", "Order decided"),
        Event(at(2.000), "SendNotificationFunction", "INFO", "Notifications sent"),
    ]


def test_a_correlation_id_gives_the_records_of_that_request() -> None:
    events = events_of(LOG, API_REQUEST)

    assert [(event.time, event.message) for event in events] == [
        (at(0.050), "Validating the request"),
        (at(0.100), "Order placed"),
    ]


def test_orders_events_prints_one_line_per_record_and_exits_1_when_none_matches(tmp_path: Path) -> None:
    log_file = tmp_path / "functions.log"
    log_file.write_text("\n".join(LOG) + "\n")
    env = {**os.environ, "TZ": "UTC"}

    def orders_events(wanted: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "samlocal", "events", wanted, "--log-file", str(log_file)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False)

    found = orders_events(OTHER_ORDER)
    missing = orders_events("no-such-order")

    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        "08:30:00.150 ApiFunction                  INFO    Order placed",
        "08:30:00.450 AnnounceOrderChangesFunction INFO    Order change announced",
        "08:30:00.950 ProcessOrderFunction         INFO    Order decided",
        "08:30:02.000 SendNotificationFunction     INFO    Notifications sent",
    ]
    assert missing.returncode == 1
    assert "No log record mentions no-such-order" in missing.stderr
