"""SES in its sandbox, as a new account's SES is (`--ses-sandbox`, OrderStackOptions.ses_sandbox): it
e-mails only verified identities, and refuses any other recipient as SES does ("MessageRejected:
Email address is not verified. The following identities failed the check in region US-EAST-1:
..."). SES's SendEmail reference: in the sandbox you "may only send to verified addresses or
domains, or to email addresses associated with the Amazon SES Mailbox Simulator"; a verified
domain covers its subdomains and every address in them."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from orders_local.cli import app
from orders_local.pytest_plugin import OrdersEmails, OrdersQueues, OrdersResources, OrdersWait, settings_of
from orders_local.stack import OrderStack, OrderStackOptions
from samlocal.emulator import Emulator
from samlocal.http_client import JsonClient
from samlocal.provision import aws_client
from typer.testing import CliRunner

from tests.builders import order_body

pytest_plugins = ["pytester"]

SENDER = "orders@yourshop.example"
NOT_VERIFIED = "Email address is not verified. The following identities failed the check in region US-EAST-1: {}"


@pytest.fixture
def sandbox() -> Iterator[Emulator]:
    """An emulator whose SES is in its sandbox, with the sender verified."""
    running = Emulator().start()
    running.middleware.ses_sandbox = True
    aws_client("ses", running.endpoint_url).verify_email_identity(EmailAddress=SENDER)
    yield running
    running.stop()


def send(emulator: Emulator, to: list[str], cc: list[str] | None = None) -> dict[str, Any]:
    destination = {"ToAddresses": to, **({"CcAddresses": cc} if cc else {})}
    return dict(
        aws_client("sesv2", emulator.endpoint_url).send_email(
            FromEmailAddress=SENDER,
            Destination=destination,
            Content={"Simple": {"Subject": {"Data": "Your order"}, "Body": {"Text": {"Data": "Thanks."}}}},
        )
    )


def test_in_the_sandbox_an_email_to_an_unverified_recipient_is_rejected_naming_the_recipient(
    sandbox: Emulator,
) -> None:
    # Given SES in its sandbox, and a recipient nobody verified
    stranger = "stranger@elsewhere.example"

    # When the sender e-mails them
    with pytest.raises(ClientError) as refused:
        send(sandbox, [stranger])

    # Then SES refuses it as SES does, and sends nothing
    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert refused.value.response["Error"]["Message"] == NOT_VERIFIED.format(stranger)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sandbox.middleware.sent_emails == []


def test_in_the_sandbox_one_unverified_recipient_fails_the_whole_email(sandbox: Emulator) -> None:
    # Given one verified recipient and one who is not
    aws_client("ses", sandbox.endpoint_url).verify_email_identity(EmailAddress="known@shopper.example")

    # When one e-mail goes to both
    with pytest.raises(ClientError) as refused:
        send(sandbox, ["known@shopper.example"], cc=["copy@elsewhere.example"])

    # Then it is refused, naming only the unverified one, and nobody gets it
    assert refused.value.response["Error"]["Message"] == NOT_VERIFIED.format("copy@elsewhere.example")
    assert sandbox.middleware.sent_emails == []


@pytest.mark.parametrize(
    ("recipient", "verify"),
    [
        ("known@shopper.example", lambda ses, sesv2: ses.verify_email_identity(EmailAddress="known@shopper.example")),
        ("anyone@shopper.example", lambda ses, sesv2: ses.verify_domain_identity(Domain="shopper.example")),
        (
            "anyone@mail.shopper.example",
            lambda ses, sesv2: sesv2.create_email_identity(EmailIdentity="shopper.example"),
        ),
        ("success@simulator.amazonses.com", lambda ses, sesv2: None),
    ],
    ids=["verified-address", "verified-domain", "subdomain-of-a-verified-domain", "mailbox-simulator"],
)
def test_in_the_sandbox_a_verified_address_or_one_under_a_verified_domain_receives(
    sandbox: Emulator, recipient: str, verify: Any
) -> None:
    # Given the recipient verified, as a user verifies it against the emulator (or SES's simulator)
    verify(aws_client("ses", sandbox.endpoint_url), aws_client("sesv2", sandbox.endpoint_url))

    # When the sender e-mails them
    sent = send(sandbox, [recipient])

    # Then SES sends it
    assert [email.recipient for email in sandbox.middleware.sent_emails] == [recipient]
    assert sandbox.middleware.sent_emails[0].message_id == sent["MessageId"]


def test_outside_the_sandbox_an_unverified_recipient_receives() -> None:
    # Given SES out of its sandbox (the emulator's default: production access)
    emulator = Emulator().start()
    try:
        aws_client("ses", emulator.endpoint_url).verify_email_identity(EmailAddress=SENDER)

        # When the sender e-mails someone nobody verified
        send(emulator, ["stranger@elsewhere.example"])

        # Then SES sends it
        assert [email.recipient for email in emulator.middleware.sent_emails] == ["stranger@elsewhere.example"]
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def sandbox_stack() -> Iterator[OrderStack]:
    """The service's template with SES in its sandbox, as `orders up --ses-sandbox` runs it."""
    with OrderStack(OrderStackOptions(stack_name="ses-sandbox", time_scale=0.02, ses_sandbox=True)) as stack:
        yield stack


