"""Reload on save: a running stack runs saved code and template changes without a restart."""

import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from samlocal.http_client import HttpAnswer, JsonClient
from samlocal.local_stack import LocalStack, StackOptions
from samlocal.reload import CodeReloader, compare
from samlocal.runtime.workers import WorkerRunner
from samlocal.template import Stack

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    CodeUri: functions/
    Timeout: 5
    MemorySize: 128
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Handler: hello.handler
      Environment:
        Variables:
          GREETING: {greeting}
      Events:
        Hello:
          Type: Api
          Properties: {{Path: /hello, Method: get}}
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Handler: slow.handler
  Notes:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{{AttributeName: {key}, AttributeType: S}}]
      KeySchema: [{{AttributeName: {key}, KeyType: HASH}}]
"""

HELLO = """\
import json
import os

VERSION = {version}


def handler(event, context):
    return {{"statusCode": 200, "body": json.dumps({{"greeting": os.environ["GREETING"], "version": VERSION}})}}
"""

SLOW = """\
import os
import time


def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid()}
"""


class App:
    """A small app in a temporary folder, run by a LocalStack with its reloader."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.yaml"
        self.handler = root / "functions" / "hello.py"
        self.said: list[str] = []
        (root / "functions").mkdir()
        (root / "functions" / "slow.py").write_text(SLOW)
        self.write_template(greeting="hello", key="id")
        self.write_handler(HELLO.format(version=1))

    def write_template(self, *, greeting: str, key: str) -> None:
        self.template.write_text(TEMPLATE.format(greeting=greeting, key=key))

    def write_handler(self, text: str) -> None:
        self.handler.write_text(text)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return App(tmp_path_factory.mktemp("reload"))


@pytest.fixture(scope="module")
def running(app: App) -> Iterator[LocalStack]:
    with LocalStack(StackOptions(template=app.template, stack_name="reload")) as stack:
        reloader = CodeReloader(stack, say=app.said.append).start()
        assert reloader.ready.wait(10), "the watcher did not start"
        try:
            yield stack
        finally:
            reloader.stop()


def hello(stack: LocalStack) -> HttpAnswer:
    return JsonClient(stack.api_url).request("GET", "/hello")


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def test_a_saved_handler_runs_at_the_next_invocation_and_the_terminal_says_so(app: App, running: LocalStack) -> None:
    assert hello(running).body["version"] == 1

    app.write_handler(HELLO.format(version=2))

    eventually(lambda: hello(running).body["version"] == 2, "the new code answers")
    eventually(lambda: "reloaded Hello (1 file)" in app.said, "the terminal says what was reloaded")
    assert "reloaded Slow (1 file)" in app.said  # the same code folder: a deploy would update it too


def test_a_syntax_error_fails_the_function_as_on_aws_and_the_next_good_save_recovers(
    app: App, running: LocalStack
) -> None:
    app.write_handler("def handler(event, context)\n    return None\n")

    eventually(lambda: hello(running).status == 502, "the broken function answers 502")
    assert hello(running).body == {"message": "Internal server error"}

    app.write_handler(HELLO.format(version=3))

    eventually(lambda: hello(running).status == 200 and hello(running).body["version"] == 3, "the fix answers")


def test_a_save_within_the_same_second_and_of_the_same_size_runs_the_new_code(app: App, running: LocalStack) -> None:
    # Given a handler that has run (Python cached its bytecode, keyed by the file's mtime in seconds and its size)
    app.write_handler(HELLO.format(version=4))
    eventually(lambda: hello(running).body["version"] == 4, "version 4 answers")
    saved_at = app.handler.stat().st_mtime

    # When it is saved again with the same size, within the same second, as a quick editor does
    # (written beside it and renamed over it: one save, one event)
    draft = app.handler.with_name("draft.txt")
    draft.write_text(HELLO.format(version=5))
    os.utime(draft, (saved_at, saved_at))
    os.replace(draft, app.handler)

    # Then the new code runs, not the bytecode of the old
    eventually(lambda: hello(running).body["version"] == 5, "version 5 answers")


