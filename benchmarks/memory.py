"""Peak memory per function over 1,000 warm invocations, and whether it keeps growing."""

import json
import uuid
from dataclasses import dataclass

from samlocal.local_stack import LocalStack, function_base_environment
from samlocal.logs import LogBook
from samlocal.runtime.workers import Worker

from benchmarks.cold_start import Layout, subjects


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class MemoryProfile:
    rss_after_100_mb: float
    rss_after_all_mb: float
    peak_mb: float
    invocations: int

    @property
    def growth_mb(self) -> float:
        return self.rss_after_all_mb - self.rss_after_100_mb


def measure(stack: LocalStack, layout: Layout, invocations: int) -> dict[str, MemoryProfile]:
    environment = function_base_environment(stack.endpoint_url)
    profiles = {}
    for subject in subjects(stack, layout):
        if subject.kind != "function":
            continue
        worker = Worker(subject.function, environment, LogBook(), python=layout.python)
        try:
            rss_after_100 = 0.0
            for count in range(1, invocations + 1):
                _, error, _ = worker.invoke(json.dumps(subject.event()).encode(), str(uuid.uuid4()))
                if error is not None:
                    raise RuntimeError(f"{subject.name}: {error}")
                if count == 100:
                    rss_after_100 = _rss_mb(worker.pid)
            profiles[subject.name] = MemoryProfile(
                rss_after_100, _rss_mb(worker.pid), worker.max_memory_mb(), invocations
            )
        finally:
            worker.stop()
    return profiles
