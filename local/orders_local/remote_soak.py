"""`orders soak --api-url URL --stack-name NAME`: the soak's workload against a deployed stack,
and the accounting of what can be observed there.

No fault is injected: this measures the stack as deployed and checks that it loses nothing.
The workload is the local soak's (valid orders, idempotent retries, invalid bodies, cancels
racing the pipeline), under names of its own run: new Idempotency-Keys and customers, and
recipients at SES's mailbox simulator (success+<run>-<n>@simulator.amazonses.com), which
accepts every e-mail, even in the SES sandbox, and delivers none to a person.

What the local soak reads from the emulator is read here from what the stack exposes:

- each accepted order's final state, through the API (GET /orders/{id}), against the one the
  workload and the stack's MaxOrderTotals parameter imply;
- each final order's notification, from send_notification's idempotency record (the
  IdempotencyTableName output): exactly one record for the order, for its final status,
  COMPLETED with the message id SES gave. Locally the emulator lists every e-mail SES took;
  on AWS a second e-mail for one notification cannot be seen, only the guard that prevents it;
- the notification queue drained (its approximate counts at 0);
- the dead-letter and failure queues (notifications, process_order, the OrderPlaced rule, the
  announcer, the set-aside changes): none may name an order of this run, nor grow during it;
- every answer: no 5xx, every invalid body a 400, every retry the first order.

End-to-end latency is measured from the moment the 201 of an order's POST comes back to the
moment a GET of the order first answers a final status. Each accepted order is read 0.25 s
after its 201, then every 0.5 s (fewer if the reads would exceed `poll_rate` a second), so
each figure is late by up to the gap since the order's previous read: the report gives that
gap, and the time the service itself stored between the order and its decision (the order's
`updated_at - created_at`), which no polling blurs.
"""

import hashlib
import heapq
import http.client
import json
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.table import Table
from samlocal.dead_letters import peek, queue_depth

from order_service.services.rules import OrderRules
from orders_local.outcomes import stack_rules
from orders_local.remote import DeployedStack
from orders_local.workload import (
    ApiClient,
    Naming,
    WorkloadPlan,
    WorkloadResult,
    plan_workload,
    run_workload,
)

FINAL_STATUSES = ("completed", "rejected", "cancelled")
# SES's mailbox simulator: every e-mail accepted, none delivered to anyone, in the sandbox too.
SIMULATOR_RECIPIENT = "success+{label}@simulator.amazonses.com"
# Powertools' idempotency key of send_notification's `deliver`: the function's name, the
# decorated function's module and name, then the MD5 of the JSON of the key it is given
# (`notification_id`, "<order id>:<final status>"). The local stack's run of this soak holds it
# to the handler as deployed: a wrong key finds no record, and the accounting fails.
DELIVER_FUNCTION = "order_service.handlers.send_notification.deliver"
FAILURE_QUEUES = {
    "NotificationDeadLetterQueueUrl": "notification dead-letter queue",
    "ProcessOrderFailureQueueUrl": "process_order failure queue",
    "OrderPlacedRuleDeadLetterQueueUrl": "OrderPlaced rule dead-letter queue",
    "AnnouncerFailureQueueUrl": "announcer failure queue",
    "UnannouncedChangesQueueUrl": "set-aside changes queue",
}
# How many messages of each failure queue are read for this run's order ids.
PEEK_LIMIT = 1000
FIRST_READ_SECONDS = 0.25
READ_EVERY_SECONDS = 0.5


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(share * 100) - 1]


@dataclass
class Observation:
    status: str
    # When the read that saw the final status came back, and the read before it (or the 201).
    seen_at: float
    previous_read_at: float
    # The service's own clock: the order's updated_at - created_at, in ms (None if unreadable).
    stored_ms: float | None


