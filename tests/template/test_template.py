"""What must hold of the deployed template, checked on SAM's own translation of it."""

import json
import re
from typing import Any

import pytest

from tests.template.conftest import BACK_OFFICE, STOREFRONT, TEMPLATE, Deploy, of_type

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b9a5f4e-3c1d-4e8a-9f6b-2d7c8e1a4b3f"
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
    resources: dict[str, Any], sam_template: dict[str, Any]
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
        concurrency = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        if isinstance(concurrency, dict):  # a parameter (Ref): the least it can be is its MinValue
            concurrency = sam_template["Parameters"][concurrency["Ref"]]["MinValue"]
        assert concurrency >= 2


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
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}


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


@pytest.mark.parametrize(
    "queue",
    [
        "NotificationDeadLetterQueue",
        "ProcessOrderFailureQueue",
        "AnnouncerFailureQueue",
        "OrderPlacedRuleDeadLetterQueue",
    ],
)
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


def test_process_order_retries_twice_then_sends_the_event_to_its_failure_queue(resources: dict[str, Any]) -> None:
    (config,) = [
        config
        for config in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": "ProcessOrderFunction"}
    ]
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["ProcessOrderFailureQueue", "Arn"]
    }


def test_the_stalled_order_sweeper_may_only_query_the_pending_index_and_announce(resources: dict[str, Any]) -> None:
    role = role_of(resources["SweepStalledOrdersFunction"], resources)

    granted = {
        action: statement["Resource"]
        for statement in statements(role)
        for action in as_list(statement["Action"])
        if action.startswith(("dynamodb:", "events:"))
    }

    assert granted == {
        "dynamodb:Query": {"Fn::Sub": "${OrdersTable.Arn}/index/GSI2"},
        "events:PutEvents": {"Fn::GetAtt": ["OrderEventBus", "Arn"]},
    }


def test_the_stalled_order_sweeper_runs_every_five_minutes_with_the_age_from_its_parameter(
    resources: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    (schedule,) = [
        rule
        for rule in of_type(resources, "AWS::Events::Rule").values()
        if rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["SweepStalledOrdersFunction", "Arn"]}
    ]
    variables = resources["SweepStalledOrdersFunction"]["Properties"]["Environment"]["Variables"]

    assert schedule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert variables["STALLED_ORDER_AGE_MINUTES"] == {"Ref": "StalledOrderAgeMinutes"}
    assert sam_template["Parameters"]["StalledOrderAgeMinutes"]["Default"] == 15


def test_the_pending_index_is_keyed_by_shard_and_age(resources: dict[str, Any]) -> None:
    indexes = resources["OrdersTable"]["Properties"]["GlobalSecondaryIndexes"]

    (pending,) = [index for index in indexes if index["IndexName"] == "GSI2"]

    assert pending["KeySchema"] == [
        {"AttributeName": "GSI2PK", "KeyType": "HASH"},
        {"AttributeName": "GSI2SK", "KeyType": "RANGE"},
    ]


def test_stalled_orders_that_needed_a_second_announcement_raise_an_alarm(resources: dict[str, Any]) -> None:
    (alarm,) = [
        alarm
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == "StalledOrdersReannounced"
    ]

    assert alarm["Properties"]["Namespace"] == "OrderService"
    assert alarm["Properties"]["Dimensions"] == [{"Name": "service", "Value": "order-service"}]
    assert (alarm["Properties"]["Statistic"], alarm["Properties"]["Threshold"]) == ("Sum", 0)
    assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_order_placed_rule_retries_its_delivery_then_dead_letters_it(resources: dict[str, Any]) -> None:
    (target,) = resources["ProcessOrderFunctionOrderPlaced"]["Properties"]["Targets"]

    assert target["Arn"] == {"Fn::GetAtt": ["ProcessOrderFunction", "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["OrderPlacedRuleDeadLetterQueue", "Arn"]}}


def test_only_the_order_placed_rule_may_send_to_its_dead_letter_queue(resources: dict[str, Any]) -> None:
    (policy,) = [
        policy
        for policy in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": "OrderPlacedRuleDeadLetterQueue"}]
    ]

    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]

    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["OrderPlacedRuleDeadLetterQueue", "Arn"]}
    rule = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"]
    assert rule == ["ProcessOrderFunctionOrderPlaced", "Arn"]
    assert resources[rule[0]]["Type"] == "AWS::Events::Rule"


def allowed_by(pattern: str, value: str) -> bool:
    """CloudFormation's AllowedPattern: the whole value must match."""
    return re.fullmatch(pattern, value) is not None


def policy_of_the_api(resources: dict[str, Any]) -> list[dict[str, Any]]:
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    statements: list[dict[str, Any]] = api["Properties"]["Body"]["x-amazon-apigateway-policy"]["Statement"]
    return statements


def split(value: Any) -> list[str]:
    """`Fn::Split` over a literal, as CloudFormation evaluates it."""
    delimiter, text = value["Fn::Split"]
    assert isinstance(text, str), f"the parameter's value is not substituted: {value}"
    return text.split(delimiter)


