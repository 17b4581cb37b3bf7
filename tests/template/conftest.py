"""template.yaml as CloudFormation sees it: translated by aws-sam-translator, offline."""

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from samlocal.yaml_loader import load_template
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
STOREFRONT = "arn:aws:iam::123456789012:role/storefront"
BACK_OFFICE = "arn:aws:iam::123456789012:role/shop/back-office"
# The parameters a deploy must give (they have no default), with the values every test deploys with.
REQUIRED_PARAMETERS = {"SenderEmail": "orders@yourshop.example", "ApiCallerPrincipals": f"{STOREFRONT},{BACK_OFFICE}"}

Deploy = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def translate(sam_template: dict[str, Any], parameter_values: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation template SAM deploys. Managed policies would need IAM to resolve,
    so the map is empty: the template must not rely on any."""
    session = boto3.session.Session(region_name="us-east-1")
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    packaged = copy.deepcopy(sam_template)
    # As `sam package` leaves it: code in S3 instead of a local folder.
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artifacts/function.zip"
    result: dict[str, Any] = translator.translate(sam_template=packaged, parameter_values=dict(parameter_values))
    return result


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    return translate(sam_template, REQUIRED_PARAMETERS)


@pytest.fixture(scope="session")
def resources(translated: dict[str, Any]) -> dict[str, Any]:
    return dict(translated["Resources"])


@pytest.fixture(scope="session")
def deploy(sam_template: dict[str, Any]) -> Deploy:
    """`deploy(**parameters)`: the resources CloudFormation creates for these parameter values
    (the required ones added, every other at its default): conditions evaluated, the resources
    they leave out gone, each `Fn::If` replaced by its branch and `AWS::NoValue` dropped. Every
    other intrinsic is left as it is."""

    @cache
    def deployed(parameters: str) -> dict[str, Any]:
        given = {**REQUIRED_PARAMETERS, **json.loads(parameters)}
        template = translate(sam_template, given)
        values = parameter_values(template, given)
        conditions = condition_values(template, values)
        return {
            name: chosen(resource, conditions)
            for name, resource in template["Resources"].items()
            if conditions.get(resource.get("Condition", ""), True)
        }

    def deploy_with(**parameters: str) -> dict[str, Any]:
        return copy.deepcopy(deployed(json.dumps(parameters, sort_keys=True)))

    return deploy_with


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, declaration in template["Parameters"].items():
        if name in given:
            values[name] = given[name]
        else:
            assert "Default" in declaration, f"parameter {name} has no default: the tests must give it"
            values[name] = str(declaration["Default"])
    return values


def condition_values(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, bool]:
    declared = template.get("Conditions", {})

    def value(expression: Any) -> str:
        if isinstance(expression, dict):
            assert set(expression) == {"Ref"}, f"unexpected operand {expression}"
            return parameters[expression["Ref"]]
        return str(expression)

    def holds(expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Fn::Equals":
            return value(argument[0]) == value(argument[1])
        if function == "Fn::Not":
            return not holds(argument[0])
        if function == "Fn::And":
            return all(holds(item) for item in argument)
        if function == "Fn::Or":
            return any(holds(item) for item in argument)
        if function == "Condition":
            return holds(declared[argument])
        raise AssertionError(f"unexpected condition function {function}")

    return {name: holds(expression) for name, expression in declared.items()}


_NO_VALUE = object()


def chosen(value: Any, conditions: dict[str, bool]) -> Any:
    """`value` with each `Fn::If` replaced by the branch its condition picks, and `AWS::NoValue` dropped."""
    if isinstance(value, list):
        items = [chosen(item, conditions) for item in value]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::NoValue"}:
        return _NO_VALUE
    if set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        return chosen(when_true if conditions[condition] else when_false, conditions)
    entries = {key: chosen(item, conditions) for key, item in value.items()}
    return {key: item for key, item in entries.items() if item is not _NO_VALUE}


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}