class FinalStatePoller:
    """Reads each accepted order through the API until it is in a final state, from `threads`
    threads of their own, at most `rate` reads a second in all."""

    def __init__(self, new_client: Callable[[], ApiClient], *, threads: int, rate: float) -> None:
        self._new_client = new_client
        self._spacing = 1.0 / rate
        self._next_read = 0.0
        self._changed = threading.Condition()
        # (when to read, order id); an order is in it until a read shows it final.
        self._due: list[tuple[float, str]] = []
        # When each watched order was last read (or accepted).
        self._previous: dict[str, float] = {}
        self.observed: dict[str, Observation] = {}
        self.answers: Counter[int] = Counter()
        self.unreachable = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"final-state-{n}", daemon=True) for n in range(threads)
        ]

    def start(self) -> "FinalStatePoller":
        for thread in self._threads:
            thread.start()
        return self

    def watch(self, order_id: str, accepted_at: float) -> None:
        with self._changed:
            self._previous[order_id] = accepted_at
            heapq.heappush(self._due, (accepted_at + FIRST_READ_SECONDS, order_id))
            self._changed.notify_all()

    def _next(self) -> str | None:
        """The next order to read, once it is due and the rate allows; None when stopping."""
        with self._changed:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._due:
                    ready_at = max(self._due[0][0], self._next_read)
                    if ready_at <= now:
                        self._next_read = max(now, self._next_read) + self._spacing
                        return heapq.heappop(self._due)[1]
                    self._changed.wait(ready_at - now)
                else:
                    self._changed.wait()

    def _run(self) -> None:
        client = self._new_client()
        try:
            while (order_id := self._next()) is not None:
                self._read(client, order_id)
        finally:
            client.close()

    def _read(self, client: ApiClient, order_id: str) -> None:
        try:
            answer = client.request("GET", f"/orders/{order_id}")
        except (OSError, http.client.HTTPException):
            # Counted, and read again on a new connection.
            client.close()
            answer = None
        at = time.monotonic()
        body = answer.body if answer is not None and answer.status == 200 and isinstance(answer.body, dict) else {}
        status = str(body.get("status", ""))
        with self._changed:
            if answer is None:
                self.unreachable += 1
            else:
                self.answers[answer.status] += 1
            if status in FINAL_STATUSES:
                self.observed[order_id] = Observation(status, at, self._previous[order_id], _stored_ms(body))
                self._changed.notify_all()
            else:
                self._previous[order_id] = at
                heapq.heappush(self._due, (at + READ_EVERY_SECONDS, order_id))

    def wait(self, order_ids: Iterable[str], deadline: float) -> list[str]:
        """Wait until every order was seen final or the deadline passed; those not seen final."""
        wanted = set(order_ids)
        with self._changed:
            while (left := wanted - set(self.observed)) and time.monotonic() < deadline:
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return sorted(left)

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=35)


def _stored_ms(body: dict[str, Any]) -> float | None:
    try:
        created = datetime.fromisoformat(str(body["created_at"]))
        updated = datetime.fromisoformat(str(body["updated_at"]))
    except (KeyError, ValueError):
        return None
    return (updated - created).total_seconds() * 1000


@dataclass
class QueueCheck:
    description: str
    depth_before: int
    depth_after: int = 0
    looked_at: int = 0
    # Ids of the messages that name an order of this run.
    of_this_run: list[str] = field(default_factory=list)


@dataclass
class RemoteSoakReport:
    run: str
    plan: WorkloadPlan
    result: WorkloadResult
    observed: dict[str, Observation] = field(default_factory=dict)
    final_statuses: Counter[str] = field(default_factory=Counter)
    # Orders decided as the stack's MaxOrderTotals says (False: the parameter could not be read,
    # and the orders were planned for the template's default).
    rules_from_stack: bool = True
    notifications_delivered: int = 0
    notification_queue_left: int = 0
    queues: dict[str, QueueCheck] = field(default_factory=dict)
    read_answers: Counter[int] = field(default_factory=Counter)
    # Reads of an order that got no answer, and were made again: counted, not failed.
    unanswered_reads: int = 0
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def decided(self) -> dict[str, Observation]:
        """The orders the pipeline decided (completed or rejected), not those the client cancelled."""
        return {
            order_id: seen
            for order_id, seen in self.observed.items()
            if order_id not in self.result.cancelled and seen.status != "cancelled"
        }

    def end_to_end_ms(self, share: float) -> float:
        """From the 201 back to the first read that saw the decision, over the decided orders."""
        accepted = self.result.accepted_at
        return percentile(
            ((seen.seen_at - accepted[order_id]) * 1000 for order_id, seen in self.decided.items()), share
        )

    def read_gap_ms(self, share: float) -> float:
        """How late an end-to-end figure can be: the time between the two last reads of the order."""
        return percentile(((seen.seen_at - seen.previous_read_at) * 1000 for seen in self.decided.values()), share)

    def stored_ms(self, share: float) -> float:
        """updated_at - created_at of the decided orders: the service's own clock, no polling."""
        return percentile((seen.stored_ms for seen in self.decided.values() if seen.stored_ms is not None), share)

    @property
    def accepted_per_second(self) -> float:
        elapsed = self.result.finished_at - self.result.started_at
        return len(self.result.accepted) / elapsed if elapsed > 0 else 0.0

    @property
    def settled_per_second(self) -> float:
        """Orders seen final over the time from the first request to the last of them seen final."""
        last = max((seen.seen_at for seen in self.observed.values()), default=0.0)
        elapsed = last - self.result.started_at
        return len(self.observed) / elapsed if elapsed > 0 else 0.0


