"""Resource kinds are a registry: a kind added to it is named in the template and created with
the stack, with no other change to the engine."""

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from samlocal.local_stack import LocalStack, StackOptions
from samlocal.provision import Provisioned
from samlocal.resources import Declaration, Names, Resource, registry
from samlocal.template import Stack

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Finish:
    Type: Custom::Marker
    Properties:
      Label: finish line
  Runner:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: functions/
      Handler: runner.handler
      Environment:
        Variables:
          MARKER: !Ref Finish
          MARKER_LABEL: !GetAtt Finish.Label
"""


@dataclass
class Markers:
    """A kind of resource that records what the stack gives it."""

    provisioned: list[tuple[dict[str, object], str, Provisioned]] = field(default_factory=list)

    def names(self, declared: Declaration) -> Names:
        return Names(f"marker:{declared.name}", {"Label": str(declared.properties["Label"])})

    def provision(self, stack: Stack, endpoint_url: str, done: Provisioned) -> None:
        self.provisioned.append((dict(stack.of_type("Custom::Marker")), endpoint_url, done))


@pytest.fixture
def markers(monkeypatch: pytest.MonkeyPatch) -> Markers:
    kind = Markers()
    marker = Resource(("Custom::Marker",), kind.names, kind.provision)
    monkeypatch.setattr(registry, "RESOURCES", (*registry.RESOURCES, marker))
    return kind


def test_a_resource_kind_added_to_the_registry_is_named_and_created_with_the_stack(
    markers: Markers, tmp_path: Path
) -> None:
    # Given a template with a resource of a kind the registry just gained, which a function refers to
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "runner.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)

    # When the stack starts from it
    with LocalStack(StackOptions(template=tmp_path / "template.yaml", runner="in-process")) as stack:
        environment = stack.functions["Runner"].environment
        endpoint_url, created = stack.endpoint_url, stack.resources

    # Then the kind named it, and was given the stack's resources of the kind to create, once
    assert (environment["MARKER"], environment["MARKER_LABEL"]) == ("marker:samlocal-Finish", "finish line")
    assert markers.provisioned == [({"Finish": {"Label": "finish line"}}, endpoint_url, created)]


def test_every_cloudformation_type_is_served_by_at_most_one_resource_kind() -> None:
    # When the CloudFormation types of every resource kind are listed
    types = [resource_type for kind in registry.RESOURCES for resource_type in kind.types]

    # Then none is served twice, and each resolves to its kind
    assert len(types) == len(set(types))
    assert {registry.resource_for_type(resource_type) for resource_type in types} == set(registry.RESOURCES)
