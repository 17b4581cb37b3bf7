"""`orders soak`: the pipeline under load, faults and hostile input, with an exact accounting.

While the workload runs, the emulator throttles or fails a share of every DynamoDB, SQS,
EventBridge and SES call; one send_notification worker is killed in the middle of a batch
(while SES hangs on its e-mail); one send_notification invocation overruns its timeout (its
worker freezes while SES hangs on another e-mail); EventBridge refuses every event for a
stretch; and late in the run DynamoDB hangs for a few seconds, then SQS, EventBridge and SES
(each from its next call), and on the PostgreSQL store PostgreSQL stalls for longer than an API
call may take: calls are accepted and never answered. The workload's clients retry a 503 after its
Retry-After, as a good client does. Then:
every accepted order must be in exactly one final state, every final state must have sent
exactly one e-mail (except to the recipients SES refuses, whose notifications must wait in
the dead-letter queue with the reason), no final answer may be a 5xx (a 503 its retry
absorbed is counted, not failed), no function may time out waiting on a hung dependency, no
log line may carry an address, and once the refusal is lifted a redrive must deliver each of
those e-mails once.
"""

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from samlocal.dead_letters import await_dead_letters, failure_history, redrive
from samlocal.emulator import Stall
from samlocal.local_stack import LocalStack
from samlocal.runtime.workers import WorkerRunner
from samlocal.sources.rules import RuleInvoker
from samlocal.sources.schedules import Scheduler
from samlocal.sources.sqs import SqsPoller
from samlocal.sources.streams import StreamPoller

from orders_local.demo import DemoReport, account, expected_status
from orders_local.failing_recipients import accept_failing_recipients, refuse_failing_recipients
from orders_local.outcomes import stack_rules
from orders_local.stack import OrderStack
from orders_local.workload import FAILING_RECIPIENT_DOMAIN, plan_workload, run_workload

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FAULT_SERVICES = frozenset({"dynamodb", "sqs", "events", "ses"})
# Once this share of the requests is sent, DynamoDB hangs for `hang_seconds` from its next call,
# then SQS, EventBridge and SES, side by side, each from its own next call (the pipeline reaches
# them later than the API reaches the store); on the PostgreSQL store PostgreSQL stalls for
# `store_hang_seconds`, from then.
HUNG_IN_TURN = (("dynamodb",), ("sqs", "events", "ses"))
HUNG_SERVICES = tuple(service for services in HUNG_IN_TURN for service in services)
HANGS_AT = 0.7
# A service not called for this long after its hang was armed is not hung at all.
HANG_ARMED_AT_MOST_SECONDS = 30.0


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
    stack: OrderStack,
    *,
    orders: int,
    clients: int = 8,
    fault_rate: float = 0.10,
    outage_seconds: float = 8.0,
    hang_seconds: float = 3.0,
    store_hang_seconds: float = 7.0,
    drain_timeout: float = 600.0,
    progress: Callable[[int], None] = lambda _: None,
) -> SoakReport:
    started = time.monotonic()
    middleware = stack.emulator.middleware
    plan = plan_workload(orders, failing_share=0.02, invalid_share=0.05, rules=stack_rules(stack.stack.parameters))
    killed_recipient, overrun_recipient = [
        order.body["customer_email"]
        for order in plan.orders
        if not (order.failing_recipient or order.cancel or order.retries)
    ][:2]
    killed: list[int] = []
    outages: Counter[str] = Counter()

    def freeze_the_sender(_: dict[str, Any]) -> None:
        # SES now hangs on this recipient's e-mail, and the worker waiting for it freezes: only
        # the function's timeout can end that invocation.
        runner = stack.runner
        for _attempt in range(50):
            if isinstance(runner, WorkerRunner) and runner.freeze_worker_handling(
                "SendNotificationFunction", overrun_recipient
            ):
                return
            time.sleep(0.05)

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
        # SES hangs on another, and its sender freezes until it overruns its timeout.
        Stall("ses:SendEmail", to(overrun_recipient), timeout + 2.0, freeze_the_sender),
    ]
    refuse_failing_recipients(stack, plan)
    middleware.faults.rate = fault_rate
    middleware.faults.services = FAULT_SERVICES

    sent = 0
    outage_at = int(plan.requests * 0.4)
    hangs_at = int(plan.requests * HANGS_AT)
    hangs = threading.Thread(
        target=_hang_in_turn, args=(stack, hang_seconds, store_hang_seconds), name="soak-hangs", daemon=True
    )

    def counted(advance: int) -> None:
        nonlocal sent
        sent += advance
        progress(advance)
        if sent >= outage_at and not outages["events:outage"]:
            outages["events:outage"] += 1
            middleware.outages.add("events:PutEvents")
            threading.Timer(outage_seconds, middleware.outages.discard, args=("events:PutEvents",)).start()
        if sent >= hangs_at and not hangs.ident:
            hangs.start()

    timeouts_before = {name: stats.timeouts for name, stats in stack.runner.stats().items()}
    result = run_workload(stack.api_client, plan, clients=clients, progress=counted)
    if hangs.ident:
        hangs.join()
    unsettled = _await_dead_letters(stack, DemoReport(plan, result), timeout=drain_timeout)
    # The kill happens when the stalled e-mail comes up, often after the last request.
    report = SoakReport(
        DemoReport(plan, result, drained=not unsettled), killed_worker=killed[0] if killed else None, faults=outages
    )
    report.problems.extend(unsettled)
    middleware.faults.rate = 0.0
    report.demo.problems.extend(result.problems)
    account(stack, report.demo)

    hung, other = _timeouts_holding(stack, overrun_recipient)
    _check_faults(stack, report, hung_timeouts=hung)
    _check_hangs(stack, report, started=hangs.ident is not None, timeouts_before=timeouts_before)
    _check_dead_letters(stack, report)
    _redrive_once_fixed(stack, report)
    _scan_logs(stack, report)
    _scan_traces(stack, report)
    report.faults.update(middleware.faults.injected)
    report.faults["ses:hang-and-kill"] = int(report.killed_worker is not None)
    report.faults["ses:hang-past-timeout"] = hung
    report.faults.update({f"{service}:hang": middleware.hung[service] for service in HUNG_SERVICES})
    if stack.database_proxy is not None:
        report.faults["postgres:stall"] = stack.database_proxy.stalls
    report.retries.update(_source_retries(stack))
    report.retries["client retries after a 503 (Retry-After)"] = sum(result.retried_after_503.values())
    report.retries["client retries of a request that got no answer"] = sum(result.retried_after_no_answer.values())
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


