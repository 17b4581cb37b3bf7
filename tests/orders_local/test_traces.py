"""The X-Ray segments the functions send: collected as the daemon receives them, with no address."""

import json
import re
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from orders_local.stack import OrderStack, OrderStackOptions
from samlocal.traces import TraceCollector, TraceDocument

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
DAEMON_HEADER = '{"format": "json", "version": 1}\n'


@pytest.fixture(scope="module")
def traced_stack() -> Iterator[OrderStack]:
    """The service's template in worker processes; not the session's `order_stack`, whose every
    e-mail test_order_pipeline.py counts."""
    with OrderStack(OrderStackOptions(stack_name="traced", time_scale=0.02)) as stack:
        yield stack


def _send(collector: TraceCollector, datagram: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(datagram.encode(), (collector.host, collector.port))


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_datagram_in_the_daemon_protocol_is_kept_with_its_trace_id_name_times_and_text() -> None:
    document = {
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "id": "53995c3f42cd8ad8",
        "parent_id": "defdfd9912dc5a56",
        "type": "subsegment",
        "name": "DynamoDB",
        "namespace": "aws",
        "start_time": 1461096053.37518,
        "end_time": 1461096053.4042,
    }
    text = json.dumps(document)
    with TraceCollector() as collector:
        _send(collector, DAEMON_HEADER + text)

        assert _eventually(lambda: bool(collector.documents()))
        (kept,) = collector.documents()

    assert (kept.trace_id, kept.id, kept.parent_id, kept.type, kept.name) == (
        "1-5759e988-bd862e3fe1be46a994272793",
        "53995c3f42cd8ad8",
        "defdfd9912dc5a56",
        "subsegment",
        "DynamoDB",
    )
    assert (kept.start_time, kept.end_time) == (1461096053.37518, 1461096053.4042)
    assert kept.raw == text
    assert collector.trace("1-5759e988-bd862e3fe1be46a994272793") == [kept]


def test_a_datagram_that_is_not_the_daemon_protocol_is_dropped_and_counted() -> None:
    segment = '{"trace_id": "1-5759e988-bd862e3fe1be46a994272793", "id": "1", "name": "x", "start_time": 1}'
    with TraceCollector() as collector:
        _send(collector, segment)  # no header
        _send(collector, '{"format": "json", "version": 2}\n' + segment)
        _send(collector, DAEMON_HEADER + "{not json")
        _send(collector, DAEMON_HEADER + '{"id": "1", "name": "no trace id", "start_time": 1}')

        assert _eventually(lambda: collector.rejected == 4)
        assert collector.documents() == []


def test_an_orders_invocations_send_their_segments_with_aws_subsegments_and_no_address(
    traced_stack: OrderStack,
) -> None:
    client = traced_stack.api_client()
    email = f"traced-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "customer_id": "c-traced",
        "customer_email": email,
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 2, "unit_price": "5.00"}],
    }
    documents_before, lines_before = len(traced_stack.traces.documents()), len(traced_stack.logs.lines)

    assert client.request("POST", "/orders", body).status == 201
    assert traced_stack.wait_until_idle(timeout=60)

    documents = traced_stack.traces.documents()[documents_before:]
    # Which function sent a trace: each function's log lines name the trace they were written in.
    function_of_trace = {
        json.loads(line.text)["xray_trace_id"]: line.function
        for line in traced_stack.logs.lines[lines_before:]
        if line.text.startswith("{") and '"xray_trace_id"' in line.text
    }
    by_function: defaultdict[str, list[TraceDocument]] = defaultdict(list)
    for document in documents:
        by_function[function_of_trace.get(document.trace_id, "unknown")].append(document)
    aws_calls: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for function, sent in by_function.items():
        aws_calls[function] = {
            (d.name, d.document["aws"]["operation"]) for d in sent if d.document.get("namespace") == "aws"
        }
    pipeline = ["ApiFunction", "AnnounceOrderChangesFunction", "ProcessOrderFunction", "SendNotificationFunction"]
    # (A scheduled function may run meanwhile: its segments are scanned below too.)
    assert all(any(d.name == "## handler" for d in by_function[function]) for function in pipeline)
    assert ("dynamodb", "PutItem") in aws_calls["ApiFunction"]
    assert {("events", "PutEvents"), ("sqs", "SendMessage")} <= aws_calls["AnnounceOrderChangesFunction"]
    assert ("dynamodb", "UpdateItem") in aws_calls["ProcessOrderFunction"]
    assert ("email", "SendEmail") in aws_calls["SendNotificationFunction"]
    assert all(d.end_time is not None and d.start_time <= d.end_time for d in documents)
    assert [d.name for d in documents if EMAIL.search(d.raw) or email in d.raw] == []
