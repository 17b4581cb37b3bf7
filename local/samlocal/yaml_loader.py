"""Reads CloudFormation YAML, short-form intrinsics (`!Ref`, `!GetAtt`, ...) included."""

from pathlib import Path
from typing import Any

import yaml

_SHORT_FORMS = (
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
)


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Fn x` into `{"Fn::Fn": x}`, and `!Ref x` into `{"Ref": x}`."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node.tag}", node.start_mark)


def _function(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct(node, loader)}

    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct(node, loader)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::GetAtt": value}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct(node, loader)}


for _name in _SHORT_FORMS:
    CloudFormationLoader.add_constructor(f"!{_name}", _function(_name))
CloudFormationLoader.add_constructor("!Ref", _ref)
CloudFormationLoader.add_constructor("!GetAtt", _get_att)
CloudFormationLoader.add_constructor("!Condition", _condition)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict) or "Resources" not in document:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return document


def template_lines(path: Path) -> dict[str, int]:
    """The line (1-based) of each key of the template, by its dotted path ("Resources.Queue.Properties.X")."""
    with path.open(encoding="utf-8") as stream:
        root = yaml.compose(stream, Loader=CloudFormationLoader)
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    dotted = f"{prefix}{key.value}"
                    lines.setdefault(dotted, key.start_mark.line + 1)
                    walk(value, f"{dotted}.")

    if root is not None:
        walk(root, "")
    return lines


def line_of(lines: dict[str, int], element: str) -> int | None:
    """Where an element the loader names ("Queue", "Fn.Events.Tick", "Conditions.IsProd") is.

    Resources are named by their logical id, their properties without the `Properties` level."""
    first, _, rest = element.partition(".")
    candidates = [element, f"Resources.{element}"]
    if rest:
        candidates.insert(0, f"Resources.{first}.Properties.{rest}")
    # The element itself, else the nearest enclosing one the template spells out.
    for candidate in candidates:
        parts = candidate.split(".")
        for end in range(len(parts), 1, -1):
            found = lines.get(".".join(parts[:end]))
            if found is not None:
                return found
    return None
