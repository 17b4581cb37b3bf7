"""Takes longer to initialise than its whole timeout, then answers at once."""

import time
from typing import Any

time.sleep(1.5)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"remaining_ms": context.get_remaining_time_in_millis()}
