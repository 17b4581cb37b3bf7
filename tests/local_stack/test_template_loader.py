"""The template loader: what it resolves, and the named error for what it cannot emulate."""

from pathlib import Path
from typing import Any

import pytest
from orders_local.intrinsics import UnsupportedConstructError
from orders_local.template import Stack

ROOT = Path(__file__).resolve().parents[2]


def minimal(resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, **extra}


def test_the_service_template_resolves_globals_parameters_and_intrinsics() -> None:
    stack = Stack.from_file(
        ROOT / "template.yaml", stack_name="t", parameter_overrides={"SenderEmail": "shop@example.org"}
    )
    stack.set_stream_arn("OrdersTable", "arn:aws:dynamodb:us-east-1:123456789012:table/t-OrdersTable/stream/x")

    functions = {function.logical_id: function for function in stack.functions()}

    notify = functions["SendNotificationFunction"]
    assert notify.environment["SENDER_EMAIL"] == "shop@example.org"
    assert notify.environment["POWERTOOLS_SERVICE_NAME"] == "order-service"  # from Globals
    assert notify.timeout_seconds == 10
    assert notify.sqs_sources[0].report_item_failures
    announcer = functions["AnnounceOrderChangesFunction"]
    assert announcer.environment["NOTIFICATION_QUEUE_URL"].endswith("/123456789012/t-NotificationQueue")
    assert announcer.stream_sources[0].table_logical_id == "OrdersTable"
    assert functions["ProcessOrderFunction"].rule_sources[0].bus_name == "t-orders"


def test_an_unsupported_resource_type_is_named_with_its_resource() -> None:
    document = minimal({"Clicks": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}}})

    with pytest.raises(UnsupportedConstructError) as error:
        Stack(document)

    assert (error.value.construct, error.value.resource) == ("resource type AWS::Kinesis::Stream", "Clicks")


def test_an_unsupported_intrinsic_is_named_with_its_resource() -> None:
    document = minimal(
        {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": {"Fn::FindInMap": ["M", "a", "b"]}}}},
        Mappings={"M": {"a": {"b": 1}}},
    )

    with pytest.raises(UnsupportedConstructError, match="unsupported construct Fn::FindInMap in Jobs"):
        Stack(document).queues()


def test_an_unsupported_event_source_is_named_with_its_function_and_event() -> None:
    document = minimal(
        {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "a.b",
                    "Events": {
                        "Clicks": {
                            "Type": "Kinesis",
                            "Properties": {"Stream": "arn:aws:kinesis:us-east-1:123456789012:stream/c"},
                        }
                    },
                },
            }
        }
    )

    with pytest.raises(UnsupportedConstructError) as error:
        Stack(document).functions()

    assert (error.value.construct, error.value.resource) == ("event source type Kinesis", "Fn.Events.Clicks")


def test_an_unknown_parameter_override_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown template parameter"):
        Stack.from_file(ROOT / "template.yaml", parameter_overrides={"Nope": "1"})


def test_a_cron_schedule_is_refused_by_name() -> None:
    event = {"Type": "Schedule", "Properties": {"Schedule": "cron(0 12 * * ? *)"}}
    document = minimal(
        {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b", "Events": {"Noon": event}}}}
    )

    with pytest.raises(UnsupportedConstructError, match=r"schedule expression cron\(0 12"):
        Stack(document).functions()


def test_conditions_decide_which_resources_exist() -> None:
    document = minimal(
        {"Extra": {"Type": "AWS::SQS::Queue", "Condition": "WantExtra"}, "Always": {"Type": "AWS::SQS::Queue"}},
        Parameters={"Mode": {"Type": "String", "Default": "small"}},
        Conditions={"WantExtra": {"Fn::Equals": [{"Ref": "Mode"}, "large"]}},
    )

    assert [queue.logical_id for queue in Stack(document).queues()] == ["Always"]
    assert len(Stack(document, parameter_overrides={"Mode": "large"}).queues()) == 2
