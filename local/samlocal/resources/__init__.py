"""The kinds of resource the engine creates in the emulator, one module per kind
(`registry.RESOURCES`)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from samlocal.provision import Provisioned
    from samlocal.template import Stack


@dataclass(frozen=True)
class Declaration:
    """One resource of the template, as its kind names it."""

    logical_id: str
    properties: Mapping[str, Any]  # as the template writes them, intrinsics unresolved
    name: str  # the deterministic physical name, "<stack name>-<logical id>"
    stack: "Stack"


@dataclass(frozen=True)
class Names:
    """What a resource's Ref stands for, and its attributes (Fn::GetAtt) by name."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    """One kind of resource: the CloudFormation types it serves, the Ref and attributes a
    resource of that kind gets, and how the stack's resources of the kind are created in the
    emulator (at `endpoint_url`), with their physical names recorded in `Provisioned`."""

    types: tuple[str, ...]
    names: Callable[[Declaration], Names]
    provision: "Callable[[Stack, str, Provisioned], None]"
