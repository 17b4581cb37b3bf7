"""Cold start per function: from process start to the end of the first invocation's response.

Each sample is a fresh worker process (awslambdaric over the local Runtime API, with the
variables Lambda sets, tracing and metrics on, the template's settings) whose first invocation
does its real I/O against the embedded emulator. Functions and baselines are sampled in turn, so
a noisy neighbour hits them alike.

A `Layout` says which Python runs them and where each one's code and packages are: as deployed
(the built artifacts, read-only, Python 3.13, see benchmarks/deployed.py) or the development
environment (the sources and a virtual environment holding the layer's packages).
"""

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from samlocal.local_stack import LocalStack, function_base_environment
from samlocal.logs import LogBook
from samlocal.runtime.workers import Worker, xray_daemon_environment
from samlocal.template import FunctionSpec

from benchmarks import events
from order_service.adapters.dynamodb_items import to_item
from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository

BASELINES = Path(__file__).parent / "baselines"
FUNCTIONS = ("ApiFunction", "AnnounceOrderChangesFunction", "ProcessOrderFunction", "SendNotificationFunction")
# The clients each function creates at init: what its floor creates too.
FLOOR_CLIENTS = {
    "ApiFunction": "dynamodb",
    "AnnounceOrderChangesFunction": "events,sqs",
    "ProcessOrderFunction": "dynamodb",
    "SendNotificationFunction": "dynamodb,sesv2",
}

Event = Callable[[], dict[str, Any]]
WITHOUT_BYTECODE = "ApiFunction without bytecode"


@dataclass(frozen=True)
class Layout:
    """Which Python runs the subjects, and where the code and packages of each kind are.

    A folder of `None` means what the development environment gives: the template's code
    folder, the interpreter's own site-packages."""

    name: str
    python: str
    function_code: Path | None = None
    function_packages: Path | None = None
    floor_code: Path = BASELINES
    floor_packages: Path | None = None
    seed_code: Path = BASELINES
    seed_packages: Path | None = None
    # The same artifacts with their bytecode removed, to show what the bytecode is worth.
    bytecode_free_code: Path | None = None
    bytecode_free_packages: Path | None = None

    def place(self, function: FunctionSpec, code: Path | None, packages: Path | None) -> FunctionSpec:
        if code is None:
            return function
        # Lambda runs the handler with /var/task as the working folder and /opt/python on the
        # path; the code there is read-only, so no bytecode is ever written.
        added = {"PYTHONPATH": str(packages), "PYTHONDONTWRITEBYTECODE": "1"} if packages else {}
        return replace(function, code_path=code, environment={**function.environment, **added})


@dataclass(frozen=True)
class Subject:
    name: str
    function: FunctionSpec
    event: Event
    kind: str = "function"  # or "floor", "seed", "without bytecode"


def _baseline(name: str, handler: str, environment: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(
        logical_id=name,
        name=f"bench-{name}",
        handler=handler,
        runtime="python3.13",
        timeout_seconds=30,
        memory_mb=256,
        environment=environment,
        reserved_concurrency=None,
        code_path=BASELINES,
    )


def _call(client: str, operation: str, **parameters: Any) -> dict[str, Any]:
    return {"client": client, "operation": operation, "parameters": parameters}


def floor_calls(stack: LocalStack) -> dict[str, Event]:
    """The AWS calls each function's first invocation makes (`check_floors` holds them to the
    function's own trace), with parameters of the same shape."""
    resources = stack.resources
    orders_table, idempotency_table = resources.tables["OrdersTable"], resources.tables["IdempotencyTable"]
    sender = stack.functions["SendNotificationFunction"].environment["SENDER_EMAIL"]
    bus = stack.functions["AnnounceOrderChangesFunction"].environment["EVENT_BUS_NAME"]

    def order_key() -> dict[str, Any]:
        return {"PK": {"S": f"order#{uuid.uuid4()}"}, "SK": {"S": "order"}}

    def api() -> dict[str, Any]:
        item = to_item(events.new_order())
        return {"calls": [_call("dynamodb", "PutItem", TableName=orders_table, Item=item)]}

    def announce() -> dict[str, Any]:
        entry = {"Source": "order-service", "DetailType": "OrderPlaced", "Detail": "{}", "EventBusName": bus}
        return {"calls": [_call("events", "PutEvents", Entries=[entry])]}

    def process() -> dict[str, Any]:
        key = order_key()
        update = {"UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"}}
        values = {":s": {"S": "completed"}}
        return {
            "calls": [
                _call("dynamodb", "GetItem", TableName=orders_table, Key=key, ConsistentRead=True),
                _call(
                    "dynamodb",
                    "UpdateItem",
                    TableName=orders_table,
                    Key=key,
                    ExpressionAttributeValues=values,
                    **update,
                ),
            ]
        }

    def notify() -> dict[str, Any]:
        key = {"id": {"S": str(uuid.uuid4())}}
        email = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [f"bench-{uuid.uuid4().hex[:8]}@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "Your order"}, "Body": {"Text": {"Data": "Completed."}}}},
        }
        return {
            "calls": [
                _call("dynamodb", "PutItem", TableName=idempotency_table, Item={**key, "status": {"S": "INPROGRESS"}}),
                # The order the e-mail is about: its address and text come from the store.
                _call("dynamodb", "GetItem", TableName=orders_table, Key=order_key(), ConsistentRead=True),
                _call("sesv2", "SendEmail", **email),
                _call(
                    "dynamodb",
                    "UpdateItem",
                    TableName=idempotency_table,
                    Key=key,
                    UpdateExpression="SET #s = :s",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
                ),
            ]
        }

    return {
        "ApiFunction": api,
        "AnnounceOrderChangesFunction": announce,
        "ProcessOrderFunction": process,
        "SendNotificationFunction": notify,
    }


