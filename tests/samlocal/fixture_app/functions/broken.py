"""Fails at import, as a function with a missing setting does."""

from typing import Any


def _load_configuration() -> dict[str, str]:
    raise KeyError("BROKEN_SETTING is not set")


CONFIGURATION = _load_configuration()


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    return CONFIGURATION
