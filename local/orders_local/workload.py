"""The demo's mixed workload, and the accounting of what it must have produced.

Every order's fate is decided when the workload is generated, by the service's rules for the
stack it is planned for (outcomes.py), so the end state can be checked exactly: which orders
complete, which are rejected, which are cancelled, which e-mails are sent, and which
notifications end in the dead-letter queue.
"""

import http.client
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from samlocal.http_client import HttpAnswer

from order_service.models.order import OrderStatus
from order_service.services.rules import OrderRules
from orders_local.outcomes import decision, template_rules

FAILING_RECIPIENT_DOMAIN = "bounces.example.com"
# A good client retries a 503 that carries a Retry-After: the same request (the same
# Idempotency-Key), after the delay it asks for, this many times at most. It retries a 429 (API
# Gateway's stage throttling, which never reached the function) the same way.
MAX_RETRIES_AFTER_503 = 5
# A 429 without a Retry-After, or a request that got no answer, is retried after this long,
# doubled at each retry.
THROTTLED_RETRY_SECONDS = 0.5
# The status of a request that got no answer (connection refused or dropped, read timeout).
NO_ANSWER = 0


class ApiClient(Protocol):
    """What the workload needs of an HTTP client: the local one, or one signing for a deployed API."""

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> HttpAnswer: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Naming:
    """Who the orders are for. Locally the same every run; against a deployed stack each run's
    own (`run`), so its Idempotency-Keys, customers and orders are new and none replays an
    earlier run's."""

    run: str = ""
    customer_prefix: str = "customer-"
    # The recipient of order `index`, and whether it is one SES refuses: None for the local
    # stack's example.com addresses.
    email: Callable[[int, bool], str] | None = None


@dataclass(frozen=True)
class PlannedOrder:
    key: str
    body: dict[str, Any]
    retries: int
    cancel: bool
    # What process_order decides about it: completed or rejected.
    decision: OrderStatus
    failing_recipient: bool

    @property
    def expect_rejected(self) -> bool:
        return self.decision is OrderStatus.REJECTED

    def final_status(self, *, cancelled: bool) -> OrderStatus:
        """The status it must end in: cancelled if its cancel was done, else as decided."""
        return OrderStatus.CANCELLED if cancelled else self.decision


@dataclass(frozen=True)
class WorkloadPlan:
    orders: list[PlannedOrder]
    invalid_bodies: list[Any]

    @property
    def requests(self) -> int:
        return sum(1 + order.retries + order.cancel for order in self.orders) + len(self.invalid_bodies)


def plan_workload(
    orders: int,
    *,
    seed: int = 7,
    failing_share: float = 0.03,
    invalid_share: float = 0.05,
    naming: Naming | None = None,
    rules: OrderRules | None = None,
) -> WorkloadPlan:
    """Orders with a known fate: ~10% over the limit or in an unsupported currency, ~10% retried
    with the same Idempotency-Key, ~10% cancelled at once, a few for an always-failing recipient.

    `rules`: those of the stack the orders are for (the template's defaults, which the shares
    above are drawn for, unless given); each order's decision is theirs."""
    naming = naming or Naming()
    rules = rules or template_rules()
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not security
    planned = []
    for index in range(orders):
        failing = rng.random() < failing_share
        if naming.email is None:
            email = f"customer{index}@{FAILING_RECIPIENT_DOMAIN if failing else 'example.com'}"
        else:
            email = naming.email(index, failing)
        roll = rng.random()
        if roll < 0.05:
            currency, price, over_limit = "CHF", "10.00", False  # a real currency the shop does not take
        elif roll < 0.10:
            currency, price, over_limit = "EUR", "6000.00", True  # 2 x 6000 > the 10000 EUR limit
        else:
            currency, price, over_limit = (
                rng.choice(["EUR", "USD", "GBP"]),
                f"{rng.randint(1, 200)}.{rng.randint(0, 99):02d}",
                False,
            )
        body = {
            "customer_id": f"{naming.customer_prefix}{index % 40}",
            "customer_email": email,
            "currency": currency,
            "items": [
                {
                    "sku": f"SKU-{rng.randint(1, 500)}",
                    "quantity": 2 if over_limit else rng.randint(1, 3),
                    "unit_price": price,
                }
            ],
        }
        # Drawn either way, so that a run's name changes its keys and nothing else of the plan.
        drawn_key = uuid.UUID(int=rng.getrandbits(128))
        key = uuid.uuid5(drawn_key, naming.run) if naming.run else drawn_key
        planned.append(
            PlannedOrder(
                key=str(key),
                body=body,
                retries=1 if rng.random() < 0.10 else 0,
                cancel=rng.random() < 0.10,
                decision=decision(body, str(key), rules),
                failing_recipient=failing,
            )
        )
    invalid: list[Any] = []
    for index in range(max(1, int(orders * invalid_share))):
        variants: list[Any] = [
            {
                "customer_id": "c",
                "customer_email": "nobody",
                "currency": "EUR",
                "items": [{"sku": "A", "quantity": 1, "unit_price": "1.00"}],
            },
            {
                "customer_id": "c",
                "customer_email": "a@example.com",
                "currency": "EUR",
                "items": [{"sku": "A", "quantity": 1, "unit_price": 1.5}],
            },
            {"customer_id": "c", "customer_email": "a@example.com", "currency": "XXX", "items": []},
            [1, 2, 3],
            b"{not json",
        ]
        invalid.append(variants[index % len(variants)])
    return WorkloadPlan(planned, invalid)


