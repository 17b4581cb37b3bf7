"""`orders soak --api-url --stack-name` against the local stack, run as if it were deployed.

The local stack publishes its outputs in the emulator's CloudFormation; the command finds them
with AWS_ENDPOINT_URL pointing at the emulator and the local credentials in the environment,
signs every request with them, and does the accounting it does against AWS. Here the emulator
also knows every e-mail SES took, so the accounting's claims can be held to the truth.
"""

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.credentials import Credentials
from orders_local.remote import RefusedError, SignedJsonClient, connect, region_of_api
from orders_local.remote_soak import plan_for, run_remote_soak
from orders_local.stack import OrderStack, OrderStackOptions
from orders_local.workload import NO_ANSWER, retry_after
from samlocal.http_client import HttpAnswer
from samlocal.provision import LOCAL_CREDENTIALS
from samlocal.template import REGION

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "remote-soak"


@pytest.fixture(scope="module")
def stack() -> Iterator[OrderStack]:
    # AWS's retry delays scaled down, as for every local pipeline test.
    with OrderStack(OrderStackOptions(stack_name=STACK_NAME, time_scale=0.02)) as running:
        yield running


def aws_environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """This process's environment without any AWS setting of the machine's, plus `variables`."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        **variables,
    )
    return environment


def local_credentials(stack: OrderStack, tmp_path: Path) -> dict[str, str]:
    return aws_environment(
        tmp_path,
        AWS_ENDPOINT_URL=stack.endpoint_url,
        AWS_ACCESS_KEY_ID=LOCAL_CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=LOCAL_CREDENTIALS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=REGION,
    )


def soak(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orders_local", "soak", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**environment, "COLUMNS": "200"},
        check=False,
    )


def test_the_soak_of_a_stack_by_its_outputs_finds_every_order_final_and_notified_once(
    stack: OrderStack, tmp_path: Path
) -> None:
    # Given the local stack, known only by its API URL, its stack name and the caller's credentials
    report_file = tmp_path / "report.json"

    # When it is soaked as a deployed stack
    done = soak(
        local_credentials(stack, tmp_path),
        *("--api-url", stack.api_url, "--stack-name", STACK_NAME, "--region", REGION),
        *("--orders", "30", "--clients", "4", "--timeout", "60", "--report-json", str(report_file)),
    )

    # Then the accounting holds, and says what it checked
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(report_file.read_text())
    assert report["problems"] == []
    assert report["ok"]
    accepted = report["orders_accepted"]
    assert accepted == 30
    assert "not final" not in report["final_statuses"]
    assert sum(report["final_statuses"].values()) == accepted
    assert report["notifications_delivered"] == accepted
    assert report["notification_queue_left"] == 0
    assert all(queue["of_this_run"] == 0 for queue in report["queues"].values())
    assert report["server_errors"] == 0
    assert report["invalid_refused"] >= 1
    assert 0 < report["end_to_end_ms"]["p50"] <= report["end_to_end_ms"]["p99"]
    assert report["accepted_per_second"] > 0
    assert any("idempotency record" in line for line in report["checked"])
    assert "Throughput and latency" in done.stdout
    # ... and what it claims is true: the emulator saw exactly one e-mail per accepted order,
    emails = Counter(email.recipient for email in stack.emulator.middleware.sent_emails)
    assert sorted(emails.values()) == [1] * accepted
    # ... while no address of them was printed.
    assert "@" not in done.stdout + done.stderr


def test_notifications_that_never_go_out_fail_the_accounting_and_are_found_dead_lettered(
    stack: OrderStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stack whose SES refuses every e-mail of the soak (to the mailbox simulator's domain)
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in local_credentials(stack, tmp_path).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    stack.emulator.middleware.rejected_domains.add("simulator.amazonses.com")
    try:
        # When a few orders are soaked, the pipeline given a few seconds to dead-letter them
        report = run_remote_soak(connect(stack.api_url, STACK_NAME), orders=5, clients=2, timeout=15)
    finally:
        stack.emulator.middleware.rejected_domains.clear()

    # Then every order is final, but none is notified, and the dead letters are this run's
    accepted = len(report.result.accepted)
    assert not report.ok
    assert "not final" not in report.final_statuses
    assert report.notifications_delivered == 0
    assert len([problem for problem in report.problems if "no completed delivery" in problem]) == accepted
    dead_letters = report.queues["NotificationDeadLetterQueueUrl"]
    assert len(dead_letters.of_this_run) == accepted
    assert any("notification dead-letter queue holds" in problem for problem in report.problems)


def test_a_stack_that_does_not_exist_is_refused_with_exit_2(stack: OrderStack, tmp_path: Path) -> None:
    done = soak(local_credentials(stack, tmp_path), "--api-url", stack.api_url, "--stack-name", "no-such-stack")

    assert done.returncode == 2
    assert "No CloudFormation stack 'no-such-stack'" in done.stderr


@pytest.mark.filterwarnings("ignore:Tried to parse AWS..CloudFormation..WaitConditionHandle:UserWarning")
def test_a_stack_without_the_outputs_the_accounting_reads_is_refused_with_exit_2(
    stack: OrderStack, tmp_path: Path
) -> None:
    # Given a stack deployed from an older template: the API's URL, and nothing else
    template = {
        "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"ApiUrl": {"Value": stack.api_url}},
    }
    stack.client("cloudformation").create_stack(StackName="older", TemplateBody=json.dumps(template))

    done = soak(local_credentials(stack, tmp_path), "--api-url", stack.api_url, "--stack-name", "older")

    assert done.returncode == 2
    assert "has no output IdempotencyTableName, SendNotificationFunctionName" in done.stderr


def test_without_credentials_the_soak_is_refused_with_exit_2(stack: OrderStack, tmp_path: Path) -> None:
    no_credentials = aws_environment(tmp_path, AWS_ENDPOINT_URL=stack.endpoint_url, AWS_DEFAULT_REGION=REGION)

    done = soak(no_credentials, "--api-url", stack.api_url, "--stack-name", STACK_NAME)

    assert done.returncode == 2
    assert "No AWS credentials found" in done.stderr


def test_fault_options_are_refused_against_a_deployed_stack(stack: OrderStack, tmp_path: Path) -> None:
    done = soak(
        local_credentials(stack, tmp_path),
        "--api-url",
        stack.api_url,
        "--stack-name",
        STACK_NAME,
        "--fault-rate",
        "0.5",
    )

    assert done.returncode == 2
    assert "--fault-rate: for the local soak only" in done.stderr


def test_each_run_places_new_orders_for_the_mailbox_simulator_and_nothing_else_changes() -> None:
    first, second = plan_for("run-1", 20), plan_for("run-2", 20)

    assert {order.key for order in first.orders}.isdisjoint(order.key for order in second.orders)
    assert all(order.body["customer_email"].endswith("@simulator.amazonses.com") for order in first.orders)
    assert all(order.body["customer_id"].startswith("soak-run-1-") for order in first.orders)
    assert [(o.cancel, o.retries, o.expect_rejected) for o in first.orders] == [
        (o.cancel, o.retries, o.expect_rejected) for o in second.orders
    ]


def test_a_throttled_or_unanswered_request_is_retried_with_a_growing_delay_unless_told_when() -> None:
    throttled = HttpAnswer(429, {"message": "Too Many Requests"}, {}, 1.0)
    unanswered = HttpAnswer(NO_ANSWER, "no answer: TimeoutError", {}, 0.0)
    told = HttpAnswer(429, None, {"Retry-After": "3"}, 1.0)

    assert [retry_after(throttled, retried) for retried in range(3)] == [0.5, 1.0, 2.0]
    assert retry_after(unanswered, 1) == 1.0
    assert retry_after(told) == 3.0
    assert retry_after(HttpAnswer(503, None, {}, 1.0)) is None


class _Recorder(BaseHTTPRequestHandler):
    """Answers 404 to any GET, keeping the headers it was sent."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        _Recorder.seen.append(dict(self.headers.items()))
        body = b'{"message": "no such order"}'
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_requests_are_signed_for_execute_api_with_the_session_token_of_temporary_credentials() -> None:
    # Given temporary credentials (a role's: key, secret and session token) and an API
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    credentials = Credentials("ASIAEXAMPLE", "secret", "the-session-token")
    client = SignedJsonClient(f"http://127.0.0.1:{server.server_port}/v1", credentials, "eu-west-1")

    # When an order is read
    try:
        answer = client.request("GET", "/orders/o-1")
    finally:
        client.close()
        server.shutdown()

    # Then the request carries a SigV4 signature for execute-api in that region, and the token
    assert answer.status == 404
    headers = {name.lower(): value for name, value in _Recorder.seen[-1].items()}
    assert "Credential=ASIAEXAMPLE/" in headers["authorization"]
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "the-session-token"


def test_the_region_comes_from_the_api_url_and_a_different_one_is_refused() -> None:
    url = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1"

    assert region_of_api(url) == "eu-west-1"
    assert region_of_api("http://127.0.0.1:3000/v1") is None
    with pytest.raises(RefusedError, match="pass --region eu-west-1"):
        connect(url, "orders-staging", region="us-east-1")