def decrypting_roles(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [statement for statement in statements(role) if "kms:Decrypt" in as_list(statement["Action"])]
        for name, role in of_type(resources, "AWS::IAM::Role").items()
        if any("kms:Decrypt" in as_list(statement["Action"]) for statement in statements(role))
    }


def secret_reading_roles(resources: dict[str, Any]) -> set[str]:
    return {
        name
        for name, role in of_type(resources, "AWS::IAM::Role").items()
        if any("secretsmanager:GetSecretValue" in as_list(statement["Action"]) for statement in statements(role))
    }


@pytest.mark.parametrize("store", ["dynamodb", "postgres"])
def test_with_its_defaults_no_function_reserves_concurrency(deploy: Deploy, store: str) -> None:
    # Given a new account: a concurrency quota of 10, all of which must stay unreserved
    deployed = deploy(OrderStore=store, DatabaseSecretArn=SECRET_ARN if store == "postgres" else "")

    # When the stack deploys with every parameter at its default but the required ones
    reserving = {
        name: function["Properties"]["ReservedConcurrentExecutions"]
        for name, function in functions(deployed).items()
        if "ReservedConcurrentExecutions" in function["Properties"]
    }

    # Then no function reserves any
    assert reserving == {}
    assert ("RelayOutboxFunction" in functions(deployed)) == (store == "postgres")


def test_process_order_reserves_what_its_parameter_sets_once_the_quota_allows(deploy: Deploy) -> None:
    deployed = deploy(ProcessOrderReservedConcurrency="10")

    reserving = {
        name: function["Properties"]["ReservedConcurrentExecutions"]
        for name, function in functions(deployed).items()
        if "ReservedConcurrentExecutions" in function["Properties"]
    }

    assert reserving == {"ProcessOrderFunction": {"Ref": "ProcessOrderReservedConcurrency"}}


@pytest.mark.parametrize(("value", "allowed"), [("", True), ("10", True), ("0", False), ("-1", False), ("ten", False)])
def test_the_reserved_concurrency_parameter_is_empty_or_a_positive_number(
    sam_template: dict[str, Any], value: str, allowed: bool
) -> None:
    parameter = sam_template["Parameters"]["ProcessOrderReservedConcurrency"]

    assert parameter["Default"] == ""
    assert allowed_by(parameter["AllowedPattern"], value) is allowed


def test_the_sender_address_must_be_given_at_deploy(sam_template: dict[str, Any]) -> None:
    parameter = sam_template["Parameters"]["SenderEmail"]

    assert "Default" not in parameter
    assert "example.com" not in TEMPLATE.read_text()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "orders",
        "orders@",
        "@yourshop.example",
        "orders@yourshop",
        "my orders@yourshop.example",
        "orders@yourshop.example,more@yourshop.example",
        "orders@@yourshop.example",
    ],
)
def test_a_sender_that_is_not_an_address_is_refused(sam_template: dict[str, Any], value: str) -> None:
    parameter = sam_template["Parameters"]["SenderEmail"]

    assert not allowed_by(parameter["AllowedPattern"], value)
    assert parameter["ConstraintDescription"]


@pytest.mark.parametrize("value", ["orders@yourshop.example", "no-reply+orders@mail.yourshop.co.uk"])
def test_a_sender_address_is_accepted(sam_template: dict[str, Any], value: str) -> None:
    assert allowed_by(sam_template["Parameters"]["SenderEmail"]["AllowedPattern"], value)


def test_every_alarm_reports_when_it_clears_where_it_reports_when_it_fires(deploy: Deploy) -> None:
    deployed = deploy(OrderStore="postgres", DatabaseSecretArn=SECRET_ARN)
    alarms = of_type(deployed, "AWS::CloudWatch::Alarm")

    without = {
        name: (alarm["Properties"].get("AlarmActions"), alarm["Properties"].get("OKActions"))
        for name, alarm in alarms.items()
        if alarm["Properties"].get("OKActions") != alarm["Properties"].get("AlarmActions")
        or alarm["Properties"].get("AlarmActions") != [{"Ref": "AlarmTopic"}]
    }

    assert alarms
    assert without == {}


def test_what_the_alarms_and_the_roles_share_is_written_once() -> None:
    lines = [line.split("#", 1)[0] for line in TEMPLATE.read_text().splitlines()]

    def written(text: str) -> int:
        return sum(text in line for line in lines)

    for setting in ("TreatMissingData:", "ComparisonOperator:", "AlarmActions:", "OKActions:"):
        assert written(setting) == 1, setting
    for statement in ("SendTraces", "ReadDatabaseCredentials", "DecryptDatabaseCredentials", "AttachToTheDatabaseVpc"):
        assert written(f"Sid: {statement}") == 1, statement


def test_the_api_allows_exactly_the_configured_callers(resources: dict[str, Any]) -> None:
    # Given ApiCallerPrincipals names the storefront's and the back office's roles (conftest)
    # When SAM translates the API
    allows = [statement for statement in policy_of_the_api(resources) if statement["Effect"] == "Allow"]

    # Then its resource policy allows those two roles, and no one else, to invoke it
    (allow,) = allows
    assert split(allow["Principal"]["AWS"]) == [STOREFRONT, BACK_OFFICE]
    assert (allow["Action"], allow["Resource"]) == ("execute-api:Invoke", "execute-api:/*")
    assert "Condition" not in allow