@dataclass
class WorkloadResult:
    accepted: dict[str, PlannedOrder] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replays_matched: int = 0
    invalid_refused: int = 0
    # 503s with a Retry-After that a retry of the same request absorbed, by request.
    retried_after_503: Counter[str] = field(default_factory=Counter)
    # 429s (the API's throttling) that a retry of the same request absorbed, by request.
    retried_after_429: Counter[str] = field(default_factory=Counter)
    # Requests that got no answer and were sent again (the same Idempotency-Key), by request.
    retried_after_no_answer: Counter[str] = field(default_factory=Counter)
    # When each accepted order's 201 came back (time.monotonic()).
    accepted_at: dict[str, float] = field(default_factory=dict)
    # The workload's first request and its last answer (time.monotonic()).
    started_at: float = 0.0
    finished_at: float = 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(share * 100) - 1]


def run_workload(
    new_client: Callable[[], ApiClient],
    plan: WorkloadPlan,
    *,
    clients: int = 8,
    progress: Callable[[int], None] = lambda _: None,
    on_accepted: Callable[[str, float], None] = lambda _order_id, _at: None,
) -> WorkloadResult:
    """`on_accepted(order_id, at)`: called once per accepted order as soon as its 201 is back
    (`at`, time.monotonic()), from the client's thread, so the order can be watched at once."""
    result = WorkloadResult(started_at=time.monotonic())
    lock = threading.Lock()
    local = threading.local()

    def client() -> ApiClient:
        if not hasattr(local, "client"):
            local.client = new_client()
        return local.client  # type: ignore[no-any-return]

    def record(answer: HttpAnswer) -> None:
        with lock:
            result.statuses[answer.status] += 1
            result.latencies_ms.append(answer.latency_ms)

    def request(
        what: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[HttpAnswer, int]:
        """The final answer, and how many answers (503, 429, none) before it were retried."""
        for retried in range(MAX_RETRIES_AFTER_503 + 1):
            try:
                answer = client().request(method, path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                # Across a network, a request can go unanswered: sent again, as a good client
                # does, on a new connection. Its last failure is an answer like any other.
                client().close()
                answer = HttpAnswer(NO_ANSWER, f"no answer: {type(error).__name__}", {}, 0.0)
            delay = retry_after(answer, retried)
            if delay is None or retried == MAX_RETRIES_AFTER_503:
                return answer, retried
            retries = {429: result.retried_after_429, NO_ANSWER: result.retried_after_no_answer}
            with lock:
                retries.get(answer.status, result.retried_after_503)[what] += 1
            time.sleep(delay)
        raise AssertionError("unreachable")

    def place(order: PlannedOrder) -> None:
        headers = {"Idempotency-Key": order.key}
        first, _ = request("POST /orders", "POST", "/orders", order.body, headers)
        accepted_at = time.monotonic()
        record(first)
        progress(1)
        if first.status != 201:
            with lock:
                result.problems.append(f"order {order.key}: expected 201, got {first.status} {first.body}")
            return
        order_id = first.body["order_id"]
        with lock:
            result.accepted[order_id] = order
            result.accepted_at[order_id] = accepted_at
        on_accepted(order_id, accepted_at)
        for _ in range(order.retries):
            again, _ = request("POST /orders", "POST", "/orders", order.body, headers)
            record(again)
            progress(1)
            with lock:
                if again.status == 201 and again.body["order_id"] == order_id:
                    result.replays_matched += 1
                else:
                    result.problems.append(f"retry of {order_id} answered {again.status} {again.body}")
        if order.cancel:
            cancel, retried = request("POST /orders/{id}/cancel", "POST", f"/orders/{order_id}/cancel")
            record(cancel)
            progress(1)
            # A 503'd cancel may still have been done: its retry then finds the order cancelled.
            done_before = (
                retried > 0
                and cancel.status == 409
                and isinstance(cancel.body, dict)
                and cancel.body.get("current_status") == "cancelled"
            )
            with lock:
                if cancel.status == 200 or done_before:
                    result.cancelled.add(order_id)
                elif cancel.status != 409:
                    result.problems.append(f"cancel of {order_id} answered {cancel.status} {cancel.body}")

    def refuse(body: Any) -> None:
        answer, _ = request("POST /orders (invalid)", "POST", "/orders", body)
        record(answer)
        progress(1)
        with lock:
            if answer.status == 400 and isinstance(answer.body, dict) and answer.body.get("errors"):
                result.invalid_refused += 1
            else:
                result.problems.append(f"invalid body answered {answer.status} {answer.body}")

    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
        futures = [pool.submit(place, order) for order in plan.orders] + [
            pool.submit(refuse, body) for body in plan.invalid_bodies
        ]
        for future in futures:
            future.result()
    result.finished_at = time.monotonic()
    return result


def retry_after(answer: HttpAnswer, retried: int = 0) -> float | None:
    """Seconds to wait before retrying a 503 that says when to retry, a 429 or no answer at all
    (`retried` times already); None for any other answer."""
    if answer.status == NO_ANSWER:
        return THROTTLED_RETRY_SECONDS * (1 << retried)
    if answer.status not in (429, 503):
        return None
    value = next((value for name, value in answer.headers.items() if name.lower() == "retry-after"), None)
    try:
        if value is not None:
            return max(0.0, float(value))
    except ValueError:
        pass
    # API Gateway's throttling answers 429 with no Retry-After: back off, as AWS's SDKs do.
    return THROTTLED_RETRY_SECONDS * (1 << retried) if answer.status == 429 else None
