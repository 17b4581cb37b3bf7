"""build/template.yaml, which `make package` writes for `sam deploy`: what CloudFormation reads.

template.yaml says shared settings once, with YAML anchors, aliases and merge keys
(`<<: *AlarmDefaults`). CloudFormation does not read merge keys, so the packaged template must
carry none: every shared setting written out in full where it applies.
"""

import copy
from typing import Any

import pytest
import yaml
from samlocal.yaml_loader import CloudFormationLoader

from tests.template.conftest import TEMPLATE
from tools.package import packaged_template


@pytest.fixture(scope="module")
def packaged() -> str:
    return packaged_template(TEMPLATE.read_text())


def test_the_template_itself_uses_merge_keys_and_aliases() -> None:
    events = list(yaml.parse(TEMPLATE.read_text(), Loader=CloudFormationLoader))

    assert any(isinstance(event, yaml.ScalarEvent) and event.value == "<<" for event in events)
    assert any(isinstance(event, yaml.AliasEvent) for event in events)


def test_the_packaged_template_has_no_merge_key_anchor_or_alias(packaged: str) -> None:
    events = list(yaml.parse(packaged, Loader=CloudFormationLoader))

    merge_keys = [event for event in events if isinstance(event, yaml.ScalarEvent) and event.value == "<<"]
    aliases = [event for event in events if isinstance(event, yaml.AliasEvent)]
    anchors = [event for event in events if isinstance(event, yaml.NodeEvent) and event.anchor is not None]

    assert (merge_keys, aliases, anchors) == ([], [], [])


def test_the_packaged_template_is_the_template_pointing_at_the_built_artifacts(
    sam_template: dict[str, Any], packaged: str
) -> None:
    expected = copy.deepcopy(sam_template)
    expected["Globals"]["Function"]["CodeUri"] = "function.zip"
    expected["Globals"]["Function"]["Layers"] = [{"Ref": "DependenciesLayer"}]

    document = yaml.load(packaged, Loader=CloudFormationLoader)
    layer = document["Resources"].pop("DependenciesLayer")

    assert document == expected
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layer.zip"
