"""Reload on save: from saving a file to the API answering with the new code.

A copy of the service (template and sources) runs in a OrderStack with `orders up`'s reloader.
The API is warm; a file every function imports (`ports.py`) is saved with a new message for a
missing order, and GET /orders/{id} is polled until it answers with it. In the same run, the
API's cold start (a fresh worker's first call) is measured, since a reload ends in one: the goal
is a reload within 1 s plus one cold start.
"""

import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from orders_local.stack import ORDERS_TEMPLATE, OrderStack, OrderStackOptions
from samlocal.reload import CodeReloader
from samlocal.runtime.workers import WorkerRunner

_MISSING = 'super().__init__(f"order {order_id} does not exist")'


@dataclass(frozen=True)
class ReloadLatency:
    save_to_new_answer_ms: list[float]
    cold_start_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.save_to_new_answer_ms)

    @property
    def cold_start_median_ms(self) -> float:
        return statistics.median(self.cold_start_ms)

    @property
    def beyond_cold_start_ms(self) -> float:
        return self.median_ms - self.cold_start_median_ms


def _copy_service(root: Path) -> Path:
    shutil.copy(ORDERS_TEMPLATE, root / "template.yaml")
    shutil.copytree(ORDERS_TEMPLATE.parent / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root / "template.yaml"


def measure(samples: int = 5) -> ReloadLatency:
    saves: list[float] = []
    colds: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        template = _copy_service(Path(scratch))
        ports = Path(scratch) / "src" / "order_service" / "ports.py"
        original = ports.read_text()
        with OrderStack(OrderStackOptions(template=template, stack_name="bench-reload")) as stack:
            reloader = CodeReloader(stack, say=lambda line: None).start()
            reloader.ready.wait(10)
            client = stack.api_client()
            assert isinstance(stack.runner, WorkerRunner)
            try:
                for sample in range(samples):
                    # A cold start of the API, as a reload ends in one.
                    stack.runner.reload("ApiFunction")
                    started = time.perf_counter()
                    client.request("GET", "/orders/cold")
                    colds.append((time.perf_counter() - started) * 1000)
                    client.request("GET", "/orders/warm")
                    marker = f"does not exist (edit {sample})"
                    saved = time.perf_counter()
                    ports.write_text(original.replace(_MISSING, _MISSING.replace("does not exist", marker)))
                    while marker not in str(client.request("GET", "/orders/missing").body):
                        if time.perf_counter() - saved > 60:
                            raise RuntimeError("the API did not answer with the saved code within 60 s")
                    saves.append((time.perf_counter() - saved) * 1000)
            finally:
                reloader.stop()
    return ReloadLatency(saves, colds)
