"""The local stack's CloudFormation stack: the template's Outputs, resolved to what the local
stack created, published in the emulator's CloudFormation under the stack's name.

So whatever reads a deployed stack's outputs (`aws cloudformation describe-stacks`, a
profile's tools) reads the local stack's the same way, with AWS_ENDPOINT_URL pointing at the
emulator. moto creates no resource of its own for it: the published template holds one
WaitConditionHandle (a resource that does nothing) and the outputs as plain values, with the
template's parameters as the local stack resolved them (DescribeStacks lists them, as on AWS).
"""

import json
import re
import warnings
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from samlocal.intrinsics import UnsupportedConstructError
from samlocal.template import Stack

# The URL an API's ApiUrl-style output gives on AWS, for the local "rest api id" (its logical id).
_API_URL = re.compile(r"^https://(?P<api>[A-Za-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?P<stage>/[^/]*)?/?$")


def resolved_outputs(template: Stack, api_url: str | None) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The template's outputs with the local values ({key: {Value, Description?}}), and the keys
    left out because they name something the local stack does not create."""
    outputs: dict[str, dict[str, str]] = {}
    skipped: list[str] = []
    for key, output in template.document.get("Outputs", {}).items():
        where = f"Outputs.{key}"
        try:
            if "Condition" in output and not template.intrinsics.condition(str(output["Condition"]), where):
                continue
            value = template.intrinsics.resolve(output["Value"], where)
        except (UnsupportedConstructError, LookupError, TypeError, ValueError):
            # Something the local stack does not create or cannot evaluate: never a reason not to start.
            skipped.append(key)
            continue
        text = ",".join(str(item) for item in value) if isinstance(value, list) else str(value)
        if _API_URL.match(text):
            # The API is served on 127.0.0.1, at its stage's path.
            if api_url is None:
                skipped.append(key)
                continue
            text = api_url
        outputs[key] = {"Value": text}
        if "Description" in output:
            outputs[key]["Description"] = str(output["Description"])
    return outputs, skipped


def publish_stack_outputs(cloudformation: Any, template: Stack, api_url: str | None) -> str:
    """Create the stack in the emulator's CloudFormation; a line saying what was published."""
    outputs, skipped = resolved_outputs(template, api_url)
    document = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The local stack's outputs, as a deploy of the template gives them (samlocal).",
        "Parameters": {name: {"Type": "String", "Default": value} for name, value in template.parameters.items()},
        "Resources": {"Outputs": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs,
    }
    # moto creates nothing for a WaitConditionHandle, and says so: that is the point of it.
    warnings.filterwarnings(
        "ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle", category=UserWarning
    )
    try:
        cloudformation.create_stack(StackName=template.stack_name, TemplateBody=json.dumps(document))
    except (ClientError, BotoCoreError) as error:
        return f"The stack's outputs could not be published in the emulator's CloudFormation: {error}"
    left_out = f" (left out: {', '.join(skipped)})" if skipped else ""
    return (
        f"The template's {len(outputs)} outputs are published as CloudFormation stack {template.stack_name!r} in the "
        f"emulator{left_out} (`aws cloudformation describe-stacks --stack-name {template.stack_name}` with "
        "AWS_ENDPOINT_URL set reads them)."
    )
