"""What an application's profile starts beside the stack: a database, a fixture service.

An add-on starts once the emulator runs and before the template is read, so the template
parameters it returns (a secret's ARN, a database's name) are the ones the functions get; it
says what it still has in flight, so `drain` waits for it, and it stops after the emulator.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack


class StackAddon(Protocol):
    def start(self, stack: "LocalStack") -> Mapping[str, str]:
        """Start, and return the template parameters this add-on sets."""
        ...

    def in_flight(self) -> list[str]:
        """What this add-on still holds that the stack's functions have to handle."""
        ...

    def close(self) -> None: ...
