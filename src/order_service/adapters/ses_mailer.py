"""Sends e-mail through Amazon SES (v2 API)."""

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from order_service.observability import redact_emails
from order_service.ports import Email

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


class SesMailer:
    def __init__(self, client: "SESV2Client") -> None:
        self._client = client

    def send(self, email: Email) -> str:
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
        except ClientError as error:
            raise _without_addresses(error) from None
        return str(response["MessageId"])


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
