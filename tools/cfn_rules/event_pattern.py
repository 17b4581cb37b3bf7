"""E9004: an event pattern EventBridge refuses ("Event pattern is not valid").

AWS, "Event patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html):
"In an event pattern, the value to match is in a JSON array"; "Comparison operators for use in
event patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):
the operators, each `[{"operator": ...}]` at a leaf: prefix and suffix (a string, or
`{"equals-ignore-case": string}`), anything-but (a string, a number, a list of strings or of
numbers, or `{"prefix" | "suffix": string}`, `{"equals-ignore-case" | "wildcard": string or list
of strings}`), numeric (`[op, number]` or `[">" | ">=", number, "<" | "<=", number]`, op one of
= < <= > >=), exists (true or false), cidr (an IP range), equals-ignore-case (a string), wildcard
(a string), and `"$or": [pattern, pattern, ...]`; "Comparison operators only work on leaf nodes,
with the exception of $or and anything-but".

What EventBridge's matcher, aws/event-ruler (JsonRuleCompiler), refuses besides: a pattern that
is not an object, an empty object or array, a field that is neither an object nor an array, a
matcher with more than one key, an `$or` of fewer than two objects, nested arrays, and a numeric
range whose lower bound is not below its upper one ("Bottom must be less than top").

Read in SAM `EventBridgeRule` and `CloudWatchEvent` events (Pattern) and AWS::Events::Rule
(EventPattern, an object or its JSON text). A value CloudFormation computes (`!Ref`, `!Sub`, ...)
is taken on trust.
"""

import ipaddress
import json
from collections.abc import Iterator, Mapping
from typing import Any

from cfnlint.rules._rule import CloudFormationLintRule, RuleMatch
from cfnlint.template.template import Template

from tools.cfn_rules._template import DefaultDeploy, Path, is_intrinsic, properties

_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}


def pattern_errors(pattern: Any) -> Iterator[str]:
    """Why EventBridge refuses `pattern` (a parsed pattern), if it does."""
    if is_intrinsic(pattern):
        return
    if not isinstance(pattern, Mapping):
        yield "the event pattern must be a JSON object"
        return
    yield from _object_errors(pattern, "")


def _object_errors(pattern: Mapping[str, Any], at: str) -> Iterator[str]:
    if not pattern:
        yield f"{at or 'the pattern'}: empty objects are not allowed"
    for key, value in pattern.items():
        where = f"{at}.{key}" if at else str(key)
        if key == "$or":
            yield from _or_errors(value, where)
        elif is_intrinsic(value):
            continue
        elif isinstance(value, Mapping):
            yield from _object_errors(value, where)
        elif isinstance(value, list):
            yield from _leaf_errors(value, where)
        else:
            yield f"{where}: {value!r} must be an array of values to match (or an object of fields)"


def _or_errors(value: Any, where: str) -> Iterator[str]:
    if is_intrinsic(value):
        return
    if not isinstance(value, list) or len(value) < 2:
        yield f"{where}: $or takes an array of at least two patterns"
        return
    for index, branch in enumerate(value):
        if is_intrinsic(branch):
            continue
        if not isinstance(branch, Mapping):
            yield f"{where}[{index}]: each $or branch must be an object"
        else:
            yield from _object_errors(branch, f"{where}[{index}]")


def _leaf_errors(values: list[Any], where: str) -> Iterator[str]:
    if not values:
        yield f"{where}: empty arrays are not allowed"
    for value in values:
        if is_intrinsic(value) or value is None or isinstance(value, str | int | float | bool):
            continue
        if isinstance(value, list):
            yield f"{where}: an array inside the array of values ({value!r})"
        elif isinstance(value, Mapping):
            yield from (f"{where}: {error}" for error in _matcher_errors(value))


