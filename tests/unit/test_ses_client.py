"""The SES client never resends an e-mail on its own."""

from typing import Any

from order_service.adapters.aws_clients import sesv2_client
from order_service.settings import NotificationSettings


def test_an_e_mail_is_attempted_once_with_the_whole_budget_of_a_call() -> None:
    settings = NotificationSettings(sender_email="orders@example.com", idempotency_table_name="idempotency")

    config: Any = sesv2_client(settings).meta.config  # botocore's Config sets its options dynamically

    assert config.retries["total_max_attempts"] == 1
    assert config.connect_timeout + config.read_timeout == settings.aws_call_worst_case_seconds()
