"""Resolves the CloudFormation intrinsic functions the local stack supports.

Anything else stops the stack with an error that names the construct and the resource.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class UnsupportedConstructError(Exception):
    """The template uses something the local stack cannot emulate faithfully."""

    def __init__(self, construct: str, resource: str, detail: str = "") -> None:
        message = f"unsupported construct {construct} in {resource}"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.construct = construct
        self.resource = resource


class NoValue:
    """`AWS::NoValue`: the property is dropped."""


NO_VALUE = NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Intrinsics:
    """Known values of Refs, attributes and conditions, and the functions over them."""

    pseudo: Mapping[str, str]
    parameters: Mapping[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)

    def resolve(self, value: Any, resource: str) -> Any:
        """`value` with every intrinsic evaluated; NO_VALUE entries are dropped."""
        if isinstance(value, list):
            items = [self.resolve(item, resource) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument, resource)
        resolved = {key: self.resolve(item, resource) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str, resource: str) -> bool:
        if name not in self.conditions:
            raise UnsupportedConstructError(f"Condition {name}", resource, "the condition is not defined")
        return self.conditions[name]

    def _function(self, key: str, argument: Any, resource: str) -> Any:
        handlers: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda arg, res: not self._boolean(arg[0], res),
            "Fn::And": lambda arg, res: all(self._boolean(item, res) for item in arg),
            "Fn::Or": lambda arg, res: any(self._boolean(item, res) for item in arg),
            "Fn::Select": self._select,
            "Fn::Split": lambda arg, res: str(self.resolve(arg[1], res)).split(str(arg[0])),
            "Fn::ToJsonString": lambda arg, res: json.dumps(self.resolve(arg, res)),
            "Condition": lambda arg, res: self.condition(str(arg), res),
        }
        handler = handlers.get(key)
        if handler is None:
            raise UnsupportedConstructError(key, resource)
        return handler(argument, resource)

    def _ref(self, name: Any, resource: str) -> Any:
        name = str(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        for table in (self.pseudo, self.parameters, self.refs):
            if name in table:
                return table[name]
        raise UnsupportedConstructError(f"Ref {name}", resource, "no such parameter or emulated resource")

    def _get_att(self, argument: Any, resource: str) -> str:
        logical_id, attribute = (str(part) for part in self.resolve(argument, resource))
        value = self.attributes.get((logical_id, attribute))
        if value is None:
            raise UnsupportedConstructError(f"Fn::GetAtt {logical_id}.{attribute}", resource)
        return value

    def _sub(self, argument: Any, resource: str) -> str:
        if isinstance(argument, list):
            text, variables = str(argument[0]), dict(self.resolve(argument[1], resource))
        else:
            text, variables = str(argument), {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.pseudo:
                return self._get_att(name.split(".", 1), resource)
            return str(self._ref(name, resource))

        return _SUB_VARIABLE.sub(substitute, text).replace("${!", "${")

    def _join(self, argument: Any, resource: str) -> str:
        delimiter, items = argument
        return str(delimiter).join(str(item) for item in self.resolve(items, resource))

    def _if(self, argument: Any, resource: str) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name), resource) else when_false, resource)

    def _equals(self, argument: Any, resource: str) -> bool:
        left, right = (self.resolve(item, resource) for item in argument)
        return bool(str(left) == str(right))

    def _select(self, argument: Any, resource: str) -> Any:
        index, items = argument
        return self.resolve(items, resource)[int(self.resolve(index, resource))]

    def _boolean(self, value: Any, resource: str) -> bool:
        return bool(self.resolve(value, resource))
