import io
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from order_service.adapters.ses_mailer import SesMailer
from order_service.observability import (
    REDACTED_EMAIL,
    RedactingEmitter,
    RedactingFormatter,
    build_logger,
    redact_emails,
    tracer,
)
from order_service.ports import Email

# Local parts: up to 64 characters that are neither whitespace nor "@" (the redaction's
# definition), printable ASCII (quotes, parentheses, backslashes: what JSON escapes) or any other.
_ASCII_LOCAL_PARTS = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="@"), min_size=1, max_size=64
)
_OTHER_LOCAL_PARTS = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="@").filter(lambda c: not c.isspace()),
    min_size=1,
    max_size=64,
)
ADDRESSES = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.one_of(_ASCII_LOCAL_PARTS, _OTHER_LOCAL_PARTS),
    st.from_regex(r"\A[A-Za-z0-9-]{1,20}(\.[A-Za-z0-9-]{1,10}){1,3}\Z"),
)

_LOG_STREAM = io.StringIO()
# A service of its own: Powertools configures one logger per service name, once.
_LOGGER = build_logger(service="log-redaction-test", stream=_LOG_STREAM)


def _json_forms(text: str) -> list[str]:
    """`text` inside a JSON string, with and without non-ASCII escaped."""
    return [json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]


def _forms_in_clear(address: str) -> list[str]:
    """The address, as written and as JSON escapes it; its local part before an "@"; and any
    beginning of its local part right before the redaction mark (a redaction that missed it)."""
    local = address.rpartition("@")[0]
    whole = [form for text in (address, f"{local}@") for form in (text, *_json_forms(text))]
    # In these lines a redacted address follows a space or a JSON string's opening quote, which
    # no JSON form of a local part ends with.
    beginnings = [f"{form[:end]}{REDACTED_EMAIL}" for form in _json_forms(local) for end in range(1, len(form) + 1)]
    return whole + beginnings


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


@given(ADDRESSES)
def test_no_address_is_left_in_clear_in_a_message_an_extra_field_or_a_logged_exception(address: str) -> None:
    _LOG_STREAM.seek(0)
    _LOG_STREAM.truncate()

    _LOGGER.info("sending to %s now", address)
    _LOGGER.info("sent", extra={"recipient": address, "details": {"to": [address, ("cc", address)]}})
    try:
        raise ValueError(f"the recipient {address} was refused")
    except ValueError:
        _LOGGER.exception("delivery failed")

    lines = _LOG_STREAM.getvalue()
    assert lines.count("\n") == 3
    assert [form for form in _forms_in_clear(address) if form in lines] == []


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """A UDP socket on 127.0.0.1 standing in for the X-Ray daemon."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        yield listener


def _address_of(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"{host}:{port}"


def _received_document(listener: socket.socket) -> tuple[str, dict[str, Any]]:
    """The text of the segment document in the next datagram, and the document."""
    header, _, body = listener.recv(65535).decode().partition("\n")
    assert json.loads(header) == {"format": "json", "version": 1}
    return body, json.loads(body)


def test_the_emitter_sends_a_segment_whose_exception_and_metadata_named_an_address_with_it_redacted(
    daemon: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", _address_of(daemon))
    address = '"ann.lee"@example.com'
    segment = Segment("orders")
    subsegment = Subsegment("SESv2", "aws", segment)
    segment.add_subsegment(subsegment)
    subsegment.add_exception(ValueError(f"failed the check: {address}"), stack=[])
    subsegment.put_metadata("handler response", {"customer_email": address}, "order-service")
    subsegment.close()

    RedactingEmitter().send_entity(subsegment)

    text, document = _received_document(daemon)
    assert "ann.lee" not in text
    assert document["cause"]["exceptions"][0]["message"] == f"failed the check: {REDACTED_EMAIL}"
    assert document["metadata"]["order-service"]["handler response"] == {"customer_email": REDACTED_EMAIL}


@pytest.fixture
def tracing_to(daemon: socket.socket) -> Iterator[socket.socket]:
    """The functions' tracer, enabled (tests run outside Lambda) and sending to `daemon`."""
    recorder: Any = tracer.provider
    emitter = recorder.emitter
    was_enabled, was_sending_to = global_sdk_config.sdk_enabled(), f"{emitter.ip}:{emitter.port}"
    global_sdk_config.set_sdk_enabled(True)
    emitter.set_daemon_address(_address_of(daemon))
    yield daemon
    emitter.set_daemon_address(was_sending_to)
    global_sdk_config.set_sdk_enabled(was_enabled)


def test_what_the_functions_tracer_records_leaves_the_process_redacted(tracing_to: socket.socket) -> None:
    recorder: Any = tracer.provider
    recorder.begin_segment("orders", sampling=1)
    with recorder.in_subsegment("## place_order") as subsegment:
        subsegment.put_metadata("place_order response", {"customer_email": "ann@example.com"}, "order-service")
    recorder.end_segment()

    text, document = _received_document(tracing_to)
    assert "ann@example.com" not in text
    assert document["subsegments"][0]["metadata"]["order-service"] == {
        "place_order response": {"customer_email": REDACTED_EMAIL}
    }


def test_an_ses_refusal_naming_the_recipient_is_raised_with_its_code_and_class_but_not_the_address() -> None:
    client = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_client_error(
        "send_email",
        service_error_code="MessageRejected",
        service_message="Email address is not verified. The following identities failed the check: bo@example.com",
        http_status_code=400,
    )

    with stubber, pytest.raises(ClientError) as raised:
        SesMailer(client).send(Email("orders@example.com", "bo@example.com", "Hello", "Body"))

    assert isinstance(raised.value, client.exceptions.MessageRejected)
    assert raised.value.response["Error"]["Code"] == "MessageRejected"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert str(raised.value).endswith(f"failed the check: {REDACTED_EMAIL}")
