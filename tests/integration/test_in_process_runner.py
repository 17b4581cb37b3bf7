"""The in-process runner: handlers called directly, what they print kept in the log book."""

import io
import json
import sys
import threading

import pytest
from samlocal.local_stack import LocalStack
from samlocal.runtime.in_process import StdoutRouter

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
    # Only this handler's: pytest swaps sys.stdout at each test phase, and a scheduled function
    # running in the background at that moment prints to whichever stdout is current.
    assert "OrderEventInvalid" not in capsys.readouterr().out


def test_overlapping_invocations_in_two_threads_print_each_to_its_own_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    router = StdoutRouter()
    first, second = io.StringIO(), io.StringIO()
    first_done, second_inside = threading.Event(), threading.Event()

    def run_first() -> None:
        with router.routing(first):
            second_inside.wait(5)
            print("first")
        first_done.set()

    def run_second() -> None:
        with router.routing(second):
            second_inside.set()
            first_done.wait(5)  # the first invocation ends while this one still runs
            print("second")

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    print("not an invocation's")

    assert (first.getvalue(), second.getvalue()) == ("first\n", "second\n")
    assert capsys.readouterr().out == "not an invocation's\n"


def test_while_an_invocation_runs_another_thread_sees_a_stdout_that_answers_as_the_real_one() -> None:
    # Given an invocation routing its prints, so sys.stdout is the router
    router = StdoutRouter()
    routed, started, finish = io.StringIO(), threading.Event(), threading.Event()

    def invocation() -> None:
        with router.routing(routed):
            started.set()
            finish.wait(5)

    worker = threading.Thread(target=invocation)
    worker.start()
    started.wait(5)
    try:
        # When another thread asks what a terminal reporter asks of sys.stdout
        seen = sys.stdout
        answers = (seen.isatty(), seen.encoding)
        replaced = router._replaced
    finally:
        finish.set()
        worker.join(5)

    # Then it is the router, answering as the stdout it replaced
    assert seen is router
    assert answers == (replaced.isatty(), replaced.encoding)
