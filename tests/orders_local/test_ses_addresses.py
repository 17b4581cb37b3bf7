"""The emulator's SES takes every address the order service accepts, on every Python: Python
3.13's strict `parseaddr` finds no address in a quoted local part holding `[`, and moto then
refused a valid mailbox as "Missing domain". An address with no domain is still refused."""

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from hypothesis import example, given
from samlocal.emulator import Emulator
from samlocal.provision import aws_client
from samlocal.ses_addresses import missing_domain

from order_service.models.order import PlaceOrderRequest
from tests.builders import order_body
from tests.strategies import addresses

SENDER = "orders@yourshop.example"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    aws_client("ses", running.endpoint_url).verify_email_identity(EmailAddress=SENDER)
    yield running
    running.stop()


def send_to(emulator: Emulator, recipient: str) -> str:
    sent = aws_client("sesv2", emulator.endpoint_url).send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": [recipient]},
        Content={"Simple": {"Subject": {"Data": "Your order"}, "Body": {"Text": {"Data": "Thanks."}}}},
    )
    return str(sent["MessageId"])


@pytest.mark.parametrize("recipient", ['"a[b"@x.co', '"q.(x)"@a.co', "o'leary+orders@shop.example"])
def test_an_address_the_api_accepts_is_sent_to(emulator: Emulator, recipient: str) -> None:
    # Given an address an order may carry
    PlaceOrderRequest.model_validate(order_body(customer_email=recipient))

    # When SES is asked to e-mail it
    message_id = send_to(emulator, recipient)

    # Then it is sent, to that address
    assert message_id
    assert emulator.middleware.sent_emails[-1].recipient == recipient


def test_an_address_with_no_domain_is_still_refused(emulator: Emulator) -> None:
    # Given an address with nothing after its @
    # When SES is asked to e-mail it
    with pytest.raises(ClientError) as refused:
        send_to(emulator, "nobody@")

    # Then SES refuses the parameter, as moto always did
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"


@given(recipient=addresses())
@example(recipient='"a[b"@x.co')  # Python 3.13's strict parser finds no address in it
def test_no_address_the_api_accepts_is_refused_for_a_missing_domain(recipient: str) -> None:
    # Given any address an order may carry
    PlaceOrderRequest.model_validate(order_body(customer_email=recipient))

    # When the emulator's SES checks it, Then it finds its domain
    assert missing_domain(recipient) is None
