"""`orders call` against a running `orders up`, as a user runs both."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from samlocal.calls import InvalidBodyError, read_body

ROOT = Path(__file__).resolve().parents[2]
ORDER = {
    "customer_id": "c-call",
    "customer_email": "ada@example.com",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": 2, "unit_price": "9.99"}],
}


@dataclass(frozen=True)
class RunningUp:
    """An `orders up` in a process of its own, its state file in a directory of the test's."""

    environment: dict[str, str]
    stdout: Path
    stderr: Path

    def orders(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orders_local", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=self.environment,
            check=False,
        )


@pytest.fixture(scope="module")
def running_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningUp]:
    home = tmp_path_factory.mktemp("orders-up")
    environment = {**os.environ, "SAMLOCAL_STATE": str(home / "stack.json")}
    stdout, stderr = home / "stdout.txt", home / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        # Files, not pipes: a pipe nobody reads would fill with the functions' logs and stall it.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orders_local",
                "up",
                "--port",
                "0",
                "--console-port",
                "0",
                "--runner",
                "in-process",
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ready." not in stdout.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`orders up` did not start:\n{stdout.read_text()}\n{stderr.read_text()}")
            time.sleep(0.1)
        yield RunningUp(environment, stdout, stderr)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answer_body(stdout: str) -> object:
    """The JSON body `orders call` printed after the status line and the headers."""
    _, _, body = stdout.partition("\n\n")
    return json.loads(body)


def test_up_lists_what_it_does_not_emulate_grouped_by_kind(running_up: RunningUp) -> None:
    printed = running_up.stdout.read_text()

    assert "Declared in the template but not emulated locally (" in printed
    assert "CloudWatch alarms (" in printed
    assert "ApiErrorsAlarm" not in printed


def test_call_signs_the_request_and_prints_status_headers_and_the_json_body(running_up: RunningUp) -> None:
    done = running_up.orders("call", "POST", "/orders", json.dumps(ORDER), "-H", "Idempotency-Key: call-inline")

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("HTTP/1.1 201 Created\n")
    assert "x-amzn-RequestId: " in done.stdout
    body = answer_body(done.stdout)
    assert isinstance(body, dict)
    assert (body["status"], body["total"]) == ("pending", "19.98")
    # The customer's address is shown as the logs show it.
    assert body["customer_email"] == "<email redacted>"
    assert "ada@example.com" not in done.stdout


def test_call_reads_the_body_from_the_file_after_the_at_sign(running_up: RunningUp, tmp_path: Path) -> None:
    order_file = tmp_path / "order.json"
    order_file.write_text(json.dumps({**ORDER, "customer_id": "c-from-file"}, indent=2))

    done = running_up.orders("call", "POST", "/orders", f"@{order_file}")

    assert done.returncode == 0, done.stdout + done.stderr
    body = answer_body(done.stdout)
    assert isinstance(body, dict)
    assert body["customer_id"] == "c-from-file"


def test_a_non_2xx_answer_is_printed_whole_and_exits_1(running_up: RunningUp) -> None:
    done = running_up.orders("call", "GET", "/orders/no-such-order")

    assert done.returncode == 1
    assert done.stdout.startswith("HTTP/1.1 404 Not Found\n")
    assert answer_body(done.stdout) == {"message": "order no-such-order does not exist"}


@pytest.mark.parametrize("body", ['{"customer_id": ', "@TMP/broken.json"])
def test_a_body_that_is_not_json_is_refused_before_any_call(tmp_path: Path, body: str) -> None:
    # No stack: had the command tried to call, it would say that no stack is running.
    environment = {**os.environ, "SAMLOCAL_STATE": str(tmp_path / "none.json")}
    argument = body.replace("TMP", str(tmp_path))
    (tmp_path / "broken.json").write_text("{not json")

    done = subprocess.run(
        [sys.executable, "-m", "orders_local", "call", "POST", "/orders", argument],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environment,
        check=False,
    )

    assert done.returncode == 2
    assert "Nothing sent:" in done.stderr
    assert "no running stack" not in done.stderr
    assert done.stdout == ""


def test_a_file_that_is_not_json_is_refused_with_where_it_breaks(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "items": [1, 2,]\n}')

    # Python 3.13 words the error and counts the column its own way.
    with pytest.raises(InvalidBodyError, match=r"broken.json is not valid JSON: .* \(line 2, column 1[78]\)"):
        read_body(f"@{broken}")


def test_a_file_that_cannot_be_read_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidBodyError, match=r"cannot read the body from .*missing\.json"):
        read_body(f"@{tmp_path / 'missing.json'}")


def test_the_orders_records_show_in_ups_compact_log_and_in_orders_events(running_up: RunningUp) -> None:
    placed = running_up.orders("call", "POST", "/orders", json.dumps({**ORDER, "customer_id": "c-events"}))
    body = answer_body(placed.stdout)
    assert isinstance(body, dict)

    events = running_up.orders("events", body["order_id"])

    # The in-process runner logs before the API answers: the record is in the log already.
    assert f"INFO    Order placed  order_id={body['order_id']}" in running_up.stderr.read_text()
    assert events.returncode == 0, events.stderr
    first = events.stdout.splitlines()[0]
    assert first.split()[1:] == ["ApiFunction", "INFO", "Order", "placed"]
