"""SQS queues: their attributes applied, redrive policies set once every queue exists."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samlocal.intrinsics import UnsupportedConstructError
from samlocal.provision import Provisioned, aws_client
from samlocal.resources import Declaration, Names, Resource
from samlocal.template import ACCOUNT_ID, REGION, Stack

TYPE = "AWS::SQS::Queue"
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


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    properties: Mapping[str, Any]


def names(declared: Declaration) -> Names:
    url = f"{declared.stack.endpoint_url}/{ACCOUNT_ID}/{declared.name}"
    return Names(
        url,
        {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{declared.name}", "QueueName": declared.name, "QueueUrl": url},
    )


def queues(stack: Stack) -> list[QueueSpec]:
    return [
        QueueSpec(
            logical_id,
            str(stack.intrinsics.attributes[(logical_id, "QueueName")]),
            stack.resolved(logical_id, properties),
        )
        for logical_id, properties in stack.of_type(TYPE).items()
    ]


def provision(stack: Stack, endpoint_url: str, done: Provisioned) -> None:
    sqs = aws_client("sqs", endpoint_url)
    redrives: dict[str, Mapping[str, Any]] = {}
    for queue in queues(stack):
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


RESOURCE = Resource((TYPE,), names, provision)
