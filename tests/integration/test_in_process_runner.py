"""The in-process runner: handlers called directly, what they print kept in the log book."""

import json

import pytest
from orders_local.local_stack import LocalStack

from tests.events import order_placed


def test_a_handlers_metrics_go_to_the_log_book_under_its_name_and_never_to_stdout(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(stack.logs.lines)

    for _ in range(101):
        stack.invoke("ProcessOrderFunction", order_placed({"orderId": "x"}))

    # The stack's event sources may still be running other functions meanwhile: their metrics are theirs.
    metric_lines = [line for line in stack.logs.lines[before:] if "OrderEventInvalid" in line.text]
    assert {line.function for line in metric_lines} == {"ProcessOrderFunction"}
    assert sum(sum(json.loads(line.text).get("OrderEventInvalid", [])) for line in metric_lines) == 101
    assert "CloudWatchMetrics" not in capsys.readouterr().out