def new_run_id() -> str:
    """Short, sortable and unique enough: this run's customers, keys and recipients carry it."""
    return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def plan_for(run: str, orders: int, *, seed: int = 7, rules: OrderRules | None = None) -> WorkloadPlan:
    """`rules`: the stack's, when its MaxOrderTotals parameter could be read."""
    naming = Naming(
        run=run,
        customer_prefix=f"soak-{run}-",
        email=lambda index, _failing: SIMULATOR_RECIPIENT.format(label=f"{run}-{index}"),
    )
    # No recipient is refused: on AWS no address makes SES refuse a send at once, so the
    # dead-letter path has nothing deterministic to be driven by.
    return plan_workload(orders, seed=seed, failing_share=0.0, invalid_share=0.05, naming=naming, rules=rules)


def run_remote_soak(
    stack: DeployedStack,
    *,
    orders: int,
    clients: int = 8,
    timeout: float = 600.0,
    poll_rate: float = 50.0,
    run: str | None = None,
    progress: Callable[[int], None] = lambda _: None,
) -> RemoteSoakReport:
    """`timeout`: how long after the workload's last answer every order must be final, its
    notification delivered and the notification queue drained."""
    started = time.monotonic()
    run = run or new_run_id()
    rules = stack_rules(stack.parameters)
    plan = plan_for(run, orders, rules=rules)
    sqs = stack.client("sqs")
    queues = {
        output: QueueCheck(description, queue_depth(sqs, stack.outputs[output]))
        for output, description in FAILURE_QUEUES.items()
    }
    poller = FinalStatePoller(stack.api_client, threads=max(2, clients // 2), rate=poll_rate).start()
    try:
        result = run_workload(stack.api_client, plan, clients=clients, progress=progress, on_accepted=poller.watch)
        deadline = result.finished_at + timeout
        not_final = poller.wait(result.accepted, deadline)
    finally:
        poller.stop()
    report = RemoteSoakReport(
        run, plan, result, observed=dict(poller.observed), queues=queues, rules_from_stack=rules is not None
    )
    report.read_answers = poller.answers
    report.problems.extend(result.problems)
    report.unanswered_reads = poller.unreachable
    _account_answers(report)
    _account_final_states(report, not_final)
    _account_notifications(report, stack, deadline)
    _account_queues(report, stack, sqs, deadline)
    report.duration_seconds = time.monotonic() - started
    return report


def _account_answers(report: RemoteSoakReport) -> None:
    result, plan = report.result, report.plan
    server_errors = sum(count for status, count in result.statuses.items() if status >= 500)
    read_errors = sum(count for status, count in report.read_answers.items() if status >= 500)
    report.checked.append("no answer was a 5xx (the workload's final answers and every read of an order)")
    if server_errors or read_errors:
        report.problems.append(f"{server_errors} workload answers and {read_errors} reads were 5xx")
    report.checked.append("every invalid body was refused with 400 naming its fields")
    if result.invalid_refused != len(plan.invalid_bodies):
        report.problems.append(
            f"{result.invalid_refused} of {len(plan.invalid_bodies)} invalid bodies refused with 400"
        )
    retried = sum(order.retries for order in plan.orders if order.key in _accepted_keys(result))
    report.checked.append("every retry with the same Idempotency-Key answered the first order")
    if result.replays_matched != retried:
        report.problems.append(f"{result.replays_matched} of {retried} retries returned the first order")


def _accepted_keys(result: WorkloadResult) -> set[str]:
    return {planned.key for planned in result.accepted.values()}


def _account_final_states(report: RemoteSoakReport, not_final: list[str]) -> None:
    result = report.result
    report.checked.append(
        "every accepted order reached a final state, read through the API: cancelled if its cancel "
        "answered 200, else completed or rejected as "
        + (
            "the stack's MaxOrderTotals parameter decides"
            if report.rules_from_stack
            else "the template's default MaxOrderTotals decides (the stack's could not be read)"
        )
    )
    for order_id in not_final:
        report.final_statuses["not final"] += 1
        report.problems.append(f"order {order_id} was not final {_seconds(report)} after the last request")
    for order_id, seen in report.observed.items():
        report.final_statuses[seen.status] += 1
        wanted = result.accepted[order_id].final_status(cancelled=order_id in result.cancelled)
        if seen.status != wanted:
            report.problems.append(f"order {order_id} is {seen.status}, expected {wanted}")


def _seconds(report: RemoteSoakReport) -> str:
    return f"{time.monotonic() - report.result.finished_at:.0f} s"


def delivery_key(function_name: str, notification_id: str) -> str:
    digest = hashlib.md5(json.dumps(notification_id).encode(), usedforsecurity=False).hexdigest()
    return f"{function_name}.{DELIVER_FUNCTION}#{digest}"


def _delivery_records(dynamodb: Any, table: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The idempotency records among `keys` (consistent reads), by key."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [{"id": {"S": key}} for key in keys[start : start + 100]],
                "ConsistentRead": True,
                "ProjectionExpression": "#id, #status, #data",
                "ExpressionAttributeNames": {"#id": "id", "#status": "status", "#data": "data"},
            }
        }
        for attempt in range(10):
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[item["id"]["S"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.1 * 2**attempt)
    return found


def _account_notifications(report: RemoteSoakReport, stack: DeployedStack, deadline: float) -> None:
    """One delivery record per final order, for its final status, COMPLETED with SES's message id;
    none for another status. Waits (until `deadline`) for the pipeline to send what is left."""
    report.checked.append(
        "every final order's notification was delivered once: exactly one send_notification idempotency "
        "record for the order, for its final status, COMPLETED with the message id SES returned "
        "(SES's own list of e-mails is not observable; the record is what makes a redelivery send none)"
    )
    dynamodb = stack.client("dynamodb")
    table, function = stack.outputs["IdempotencyTableName"], stack.outputs["SendNotificationFunctionName"]
    wanted = {
        delivery_key(function, f"{order_id}:{seen.status}"): order_id for order_id, seen in report.observed.items()
    }
    delivered: dict[str, dict[str, Any]] = {}
    while True:
        missing = [key for key in wanted if key not in delivered]
        for key, item in _delivery_records(dynamodb, table, missing).items():
            if item.get("status", {}).get("S") == "COMPLETED":
                delivered[key] = item
        if len(delivered) == len(wanted) or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    report.notifications_delivered = len(delivered)
    for key, order_id in wanted.items():
        if key not in delivered:
            report.problems.append(f"order {order_id}: no completed delivery of its notification")
        elif "ses_message_id" not in delivered[key].get("data", {}).get("S", ""):
            report.problems.append(f"order {order_id}: its delivery record holds no SES message id")
    others = {
        delivery_key(function, f"{order_id}:{status}"): order_id
        for order_id, seen in report.observed.items()
        for status in FINAL_STATUSES
        if status != seen.status
    }
    for key in _delivery_records(dynamodb, table, list(others)):
        report.problems.append(f"order {others[key]}: a notification for a status it did not end in was sent")


def _account_queues(report: RemoteSoakReport, stack: DeployedStack, sqs: Any, deadline: float) -> None:
    report.checked.append("the notification queue drained: its approximate counts (visible, in flight, delayed) at 0")
    url = stack.outputs["NotificationQueueUrl"]
    while (left := queue_depth(sqs, url)) and time.monotonic() < deadline:
        time.sleep(2.0)
    report.notification_queue_left = left
    if left:
        report.problems.append(f"the notification queue still holds {left} message(s)")
    report.checked.append(
        "no dead-letter or failure queue names an order of this run (the first "
        f"{PEEK_LIMIT:,} messages of each, read and made visible again), nor grew during the run"
    )
    orders = set(report.result.accepted)
    for output, check in report.queues.items():
        letters = peek(sqs, stack.outputs[output], limit=PEEK_LIMIT)
        check.looked_at = len(letters)
        check.of_this_run = [letter.message_id for letter in letters if any(o in letter.body for o in orders)]
        check.depth_after = queue_depth(sqs, stack.outputs[output])
        if check.of_this_run:
            report.problems.append(
                f"the {check.description} holds {len(check.of_this_run)} message(s) about this run's orders, "
                f"e.g. {check.of_this_run[0]} (its reasons: the log lines of the function that failed it)"
            )
        elif check.depth_after > check.depth_before:
            report.problems.append(
                f"the {check.description} grew from {check.depth_before} to {check.depth_after} during the run"
            )


def report_tables(report: RemoteSoakReport) -> list[Table]:
    """The summary, the latencies and what was checked, as the terminal shows them."""
    result = report.result
    summary = Table(title=f"Soak of a deployed stack (run {report.run})", header_style="bold")
    summary.add_column("What")
    summary.add_column("Count", justify="right")
    summary.add_row("Orders accepted (201)", str(len(result.accepted)))
    for status in (*FINAL_STATUSES, "not final"):
        summary.add_row(f"  {status}", str(report.final_statuses.get(status, 0)))
    summary.add_row("Idempotent retries answered with the first order", str(result.replays_matched))
    summary.add_row("Invalid payloads refused with 400", str(result.invalid_refused))
    summary.add_row("Notifications delivered (idempotency record, SES message id)", str(report.notifications_delivered))
    summary.add_row("Left in the notification queue", str(report.notification_queue_left))
    for check in report.queues.values():
        summary.add_row(
            f"{check.description[0].upper()}{check.description[1:]}: of this run / before -> after",
            f"{len(check.of_this_run)} / {check.depth_before} -> {check.depth_after}",
        )
    summary.add_row("5xx answers", str(sum(c for s, c in result.statuses.items() if s >= 500)))
    summary.add_row(
        "Requests retried after a 429 / a 503 / no answer",
        f"{_total(result.retried_after_429)} / {_total(result.retried_after_503)} / "
        f"{_total(result.retried_after_no_answer)}",
    )
    summary.add_row("Reads of an order that got no answer (read again)", str(report.unanswered_reads))
    summary.add_row("Duration (s)", f"{report.duration_seconds:.1f}")
    timing = Table(title="Throughput and latency", header_style="bold")
    timing.add_column("Measure")
    timing.add_column("Value", justify="right")
    timing.add_row("Orders accepted per second (first request to last answer)", f"{report.accepted_per_second:.1f}")
    timing.add_row(
        "Orders final per second (first request to last order seen final)", f"{report.settled_per_second:.1f}"
    )
    timing.add_row("API latency p50 / p95 / p99 (ms)", _triple(result.percentile))
    timing.add_row("End to end p50 / p95 / p99 (ms): 201 back -> decision read", _triple(report.end_to_end_ms))
    timing.add_row("  of which reading late by at most, p50 / p95 / p99 (ms)", _triple(report.read_gap_ms))
    timing.add_row("Stored p50 / p95 / p99 (ms): the order's updated_at - created_at", _triple(report.stored_ms))
    checked = Table(title="Checked", header_style="bold", show_header=False)
    checked.add_column("What")
    for line in report.checked:
        checked.add_row(line)
    checked.add_row(
        "Not checked here (the local soak does): injected faults, e-mails counted at SES, addresses in logs and traces"
    )
    return [summary, timing, checked]


def _total(counter: Counter[str]) -> int:
    return sum(counter.values())


def _triple(measure: Callable[[float], float]) -> str:
    return " / ".join(f"{measure(share):.0f}" for share in (0.50, 0.95, 0.99))


def as_json(report: RemoteSoakReport) -> dict[str, Any]:
    """The report for a pipeline to keep or check: counts, rates, latencies, checks, problems."""
    result = report.result
    shares = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
    return {
        "run": report.run,
        "ok": report.ok,
        "orders_accepted": len(result.accepted),
        "final_statuses": dict(report.final_statuses),
        "replays_matched": result.replays_matched,
        "invalid_refused": result.invalid_refused,
        "notifications_delivered": report.notifications_delivered,
        "notification_queue_left": report.notification_queue_left,
        "queues": {
            output: {
                "of_this_run": len(check.of_this_run),
                "depth_before": check.depth_before,
                "depth_after": check.depth_after,
                "looked_at": check.looked_at,
            }
            for output, check in report.queues.items()
        },
        "server_errors": sum(c for s, c in result.statuses.items() if s >= 500),
        "retried_after_429": _total(result.retried_after_429),
        "retried_after_503": _total(result.retried_after_503),
        "retried_after_no_answer": _total(result.retried_after_no_answer),
        "unanswered_reads": report.unanswered_reads,
        "accepted_per_second": round(report.accepted_per_second, 2),
        "final_per_second": round(report.settled_per_second, 2),
        "api_latency_ms": {name: round(result.percentile(share), 1) for name, share in shares.items()},
        "end_to_end_ms": {name: round(report.end_to_end_ms(share), 1) for name, share in shares.items()},
        "read_gap_ms": {name: round(report.read_gap_ms(share), 1) for name, share in shares.items()},
        "stored_ms": {name: round(report.stored_ms(share), 1) for name, share in shares.items()},
        "duration_seconds": round(report.duration_seconds, 1),
        "checked": report.checked,
        "problems": report.problems,
    }
