"""Waiting, with an optional scale so a demo need not sit through AWS's minute-long delays."""

import threading
from dataclasses import dataclass, field


@dataclass
class Pacing:
    """`scale` multiplies every AWS-defined delay (visibility timeouts after a failure,
    async retry backoff, stream retry backoff). 1.0 is AWS's timing."""

    scale: float = 1.0
    stopping: threading.Event = field(default_factory=threading.Event)

    def seconds(self, aws_seconds: float) -> float:
        return aws_seconds * self.scale

    def wait(self, aws_seconds: float) -> bool:
        """Sleep for the scaled delay; True if the stack is stopping."""
        return self.stopping.wait(self.seconds(aws_seconds))