def _matcher_errors(matcher: Mapping[str, Any]) -> Iterator[str]:
    if len(matcher) != 1:
        yield f"a matcher has exactly one operator, not {sorted(matcher) or 'none'}"
        return
    ((operator, operand),) = matcher.items()
    if is_intrinsic(operand):
        return
    if operator in ("prefix", "suffix"):
        if not (isinstance(operand, str) or _is_equals_ignore_case(operand, lists=False)):
            yield f'{operator} takes a string or {{"equals-ignore-case": string}}, not {operand!r}'
    elif operator in ("equals-ignore-case", "wildcard"):
        if not isinstance(operand, str):
            yield f"{operator} takes a string, not {operand!r}"
    elif operator == "exists":
        if not isinstance(operand, bool):
            yield f"exists takes true or false, not {operand!r}"
    elif operator == "cidr":
        if not (isinstance(operand, str) and _is_network(operand)):
            yield f"cidr takes an IP range such as 10.0.0.0/24, not {operand!r}"
    elif operator == "numeric":
        error = _numeric_error(operand)
        if error is not None:
            yield error
    elif operator == "anything-but":
        error = _anything_but_error(operand)
        if error is not None:
            yield error
    else:
        yield f"{operator!r} is not an EventBridge operator"


def _is_equals_ignore_case(operand: Any, lists: bool) -> bool:
    if not isinstance(operand, Mapping) or set(operand) != {"equals-ignore-case"}:
        return False
    value = operand["equals-ignore-case"]
    return isinstance(value, str) or (lists and _strings(value))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) for item in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _numeric_error(operand: Any) -> str | None:
    usage = 'numeric takes [op, number] or [">"/">=", number, "<"/"<=", number]'
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        return f"{usage}, not {operand!r}"
    operators, numbers = operand[0::2], operand[1::2]
    if not all(isinstance(op, str) and op in _NUMERIC_OPERATORS for op in operators):
        return f"{usage} (op one of = < <= > >=), not {operand!r}"
    if not all(_is_number(number) for number in numbers):
        return f"{usage}: the bounds must be numbers, not {operand!r}"
    if len(operand) == 4:
        if operators[0] not in (">", ">=") or operators[1] not in ("<", "<="):
            return f"{usage}: a range is a lower bound then an upper one, not {operand!r}"
        if numbers[0] >= numbers[1]:
            return f"numeric range {operand!r}: the lower bound must be below the upper one"
    return None


def _anything_but_error(operand: Any) -> str | None:
    if isinstance(operand, str) or _is_number(operand):
        return None
    if isinstance(operand, list):
        if _strings(operand) or (operand and all(_is_number(item) for item in operand)):
            return None
        return f"anything-but takes a list of strings or of numbers, not {operand!r}"
    if isinstance(operand, Mapping) and len(operand) == 1:
        ((operator, value),) = operand.items()
        if operator in ("prefix", "suffix") and isinstance(value, str) and value:
            return None
        if operator in ("equals-ignore-case", "wildcard") and (isinstance(value, str) or _strings(value)):
            return None
    return (
        "anything-but takes a string, a number, a list of either, or one of prefix, suffix, "
        f"equals-ignore-case, wildcard, not {operand!r}"
    )


class InvalidEventPattern(CloudFormationLintRule):
    """An event pattern outside EventBridge's documented syntax (this module's docstring quotes
    AWS): the rule is refused at deploy."""

    id = "E9004"
    shortdesc = "Event pattern EventBridge refuses"
    description = (
        "Values to match in arrays at the leaves; matchers with one known operator (prefix, suffix, "
        "anything-but, numeric, exists, cidr, equals-ignore-case, wildcard) and a valid operand; "
        "$or with two patterns or more; no empty object or array."
    )
    source_url = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html"
    tags = ["resources", "events"]  # noqa: RUF012 - cfn-lint declares it a plain list

    def match(self, cfn: Template) -> list[RuleMatch]:
        deploy = DefaultDeploy(cfn.template)
        patterns: list[tuple[Path, Any]] = []
        for event in deploy.sam_events("EventBridgeRule", "CloudWatchEvent"):
            if "Pattern" in event.properties:
                patterns.append(([*event.path, "Properties", "Pattern"], event.properties["Pattern"]))
        for name, rule in deploy.of_type("AWS::Events::Rule"):
            if "EventPattern" in properties(rule):
                patterns.append((["Resources", name, "Properties", "EventPattern"], properties(rule)["EventPattern"]))
        matches = []
        for path, pattern in patterns:
            if isinstance(pattern, str):
                try:
                    pattern = json.loads(pattern)
                except ValueError as error:
                    matches.append(RuleMatch(path, f"The event pattern is not JSON: {error}"))
                    continue
            matches.extend(RuleMatch(path, f"Invalid event pattern: {error}") for error in pattern_errors(pattern))
        return matches
