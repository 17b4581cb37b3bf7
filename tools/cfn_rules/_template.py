"""A template's values as a deploy with every parameter at its default would see them.

The rules judge what they can know without deploying: literals, `!Ref` to a parameter's
Default, `!If` on a condition those defaults decide, and `!GetAtt`/`!Ref` naming a resource of
the template. Anything else (`!Sub`, an import, a resource's runtime attribute) is UNKNOWN, and a
rule that meets UNKNOWN says nothing: it only reports what AWS would certainly refuse.

SAM Globals: cfn-lint merges `Globals.Function` into each function before the rules run; the
helpers here merge again, the same way (the function's own value wins, Variables are joined),
so that they hold for a template read some other way too. Merging twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNKNOWN: Final = _Marker("UNKNOWN")
"""A value only the deploy (or a parameter given at deploy) decides."""
NO_VALUE: Final = _Marker("NO_VALUE")
"""`!Ref AWS::NoValue`: the property is left out."""

SAM_FUNCTION: Final = "AWS::Serverless::Function"
LAMBDA_FUNCTION: Final = "AWS::Lambda::Function"
FUNCTIONS: Final = (SAM_FUNCTION, LAMBDA_FUNCTION)
# The SAM resources whose Events may hold a schedule or an event pattern.
SAM_EVENT_SOURCES: Final = (SAM_FUNCTION, "AWS::Serverless::StateMachine")

# Lambda's documented defaults (CreateFunction; SQS CreateQueue).
DEFAULT_FUNCTION_TIMEOUT: Final = 3
DEFAULT_VISIBILITY_TIMEOUT: Final = 30

Path = list[str | int]
"""Where in the template a match is, as cfn-lint's RuleMatch takes it."""

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def is_intrinsic(value: Any) -> bool:
    """`{"Ref": ...}` or `{"Fn::...": ...}`: something CloudFormation computes."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::") or key == "Condition")


@dataclass(frozen=True)
class SamEvent:
    resource: str
    name: str
    type: str
    properties: Mapping[str, Any]

    @property
    def path(self) -> Path:
        return ["Resources", self.resource, "Properties", "Events", self.name]


class DefaultDeploy:
    """The template's resources and values, every parameter at its Default."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.parameters = _mapping(template.get("Parameters"))
        self.resources = _mapping(template.get("Resources"))
        self._declared_conditions = _mapping(template.get("Conditions"))
        self._conditions: dict[str, bool | None] = {}
        self._function_globals = _mapping(_mapping(template.get("Globals")).get("Function"))

    # --- values ---------------------------------------------------------------------------

    def value(self, value: Any) -> Any:
        """`value` resolved as far as the template alone allows: a literal, a plain mapping or
        list (its members unresolved), NO_VALUE, or UNKNOWN."""
        if not is_intrinsic(value):
            return value
        ((function, argument),) = value.items()
        if function == "Ref":
            if argument == "AWS::NoValue":
                return NO_VALUE
            declaration = self.parameters.get(argument) if isinstance(argument, str) else None
            if isinstance(declaration, Mapping) and "Default" in declaration:
                return declaration["Default"]
            return UNKNOWN
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            holds = self.condition(argument[0])
            if holds is None:
                return UNKNOWN
            return self.value(argument[1] if holds else argument[2])
        return UNKNOWN

    def integer(self, value: Any) -> int | None:
        resolved = self.value(value)
        if isinstance(resolved, bool):
            return None
        if isinstance(resolved, int):
            return int(resolved)
        if isinstance(resolved, float) and resolved.is_integer():
            return int(resolved)
        if isinstance(resolved, str) and _INTEGER.fullmatch(resolved):
            return int(resolved)
        return None

    def integer_or(self, value: Any, default: int) -> int | None:
        """`integer(value)`, or `default` when the property is absent (None) or `AWS::NoValue`."""
        if value is None or self.value(value) is NO_VALUE:
            return default
        return self.integer(value)

    def string(self, value: Any) -> str | None:
        """The value as CloudFormation passes it on, as a string (a number or a boolean too)."""
        resolved = self.value(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, str | int | float):
            return str(resolved)
        return None

    # --- conditions -----------------------------------------------------------------------

    def condition(self, name: Any) -> bool | None:
        """Whether the named condition holds with every parameter at its default (None: unknown)."""
        if not isinstance(name, str):
            return None
        if name not in self._conditions:
            self._conditions[name] = None  # a condition that refers to itself stays unknown
            self._conditions[name] = self._holds(self._declared_conditions.get(name))
        return self._conditions[name]

    def _holds(self, expression: Any) -> bool | None:
        if not isinstance(expression, Mapping) or len(expression) != 1:
            return None
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if not isinstance(argument, list):
            return None
        if function == "Fn::Equals" and len(argument) == 2:
            left, right = (self.string(item) for item in argument)
            return None if left is None or right is None else left == right
        if function == "Fn::Not" and len(argument) == 1:
            held = self._holds(argument[0])
            return None if held is None else not held
        if function in ("Fn::And", "Fn::Or"):
            values = [self._holds(item) for item in argument]
            if function == "Fn::And":
                return False if False in values else (None if None in values else True)
            return True if True in values else (None if None in values else False)
        return None

    def deployed(self, resource: Mapping[str, Any]) -> bool | None:
        """Whether the resource is created (its Condition, if any, on the defaults)."""
        if "Condition" not in resource:
            return True
        return self.condition(resource["Condition"])

    # --- resources ------------------------------------------------------------------------

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for name, resource in self.resources.items():
            if isinstance(resource, Mapping) and resource.get("Type") in types:
                yield str(name), resource

    def referenced(self, value: Any) -> tuple[str, Mapping[str, Any]] | None:
        """The template's resource that `!GetAtt R.Attribute` or `!Ref R` names, with its name."""
        name: Any = None
        if isinstance(value, Mapping) and len(value) == 1:
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                if isinstance(target, str):
                    name = target.split(".", 1)[0]
                elif isinstance(target, list) and target:
                    name = target[0]
            elif "Ref" in value:
                name = value["Ref"]
        resource = self.resources.get(name) if isinstance(name, str) else None
        if isinstance(resource, Mapping):
            return str(name), resource
        return None

    def sam_events(self, *types: str) -> Iterator[SamEvent]:
        """The Events of each SAM function or state machine whose type is one of `types`."""
        for name, resource in self.of_type(*SAM_EVENT_SOURCES):
            for event_name, event in _mapping(properties(resource).get("Events")).items():
                if isinstance(event, Mapping) and event.get("Type") in types:
                    yield SamEvent(name, str(event_name), str(event["Type"]), _mapping(event.get("Properties")))

    # --- functions ------------------------------------------------------------------------

    def function_property(self, resource: Mapping[str, Any], key: str) -> Any:
        """The function's own value for `key`, else (a SAM function) the Globals' one, else None."""
        own = properties(resource)
        if key in own:
            return own[key]
        if resource.get("Type") == SAM_FUNCTION:
            return self._function_globals.get(key)
        return None

    def function_timeout(self, resource: Mapping[str, Any]) -> int | None:
        return self.integer_or(self.function_property(resource, "Timeout"), DEFAULT_FUNCTION_TIMEOUT)

    def environment_variables(self, resource: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The function's Environment.Variables, SAM Globals joined (the function's own win);
        None when an intrinsic decides the whole environment."""
        own = self.value(properties(resource).get("Environment", {}))
        if own is UNKNOWN:
            return None
        variables: dict[str, Any] = {}
        if resource.get("Type") == SAM_FUNCTION:
            shared = self.value(self._function_globals.get("Environment", {}))
            if shared is UNKNOWN:
                return None
            shared_variables = self.value(_mapping(shared).get("Variables", {}))
            if shared_variables is UNKNOWN:
                return None
            variables.update(_mapping(shared_variables))
        own_variables = self.value(_mapping(own).get("Variables", {}))
        if own_variables is UNKNOWN:
            return None
        variables.update(_mapping(own_variables))
        return variables


def properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(resource.get("Properties"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) and not is_intrinsic(value) else {}