def test_a_busy_worker_finishes_its_invocation_and_is_replaced_after_it(running: LocalStack) -> None:
    first = running.invoke("Slow", {"seconds": 0})
    results = []
    busy = threading.Thread(target=lambda: results.append(running.invoke("Slow", {"seconds": 1.5})))
    busy.start()
    assert isinstance(running.runner, WorkerRunner)
    pool = running.runner.pools["Slow"]
    eventually(lambda: pool.busy() == 1, "the slow invocation started", 10)

    (Path(running.functions["Slow"].code_path) / "slow.py").write_text(SLOW + "\n# saved again\n")
    busy.join(timeout=30)

    (during,) = results
    assert during.ok, during.error
    assert during.worker_pid == first.worker_pid  # it was not killed by the reload
    after = running.invoke("Slow", {"seconds": 0})
    assert after.cold
    assert after.worker_pid != first.worker_pid


def test_a_changed_environment_in_the_template_is_applied_live(app: App, running: LocalStack) -> None:
    app.write_template(greeting="bonjour", key="id")

    eventually(lambda: hello(running).body["greeting"] == "bonjour", "the new environment is seen")
    eventually(lambda: any(line.startswith("applied Hello: environment") for line in app.said), "the terminal says so")


def test_a_change_that_needs_a_restart_is_said_in_one_line_and_the_stack_runs_on(app: App, running: LocalStack) -> None:
    app.write_template(greeting="bonjour", key="note_id")

    eventually(lambda: any("restart `samlocal up` to apply" in line for line in app.said), "the restart notice")
    (notice,) = [line for line in app.said if "restart `samlocal up` to apply" in line]
    assert "table Notes's definition" in notice
    assert hello(running).status == 200


def test_a_half_written_template_is_reported_and_changes_nothing(app: App, running: LocalStack) -> None:
    app.template.write_text(textwrap.dedent("Resources:\n  Hello: [unclosed\n"))

    eventually(lambda: any(line.startswith("template.yaml not applied") for line in app.said), "the refusal")
    assert hello(running).body["greeting"] == "bonjour"
    app.write_template(greeting="bonjour", key="note_id")


def queue_app(batch_size: int, queues: tuple[str, ...] = ("Jobs",)) -> Stack:
    resources: dict[str, Any] = {name: {"Type": "AWS::SQS::Queue"} for name in queues}
    resources["Worker"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Handler": "worker.handler",
            "Runtime": "python3.13",
            "CodeUri": "functions/",
            "Events": {
                "Jobs": {
                    "Type": "SQS",
                    "Properties": {"Queue": {"Fn::GetAtt": ["Jobs", "Arn"]}, "BatchSize": batch_size},
                }
            },
        },
    }
    return Stack({"Resources": resources})


def test_an_event_source_setting_is_applied_live_and_a_new_queue_needs_a_restart() -> None:
    running = queue_app(batch_size=10)
    functions = {function.logical_id: function for function in running.functions()}

    resized = compare(running, functions, queue_app(batch_size=1))
    grown = compare(running, functions, queue_app(batch_size=10, queues=("Jobs", "More")))

    assert resized.applied == ["Worker: sqs event source settings"]
    assert resized.functions["Worker"].sqs_sources[0].batch_size == 1
    assert resized.needs_restart == []
    assert grown.applied == []
    assert grown.summary() == ["restart `samlocal up` to apply: new queue More"]


def greets_with(stack: LocalStack, greeting: str) -> Callable[[], bool]:
    return lambda: bool(hello(stack).body["greeting"] == greeting)


def test_a_template_saved_by_renaming_a_new_file_over_it_is_applied_and_watched_after(
    app: App, running: LocalStack
) -> None:
    for greeting in ("salut", "hallo"):
        written = app.template.with_suffix(".tmp")
        written.write_text(TEMPLATE.format(greeting=greeting, key="note_id"))
        written.replace(app.template)  # as editors that save atomically do

        eventually(greets_with(running, greeting), f"{greeting} is seen")
