"""Telling a failure that a retry may fix from one it never will.

A record that fails for a reason retrying cannot fix (it is invalid, or the code has a bug)
is set aside, so the records behind it are not held up; anything that may be the world's
fault (a throttle, a timeout, a dependency down) is retried, in order.
"""

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from order_service.ports import PublishError, StoreUnavailableError

# AWS error codes that say the request itself is wrong: sending it again cannot succeed.
_INVALID_REQUEST_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidArgument",
        "MalformedDetail",
        "InvalidMessageContents",
        "MessageTooLong",
        "InvalidAttributeValue",
        "SerializationException",
    }
)


def is_permanent(error: BaseException) -> bool:
    """True if retrying the same record cannot succeed."""
    if isinstance(error, PublishError):
        return error.code in _INVALID_REQUEST_CODES
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") in _INVALID_REQUEST_CODES
    # The network, a timeout, the store: the world's fault, not the record's.
    return not isinstance(error, BotoCoreError | StoreUnavailableError | TimeoutError | ConnectionError)


def failure_detail(error: BaseException) -> str:
    """The error's message, without the offending input when the error would echo it."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '<root>'}: {issue['msg']}"
            for issue in error.errors(include_input=False, include_url=False)
        )
    return str(error)


def describe_failure(error: BaseException) -> str:
    """`ErrorType: message`, as a set-aside record's reason."""
    return f"{type(error).__name__}: {failure_detail(error)}"
