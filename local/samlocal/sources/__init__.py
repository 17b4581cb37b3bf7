"""Event sources with AWS semantics, one module per kind of trigger (`registry.TRIGGERS`)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from samlocal.template import FunctionSpec

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack
    from samlocal.template import Stack


class EventSource(Protocol):
    """A poller that feeds a function until the stack stops."""

    function: FunctionSpec

    @property
    def busy(self) -> bool:
        """True while it holds work that has not reached its end state."""

    def start(self) -> None: ...

    def join(self, timeout: float) -> None: ...


@dataclass(frozen=True)
class Declared:
    """One entry of a function's `Events`, as the template declares it."""

    function_id: str
    name: str
    properties: Mapping[str, Any]
    where: str  # "Function.Events.Name", for errors
    stack: "Stack"


@dataclass(frozen=True)
class Trigger:
    """One kind of trigger: the SAM event Types it serves, how one such event of the template
    becomes its binding (None: declared but disabled), and how a binding starts. `start` None:
    the stack starts every binding of the kind at once (the API gateway)."""

    event_types: tuple[str, ...]
    binding: type
    label: str  # how the start-up summary names the kind
    read: Callable[[Declared], object | None]
    start: "Callable[[LocalStack, FunctionSpec, Any], EventSource] | None" = None
    describe: Callable[[Any], str] = str  # a binding, in a few words, for the start-up summary
