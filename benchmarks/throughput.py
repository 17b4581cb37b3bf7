"""The local stack end to end: orders a second and latency from POST /orders to the e-mail, with
the functions in worker processes over the Runtime API and, for comparison, called in-process."""

import contextlib
import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from orders_local.console_views import order_console
from orders_local.stack import OrderStack, OrderStackOptions


@dataclass
class Throughput:
    orders: int
    seconds: float
    latencies_ms: list[float]

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds

    def percentile(self, share: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(share * 100) - 1]


@contextlib.contextmanager
def _console_open(stack: OrderStack) -> Iterator[None]:
    """The console served, with a page on the orders view and one on the functions view open:
    each follows the event stream and fetches its view again on every change, as a browser does."""
    web = order_console(stack).start()
    stop = threading.Event()

    def page(view: str) -> None:
        with urllib.request.urlopen(f"{web.url}/stream", timeout=600) as stream:
            for line in stream:
                if stop.is_set():
                    return
                if line.startswith(b"event: changed"):
                    urllib.request.urlopen(f"{web.url}/fragment/{view}", timeout=60).read()

    pages = [threading.Thread(target=page, args=(view,), daemon=True) for view in ("orders", "functions")]
    for thread in pages:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        web.stop()


def measure(
    runner: Literal["workers", "in-process"], orders: int, clients: int = 8, *, console: bool = False
) -> Throughput:
    options = OrderStackOptions(runner=runner, stack_name=f"bench-{runner}-{uuid.uuid4().hex[:6]}")
    with OrderStack(options) as stack, _console_open(stack) if console else contextlib.nullcontext():
        warm = stack.api_client()
        for _ in range(clients):  # start the API's workers before the clock does
            warm.request("GET", "/orders?customer_id=warm")
        posted: dict[str, float] = {}

        def place(index: int) -> None:
            client = stack.api_client()
            email = f"throughput-{index}-{uuid.uuid4().hex[:6]}@example.com"
            body = {
                "customer_id": f"c{index % 20}",
                "customer_email": email,
                "currency": "EUR",
                "items": [{"sku": "BOOK-1", "quantity": 1, "unit_price": "9.90"}],
            }
            sent = time.time()
            answer = client.request("POST", "/orders", body)
            if answer.status != 201:
                raise RuntimeError(f"POST /orders answered {answer.status}")
            posted[email] = sent
            client.close()

        started = time.time()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(place, range(orders)))
        deadline = time.time() + 300
        while len(stack.emulator.middleware.sent_emails) < orders and time.time() < deadline:
            time.sleep(0.05)
        emails = {email.recipient: email.sent_at for email in stack.emulator.middleware.sent_emails}
        if len(emails) < orders:
            raise RuntimeError(f"only {len(emails)} of {orders} e-mails were sent")
        finished = max(emails.values())
        return Throughput(orders, finished - started, [(emails[r] - posted[r]) * 1000 for r in posted])
