"""E9006: an SQS event source with a BatchSize above 10 and no batching window of a second or more.

AWS, Lambda API reference, CreateEventSourceMapping
(https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html), BatchSize:
"Amazon Simple Queue Service – Default 10. For standard queues the max is 10,000. For FIFO queues
the max is 10." and "Related setting: When you set BatchSize to a value greater than 10, you must
set MaximumBatchingWindowInSeconds to at least 1." Lambda refuses the mapping otherwise, and the
stack's deploy fails; SQS's batching window defaults to 0 ("Lambda parameters for Amazon SQS event
source mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).

Read in SAM `Events: {Type: SQS}` and in AWS::Lambda::EventSourceMapping whose EventSourceArn is
a queue of the template (`!GetAtt Queue.Arn`) or an SQS ARN written out.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import DefaultDeploy, Path, properties

LARGEST_UNWINDOWED_BATCH = 10


def _sqs_sources(deploy: DefaultDeploy) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    for event in deploy.sam_events("SQS"):
        yield event.path, event.properties
    for name, mapping in deploy.of_type("AWS::Lambda::EventSourceMapping"):
        source = properties(mapping).get("EventSourceArn")
        queue = deploy.referenced(source)
        written_out = deploy.string(source)
        if (queue is not None and queue[1].get("Type") == "AWS::SQS::Queue") or (
            written_out is not None and written_out.startswith("arn:") and ":sqs:" in written_out
        ):
            yield ["Resources", name], properties(mapping)


class SqsBatchAboveTenWithoutWindow(CloudFormationLintRule):
    """An SQS event source's BatchSize above 10 with a batching window under 1 s: Lambda refuses
    it (this module's docstring quotes AWS)."""

    id = "E9006"
    shortdesc = "SQS BatchSize above 10 without a batching window"
    description = (
        "Lambda refuses an SQS event source whose BatchSize is above 10 unless "
        "MaximumBatchingWindowInSeconds is at least 1."
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html"
    tags = ["resources", "lambda", "sqs"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        matches = []
        for path, source in _sqs_sources(deploy):
            if "BatchSize" not in source:
                continue
            batch_size = deploy.integer(source["BatchSize"])
            window = deploy.integer_or(source.get("MaximumBatchingWindowInSeconds"), 0)
            if batch_size is None or window is None or batch_size <= LARGEST_UNWINDOWED_BATCH or window >= 1:
                continue
            matches.append(
                RuleMatch(
                    [*path, "Properties", "BatchSize"],
                    f"BatchSize {batch_size} is above {LARGEST_UNWINDOWED_BATCH} with a batching window of "
                    f"{window} s: Lambda refuses it unless MaximumBatchingWindowInSeconds is at least 1.",
                )
            )
        return matches
