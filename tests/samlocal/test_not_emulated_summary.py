"""What `orders up` says of the template's parts it does not emulate: a few lines, or all with --verbose."""

from rich.console import Console
from samlocal.not_emulated import grouped, summary

NOT_EMULATED = {
    "ApiErrorsAlarm": "CloudWatch alarms are not emulated",
    "ProcessOrderErrorsAlarm": "CloudWatch alarms are not emulated",
    "SendNotificationErrorsAlarm": "CloudWatch alarms are not emulated",
    "ApiFunctionRole": "IAM roles are not emulated",
    "ApiFunction.Tracing": "X-Ray segments are collected locally, not sent",
    "ProcessOrderFunction.Tracing": "X-Ray segments are collected locally, not sent",
    "ApiFunction.SnapStart": "SnapStart is not emulated; every cold start is a full init",
    "OrdersTable.SSESpecification": "encryption at rest is not emulated",
    "NotificationQueue.SqsManagedSseEnabled": "queue encryption is not emulated",
    "OrdersApi.Auth.ResourcePolicy": "the resource policy is not evaluated",
    "ServerlessRestApi.TracingEnabled": "API Gateway's own X-Ray segments are not made",
    "ProcessOrderFunction.Events.OrderPlaced.RetryPolicy": "EventBridge's delivery to Lambda never fails locally",
}
TYPES = {
    "ApiErrorsAlarm": "AWS::CloudWatch::Alarm",
    "ProcessOrderErrorsAlarm": "AWS::CloudWatch::Alarm",
    "SendNotificationErrorsAlarm": "AWS::CloudWatch::Alarm",
    "ApiFunctionRole": "AWS::IAM::Role",
    "ApiFunction": "AWS::Serverless::Function",
    "ProcessOrderFunction": "AWS::Serverless::Function",
    "OrdersTable": "AWS::DynamoDB::Table",
    "NotificationQueue": "AWS::SQS::Queue",
    "OrdersApi": "AWS::Serverless::Api",
}


def printed(*, verbose: bool) -> list[str]:
    console = Console(width=200, record=True, color_system=None)
    for line in summary(NOT_EMULATED, TYPES, verbose=verbose):
        console.print(line)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_entries_are_counted_by_kind_whole_resources_first_largest_first() -> None:
    groups = grouped(NOT_EMULATED, TYPES)

    assert groups == [
        ("resources", "CloudWatch alarms (3), IAM roles (1)"),
        ("functions", "Tracing (2), SnapStart (1)"),
        ("APIs", "Auth.ResourcePolicy (1), TracingEnabled (1)"),
        ("tables", "SSESpecification (1)"),
        ("queues", "SqsManagedSseEnabled (1)"),
        ("event sources", "RetryPolicy (1)"),
    ]


def test_by_default_the_list_takes_a_line_per_kind_and_says_how_to_see_it_all() -> None:
    lines = printed(verbose=False)

    assert lines[0] == (
        "Declared in the template but not emulated locally (12; `samlocal up --verbose` lists each, and why):"
    )
    assert lines[1] == "  resources      CloudWatch alarms (3), IAM roles (1)"
    assert len(lines) == 7
    assert not any("ApiErrorsAlarm" in line for line in lines)


def test_verbose_lists_every_entry_with_why() -> None:
    lines = printed(verbose=True)

    assert lines[0] == "Declared in the template but not emulated locally:"
    assert "  ApiFunction.SnapStart: SnapStart is not emulated; every cold start is a full init" in lines
    assert len(lines) == 1 + len(NOT_EMULATED)


def test_nothing_is_said_when_everything_is_emulated() -> None:
    assert summary({}, TYPES, verbose=False) == []