@pytest.fixture
def sandbox_api(sandbox_stack: OrderStack) -> Iterator[JsonClient]:
    client = sandbox_stack.api_client()
    yield client
    client.close()


def test_in_the_sandbox_a_verified_customer_gets_the_email_and_an_unverified_ones_notification_is_dead_lettered(
    sandbox_stack: OrderStack, sandbox_api: JsonClient
) -> None:
    orders_emails = OrdersEmails(sandbox_stack.emulator.middleware)
    orders_wait = OrdersWait(sandbox_stack, orders_emails)
    orders_queues = OrdersQueues(sandbox_stack, OrdersResources(sandbox_stack))

    # Given a stack whose SES is in its sandbox, one customer verified (as `aws ses
    # verify-email-identity` does) and one not
    verified, unverified = (f"{who}-{uuid.uuid4().hex[:8]}@example.com" for who in ("verified", "unverified"))
    sandbox_stack.client("ses").verify_email_identity(EmailAddress=verified)

    # When each places an order
    placed = {
        email: sandbox_api.request("POST", "/orders", order_body(customer_email=email))
        for email in (verified, unverified)
    }
    assert all(answer.status == 201 for answer in placed.values())

    # Then the verified customer gets the e-mail
    orders_wait.email_to(verified, timeout=90)
    # and the other's notification, refused by SES every time, ends in the dead-letter queue
    refused_order = placed[unverified].body["order_id"]
    letters = orders_wait.until(
        lambda: [letter for letter in orders_queues.dead_letters("NotificationQueue") if refused_order in letter.body],
        what="the unverified customer's notification in the dead-letter queue",
        timeout=90,
        interval=0.2,
    )
    assert len(letters) == 1
    assert letters[0].receive_count >= 5  # every receive refused, up to the queue's maxReceiveCount
    refusals = [
        refusal for refusal in sandbox_stack.emulator.middleware.refused_emails if refusal.recipient == unverified
    ]
    assert refusals
    assert {refusal.reason for refusal in refusals} == {f"MessageRejected: {NOT_VERIFIED.format(unverified)}"}
    assert orders_emails.to(unverified) == []
    # The orders themselves are not held up by the e-mail
    for answer in placed.values():
        assert orders_wait.final_order(answer.body["order_id"])["status"] == "completed"


@pytest.mark.parametrize("command", ["up", "demo", "soak"])
def test_the_commands_that_start_a_stack_offer_the_sandbox(command: str) -> None:
    # When a user asks a command that starts a stack for its options
    shown = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})

    # Then --ses-sandbox is among them
    assert shown.exit_code == 0, shown.output
    assert "--ses-sandbox" in shown.output


def test_the_soak_of_a_deployed_stack_refuses_the_sandbox_option() -> None:
    # When a soak of a deployed stack is asked to put SES in its sandbox
    done = CliRunner().invoke(
        app, ["soak", "--api-url", "https://x.example/v1", "--stack-name", "orders", "--ses-sandbox"]
    )

    # Then it stops before calling AWS: a deployed account's SES is in its sandbox or not, by AWS's decision
    assert done.exit_code == 2
    assert "--ses-sandbox: for the local soak only" in done.output


def test_the_pytest_option_starts_the_session_stack_with_ses_in_its_sandbox(pytester: pytest.Pytester) -> None:
    # When pytest is run with --orders-ses-sandbox, or with orders_ses_sandbox in its ini file
    given = settings_of(pytester.parseconfig("--orders-ses-sandbox")).stack_options()
    pytester.makeini("[pytest]\norders_ses_sandbox = true\n")
    from_ini = settings_of(pytester.parseconfig()).stack_options()

    # Then the session stack's SES is in its sandbox
    assert given.ses_sandbox is True
    assert from_ini.ses_sandbox is True
    assert settings_of(pytester.parseconfig("-c", "/dev/null")).stack_options().ses_sandbox is False
