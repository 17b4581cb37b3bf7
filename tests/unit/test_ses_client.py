"""SES: botocore never resends an e-mail; the mailer retries only what SES did not send."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from order_service.adapters.aws_clients import sesv2_client
from order_service.adapters.ses_mailer import PAUSE_SECONDS, SEND_ATTEMPTS, SesMailer
from order_service.ports import Email, SendingThrottledError
from order_service.settings import NotificationSettings


def test_botocore_never_resends_an_e_mail_and_the_mailers_sends_fit_the_budget_of_a_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = NotificationSettings(
        sender_email="orders@example.com", idempotency_table_name="idempotency", notification_queue_url="http://queue"
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
