"""`orders soak`: the pipeline under load, faults and hostile input, with an exact accounting.

While the workload runs, the emulator throttles or fails a share of every DynamoDB, SQS,
EventBridge and SES call; one send_notification worker is killed in the middle of a batch
(while SES hangs on its e-mail); one send_notification invocation overruns its timeout (SES
hangs on another e-mail, every attempt); and EventBridge refuses every event for a stretch. Then:
every accepted order must be in exactly one final state, every final state must have sent
exactly one e-mail (except to the recipients SES refuses, whose notifications must wait in
the dead-letter queue with the reason), no answer may be a 5xx, no log line may carry an
address, and once the refusal is lifted a redrive must deliver each of those e-mails once.
"""

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orders_local.dead_letters import failure_reasons, redrive
from orders_local.demo import DemoReport, account
from orders_local.emulator import Stall
from orders_local.local_stack import LocalStack
from orders_local.runtime.workers import WorkerRunner
from orders_local.sources.rules import RuleInvoker
from orders_local.sources.schedules import Scheduler
from orders_local.sources.sqs import SqsPoller
from orders_local.sources.streams import StreamPoller
from orders_local.workload import FAILING_RECIPIENT_DOMAIN, plan_workload, run_workload

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FAULT_SERVICES = frozenset({"dynamodb", "sqs", "events", "ses"})


@dataclass
class SoakReport:
    demo: DemoReport
    killed_worker: int | None
    faults: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    redriven: int = 0
    problems: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.demo.ok and not self.problems


def run_soak(
    stack: LocalStack,
    *,
    orders: int,
    clients: int = 8,
    fault_rate: float = 0.10,
    outage_seconds: float = 8.0,
    drain_timeout: float = 600.0,
    progress: Callable[[int], None] = lambda _: None,
) -> SoakReport:
    started = time.monotonic()
    middleware = stack.emulator.middleware
    plan = plan_workload(orders, failing_share=0.02, invalid_share=0.05)
    killed_recipient, overrun_recipient = [
        order.body["customer_email"]
        for order in plan.orders
        if not (order.failing_recipient or order.cancel or order.retries)
    ][:2]
    killed: list[int] = []
    outages: Counter[str] = Counter()

    def kill_the_sender(_: dict[str, Any]) -> None:
        # SES now hangs on this recipient's e-mail: kill the worker that waits for it.
        runner = stack.runner
        for _attempt in range(50):
            if isinstance(runner, WorkerRunner):
                pid = runner.kill_worker_handling("SendNotificationFunction", killed_recipient)
                if pid is not None:
                    killed.append(pid)
                    return
            time.sleep(0.05)

    timeout = stack.functions["SendNotificationFunction"].timeout_seconds

    def to(recipient: str) -> Callable[[dict[str, Any]], bool]:
        return lambda body: recipient in body.get("Destination", {}).get("ToAddresses", [])

    middleware.stalls = [
        # SES hangs on one e-mail and its sender is killed mid-batch.
        Stall("ses:SendEmail", to(killed_recipient), 5.0, kill_the_sender),
        # SES hangs on another, every attempt, until the sender overruns its timeout.
        Stall("ses:SendEmail", to(overrun_recipient), timeout + 2.0),
    ]
    middleware.rejected_domains.add(FAILING_RECIPIENT_DOMAIN)
    middleware.faults.rate = fault_rate
    middleware.faults.services = FAULT_SERVICES

    sent = 0
    outage_at = int(plan.requests * 0.4)

    def counted(advance: int) -> None:
        nonlocal sent
        sent += advance
        progress(advance)
        if sent >= outage_at and not outages["events:outage"]:
            outages["events:outage"] += 1
            middleware.outages.add("events:PutEvents")
            threading.Timer(outage_seconds, middleware.outages.discard, args=("events:PutEvents",)).start()

    result = run_workload(stack.api_client, plan, clients=clients, progress=counted)
    drained = stack.wait_until_idle(timeout=drain_timeout, settle=3.0)
    # The kill happens when the stalled e-mail comes up, often after the last request.
    report = SoakReport(
        DemoReport(plan, result, drained=drained), killed_worker=killed[0] if killed else None, faults=outages
    )
    middleware.faults.rate = 0.0
    report.demo.problems.extend(result.problems)
    account(stack, report.demo)

    hung, other = _timeouts_holding(stack, overrun_recipient)
    _check_faults(stack, report, hung_timeouts=hung)
    _check_dead_letters(stack, report)
    _redrive_once_fixed(stack, report)
    _scan_logs(stack, report)
    report.faults.update(middleware.faults.injected)
    report.faults["ses:hang-and-kill"] = int(report.killed_worker is not None)
    report.faults["ses:hang-past-timeout"] = hung
    report.retries.update(_source_retries(stack))
    report.retries["sdk (throttles and 5xx absorbed)"] = sum(middleware.faults.injected.values())
    # Any other timeout is counted, not failed: SQS delivers its batch again, and the
    # accounting has checked that nothing was lost or sent twice.
    report.retries["other timed-out batches, delivered again"] = other
    report.duration_seconds = report.demo.duration_seconds = time.monotonic() - started
    return report


