"""Sends e-mail through Amazon SES (v2 API)."""

import random
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NotConnectedError

from order_service.observability import redact_emails
from order_service.ports import Email, SendingThrottledError, SendOutcomeUnknownError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


_THROTTLES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"})
# A send is tried this many times when SES answered without sending it, with at most this pause
# between two (aws_clients.sesv2_client fits both into the budget of one call).
SEND_ATTEMPTS = 2
PAUSE_SECONDS = 1.0


class SesMailer:
    def __init__(
        self, client: "SESV2Client", *, attempts: int = SEND_ATTEMPTS, pause_seconds: float = PAUSE_SECONDS
    ) -> None:
        self._client = client
        self._attempts = attempts
        self._pause_seconds = pause_seconds

    def send(self, email: Email) -> str:
        """Send once; again only if SES answered that it did not send it (a throttle, a 5xx).

        A request that went out unanswered (a read timeout, the connection closed before the
        answer) is never retried here, and raises SendOutcomeUnknownError: SES may have sent
        the e-mail. A connection that never opened (botocore's ConnectionError: refused, a
        connect timeout, TLS) sent nothing, and is raised as it is, as an answer without
        sending is."""
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.send_email(
                    FromEmailAddress=email.sender,
                    Destination={"ToAddresses": [email.recipient]},
                    Content={
                        "Simple": {
                            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                            "Body": {"Text": {"Data": email.body, "Charset": "UTF-8"}},
                        }
                    },
                )
                return str(response["MessageId"])
            except NotConnectedError:
                raise
            except HTTPClientError as error:
                raise SendOutcomeUnknownError(
                    f"SES may have sent the e-mail: {type(error).__name__} after the request went out"
                ) from None
            except ClientError as error:
                if attempt == self._attempts and _throttled(error):
                    raise SendingThrottledError(str(_without_addresses(error))) from None
                if attempt == self._attempts or not _not_sent(error):
                    raise _without_addresses(error) from None
            time.sleep(random.uniform(0, self._pause_seconds))  # noqa: S311 - jitter, not security
        raise AssertionError("unreachable")


def _throttled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _THROTTLES


def _not_sent(error: ClientError) -> bool:
    """SES answered, and did not send: a throttle or a server error."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or error.response.get("Error", {}).get("Code") in _THROTTLES


def _without_addresses(error: ClientError) -> ClientError:
    """The same SES error (class, code, status, request id) with no address in its message.

    SES names the recipient in some refusals ("...failed the check in region US-EAST-1:
    someone@example.com"); the error travels on into logs, traces and dead-letter reasons.
    The original is not chained, so no traceback prints its message either.
    """
    response = error.response.copy()
    details = response.get("Error", {}).copy()
    if "Message" in details:
        details["Message"] = redact_emails(details["Message"])
    response["Error"] = details
    # type(error): the client's modelled class (MessageRejected, ...), so callers can still catch it.
    return type(error)(response, error.operation_name)
