"""What must hold of the deployed template, checked on SAM's own translation of it."""

import json
import re
from typing import Any

import pytest

from tests.template.conftest import of_type

SECRET_NAME = re.compile(r"(PASSWORD|SECRET(?!_ARN$)|TOKEN|PRIVATE|CREDENTIAL)", re.IGNORECASE)
# X-Ray's trace-writing actions and Lambda's VPC attachment (EC2 network interfaces) cannot be
# scoped to a resource; nothing else may use "*".
ACTIONS_THAT_REQUIRE_STAR = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def functions(resources: dict[str, Any]) -> dict[str, Any]:
    return of_type(resources, "AWS::Lambda::Function")


def role_of(function: dict[str, Any], resources: dict[str, Any]) -> dict[str, Any]:
    role = function["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"}, "every function has a role of its own, declared in the template"
    return dict(resources[role["Fn::GetAtt"][0]])


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement, conditional ones (`Fn::If [cond, statement, AWS::NoValue]`) included."""
    found: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                found.extend(branch for branch in statement["Fn::If"][1:] if branch != {"Ref": "AWS::NoValue"})
            else:
                found.append(statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_runs_python_3_13_on_arm64_with_active_tracing(resources: dict[str, Any]) -> None:
    for name, function in functions(resources).items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name


def test_every_function_has_powertools_settings_and_a_log_group_with_retention(resources: dict[str, Any]) -> None:
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"} <= set(variables), name
        log_group = resources[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_every_iam_statement_names_specific_resources(resources: dict[str, Any]) -> None:
    for name, function in functions(resources).items():
        role = role_of(function, resources)
        assert not role["Properties"].get("ManagedPolicyArns"), f"{name}: managed policies grant on '*'"
        for statement in statements(role):
            targets = as_list(statement["Resource"])
            if "*" in targets:
                assert set(as_list(statement["Action"])) <= ACTIONS_THAT_REQUIRE_STAR, f"{name}: {statement}"
            else:
                assert all(isinstance(target, dict) or target.startswith("arn:") for target in targets), (
                    f"{name}: {statement}"
                )
            assert not any("*" in action for action in as_list(statement["Action"])), (
                f"{name}: wildcard action {statement}"
            )


def test_no_function_may_scan_or_delete_orders(resources: dict[str, Any]) -> None:
    granted = {
        action
        for function in functions(resources).values()
        for statement in statements(role_of(function, resources))
        for action in as_list(statement["Action"])
    }
    assert not granted & {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:BatchWriteItem"}


def test_the_notification_queue_redrives_after_at_least_five_receives(resources: dict[str, Any]) -> None:
    for name, queue in of_type(resources, "AWS::SQS::Queue").items():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive is not None:
            assert redrive["maxReceiveCount"] >= 5, name


def test_each_queue_event_source_has_a_visibility_timeout_of_at_least_six_times_the_function_timeout(
    resources: dict[str, Any],
) -> None:
    mappings = [
        mapping
        for mapping in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if resources[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    ]
    assert mappings
    for mapping in mappings:
        queue = resources[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]
        function = resources[mapping["Properties"]["FunctionName"]["Ref"]]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_every_api_method_requires_iam_authorization(resources: dict[str, Any]) -> None:
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]
    methods = [(path, verb, operation) for path, verbs in paths.items() for verb, operation in verbs.items()]
    assert len(methods) == 5
    for path, verb, operation in methods:
        assert operation["security"] == [{"AWS_IAM": []}], (path, verb)


def test_the_api_stage_is_throttled_and_traced(resources: dict[str, Any]) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    (settings,) = stage["Properties"]["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0


def test_no_environment_variable_carries_a_secret(resources: dict[str, Any], sam_template: dict[str, Any]) -> None:
    secret_parameters = {name for name, p in sam_template.get("Parameters", {}).items() if p.get("NoEcho")}
    for name, function in functions(resources).items():
        for variable, value in function["Properties"]["Environment"]["Variables"].items():
            assert not SECRET_NAME.search(variable), f"{name}.{variable}"
            assert not any(parameter in json.dumps(value) for parameter in secret_parameters), f"{name}.{variable}"


def test_data_at_rest_is_encrypted_and_orders_are_recoverable(resources: dict[str, Any]) -> None:
    for name, table in of_type(resources, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}, name
    orders = resources["OrdersTable"]
    assert orders["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert orders["DeletionPolicy"] == "Retain"
    for name, queue in of_type(resources, "AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name


@pytest.mark.parametrize("queue", ["NotificationDeadLetterQueue", "ProcessOrderFailureQueue", "AnnouncerFailureQueue"])
def test_every_place_a_failure_can_rest_has_an_alarm(resources: dict[str, Any], queue: str) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm").values()
    watching = [
        a
        for a in alarms
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}} in a["Properties"]["Dimensions"]
    ]
    assert watching, queue
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in watching)


def test_every_function_has_error_and_throttle_alarms(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm").values()
    watched = {
        (alarm["Properties"]["MetricName"], alarm["Properties"]["Dimensions"][0]["Value"]["Ref"])
        for alarm in alarms
        if alarm["Properties"]["Namespace"] == "AWS/Lambda"
    }
    for name in functions(resources):
        assert ("Errors", name) in watched, name
        assert ("Throttles", name) in watched, name


def test_process_order_has_reserved_concurrency_and_an_on_failure_destination(resources: dict[str, Any]) -> None:
    assert resources["ProcessOrderFunction"]["Properties"]["ReservedConcurrentExecutions"] > 0
    (config,) = [
        config
        for config in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": "ProcessOrderFunction"}
    ]
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ProcessOrderFailureQueue", "Arn"]
    }
