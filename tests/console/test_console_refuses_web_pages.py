"""The console answers its own pages and programs on this machine, never another site's page:
what changes something (a redrive, a call its proxy signs) needs the token its pages carry, and
a name rebound to 127.0.0.1 reaches neither the mailbox nor the signing proxy."""

import json
import uuid
from collections.abc import Iterator

import pytest
from orders_local.console_views import order_console
from orders_local.pytest_plugin import OrdersQueues, OrdersWait
from samlocal import loopback
from samlocal.console.server import TOKEN_HEADER, WebConsole
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack

from tests.foreign_pages import EVIL_ORIGIN, FROM_ANOTHER_SITE, own_origin, rebound, send

DEAD_LETTERS = "NotificationDeadLetterQueue"
REDRIVE = f"/_console/queues/{DEAD_LETTERS}/redrive"


def order(email: str) -> dict[str, object]:
    return {
        "customer_id": "c-console-refusals",
        "customer_email": email,
        "currency": "EUR",
        "items": [{"sku": "BOOK-1", "quantity": 1, "unit_price": "12.50"}],
    }


@pytest.fixture(scope="module")
def console(orders_stack: LocalStack) -> Iterator[WebConsole]:
    web = order_console(orders_stack).start()
    yield web
    web.stop()


@pytest.fixture
def dead_letter(orders_stack: LocalStack, orders_queues: OrdersQueues) -> Iterator[str]:
    """A letter in the notifications' dead-letter queue, taken out again at the end."""
    marker = f"n-refusal-{uuid.uuid4().hex[:8]}"
    orders_queues.send(DEAD_LETTERS, json.dumps({"notification_id": marker}))
    yield marker
    sqs = orders_stack.client("sqs")
    url = orders_stack.resources.queue_urls[DEAD_LETTERS]
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        if marker in message["Body"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def still_dead(orders_queues: OrdersQueues, marker: str) -> bool:
    return any(marker in letter.summary for letter in orders_queues.messages(DEAD_LETTERS))


def test_a_cross_site_redrive_without_the_token_is_refused_and_moves_nothing(
    console: WebConsole, orders_queues: OrdersQueues, dead_letter: str
) -> None:
    form_post = {"Origin": EVIL_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}

    answer = send(console.url, "POST", REDRIVE, form_post, b"")

    assert (answer.status, answer.text.strip()) == (403, loopback.FOREIGN_ORIGIN)
    assert still_dead(orders_queues, dead_letter)


def test_a_redrive_without_the_token_is_refused_even_from_the_consoles_own_origin(
    console: WebConsole, orders_queues: OrdersQueues, dead_letter: str
) -> None:
    answer = send(console.url, "POST", REDRIVE, {"Origin": own_origin(console.url)}, b"")

    assert (answer.status, answer.text.strip()) == (403, loopback.NO_CONSOLE_TOKEN)
    assert still_dead(orders_queues, dead_letter)


def test_a_redrive_with_a_wrong_token_is_refused(
    console: WebConsole, orders_queues: OrdersQueues, dead_letter: str
) -> None:
    headers = {"Origin": own_origin(console.url), TOKEN_HEADER: console.token[:-1]}

    answer = send(console.url, "POST", REDRIVE, headers, b"")

    assert answer.status == 403
    assert still_dead(orders_queues, dead_letter)


def test_a_redrive_with_the_token_from_another_origin_is_refused(
    console: WebConsole, orders_queues: OrdersQueues, dead_letter: str
) -> None:
    headers = {"Origin": EVIL_ORIGIN, TOKEN_HEADER: console.token}

    answer = send(console.url, "POST", REDRIVE, headers, b"")

    assert (answer.status, answer.text.strip()) == (403, loopback.FOREIGN_ORIGIN)
    assert still_dead(orders_queues, dead_letter)


def test_the_consoles_page_carries_the_token_its_script_sends(console: WebConsole) -> None:
    answer = send(console.url, "GET", "/_console/queues")

    assert answer.status == 200
    assert f'<meta name="console-token" content="{console.token}">' in answer.text


def test_a_cross_site_cancel_through_the_signing_proxy_is_refused_and_the_order_completes(
    console: WebConsole, orders_api: JsonClient, orders_wait: OrdersWait
) -> None:
    order_id = orders_api.request("POST", "/orders", order(f"ada-{uuid.uuid4().hex[:8]}@example.com")).body["order_id"]

    answer = send(console.url, "POST", f"/_console/api/orders/{order_id}/cancel", {"Origin": EVIL_ORIGIN}, b"")

    assert answer.status == 403
    assert orders_wait.final_order(order_id)["status"] == "completed"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_any_other_write_through_the_signing_proxy_without_the_token_is_refused(
    console: WebConsole, method: str
) -> None:
    answer = send(console.url, method, "/_console/api/orders/o-1", {}, b"{}")

    assert (answer.status, answer.text.strip()) == (403, loopback.NO_CONSOLE_TOKEN)


def test_an_order_placed_through_the_signing_proxy_with_the_token_from_the_consoles_page_is_accepted(
    console: WebConsole,
) -> None:
    headers = {"Origin": own_origin(console.url), TOKEN_HEADER: console.token, "Content-Type": "application/json"}
    body = json.dumps(order(f"grace-{uuid.uuid4().hex[:8]}@example.com")).encode()

    answer = send(console.url, "POST", "/_console/api/orders", headers, body)

    assert answer.status == 201
    assert json.loads(answer.body)["status"] == "pending"


@pytest.mark.parametrize("path", ["/_console/orders", "/_console/mailbox", "/_console/fragment/mailbox"])
def test_a_rebinding_host_is_refused_and_sees_neither_the_token_nor_the_mailbox(console: WebConsole, path: str) -> None:
    answer = send(console.url, "GET", path, {"Host": rebound(console.url)})

    assert (answer.status, answer.text.strip()) == (403, loopback.NOT_LOOPBACK_HOST)
    assert console.token not in answer.text
    assert "@" not in answer.text


def test_a_rebinding_host_cannot_have_the_proxy_sign_a_call(console: WebConsole) -> None:
    answer = send(console.url, "GET", "/_console/api/orders?customer_id=c-console", {"Host": rebound(console.url)})

    assert (answer.status, answer.text.strip()) == (403, loopback.NOT_LOOPBACK_HOST)


def test_a_fragment_another_sites_page_embeds_is_refused(console: WebConsole) -> None:
    answer = send(console.url, "GET", "/_console/fragment/mailbox", FROM_ANOTHER_SITE)

    assert (answer.status, answer.text.strip()) == (403, loopback.CROSS_SITE)


def test_a_link_to_the_console_on_another_sites_page_opens_it(console: WebConsole) -> None:
    navigation = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}

    answer = send(console.url, "GET", "/_console/orders", navigation)

    assert answer.status == 200
    assert "<h1>Orders</h1>" in answer.text
