"""Sleeps far past its one-second timeout."""

import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(30)
    return {"slept": True}
