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
