import json
import logging

from order_service.observability import REDACTED_EMAIL, RedactingFormatter, redact_emails


def test_every_address_in_a_text_is_redacted() -> None:
    assert redact_emails("to ann.lee+x@mail.example.co.uk and bo@example.com") == (
        f"to {REDACTED_EMAIL} and {REDACTED_EMAIL}"
    )


def test_a_log_line_carrying_an_address_in_a_message_or_field_comes_out_redacted() -> None:
    record = logging.LogRecord("order-service", logging.ERROR, __file__, 1, "failed for %s", ("ann@example.com",), None)
    record.recipient = "bo@example.com"

    line = RedactingFormatter().format(record)

    assert "@example.com" not in line
    assert json.loads(line)["message"] == f"failed for {REDACTED_EMAIL}"