def _check_faults(stack: LocalStack, report: SoakReport, *, hung_timeouts: int) -> None:
    if report.killed_worker is None:
        report.problems.append("no send_notification worker was killed mid-batch")
    if not hung_timeouts:
        report.problems.append("the invocation holding the hung e-mail did not overrun its timeout")
    if not stack.emulator.middleware.faults.injected:
        report.problems.append("no throttle or 5xx was injected")


def _timeouts_holding(stack: LocalStack, recipient: str) -> tuple[int, int]:
    """send_notification's timed-out invocations: (those holding `recipient`'s e-mail, the others).

    SQS delivers at least once, so the hung e-mail can be with two receivers and both overrun.
    """
    events = stack.runner.stats()["SendNotificationFunction"].timed_out_events
    holding = sum(recipient in json.dumps(event) for event in events)
    return holding, len(events) - holding


def _check_dead_letters(stack: LocalStack, report: SoakReport) -> None:
    """Each dead letter is a refused recipient's notification, with the refusal as its reason."""
    sqs = stack.client("sqs")
    url = stack.resources.queue_urls["NotificationDeadLetterQueue"]
    reasons = failure_reasons([line.text for line in stack.logs.lines])
    handles = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        for message in messages:
            handles.append(message["ReceiptHandle"])
            reason = reasons.get(message["MessageId"], "")
            if FAILING_RECIPIENT_DOMAIN not in message["Body"] or "MessageRejected" not in reason:
                report.problems.append(f"dead letter {message['MessageId']} has no refusal as its reason: {reason!r}")
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)


def _redrive_once_fixed(stack: LocalStack, report: SoakReport) -> None:
    middleware = stack.emulator.middleware
    middleware.rejected_domains.clear()
    before = Counter(email.recipient for email in middleware.sent_emails)
    report.redriven = redrive(
        stack.client("sqs"),
        stack.resources.queue_urls["NotificationDeadLetterQueue"],
        stack.resources.queue_urls["NotificationQueue"],
    )
    if not stack.wait_until_idle(timeout=120, settle=2.0):
        report.problems.append("the redriven notifications did not drain")
    after = Counter(email.recipient for email in middleware.sent_emails)
    refused = {
        planned.body["customer_email"] for planned in report.demo.result.accepted.values() if planned.failing_recipient
    }
    for recipient in refused:
        if after[recipient] - before[recipient] != 1:
            report.problems.append(
                f"a refused recipient got {after[recipient] - before[recipient]} e-mails after the redrive"
            )
    if report.redriven != len(refused) + report.demo.duplicate_dead_letters:
        report.problems.append(f"{report.redriven} notifications redriven, expected {len(refused)}")


def _scan_logs(stack: LocalStack, report: SoakReport) -> None:
    leaked = [line for line in stack.logs.lines if _ADDRESS.search(line.text)]
    if leaked:
        report.problems.append(f"{len(leaked)} log lines carry an e-mail address, e.g. from {leaked[0].function}")


def _source_retries(stack: LocalStack) -> Counter[str]:
    retries: Counter[str] = Counter()
    for source in stack.sources:
        if isinstance(source, SqsPoller):
            retries["sqs redeliveries"] += source.redeliveries
        elif isinstance(source, StreamPoller):
            retries["stream batch retries"] += source.retries
        elif isinstance(source, RuleInvoker | Scheduler):
            retries["async invoke retries"] += source.retries
    return retries
