"""Creates the template's resources in the embedded emulator, each kind by its module of
`resources/`."""

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from samlocal.emulator import LOCAL_USER_AGENT
from samlocal.template import REGION, FunctionSpec, RuleSource, Stack

LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}

ASYNC_EVENT_HOLD_SECONDS = 12 * 3600


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
    """Every resource the stack's kinds create (resources/registry.py), kind after kind."""
    from samlocal.resources import registry

    done = Provisioned()
    for kind in registry.RESOURCES:
        kind.provision(stack, endpoint_url, done)
    return done


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
