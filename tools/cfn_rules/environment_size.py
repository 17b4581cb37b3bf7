"""E9007: a function's environment variables above Lambda's 4 KB, counted as Lambda counts them.

AWS, "Lambda quotas" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
environment variables, "4 KB, for all environment variables associated with the function, in
aggregate". What Lambda measures is the variables as one compact JSON object, quotes, colons,
commas and escapes included: its refusal says so ("Lambda was unable to configure your
environment variables because the environment variables you have provided exceeded the 4KB
limit. String measured: {"KEY":"value",...}"). cfn-lint's E3697 adds up the keys' and values'
lengths alone, which is short of that by about 6 bytes a variable, and reads only
AWS::Lambda::Function.

A SAM function's variables are those of Globals.Function.Environment joined with its own. A value
the template cannot know (a resource's `!Ref`, `!Sub`, ...) counts as empty, so what is reported
is a lower bound: the function's environment is at least that large.
"""

import json
from collections.abc import Mapping
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import FUNCTIONS, NO_VALUE, DefaultDeploy

LIMIT_BYTES = 4 * 1024


def measured_size(variables: Mapping[str, Any], deploy: DefaultDeploy) -> int:
    """Bytes of the variables as Lambda measures them; a value unknown here counts as empty."""
    known: dict[str, str] = {}
    for key, value in variables.items():
        if deploy.value(value) is NO_VALUE:
            continue
        known[str(key)] = deploy.string(value) or ""
    return len(json.dumps(known, separators=(",", ":"), ensure_ascii=False).encode())


class EnvironmentVariablesAboveFourKilobytes(CloudFormationLintRule):
    """A function whose environment variables, as Lambda measures them, pass 4 KB: the function
    cannot be created or updated (this module's docstring quotes AWS)."""

    id = "E9007"
    shortdesc = "Environment variables above Lambda's 4 KB"
    description = (
        "A function's environment variables, measured as Lambda does (the compact JSON of the "
        "whole map, SAM Globals joined), must not pass 4 KB."
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
    tags = ["resources", "lambda"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        matches = []
        for name, function in deploy.of_type(*FUNCTIONS):
            variables = deploy.environment_variables(function)
            if not variables:
                continue
            size = measured_size(variables, deploy)
            if size > LIMIT_BYTES:
                matches.append(
                    RuleMatch(
                        ["Resources", name, "Properties", "Environment", "Variables"],
                        f"{name}'s environment variables come to at least {size} bytes as Lambda measures "
                        f"them (JSON of the whole map, Globals included), above its limit of {LIMIT_BYTES}.",
                    )
                )
        return matches
