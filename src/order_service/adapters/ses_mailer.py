"""Sends e-mail through Amazon SES (v2 API)."""

from typing import TYPE_CHECKING

from order_service.ports import Email

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


class SesMailer:
    def __init__(self, client: "SESV2Client") -> None:
        self._client = client

    def send(self, email: Email) -> str:
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