def _hang_in_turn(stack: OrderStack, seconds: float, store_seconds: float) -> None:
    """Stall PostgreSQL (on that store) for `store_seconds` from now, and hang each group of
    services in turn, each service for `seconds` from its next call.

    The DynamoDB hang is kept shorter than one invocation: longer, and an e-mail that SES took
    just before it could not be recorded as sent before the invocation ends (see
    adapters/idempotency_store.py), and would be sent again."""
    middleware = stack.emulator.middleware
    proxy = stack.database_proxy
    resume = None if proxy is None else threading.Timer(store_seconds, proxy.resume)
    if proxy is not None and resume is not None:
        proxy.stall()
        resume.start()
    for services in HUNG_IN_TURN:
        for service in services:
            middleware.hang(service, seconds, from_next_call=True)
        give_up = time.monotonic() + HANG_ARMED_AT_MOST_SECONDS + seconds
        while any(middleware.hanging(service) for service in services) and time.monotonic() < give_up:
            time.sleep(0.05)
        for service in services:
            middleware.end_hang(service)
    if resume is not None:
        resume.join()


def _check_hangs(stack: LocalStack, report: SoakReport, *, started: bool, timeouts_before: dict[str, int]) -> None:
    """The hangs ran, and none of them made the API overrun its timeout: each call gave up in time.

    send_notification's one timeout is the frozen worker's (checked with the other faults). A
    function its event source retries (the announcer, the sweeper) may overrun on a starved
    machine, where its workers wait for a CPU: such a timeout is counted, not failed, and the
    accounting still checks that nothing was lost or sent twice."""
    if not started:
        report.problems.append("the phase of hung dependencies never started")
    for name, stats in stack.runner.stats().items():
        overruns = stats.timeouts - timeouts_before.get(name, 0)
        if name == "SendNotificationFunction" or overruns <= 0:
            continue
        if name == "ApiFunction":
            report.problems.append(f"{name} timed out {overruns} times")
        else:
            report.retries[f"{name} invocations past their timeout, retried by their source"] = overruns


def _timeouts_holding(stack: LocalStack, recipient: str) -> tuple[int, int]:
    """send_notification's timed-out invocations: (those holding `recipient`'s e-mail, the others).

    SQS delivers at least once, so the hung e-mail can be with two receivers and both overrun.
    """
    events = stack.runner.stats()["SendNotificationFunction"].timed_out_events
    holding = sum(recipient in json.dumps(event) for event in events)
    return holding, len(events) - holding


def _await_dead_letters(stack: LocalStack, demo: DemoReport, *, timeout: float) -> list[str]:
    """Wait until the pipeline is idle and the notification of every order whose recipient SES
    refuses is in the dead-letter queue; at the timeout, what is missing and where it stands.

    Each is named as the service names a notification: its order and the order's final status."""
    urls = stack.resources.queue_urls
    refused = {
        f"{order_id}:{expected_status(order_id, demo)}"
        for order_id, planned in demo.result.accepted.items()
        if planned.failing_recipient
    }
    return await_dead_letters(
        stack.client("sqs"),
        urls["NotificationDeadLetterQueue"],
        refused,
        queues={"NotificationQueue": urls["NotificationQueue"]},
        timeout=timeout,
        settle=3.0,
        busy=stack.in_flight,
    )


def _check_dead_letters(stack: LocalStack, report: SoakReport) -> None:
    """Each dead letter is a refused recipient's notification, with the refusal among its reasons.

    Among, not last: SES sends get one attempt, so an injected throttle can be what failed a
    refused notification's last receive."""
    sqs = stack.client("sqs")
    url = stack.resources.queue_urls["NotificationDeadLetterQueue"]
    history = failure_history([line.text for line in stack.logs.lines])
    handles = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        for message in messages:
            handles.append(message["ReceiptHandle"])
            reasons = history.get(message["MessageId"], [])
            if FAILING_RECIPIENT_DOMAIN not in message["Body"] or not any("MessageRejected" in r for r in reasons):
                report.problems.append(
                    f"dead letter {message['MessageId']} has no refusal among its reasons: {reasons!r}"
                )
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)


def _redrive_once_fixed(stack: LocalStack, report: SoakReport) -> None:
    middleware = stack.emulator.middleware
    accept_failing_recipients(stack, report.demo.plan)
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


def _scan_traces(stack: LocalStack, report: SoakReport) -> None:
    """As `_scan_logs`, over the X-Ray segments the functions sent; none at all is a problem too."""
    documents = stack.traces.documents()
    if not documents:
        report.problems.append("no X-Ray segment was collected, so none could be scanned for addresses")
        return
    leaked = [document for document in documents if _ADDRESS.search(document.raw)]
    if leaked:
        report.problems.append(f"{len(leaked)} X-Ray segments carry an e-mail address, e.g. {leaked[0].name!r}")


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
