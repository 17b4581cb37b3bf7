"""`make screenshots`: the README's pictures of each console view, taken from a demo run.

    python -m tools.screenshots [--out docs/screenshots] [--orders 40]

Starts the local stack with its console, runs the demo's workload (some orders rejected, some
e-mails refused and dead-lettered), and photographs each view in Debian's Chromium, headless.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

from orders_local.console_views import order_console
from orders_local.demo import run_demo
from orders_local.stack import OrderStack, OrderStackOptions
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1280, 800


def _shoot(page: Page, url: str, path: Path, ready: str) -> None:
    page.goto(url)
    page.locator(ready).first.wait_for(timeout=60_000)
    page.wait_for_timeout(300)  # let the last live refresh land
    page.screenshot(path=str(path), full_page=False)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--orders", type=int, default=40)
    arguments = parser.parse_args()
    chromium = os.environ.get("ORDERS_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
    if not Path(chromium).exists():
        print(f"no Chromium at {chromium}: apt-get install chromium (or set ORDERS_CHROMIUM)", file=sys.stderr)
        return 1
    arguments.out.mkdir(parents=True, exist_ok=True)
    with OrderStack(OrderStackOptions(stack_name="screenshots", time_scale=0.02)) as stack:
        web = order_console(stack).start()
        try:
            run_demo(stack, orders=arguments.orders, clients=4, drain_patience=60)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                _shoot(page, f"{web.url}/orders", arguments.out / "orders.png", "#orders")
                completed = page.locator("#orders tr:has(.status.completed) a").first.inner_text()
                _shoot(
                    page,
                    f"{web.url}/order?id={completed}",
                    arguments.out / "order-timeline.png",
                    "#timeline .invocation",
                )
                _shoot(page, f"{web.url}/functions", arguments.out / "functions.png", "#functions")
                page.goto(f"{web.url}/mailbox")
                page.locator("#sent .mail summary").first.click()
                _shoot(page, f"{web.url}/mailbox", arguments.out / "mailbox.png", "#sent .mail")
                _shoot(page, f"{web.url}/queues", arguments.out / "queues.png", "#queues")
                _shoot(page, f"{web.url}/api", arguments.out / "api.png", ".opblock")
                browser.close()
        finally:
            web.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
