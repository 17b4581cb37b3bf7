"""E9001, W9001: a function's timeout against the visibility timeout of the SQS queue it consumes.

AWS, "Creating and configuring an Amazon SQS event source mapping"
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html): "Your function's
timeout must be less than or equal to the queue's visibility timeout. Lambda validates this
requirement when you create or update an event source mapping and will return an error if the
function timeout exceeds the queue's visibility timeout." And: "set the source queue's visibility
timeout to at least six times the configuration timeout on your function. The extra time allows
Lambda to retry if your function is throttled while processing a previous batch."

So a timeout above the visibility timeout is an error (the deploy fails), and a visibility timeout
under six times the timeout a warning (it deploys; a throttled batch's messages become visible
again while it is still being retried, and are received twice). cfn-lint's E3505 checks the
first for an AWS::Lambda::EventSourceMapping on an AWS::Lambda::Function only; these rules also
read SAM's `Events: {Type: SQS}`, SAM Globals and parameter defaults.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import (
    DEFAULT_VISIBILITY_TIMEOUT,
    FUNCTIONS,
    SAM_FUNCTION,
    DefaultDeploy,
    Path,
    properties,
)

SOURCE_URL = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
# "at least six times the configuration timeout on your function"
RECOMMENDED_FACTOR = 6


@dataclass(frozen=True)
class SqsConsumer:
    path: Path
    function: str
    queue: str
    function_timeout: int
    visibility_timeout: int


def sqs_consumers(deploy: DefaultDeploy) -> Iterator[SqsConsumer]:
    """Each function consuming a queue of the template, where both timeouts are known."""
    for event in deploy.sam_events("SQS"):
        function = deploy.resources[event.resource]
        if function.get("Type") != SAM_FUNCTION:
            continue
        consumer = _consumer(deploy, event.path, event.resource, function, event.properties.get("Queue"))
        if consumer is not None:
            yield consumer
    for name, mapping in deploy.of_type("AWS::Lambda::EventSourceMapping"):
        target = deploy.referenced(properties(mapping).get("FunctionName"))
        if target is None or target[1].get("Type") not in FUNCTIONS:
            continue
        consumer = _consumer(
            deploy, ["Resources", name], target[0], target[1], properties(mapping).get("EventSourceArn")
        )
        if consumer is not None:
            yield consumer


def _consumer(
    deploy: DefaultDeploy, path: Path, function_name: str, function: Mapping[str, Any], queue_arn: Any
) -> SqsConsumer | None:
    queue = deploy.referenced(queue_arn)
    if queue is None or queue[1].get("Type") != "AWS::SQS::Queue":
        return None
    function_timeout = deploy.function_timeout(function)
    visibility_timeout = deploy.integer_or(properties(queue[1]).get("VisibilityTimeout"), DEFAULT_VISIBILITY_TIMEOUT)
    if function_timeout is None or visibility_timeout is None:
        return None
    return SqsConsumer(path, function_name, queue[0], function_timeout, visibility_timeout)


class FunctionTimeoutAboveVisibilityTimeout(CloudFormationLintRule):
    """A function's timeout above its SQS queue's visibility timeout: Lambda refuses the event
    source mapping (services-sqs-configure.html, quoted in this module's docstring)."""

    id = "E9001"
    shortdesc = "Function timeout above its SQS queue's visibility timeout"
    description = (
        "Lambda refuses an SQS event source mapping whose function's timeout exceeds the queue's "
        "visibility timeout (SAM SQS events and AWS::Lambda::EventSourceMapping, Globals included)."
    )
    source_url = SOURCE_URL
    tags = ["resources", "lambda", "sqs"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [
            RuleMatch(
                consumer.path,
                f"{consumer.function}'s timeout ({consumer.function_timeout} s) exceeds the visibility "
                f"timeout of {consumer.queue} ({consumer.visibility_timeout} s): Lambda refuses the "
                f"event source mapping. Set VisibilityTimeout to at least "
                f"{RECOMMENDED_FACTOR * consumer.function_timeout} s ({RECOMMENDED_FACTOR}x the timeout).",
            )
            for consumer in sqs_consumers(DefaultDeploy(cfn.template))
            if consumer.function_timeout > consumer.visibility_timeout
        ]


class VisibilityTimeoutUnderSixTimesFunctionTimeout(CloudFormationLintRule):
    """A queue's visibility timeout under six times its consumer's timeout: it deploys, but a
    batch retried while the function is throttled shows up again before it is done."""

    id = "W9001"
    shortdesc = "SQS visibility timeout under 6x its function's timeout"
    description = (
        "AWS recommends a source queue's visibility timeout of at least six times the consuming "
        "function's timeout, so that Lambda can retry a batch while the function is throttled."
    )
    source_url = SOURCE_URL
    tags = ["resources", "lambda", "sqs"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        return [
            RuleMatch(
                consumer.path,
                f"The visibility timeout of {consumer.queue} ({consumer.visibility_timeout} s) is under "
                f"{RECOMMENDED_FACTOR}x {consumer.function}'s timeout ({consumer.function_timeout} s): "
                f"AWS recommends at least {RECOMMENDED_FACTOR * consumer.function_timeout} s.",
            )
            for consumer in sqs_consumers(DefaultDeploy(cfn.template))
            if consumer.function_timeout <= consumer.visibility_timeout < RECOMMENDED_FACTOR * consumer.function_timeout
        ]
