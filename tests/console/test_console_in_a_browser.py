"""The local console in a real browser: Debian's Chromium, headless, driven by Playwright.

One walk through what a developer does: place an order and watch its timeline fill in through
to the e-mail, read the e-mail, see a notification dead-lettered and redrive it with the button,
and use Swagger UI with every request off this machine refused.
"""

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from orders_local.console_views import order_console
from orders_local.pytest_plugin import OrdersFaults, OrdersWait
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from samlocal.console.server import WebConsole
from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack

CHROMIUM = os.environ.get("ORDERS_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# How long a view may take to show what the pipeline did: seconds on a quiet laptop, more on a
# two-core CI machine whose other test worker runs a soak (Playwright's default is 5 s).
PIPELINE_MS = 30_000


def order(email: str) -> dict[str, object]:
    return {
        "customer_id": "c-console",
        "customer_email": email,
        "currency": "EUR",
        "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}],
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium (or point ORDERS_CHROMIUM at one)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console(orders_stack: LocalStack) -> Iterator[WebConsole]:
    web = order_console(orders_stack).start()
    yield web
    web.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    yield opened
    context.close()


def test_an_orders_timeline_fills_in_live_through_to_its_email_which_the_mailbox_shows(
    page: Page, console: WebConsole, orders_api: JsonClient
) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{console.url}/orders")
    expect(page.locator("#live")).to_have_class("on")

    placed = orders_api.request("POST", "/orders", order(email))
    order_id = placed.body["order_id"]

    row = page.locator(f'tr[data-order="{order_id}"]')
    expect(row).to_be_visible(timeout=PIPELINE_MS)
    row.get_by_role("link").click()
    timeline = page.locator("#timeline")
    expect(timeline.locator('[data-function="SendNotificationFunction"]')).to_be_visible(timeout=PIPELINE_MS)
    functions = timeline.locator(".invocation .function").all_inner_texts()
    assert functions[:3] == ["ApiFunction", "AnnounceOrderChangesFunction", "ProcessOrderFunction"]
    expect(timeline.locator(".call").filter(has_text="dynamodb · PutItem").first).to_be_visible()
    timeline.locator("details.logs").first.locator("summary").click()
    expect(timeline.locator("details.logs pre").first).to_contain_text(order_id)

    page.locator("#nav-mailbox").click()
    mail = page.locator("#sent .mail").filter(has_text=email)
    mail.locator("summary").click()
    expect(mail.locator(".body")).to_contain_text(order_id, timeout=PIPELINE_MS)

    page.locator("#nav-functions").click()
    api_row = page.locator('#functions tr[data-function="ApiFunction"]')
    expect(api_row).to_be_visible()
    assert int(api_row.locator("td").nth(1).inner_text()) >= 1
    expect(page.locator("#live")).to_have_class("on")
    another = orders_api.request("POST", "/orders", order(email)).body["order_id"]
    expect(page.locator("#tail .line").filter(has_text=another).first).to_be_visible(timeout=PIPELINE_MS)


def test_a_dead_lettered_notification_is_shown_with_its_failure_and_redriven_by_the_button(
    page: Page, console: WebConsole, orders_api: JsonClient, orders_faults: OrdersFaults, orders_wait: OrdersWait
) -> None:
    email = f"bounce-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(f"{console.url}/queues")
    with orders_faults.refuse_emails(to=email):
        orders_api.request("POST", "/orders", order(email))
        letters = page.locator('tr.dead-letter[data-queue="NotificationDeadLetterQueue"]')
        expect(letters).to_have_count(1, timeout=90_000)
        expect(letters).to_contain_text("last failure:")
        page.locator("#nav-mailbox").click()
        expect(page.locator("#refused .mail").filter(has_text=email).first).to_be_visible(timeout=PIPELINE_MS)
        page.locator("#nav-queues").click()

    page.locator('button.redrive[data-queue="NotificationDeadLetterQueue"]').click()

    expect(page.locator('tr.dead-letter[data-queue="NotificationDeadLetterQueue"]')).to_have_count(0)
    email_sent = orders_wait.email_to(email)
    assert email_sent.recipient == email


def test_swagger_ui_loads_with_every_request_off_this_machine_refused_and_tries_a_call_signed(
    page: Page, console: WebConsole
) -> None:
    off_machine: list[str] = []

    def only_this_machine(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            route.continue_()
        else:
            off_machine.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_machine)
    page.goto(f"{console.url}/api")
    operation = page.locator(".opblock-get").filter(has=page.locator('[data-path="/orders"]'))
    expect(operation).to_be_visible()

    operation.locator(".opblock-summary").click()
    if operation.get_by_role("button", name="Try it out").count():
        operation.get_by_role("button", name="Try it out").click()
    operation.locator('input[placeholder="customer_id"]').fill("c-console")
    operation.get_by_role("button", name="Execute").click()

    expect(operation.locator(".live-responses-table td.response-col_status:not(.col_header)")).to_have_text("200")
    assert off_machine == []
