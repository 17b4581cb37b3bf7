"""Reading stored orders one by one, so that one that no longer reads does not stop the rest.

A stored order can stop being valid without being written again: a release tightens a bound,
or a row is corrupted by hand. A reader of many rows (a listing, the sweep) reads each on its
own and sets aside the ones that fail, with a reason that names fields and error types only:
the values may be customer data (an address, an item's text).
"""

from collections.abc import Callable

from pydantic import ValidationError

from order_service.models.order import Order
from order_service.ports import UnreadableOrder


def unreadable_reason(error: Exception) -> str:
    """Why a stored order does not read, without any of its values."""
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '<root>'}: {issue['type']}"
            for issue in error.errors(include_input=False, include_url=False)
        )
        return f"ValidationError: {fields}"
    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str):
        # The key is an attribute name the code asked for, not a stored value.
        return f"KeyError: {error.args[0]} missing"
    # Other messages (int(), an enum) quote the offending value.
    return type(error).__name__


def read_order(order_id: str, read: Callable[[], Order]) -> Order | UnreadableOrder:
    """`read()`, or what is known of the order when its stored form no longer reads."""
    try:
        return read()
    except (ValueError, KeyError, TypeError) as error:  # ValidationError is a ValueError
        return UnreadableOrder(order_id=order_id, reason=unreadable_reason(error))
