"""What the console makes of the stack's logs and traces, without a browser."""

import json

from samlocal.console.model import timeline
from samlocal.console.server import compact
from samlocal.logs import LogLine
from samlocal.traces import TraceDocument

REQUEST = "cd0e10b2-935d-4c5e-a548-124d242330e0"
OTHER = "4ce6a369-0c74-403f-817e-23d768e144ac"


def record(request_id: str, message: str, **fields: object) -> str:
    return json.dumps(
        {
            "level": "INFO",
            "message": message,
            "timestamp": "2026-11-28 08:42:55,232+0000",
            "function_request_id": request_id,
            **fields,
        }
    )


def aws_call(request_id: str, operation: str, start: float, *, fault: bool = False) -> TraceDocument:
    body = {"namespace": "aws", "aws": {"operation": operation}, "fault": fault}
    return TraceDocument(
        trace_id=f"1-6b0a940e-{request_id.replace('-', '')[:24]}",
        id="a" * 16,
        name="dynamodb",
        type="subsegment",
        parent_id="b" * 16,
        start_time=start,
        end_time=start + 0.02,
        document=body,
        raw=json.dumps(body),
        received_at=start,
    )


def test_an_orders_timeline_has_each_invocation_that_named_it_with_its_calls_and_report() -> None:
    lines = [
        ("ApiFunction", record(REQUEST, "Order placed", order_id="o-1")),
        (
            "ApiFunction",
            f"REPORT RequestId: {REQUEST} Duration: 82.89 ms Memory Size: 256 MB Max Memory Used: 81 MB "
            "Worker: 3 Init Duration: 82.89 ms (includes the invocation)",
        ),
        ("SendNotificationFunction", record(OTHER, "Notifications sent", sent=[{"order_id": "o-1"}])),
        (
            "SendNotificationFunction",
            f"REPORT RequestId: {OTHER} Duration: 12.00 ms Memory Size: 256 MB "
            "Max Memory Used: 70 MB Worker: 4 Status: error",
        ),
        ("ApiFunction", record("ffffffff-0000-0000-0000-000000000000", "Order placed", order_id="o-2")),
    ]
    documents = [aws_call(REQUEST, "PutItem", 1795855375.1), aws_call(OTHER, "SendEmail", 1795855376.0, fault=True)]

    invocations = timeline("o-1", lines, documents)

    assert [(i.function, i.cold, i.result) for i in invocations] == [
        ("ApiFunction", True, "ok"),
        ("SendNotificationFunction", False, "error"),
    ]
    assert [(c.operation, c.outcome) for c in invocations[0].calls] == [("PutItem", "ok")]
    assert [(c.operation, c.outcome) for c in invocations[1].calls] == [("SendEmail", "fault")]
    assert invocations[0].duration_ms == 82.89


def test_a_metrics_blob_is_summarised_and_a_record_keeps_its_order_id() -> None:
    blob = {
        "_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "OrderPlaced"}, {"Name": "OrderTotal"}]}]},
        "OrderPlaced": [1.0],
        "OrderTotal": [25.0],
    }

    metrics = compact(LogLine("ApiFunction", json.dumps(blob)))
    placed = compact(LogLine("ApiFunction", record(REQUEST, "Order placed", order_id="o-1")))
    plain = compact(LogLine("ApiFunction", "START RequestId: x"))

    assert metrics["text"] == "metrics: OrderPlaced=1.0, OrderTotal=25.0"
    assert (placed["level"], placed["message"], placed["order_id"]) == ("INFO", "Order placed", "o-1")
    assert plain == {"function": "ApiFunction", "text": "START RequestId: x"}
