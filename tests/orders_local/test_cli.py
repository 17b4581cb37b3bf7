"""The `orders` command, run as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parents[1] / "samlocal" / "fixture_app" / "template.yaml"


def orders(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orders_local", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_invoke_prints_the_result_on_stdout_and_the_logs_on_stderr(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "path": "/pid",
                "pathParameters": None,
                "multiValueQueryStringParameters": None,
                "multiValueHeaders": {},
                "body": None,
                "isBase64Encoded": False,
            }
        )
    )

    done = orders("invoke", "Echo", "--event", str(event), "--template", str(FIXTURES))

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statusCode"] == 200
    assert "REPORT RequestId" in done.stderr


def test_invoke_of_a_failing_init_exits_non_zero_with_the_error_as_json() -> None:
    done = orders("invoke", "Broken", "--event", "-", "--template", str(FIXTURES), stdin="{}")

    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "KeyError"


def test_an_unsupported_template_stops_with_the_named_construct(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Clicks:\n    Type: AWS::Kinesis::Stream\n")

    done = orders("invoke", "X", "--event", "-", "--template", str(template), stdin="{}")

    assert done.returncode == 2
    assert "resource type AWS::Kinesis::Stream in Clicks" in done.stderr


def test_dead_letter_reasons_come_from_the_last_failure_logged_for_each_message() -> None:
    from samlocal.dead_letters import failure_reasons

    lines = [
        'SendNotificationFunction {"message": "Record failed; reported for retry", "record_id": "m-1", '
        '"error_type": "ClientError", "error": "Throttling"}',
        '{"message": "Notification sent", "record_id": "m-2"}',
        'SendNotificationFunction {"message": "Record failed; reported for retry", "record_id": "m-1", '
        '"error_type": "ClientError", "error": "MessageRejected"}',
        "REPORT RequestId: x Duration: 1 ms",
    ]

    assert failure_reasons(lines) == {"m-1": "ClientError: MessageRejected"}


def test_the_soak_runs_the_template_with_the_parameters_it_is_given() -> None:
    # When the soak is given a parameter its template does not declare
    done = orders("soak", "--orders", "1", "--parameter", "NoSuchParameter=5")

    # Then the template refuses it, as a deployment would: the value reached the stack, not a default
    assert done.returncode == 2
    assert "unknown template parameter(s): NoSuchParameter" in done.stderr