def subjects(stack: LocalStack, layout: Layout) -> list[Subject]:
    """The four functions, their floors, and the seed pattern, each with its first event."""
    orders = DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])
    stream_arn = stack.resources.stream_arns["OrdersTable"]

    def pending_order_placed() -> dict[str, Any]:
        order = events.new_order()
        orders.add(order)
        return events.order_placed(order)

    def notification_of_a_stored_order() -> dict[str, Any]:
        return events.notification_batch(store=orders.add)

    functions = stack.functions
    shared = {
        key: value
        for key, value in functions["ApiFunction"].environment.items()
        if key.startswith(("POWERTOOLS", "LOG"))
    }
    first_events: dict[str, Event] = {
        "ApiFunction": events.place_order_request,
        "AnnounceOrderChangesFunction": lambda: events.stream_insert(events.new_order(), stream_arn),
        "ProcessOrderFunction": pending_order_placed,
        "SendNotificationFunction": notification_of_a_stored_order,
    }
    found = [
        Subject(name, layout.place(functions[name], layout.function_code, layout.function_packages), event)
        for name, event in first_events.items()
    ]
    found += [
        Subject(
            f"floor:{name}",
            layout.place(
                _baseline(f"floor-{name}", "floor.handler", {"FLOOR_CLIENTS": FLOOR_CLIENTS[name]}),
                layout.floor_code,
                layout.floor_packages,
            ),
            calls,
            kind="floor",
        )
        for name, calls in floor_calls(stack).items()
    ]
    seed_environment = {
        **shared,
        "TABLE_NAME": stack.resources.tables["OrdersTable"],
        "QUEUE_URL": stack.resources.queue_urls["NotificationQueue"],
    }
    if layout.bytecode_free_code is not None:
        api = functions["ApiFunction"]
        found.append(
            Subject(
                WITHOUT_BYTECODE,
                layout.place(api, layout.bytecode_free_code, layout.bytecode_free_packages),
                events.place_order_request,
                kind="without bytecode",
            )
        )
    seed = _baseline("seed", "seed_pattern.handler", seed_environment)
    found.append(
        Subject(
            "seed pattern", layout.place(seed, layout.seed_code, layout.seed_packages), pending_order_placed, "seed"
        )
    )
    return found


@dataclass
class ColdStart:
    samples_ms: list[float] = field(default_factory=list)
    peak_memory_mb: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


def _environment(stack: LocalStack) -> dict[str, str]:
    return {**function_base_environment(stack.endpoint_url), **xray_daemon_environment(stack.traces.address)}


def _first_invocation(stack: LocalStack, layout: Layout, subject: Subject, logs: LogBook) -> tuple[float, float, str]:
    """(milliseconds, peak MiB, request id) of a fresh worker's first invocation."""
    payload = json.dumps(subject.event()).encode()
    function = replace(subject.function, name=f"{subject.function.name}-{uuid.uuid4().hex[:6]}")
    request_id = str(uuid.uuid4())
    started = time.perf_counter()
    worker = Worker(function, _environment(stack), logs, python=layout.python)
    _result, error, _ = worker.invoke(payload, request_id)
    elapsed = (time.perf_counter() - started) * 1000
    memory = worker.max_memory_mb()
    worker.stop()
    if error is not None:
        raise RuntimeError(f"{subject.name} ({layout.name}) failed its first invocation: {error}")
    return elapsed, memory, request_id


def traced_operations(stack: LocalStack, request_id: str, patience: float = 5.0) -> list[str]:
    """The AWS operations the invocation `request_id` made, in order, from its X-Ray subsegments."""
    marker = request_id.replace("-", "")[:24]
    deadline = time.monotonic() + patience
    while True:
        documents = [d for d in stack.traces.documents() if d.trace_id.endswith(marker)]
        operations = [
            (d.start_time, str(d.document.get("aws", {}).get("operation")))
            for d in documents
            if d.document.get("namespace") == "aws"
        ]
        if any(d.type == "segment" or d.parent_id is None for d in documents) or time.monotonic() > deadline:
            return [operation for _, operation in sorted(operations)]
        time.sleep(0.05)


def check_floors(stack: LocalStack, layout: Layout) -> dict[str, list[str]]:
    """Each function's first invocation, traced: the floor must make the same AWS calls."""
    logs = LogBook()
    made = {}
    for subject in subjects(stack, layout):
        if subject.kind != "function":
            continue
        _, _, request_id = _first_invocation(stack, layout, subject, logs)
        made[subject.name] = traced_operations(stack, request_id)
        floor = [call["operation"] for call in floor_calls(stack)[subject.name]()["calls"]]
        if made[subject.name] != floor:
            raise RuntimeError(
                f"{subject.name}'s first invocation calls {made[subject.name]}, its floor {floor}: "
                "update benchmarks/cold_start.py floor_calls"
            )
    return made


def measure(stack: LocalStack, layout: Layout, samples: int) -> dict[str, ColdStart]:
    logs = LogBook()
    found = subjects(stack, layout)
    results = {subject.name: ColdStart() for subject in found}
    for _ in range(samples):
        for subject in found:
            elapsed, memory, _ = _first_invocation(stack, layout, subject, logs)
            results[subject.name].samples_ms.append(elapsed)
            results[subject.name].peak_memory_mb.append(memory)
    return results
