"""An exception in a function invoked asynchronously is logged, retried, and sent to its
on-failure destination, as Lambda does; it never vanishes."""

import json
import time
from collections.abc import Callable
from pathlib import Path

from samlocal.local_stack import LocalStack, StackOptions

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Failed:
    Type: AWS::SQS::Queue
  Fragile:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: fragile.handler
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt Failed.Arn
      Events:
        Shipped:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [shop.shipping]}
"""

FRAGILE = """
def handler(event, context):
    raise ValueError(f"cannot ship parcel {event['detail']['parcel']}")
"""


def eventually(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_exception_in_an_asynchronously_invoked_function_is_logged_retried_and_sent_to_its_destination(
    tmp_path: Path,
) -> None:
    # Given a function on an EventBridge rule that raises, with one retry and an on-failure queue
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "fragile.py").write_text(FRAGILE)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    options = StackOptions(template=tmp_path / "template.yaml", time_scale=0.01)
    with LocalStack(options) as stack:
        failed = stack.resources.queue_urls["Failed"]

        # When a matching event is put on the bus
        stack.client("events").put_events(
            Entries=[{"Source": "shop.shipping", "DetailType": "Shipped", "Detail": '{"parcel": 7}'}]
        )
        eventually(lambda: stack.queue_depth(failed) == 1, timeout=60)

        # Then it was tried twice, each failure is in the function's log, and the destination has the record
        (message,) = stack.client("sqs").receive_message(QueueUrl=failed)["Messages"]
        logged = [line.text for line in stack.logs.lines if line.function == "Fragile"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["detail"] == {"parcel": 7}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "cannot ship parcel 7"
    assert sum("cannot ship parcel 7" in text for text in logged) >= 2
