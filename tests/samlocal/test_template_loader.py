"""The template loader: what it resolves, and the named error for what it cannot emulate."""

from pathlib import Path
from typing import Any

import pytest
from samlocal.intrinsics import UnsupportedConstructError
from samlocal.template import Stack

ROOT = Path(__file__).resolve().parents[2]
# The template's parameters with no default: a deploy, and every Stack of it, must give them.
REQUIRED = {"SenderEmail": "shop@example.org", "ApiCallerPrincipals": "arn:aws:iam::123456789012:role/storefront"}


def minimal(resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, **extra}


def test_the_service_template_resolves_globals_parameters_and_intrinsics() -> None:
    stack = Stack.from_file(ROOT / "template.yaml", stack_name="t", parameter_overrides=REQUIRED)
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


def test_a_rules_retry_policy_and_dead_letter_queue_are_accepted_and_listed_as_not_emulated() -> None:
    stack = Stack.from_file(ROOT / "template.yaml", stack_name="t", parameter_overrides=REQUIRED)
    stack.set_stream_arn("OrdersTable", "arn:aws:dynamodb:us-east-1:123456789012:table/t-OrdersTable/stream/x")

    (rule,) = {function.logical_id: function for function in stack.functions()}["ProcessOrderFunction"].rule_sources

    assert rule.dead_letter_arn == "arn:aws:sqs:us-east-1:123456789012:t-OrderPlacedRuleDeadLetterQueue"
    assert "OrderPlacedRuleDeadLetterQueue" in [queue.logical_id for queue in stack.queues()]
    assert {
        "ProcessOrderFunction.Events.OrderPlaced.RetryPolicy",
        "ProcessOrderFunction.Events.OrderPlaced.DeadLetterConfig",
    } <= set(stack.not_emulated)


def test_a_dead_letter_queue_sam_would_create_is_refused_by_name() -> None:
    event = {
        "Type": "EventBridgeRule",
        "Properties": {"Pattern": {"source": ["x"]}, "DeadLetterConfig": {"Type": "SQS"}},
    }
    document = minimal(
        {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b", "Events": {"Placed": event}}}}
    )

    with pytest.raises(UnsupportedConstructError) as error:
        Stack(document).functions()

    assert (error.value.construct, error.value.resource) == (
        "event source property Type",
        "Fn.Events.Placed.DeadLetterConfig",
    )


def test_the_stalled_order_sweeper_runs_on_its_schedule_with_the_age_from_its_parameter() -> None:
    stack = Stack.from_file(
        ROOT / "template.yaml", stack_name="t", parameter_overrides={**REQUIRED, "StalledOrderAgeMinutes": "30"}
    )
    stack.set_stream_arn("OrdersTable", "arn:aws:dynamodb:us-east-1:123456789012:table/t-OrdersTable/stream/x")

    sweeper = {function.logical_id: function for function in stack.functions()}["SweepStalledOrdersFunction"]

    assert [schedule.period_seconds for schedule in sweeper.schedule_sources] == [300]
    assert sweeper.environment["STALLED_ORDER_AGE_MINUTES"] == "30"
    assert sweeper.async_config.maximum_retry_attempts == 0


def test_the_apis_resource_policy_is_accepted_and_listed_as_not_emulated() -> None:
    stack = Stack.from_file(ROOT / "template.yaml", stack_name="t", parameter_overrides=REQUIRED)

    apis = stack.apis()

    assert apis["OrdersApi"].authorizer == "AWS_IAM"
    assert "OrdersApi.Auth.ResourcePolicy" in stack.not_emulated


def test_a_reserved_concurrency_given_as_a_parameter_is_a_number() -> None:
    stack = Stack.from_file(
        ROOT / "template.yaml",
        stack_name="t",
        parameter_overrides={**REQUIRED, "ProcessOrderReservedConcurrency": "3"},
    )
    stack.set_stream_arn("OrdersTable", "arn:aws:dynamodb:us-east-1:123456789012:table/t-OrdersTable/stream/x")

    functions = {function.logical_id: function for function in stack.functions()}

    assert functions["ProcessOrderFunction"].reserved_concurrency == 3
    assert functions["SweepStalledOrdersFunction"].reserved_concurrency is None
