"""`orders demo`: start the stack, drive the workload, drain, and check the accounting."""

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from samlocal.dead_letters import peek
from samlocal.local_stack import LocalStack

from orders_local.failing_recipients import refuse_failing_recipients
from orders_local.outcomes import stack_rules
from orders_local.workload import WorkloadPlan, WorkloadResult, plan_workload, run_workload

_ORDER_ID = re.compile(r"order ([0-9a-f-]{36})")


@dataclass
class DemoReport:
    plan: WorkloadPlan
    result: WorkloadResult
    final_statuses: Counter[str] = field(default_factory=Counter)
    emails_sent: int = 0
    dead_letters: int = 0
    # Messages in the dead-letter queue beyond one per notification: an announcement delivered
    # twice (at least once is the queue's and the outbox's promise; one e-mail is ours).
    duplicate_dead_letters: int = 0
    duration_seconds: float = 0.0
    drained: bool = False
    # What was still in flight when the pipeline stopped making progress.
    stuck: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.drained and not self.problems


def expected_status(order_id: str, report: DemoReport) -> str:
    return report.result.accepted[order_id].final_status(cancelled=order_id in report.result.cancelled)


def run_demo(
    stack: LocalStack,
    *,
    orders: int,
    clients: int,
    drain_patience: float,
    progress: Callable[[int], None] = lambda _: None,
) -> DemoReport:
    """`drain_patience`: give up draining once nothing has progressed for this many seconds."""
    started = time.monotonic()
    plan = plan_workload(orders, rules=stack_rules(stack.stack.parameters))
    refuse_failing_recipients(stack, plan)
    result = run_workload(stack.api_client, plan, clients=clients, progress=progress)
    report = DemoReport(plan, result)
    report.stuck = stack.drain(patience=drain_patience, settle=2.0)
    report.drained = not report.stuck
    report.problems.extend(result.problems)
    account(stack, report)
    report.duration_seconds = time.monotonic() - started
    return report


def _order_of(body: str) -> str:
    try:
        return str(json.loads(body).get("order_id", "?"))
    except (ValueError, AttributeError):
        return "?"


def account(stack: LocalStack, report: DemoReport) -> None:
    """Check every outcome the workload must have produced; add what does not hold to problems."""
    problems = report.problems
    local = threading.local()

    def final_status(order_id: str) -> str:
        if not hasattr(local, "client"):
            local.client = stack.api_client()
        answer = local.client.request("GET", f"/orders/{order_id}")
        return str(answer.body.get("status")) if answer.status == 200 else f"HTTP {answer.status}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = dict(zip(report.result.accepted, pool.map(final_status, report.result.accepted), strict=True))
    for order_id, status in statuses.items():
        report.final_statuses[status] += 1
        if status != expected_status(order_id, report):
            problems.append(f"order {order_id} is {status}, expected {expected_status(order_id, report)}")

    emails_by_order = Counter(
        match.group(1) for email in stack.emulator.middleware.sent_emails if (match := _ORDER_ID.search(email.subject))
    )
    report.emails_sent = sum(emails_by_order.values())
    failing = {order_id for order_id, planned in report.result.accepted.items() if planned.failing_recipient}
    for order_id in report.result.accepted:
        wanted = 0 if order_id in failing else 1
        if emails_by_order[order_id] != wanted:
            problems.append(f"order {order_id}: {emails_by_order[order_id]} e-mails, expected {wanted}")

    letters = peek(stack.client("sqs"), stack.resources.queue_urls["NotificationDeadLetterQueue"], limit=100_000)
    dead_orders = Counter(_order_of(letter.body) for letter in letters)
    report.dead_letters = len(dead_orders)
    report.duplicate_dead_letters = len(letters) - len(dead_orders)
    if set(dead_orders) != failing:
        problems.append(
            f"notifications of {report.dead_letters} orders in the dead-letter queue, expected {len(failing)}"
        )
    server_errors = sum(count for status, count in report.result.statuses.items() if status >= 500)
    if server_errors:
        problems.append(f"{server_errors} answers were 5xx")
    if report.result.invalid_refused != len(report.plan.invalid_bodies):
        problems.append(
            f"{report.result.invalid_refused} of {len(report.plan.invalid_bodies)} invalid bodies refused with 400"
        )
    retried = sum(order.retries for order in report.plan.orders)
    if report.result.replays_matched != retried:
        problems.append(f"{report.result.replays_matched} of {retried} retries returned the first order")
