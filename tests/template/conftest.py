"""template.yaml as CloudFormation sees it: translated by aws-sam-translator, offline."""

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
from orders_local.yaml_loader import load_template
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="session")
def translated(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM deploys. Managed policies would need IAM to resolve,
    so the map is empty: the template must not rely on any."""
    session = boto3.session.Session(region_name="us-east-1")
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    packaged = copy.deepcopy(sam_template)
    # As `sam package` leaves it: code in S3 instead of a local folder.
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artifacts/function.zip"
    result: dict[str, Any] = translator.translate(sam_template=packaged, parameter_values={})
    return result


@pytest.fixture(scope="session")
def resources(translated: dict[str, Any]) -> dict[str, Any]:
    return dict(translated["Resources"])


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}