def test_every_principal_not_configured_is_denied_whatever_its_iam_policy_grants(resources: dict[str, Any]) -> None:
    # Within the account, an identity policy granting execute-api:Invoke is enough where the
    # resource policy is silent: only an explicit Deny keeps the other principals out.
    denies = [statement for statement in policy_of_the_api(resources) if statement["Effect"] == "Deny"]

    (deny,) = denies
    assert deny["Principal"] == "*"
    assert (deny["Action"], deny["Resource"]) == ("execute-api:Invoke", "execute-api:/*")
    assert set(deny["Condition"]) == {"ArnNotEquals"}
    assert set(deny["Condition"]["ArnNotEquals"]) == {"aws:PrincipalArn"}
    assert split(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == [STOREFRONT, BACK_OFFICE]


def test_the_api_callers_must_be_given_at_deploy(sam_template: dict[str, Any]) -> None:
    assert "Default" not in sam_template["Parameters"]["ApiCallerPrincipals"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "*",
        "123456789012",
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::12345:role/storefront",
        "arn:aws:sts::123456789012:assumed-role/storefront/session",
        f"{STOREFRONT}, {BACK_OFFICE}",
        f"{STOREFRONT},",
        f"{STOREFRONT},*",
    ],
)
def test_a_malformed_api_caller_is_refused(sam_template: dict[str, Any], value: str) -> None:
    assert not allowed_by(sam_template["Parameters"]["ApiCallerPrincipals"]["AllowedPattern"], value)


@pytest.mark.parametrize(
    "value", [STOREFRONT, f"{STOREFRONT},{BACK_OFFICE}", "arn:aws-us-gov:iam::123456789012:role/storefront"]
)
def test_a_list_of_role_arns_is_accepted_as_api_callers(sam_template: dict[str, Any], value: str) -> None:
    assert allowed_by(sam_template["Parameters"]["ApiCallerPrincipals"]["AllowedPattern"], value)


def test_with_a_key_for_the_secret_every_role_that_reads_it_may_decrypt_it_through_secrets_manager(
    deploy: Deploy,
) -> None:
    # Given the postgres store, with a secret encrypted under a customer-managed key
    deployed = deploy(OrderStore="postgres", DatabaseSecretArn=SECRET_ARN, DatabaseSecretKmsKeyArn=KEY_ARN)

    # When the roles are deployed
    decrypting = decrypting_roles(deployed)

    # Then exactly the roles that read the secret may decrypt, with that key, via Secrets Manager only
    assert set(decrypting) == secret_reading_roles(deployed)
    assert set(decrypting) == {
        "ApiFunctionRole",
        "ProcessOrderRole",
        "SweepStalledOrdersRole",
        "RelayOutboxRole",
        "SendNotificationRole",
    }
    for name, (statement,) in decrypting.items():
        assert statement["Effect"] == "Allow", name
        assert statement["Resource"] == {"Ref": "DatabaseSecretKmsKeyArn"}, name
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
        }, name


@pytest.mark.parametrize(
    "parameters",
    [
        {"OrderStore": "postgres", "DatabaseSecretArn": SECRET_ARN},
        {"OrderStore": "dynamodb", "DatabaseSecretKmsKeyArn": KEY_ARN},
        {},
    ],
    ids=["postgres-without-key", "dynamodb-with-key", "defaults"],
)
def test_without_a_key_for_the_secret_or_without_the_secret_no_role_may_decrypt(
    deploy: Deploy, parameters: dict[str, str]
) -> None:
    deployed = deploy(**parameters)

    assert decrypting_roles(deployed) == {}


def test_the_database_certificate_is_verified_by_default(sam_template: dict[str, Any], deploy: Deploy) -> None:
    deployed = deploy(OrderStore="postgres", DatabaseSecretArn=SECRET_ARN)

    assert sam_template["Parameters"]["DatabaseSslMode"]["Default"] == "verify-full"
    for name, function in functions(deployed).items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["DATABASE_SSLMODE"] == {"Ref": "DatabaseSslMode"}, name
        # No CA bundle given: the code's own Amazon Trust Services roots are used.
        assert "DATABASE_SSLROOTCERT" not in variables, name


def test_a_ca_bundle_given_reaches_every_function(deploy: Deploy) -> None:
    # Given a direct RDS instance, whose CA bundle is packaged with the code
    deployed = deploy(
        OrderStore="postgres", DatabaseSecretArn=SECRET_ARN, DatabaseCaBundle="/var/task/order_service/ca.pem"
    )

    # When the functions are deployed
    bundles = {
        name: function["Properties"]["Environment"]["Variables"].get("DATABASE_SSLROOTCERT")
        for name, function in functions(deployed).items()
    }

    # Then each one verifies the database's certificate against it
    assert bundles == {name: {"Ref": "DatabaseCaBundle"} for name in functions(deployed)}
