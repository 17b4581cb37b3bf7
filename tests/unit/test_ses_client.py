"""SES: botocore never resends an e-mail; the mailer retries only what SES did not send."""

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from order_service.adapters.aws_clients import sesv2_client
from order_service.adapters.ses_mailer import PAUSE_SECONDS, SEND_ATTEMPTS, SesMailer
from order_service.ports import Email, SendingThrottledError, SendOutcomeUnknownError
from order_service.settings import NotificationSettings


def test_botocore_never_resends_an_e_mail_and_the_mailers_sends_fit_the_budget_of_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = NotificationSettings(
        sender_email="orders@example.com",
        idempotency_table_name="idempotency",
        notification_queue_url="http://queue",
        orders_table_name="orders",
    )

    config: Any = sesv2_client(settings).meta.config  # botocore's Config sets its options dynamically

    assert config.retries["total_max_attempts"] == 1
    sends = SEND_ATTEMPTS * (config.connect_timeout + config.read_timeout) + PAUSE_SECONDS
    assert sends <= settings.aws_call_worst_case_seconds()


def _failing_then_sending(code: str, status: int) -> Any:
    client = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)
    stubber.add_response("send_email", {"MessageId": "m-1"})
    stubber.activate()
    return client


def test_a_send_ses_refused_with_a_throttle_is_tried_again() -> None:
    mailer = SesMailer(_failing_then_sending("TooManyRequestsException", 429), attempts=2, pause_seconds=0)

    assert mailer.send(Email("orders@example.com", "bo@example.com", "Hello", "Body")) == "m-1"


def test_a_send_ses_refused_for_good_is_not_tried_again() -> None:
    mailer = SesMailer(_failing_then_sending("MessageRejected", 400), attempts=2, pause_seconds=0)

    with pytest.raises(ClientError, match="MessageRejected"):
        mailer.send(Email("orders@example.com", "bo@example.com", "Hello", "Body"))


def test_a_send_still_throttled_after_its_attempts_says_so_and_names_no_address() -> None:
    client = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for _ in range(SEND_ATTEMPTS):
        stubber.add_client_error(
            "send_email",
            service_error_code="TooManyRequestsException",
            service_message="Maximum sending rate exceeded for ada@example.com",
            http_status_code=429,
        )
    stubber.activate()

    with pytest.raises(SendingThrottledError) as throttled:
        SesMailer(client, pause_seconds=0).send(
            Email(sender="orders@example.com", recipient="ada@example.com", subject="s", body="b")
        )

    assert "TooManyRequestsException" in str(throttled.value)
    assert "ada@example.com" not in str(throttled.value)
    stubber.assert_no_pending_responses()


def _client_whose_sends_fail(error: Exception) -> tuple[Any, list[int]]:
    """A real SES v2 client whose every request fails at the HTTP layer with `error`, as
    botocore raises it for a lost answer or a connection that never opened. One attempt a
    call, as the function's SES client makes."""
    client = boto3.client(
        "sesv2",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    sent: list[int] = []

    def fail(**_: Any) -> None:
        sent.append(1)
        raise error

    client.meta.events.register("before-send.sesv2.SendEmail", fail)
    return client, sent


EMAIL = Email(sender="orders@example.com", recipient="ada@example.com", subject="s", body="b")
ENDPOINT = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"


@pytest.mark.parametrize(
    "lost",
    [ReadTimeoutError(endpoint_url=ENDPOINT), ConnectionClosedError(endpoint_url=ENDPOINT)],
    ids=["read-timeout", "connection-closed"],
)
def test_a_send_that_went_out_unanswered_is_not_tried_again_and_says_ses_may_have_sent_it(lost: Exception) -> None:
    # Given SES that takes the request and never answers it
    client, sent = _client_whose_sends_fail(lost)

    # When the mailer sends
    with pytest.raises(SendOutcomeUnknownError) as unknown:
        SesMailer(client, attempts=2, pause_seconds=0).send(EMAIL)

    # Then it sent once, and says the outcome is unknown, naming no address
    assert sent == [1]
    assert "may have sent" in str(unknown.value)
    assert "ada@example.com" not in str(unknown.value)


@pytest.mark.parametrize(
    "refused",
    [ConnectTimeoutError(endpoint_url=ENDPOINT), EndpointConnectionError(endpoint_url=ENDPOINT)],
    ids=["connect-timeout", "connection-refused"],
)
def test_a_send_whose_connection_never_opened_is_an_ordinary_failure(refused: Exception) -> None:
    client, _ = _client_whose_sends_fail(refused)

    with pytest.raises(type(refused)):
        SesMailer(client, attempts=1, pause_seconds=0).send(EMAIL)
