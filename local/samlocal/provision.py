"""Creates the template's resources in the embedded emulator."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from samlocal.emulator import LOCAL_USER_AGENT
from samlocal.intrinsics import UnsupportedConstructError
from samlocal.template import REGION, FunctionSpec, RuleSource, Stack

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}

ASYNC_EVENT_HOLD_SECONDS = 12 * 3600
_TABLE_PROPERTIES = {
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
    "TimeToLiveSpecification",
    "ProvisionedThroughput",
}
_TABLE_NOT_EMULATED = {
    "PointInTimeRecoverySpecification": "point-in-time recovery is not emulated",
    "SSESpecification": "encryption at rest is not emulated",
    "DeletionProtectionEnabled": "deletion protection is not emulated",
    "Tags": "tags are not applied locally",
}
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "MaximumMessageSize",
    "FifoQueue",
    "ContentBasedDeduplication",
}
_QUEUE_NOT_EMULATED = {
    "SqsManagedSseEnabled": "queue encryption is not emulated",
    "KmsMasterKeyId": "queue encryption is not emulated",
    "KmsDataKeyReusePeriodSeconds": "queue encryption is not emulated",
    "Tags": "tags are not applied locally",
}


def aws_client(service: str, endpoint_url: str) -> Any:
    """A client of the local stack's own, which the emulator's fault injection leaves alone."""
    config = Config(user_agent_extra=LOCAL_USER_AGENT, retries={"mode": "standard", "max_attempts": 5})
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=config, **LOCAL_CREDENTIALS)  # type: ignore[call-overload]


@dataclass
class Provisioned:
    """Physical names of what was created, by logical id."""

    tables: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    event_buses: list[str] = field(default_factory=list)
    # rule (function logical id, event name) -> the internal queue EventBridge delivers to
    rule_queues: dict[tuple[str, str], str] = field(default_factory=dict)

    def queue_url_for_arn(self, arn: str) -> str:
        for logical_id, queue_arn in self.queue_arns.items():
            if queue_arn == arn:
                return self.queue_urls[logical_id]
        raise KeyError(f"no queue with ARN {arn} in the stack")


def provision(stack: Stack, endpoint_url: str) -> Provisioned:
    done = Provisioned()
    _create_queues(stack, endpoint_url, done)
    _create_tables(stack, endpoint_url, done)
    events = aws_client("events", endpoint_url)
    for bus in stack.event_buses():
        if bus != "default":
            events.create_event_bus(Name=bus)
        done.event_buses.append(bus)
    ses = aws_client("ses", endpoint_url)
    for identity in stack.email_identities():
        ses.verify_email_identity(EmailAddress=identity)
    sns = aws_client("sns", endpoint_url)
    for topic in stack.topics():
        sns.create_topic(Name=topic)
    return done


def _create_tables(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    dynamodb = aws_client("dynamodb", endpoint_url)
    for table in stack.tables():
        properties = dict(table.properties)
        for name in properties:
            if name in _TABLE_NOT_EMULATED:
                stack.not_emulated[f"{table.logical_id}.{name}"] = _TABLE_NOT_EMULATED[name]
            elif name not in _TABLE_PROPERTIES and name != "TableName":
                raise UnsupportedConstructError(f"table property {name}", table.logical_id)
        request: dict[str, Any] = {
            key: properties[key]
            for key in _TABLE_PROPERTIES - {"StreamSpecification", "TimeToLiveSpecification"}
            if key in properties
        }
        request["TableName"] = table.name
        request.setdefault("BillingMode", "PROVISIONED")
        if request["BillingMode"] == "PROVISIONED":
            request.setdefault("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
        stream = properties.get("StreamSpecification")
        if stream is not None:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        description = dynamodb.create_table(**request)["TableDescription"]
        done.tables[table.logical_id] = table.name
        if stream is not None:
            done.stream_arns[table.logical_id] = description["LatestStreamArn"]
            stack.set_stream_arn(table.logical_id, description["LatestStreamArn"])
        ttl = properties.get("TimeToLiveSpecification")
        if ttl is not None and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
            stack.not_emulated[f"{table.logical_id}.TimeToLiveSpecification"] = (
                "items are never expired locally (moto keeps them)"
            )


def _create_queues(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    sqs = aws_client("sqs", endpoint_url)
    redrives: dict[str, Mapping[str, Any]] = {}
    for queue in stack.queues():
        attributes: dict[str, str] = {}
        for name, value in queue.properties.items():
            if name in _QUEUE_ATTRIBUTES:
                attributes[name] = str(value).lower() if isinstance(value, bool) else str(value)
            elif name == "RedrivePolicy":
                redrives[queue.logical_id] = value
            elif name in _QUEUE_NOT_EMULATED:
                stack.not_emulated[f"{queue.logical_id}.{name}"] = _QUEUE_NOT_EMULATED[name]
            elif name != "QueueName":
                raise UnsupportedConstructError(f"queue property {name}", queue.logical_id)
        url = sqs.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
        done.queue_urls[queue.logical_id] = url
        done.queue_arns[queue.logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    for logical_id, redrive in redrives.items():
        sqs.set_queue_attributes(
            QueueUrl=done.queue_urls[logical_id], Attributes={"RedrivePolicy": json.dumps(dict(redrive))}
        )


def create_rule_queue(
    stack: Stack, endpoint_url: str, function: FunctionSpec, rule: RuleSource, done: Provisioned
) -> str:
    """The rule, with an internal queue as its target (moto cannot deliver to Lambda)."""
    sqs = aws_client("sqs", endpoint_url)
    events = aws_client("events", endpoint_url)
    name = f"{stack.stack_name}-rule-{function.logical_id}-{rule.name}"
    # The internal queue stands for Lambda's own async queue: an event stays invisible while its
    # retries run (minutes apart), and is deleted once it succeeded or went to its destination.
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(ASYNC_EVENT_HOLD_SECONDS)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=name[:64], EventBusName=rule.bus_name, EventPattern=json.dumps(dict(rule.pattern)), State="ENABLED"
    )
    events.put_targets(Rule=name[:64], EventBusName=rule.bus_name, Targets=[{"Id": "local-async-invoke", "Arn": arn}])
    done.rule_queues[(function.logical_id, rule.name)] = url
    return str(url)
