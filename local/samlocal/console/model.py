"""What the console shows, read from a running LocalStack: timelines, functions, e-mails and
queues. Plain data, so the views and the tests share it."""

import json
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from samlocal.dead_letters import failure_reasons, peek
from samlocal.traces import TraceDocument

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack

_REPORT = re.compile(
    r"^REPORT RequestId: (?P<request_id>\S+) Duration: (?P<duration>[\d.]+) ms .*?"
    r"Max Memory Used: (?P<memory>\d+) MB(?: Worker: (?P<worker>\d+))?(?P<init> Init Duration)?.*?"
    r"(?: Status: (?P<status>\w+))?$"
)


@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    started: float
    duration_ms: float
    outcome: str  # "ok", "error" (4xx), "fault" (5xx or no answer)


@dataclass
class InvocationView:
    """One invocation of a function that worked on the order, with its AWS calls and log lines."""

    function: str
    request_id: str
    started: float
    duration_ms: float | None = None
    cold: bool = False
    result: str = "running"  # "ok", "error", "timeout"
    calls: list[AwsCall] = field(default_factory=list)
    log_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def call_groups(self) -> list[tuple[AwsCall, int, float]]:
        """Consecutive calls of the same operation and outcome as one line: (first, count, total ms).
        A batch invocation makes one call per record, most of them for other records."""
        groups: list[tuple[AwsCall, int, float]] = []
        for call in self.calls:
            if groups and (groups[-1][0].service, groups[-1][0].operation, groups[-1][0].outcome) == (
                call.service,
                call.operation,
                call.outcome,
            ):
                first, count, total = groups[-1]
                groups[-1] = (first, count + 1, total + call.duration_ms)
            else:
                groups.append((call, 1, call.duration_ms))
        return groups

    @property
    def started_at(self) -> str:
        return datetime.fromtimestamp(self.started, UTC).strftime("%H:%M:%S.%f")[:-3]


@dataclass(frozen=True)
class FunctionView:
    logical_id: str
    invocations: int
    cold_starts: int
    errors: int
    timeouts: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class QueueView:
    logical_id: str
    visible: int
    in_flight: int
    is_dead_letter_queue: bool
    dead_letters: list[dict[str, Any]]


def _json_lines(lines: Iterable[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    parsed = []
    for function, text in lines:
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict):
                parsed.append((function, record))
    return parsed


def _reports(lines: Iterable[tuple[str, str]]) -> dict[str, re.Match[str]]:
    found = {}
    for _, text in lines:
        if text.startswith("REPORT "):
            match = _REPORT.match(text)
            if match:
                found[match["request_id"]] = match
    return found


def _calls(documents: Iterable[TraceDocument], request_id: str) -> list[AwsCall]:
    """The AWS calls of one invocation: the `aws` subsegments of its trace (its root is made
    from its request id, as the local runtime makes it)."""
    marker = request_id.replace("-", "")[:24]
    calls = []
    for document in documents:
        body = document.document
        if not document.trace_id.endswith(marker) or body.get("namespace") != "aws" or document.end_time is None:
            continue
        outcome = "fault" if body.get("fault") else "error" if body.get("error") else "ok"
        calls.append(
            AwsCall(
                service=document.name,
                operation=str(body.get("aws", {}).get("operation", "")),
                started=document.start_time,
                duration_ms=(document.end_time - document.start_time) * 1000,
                outcome=outcome,
            )
        )
    return sorted(calls, key=lambda call: call.started)


def _timestamp(record: Mapping[str, Any]) -> float:
    """Powertools' timestamp (`2026-11-28 08:42:55,232+0000`) in seconds since the epoch."""
    value = str(record.get("timestamp", ""))
    for layout in ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, layout).timestamp()
        except ValueError:
            continue
    return 0.0


def timeline(identifier: str, lines: list[tuple[str, str]], documents: list[TraceDocument]) -> list[InvocationView]:
    """Every invocation that logged a record naming `identifier` (an order's id, say), in order,
    across functions, with the AWS calls its trace shows."""
    reports = _reports(lines)
    invocations: dict[str, InvocationView] = {}
    for function, record in _json_lines(lines):
        # Anywhere in the record: a batch's summary names its items in a list.
        if identifier not in json.dumps(record):
            continue
        request_id = str(record.get("function_request_id", ""))
        view = invocations.get(request_id)
        if view is None:
            view = invocations[request_id] = InvocationView(function, request_id, _timestamp(record))
        view.log_lines.append(record)
    for request_id, view in invocations.items():
        report = reports.get(request_id)
        if report is not None:
            view.duration_ms = float(report["duration"])
            view.cold = report["init"] is not None
            view.result = report["status"] or "ok"
        view.calls = _calls(documents, request_id)
        if view.calls:
            view.started = min(view.started, view.calls[0].started)
    return sorted(invocations.values(), key=lambda view: view.started)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def functions(stack: "LocalStack") -> list[FunctionView]:
    stats = stack.runner.stats()
    views = []
    for logical_id in stack.functions:
        figures = stats.get(logical_id)
        if figures is None:
            views.append(FunctionView(logical_id, 0, 0, 0, 0, None, None))
            continue
        durations = list(figures.durations_ms)
        views.append(
            FunctionView(
                logical_id=logical_id,
                invocations=figures.cold_starts + figures.warm_invocations,
                cold_starts=figures.cold_starts,
                errors=figures.errors,
                timeouts=figures.timeouts,
                p50_ms=_percentile(durations, 0.5),
                p95_ms=_percentile(durations, 0.95),
            )
        )
    return views


def queues(stack: "LocalStack") -> list[QueueView]:
    sqs = stack.client("sqs")
    urls = stack.resources.queue_urls
    dead_letter_arns = set()
    for url in urls.values():
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if "RedrivePolicy" in policy:
            dead_letter_arns.add(json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"])
    reasons = failure_reasons([line.text for line in list(stack.logs.lines)])
    views = []
    for logical_id, url in urls.items():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        is_dead_letter_queue = attributes["QueueArn"] in dead_letter_arns or logical_id.endswith("DeadLetterQueue")
        letters = []
        if is_dead_letter_queue and int(attributes["ApproximateNumberOfMessages"]):
            letters = [
                {
                    "message_id": letter.message_id,
                    "receive_count": letter.receive_count,
                    "summary": letter.summary,
                    "last_failure": reasons.get(letter.message_id, "no failure logged"),
                }
                for letter in peek(sqs, url, limit=20)
            ]
        views.append(
            QueueView(
                logical_id=logical_id,
                visible=int(attributes["ApproximateNumberOfMessages"]),
                in_flight=int(attributes["ApproximateNumberOfMessagesNotVisible"]),
                is_dead_letter_queue=is_dead_letter_queue,
                dead_letters=letters,
            )
        )
    return views
