"""The invocation's deadline, as the handlers' decorator sets and clears it."""

from dataclasses import dataclass
from typing import Any

import pytest

from order_service.adapters import time_budget
from order_service.adapters.time_budget import DeadlineExceededError, within_time_budget


@dataclass(frozen=True)
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_during_an_invocation_the_time_left_is_its_remaining_time_less_the_reserve() -> None:
    seen: list[float | None] = []

    @within_time_budget
    def handler(event: Any, context: Any) -> None:
        seen.append(time_budget.seconds_left())

    handler({}, Context(remaining_ms=6000))

    assert seen[0] == pytest.approx(6.0 - time_budget.RESERVE_SECONDS, abs=0.05)


def test_after_an_invocation_even_a_failed_one_there_is_no_deadline() -> None:
    @within_time_budget
    def handler(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler({}, Context(remaining_ms=100))

    assert time_budget.seconds_left() is None
    time_budget.ensure_time_for("anything", 3600)  # nothing is refused outside an invocation


def test_a_call_needing_more_than_is_left_is_refused_with_what_it_needed() -> None:
    @within_time_budget
    def handler(event: Any, context: Any) -> None:
        time_budget.ensure_time_for("dynamodb.GetItem", 1.5)

    with pytest.raises(DeadlineExceededError, match=r"dynamodb\.GetItem not attempted: it needs up to 1\.5 s"):
        handler({}, Context(remaining_ms=1500))
