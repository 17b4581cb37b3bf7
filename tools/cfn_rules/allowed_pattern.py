"""E9005: a parameter's AllowedPattern that is not a regular expression, or that its own Default fails.

AWS, "Using regular expressions in CloudFormation templates"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html): "All regular
expressions in CloudFormation conform to the Java regex syntax" (java.util.regex.Pattern).
"Parameters" (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html):
AllowedPattern applies to String and CommaDelimitedList parameters; "the pattern must match the
entire parameter value provided", and for a CommaDelimitedList each value, each member string
being space trimmed. A stack created without the parameter takes its Default, which must pass:
a pattern its own Default fails makes every deploy that relies on the default fail.

Python's `re` stands in for Java's regex here, an approximation that differs at the edges: Java's
`(?<name>...)` and `\\k<name>` are read in Python's spelling, a construct only Java knows
(`\\p{Alpha}`, `\\Q...\\E`) is reported as invalid although CloudFormation accepts it (ignore
E9005 for that parameter then), and Python's own `(?P<name>...)`, which Java refuses, is reported.
cfn-lint's E2015 compares the Default with `re.match`, which only anchors the start: a Default
with anything after a matching prefix passes it; its I2003 reports an invalid pattern only as
information.
"""

import re
from collections.abc import Mapping
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import DefaultDeploy

# Python's named groups and back-references: Java writes (?<name>...) and \k<name>.
_PYTHON_ONLY = re.compile(r"\(\?P[<=>]")
_JAVA_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_JAVA_BACK_REFERENCE = re.compile(r"\\k<(\w+)>")


def as_python(pattern: str) -> str:
    """The pattern in Python's spelling, for what only the two spell differently."""
    return _JAVA_BACK_REFERENCE.sub(r"(?P=\1)", _JAVA_NAMED_GROUP.sub("(?P<", pattern))


def pattern_error(pattern: str) -> str | None:
    if _PYTHON_ONLY.search(pattern):
        return f"AllowedPattern {pattern!r} uses Python's (?P...) groups, which Java's regex syntax has not"
    try:
        re.compile(as_python(pattern))
    except re.error as error:
        return (
            f"AllowedPattern {pattern!r} is not a valid regular expression ({error}; read as "
            "Python's re reads it, which agrees with Java's syntax, the one CloudFormation uses, "
            "but for a few constructs)"
        )
    return None


def rejected_defaults(declaration: Mapping[str, Any], deploy: DefaultDeploy) -> list[str]:
    """The members of the parameter's Default that its AllowedPattern rejects as a whole."""
    default = deploy.string(declaration["Default"])
    if default is None:
        return []
    values = [default]
    if declaration.get("Type") == "CommaDelimitedList":
        values = [item.strip() for item in default.split(",")]
    pattern = as_python(str(declaration["AllowedPattern"]))
    return [value for value in values if re.fullmatch(pattern, value) is None]


class AllowedPatternInvalidOrRejectsDefault(CloudFormationLintRule):
    """An AllowedPattern CloudFormation cannot apply, or one that rejects the parameter's own
    Default (this module's docstring quotes AWS)."""

    id = "E9005"
    shortdesc = "AllowedPattern invalid, or rejecting its own Default"
    description = (
        "A String or CommaDelimitedList parameter's AllowedPattern must be a (Java) regular "
        "expression, and must match the whole of its Default (each member of a list's)."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html"
    tags = ["parameters"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        matches = []
        for name, declaration in deploy.parameters.items():
            if not isinstance(declaration, Mapping) or declaration.get("Type") not in ("String", "CommaDelimitedList"):
                continue
            pattern = declaration.get("AllowedPattern")
            if not isinstance(pattern, str):
                continue
            error = pattern_error(pattern)
            if error is not None:
                matches.append(RuleMatch(["Parameters", name, "AllowedPattern"], error))
            elif "Default" in declaration:
                matches.extend(
                    RuleMatch(
                        ["Parameters", name, "Default"],
                        f"{name}'s Default {value!r} does not match its AllowedPattern {pattern!r} as a "
                        "whole (CloudFormation matches the entire value): a deploy that keeps the "
                        "default is refused",
                    )
                    for value in rejected_defaults(declaration, deploy)
                )
        return matches
