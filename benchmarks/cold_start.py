"""Cold start per function: from process start to the end of the first invocation's response.

Each sample is a fresh worker process (awslambdaric over the local Runtime API, in the
Lambda-like environment, with the variables Lambda sets, tracing and metrics on, the
template's settings) whose first invocation does its real I/O against the embedded emulator.
Functions and baselines are sampled in turn, so a noisy neighbour hits them alike.
"""

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orders_local.local_stack import LocalStack, function_base_environment
from orders_local.logs import LogBook
from orders_local.runtime.workers import Worker
from orders_local.template import FunctionSpec

from benchmarks import events
from order_service.adapters.dynamodb_orders import DynamoDbOrderRepository

BASELINES = Path(__file__).parent / "baselines"
# The clients each function creates: what its floor creates too.
FLOOR_CLIENTS = {
    "ApiFunction": "dynamodb",
    "AnnounceOrderChangesFunction": "events,sqs",
    "ProcessOrderFunction": "dynamodb",
    "SendNotificationFunction": "dynamodb,sesv2",
}


@dataclass(frozen=True)
class Subject:
    name: str
    function: FunctionSpec
    event: Callable[[], dict[str, Any]]


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


def subjects(stack: LocalStack) -> list[Subject]:
    """The four functions, their floors, and the seed pattern, each with its first event."""
    orders = DynamoDbOrderRepository(stack.client("dynamodb"), stack.resources.tables["OrdersTable"])
    stream_arn = stack.resources.stream_arns["OrdersTable"]

    def pending_order_placed() -> dict[str, Any]:
        order = events.new_order()
        orders.add(order)
        return events.order_placed(order)

    functions = stack.functions
    shared = {
        key: value
        for key, value in functions["ApiFunction"].environment.items()
        if key.startswith(("POWERTOOLS", "LOG"))
    }
    first_events: dict[str, Callable[[], dict[str, Any]]] = {
        "ApiFunction": events.place_order_request,
        "AnnounceOrderChangesFunction": lambda: events.stream_insert(events.new_order(), stream_arn),
        "ProcessOrderFunction": pending_order_placed,
        "SendNotificationFunction": events.notification_batch,
    }
    found = [Subject(name, functions[name], event) for name, event in first_events.items()]
    found += [
        Subject(f"floor:{name}", _baseline(f"floor-{name}", "floor.handler", {"FLOOR_CLIENTS": clients}), lambda: {})
        for name, clients in FLOOR_CLIENTS.items()
    ]
    seed_environment = {
        **shared,
        "TABLE_NAME": stack.resources.tables["OrdersTable"],
        "QUEUE_URL": stack.resources.queue_urls["NotificationQueue"],
    }
    found.append(
        Subject("seed pattern", _baseline("seed", "seed_pattern.handler", seed_environment), pending_order_placed)
    )
    return found


@dataclass
class ColdStart:
    samples_ms: list[float]
    peak_memory_mb: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


def measure(stack: LocalStack, python: str, samples: int) -> dict[str, ColdStart]:
    environment = function_base_environment(stack.endpoint_url)
    logs = LogBook()
    found = subjects(stack)
    results = {subject.name: ColdStart([], []) for subject in found}
    for _ in range(samples):
        for subject in found:
            payload = __import__("json").dumps(subject.event()).encode()
            function = replace(subject.function, name=f"{subject.function.name}-{uuid.uuid4().hex[:6]}")
            started = time.perf_counter()
            worker = Worker(function, environment, logs, python=python)
            _result, error, _ = worker.invoke(payload, str(uuid.uuid4()))
            elapsed = (time.perf_counter() - started) * 1000
            memory = worker.max_memory_mb()
            worker.stop()
            if error is not None:
                raise RuntimeError(f"{subject.name} failed its first invocation: {error}")
            results[subject.name].samples_ms.append(elapsed)
            results[subject.name].peak_memory_mb.append(memory)
    return results
