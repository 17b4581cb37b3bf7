"""Event sources with AWS semantics: API Gateway, SQS, DynamoDB streams, EventBridge rules."""

from typing import Protocol

from samlocal.template import FunctionSpec


class EventSource(Protocol):
    """A poller that feeds a function until the stack stops."""

    function: FunctionSpec

    @property
    def busy(self) -> bool:
        """True while it holds work that has not reached its end state."""

    def start(self) -> None: ...

    def join(self, timeout: float) -> None: ...
