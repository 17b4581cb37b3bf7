"""The `samlocal` command, run as a user with their own SAM application runs it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.samlocal.apps import SCHEDULED_QUEUE_CONSUMER, WORKER


def samlocal(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "samlocal", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
        env={**os.environ, "SAMLOCAL_STATE": str(cwd / ".samlocal" / "stack.json")},
    )


@pytest.fixture
def application(tmp_path: Path) -> Path:
    """A team's application folder: a queue consumer and a scheduled job, no API."""
    folder = tmp_path / "nightly-jobs"
    (folder / "functions").mkdir(parents=True)
    (folder / "template.yaml").write_text(SCHEDULED_QUEUE_CONSUMER)
    (folder / "functions" / "worker.py").write_text(WORKER)
    return folder


def test_up_runs_a_template_with_no_api_says_what_it_started_and_where_sdks_reach_it(application: Path) -> None:
    # Given a team's template with no API, in its own folder
    stdout = application / "stdout.txt"
    with stdout.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "samlocal", "up", "--port", "0", "--console-port", "-1", "--no-reload"],
            cwd=application,
            env={**os.environ, "SAMLOCAL_STATE": str(application / ".samlocal" / "stack.json")},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # When `samlocal up` starts it
        deadline = time.monotonic() + 120
        while "Ready." not in stdout.read_text():
            assert process.poll() is None, stdout.read_text()
            assert time.monotonic() < deadline, stdout.read_text()
            time.sleep(0.1)
        printed = stdout.read_text()

        # Then it says what it started, one line a kind, and the endpoint with the credentials to use
        started = {line.split()[0]: line for line in printed.splitlines() if line.strip()}
        assert "Worker (worker.handler)" in started["Functions"]
        assert "Nightly (worker.tick)" in started["Functions"]
        assert started["Queues"].endswith("1: Jobs")
        assert "Nightly <- every 86400 s" in started["Schedules"]
        assert "API" not in started
        endpoint = started["Endpoint"].split()[1]
        assert endpoint.startswith("http://127.0.0.1:")
        assert "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local" in started["Endpoint"]

        # And an SDK given that endpoint reaches the stack, named after the application's folder
        sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        queue_url = sqs.get_queue_url(QueueName="nightly-jobs-Jobs")["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody="job-1")
        deadline = time.monotonic() + 60
        while json.dumps({"handled": "job-1"}) not in stdout.read_text():
            assert time.monotonic() < deadline, stdout.read_text()
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_template_the_engine_cannot_run_is_one_line_naming_the_element(tmp_path: Path) -> None:
    # Given a template with a resource the engine does not run
    (tmp_path / "template.yaml").write_text("Resources:\n  Clicks:\n    Type: AWS::Kinesis::Stream\n")

    # When it is invoked
    done = samlocal("invoke", "X", "--event", "-", cwd=tmp_path, stdin="{}")

    # Then one line names the element, with the file and line it is declared at, and no traceback is shown
    assert done.returncode == 2
    assert "template.yaml:2: cannot run this template" in done.stderr
    assert "resource type AWS::Kinesis::Stream in Clicks" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback_behind_an_error(tmp_path: Path) -> None:
    # Given the same template
    (tmp_path / "template.yaml").write_text("Resources:\n  Clicks:\n    Type: AWS::Kinesis::Stream\n")

    # When it is invoked with --debug
    done = samlocal("--debug", "invoke", "X", "--event", "-", cwd=tmp_path, stdin="{}")

    # Then the traceback comes before the line
    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert "resource type AWS::Kinesis::Stream in Clicks" in done.stderr


def test_no_template_in_the_folder_is_one_line_saying_which_file(tmp_path: Path) -> None:
    # When samlocal is started in a folder with no template.yaml
    done = samlocal("invoke", "X", "--event", "-", cwd=tmp_path, stdin="{}")

    # Then one line names the file it looked for, and what to do
    assert done.returncode == 2
    assert f"No template at {tmp_path.resolve() / 'template.yaml'}" in done.stderr
    assert "--template PATH" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("module", "verbs"),
    [
        ("samlocal", ["up", "invoke", "call", "events", "dlq"]),
        ("orders_local", ["up", "invoke", "demo", "soak", "call", "events", "dlq"]),
    ],
)
def test_each_command_lists_its_verbs(module: str, verbs: list[str], tmp_path: Path) -> None:
    # When a user asks a command for help
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "120"},
    )

    # Then every verb is listed
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert set(verbs) <= listed


def test_an_unsupported_event_property_is_placed_at_its_line(tmp_path: Path) -> None:
    # Given a function whose schedule uses a cron expression, on line 12 of its template
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: a.b\n"
        "      Runtime: python3.13\n"
        "      Events:\n"
        "        Tick:\n"
        "          Type: Schedule\n"
        "          Properties:\n"
        "            Schedule: cron(0 1 * * ? *)\n"
    )

    # When it is invoked
    done = samlocal("invoke", "Fn", "--event", "-", cwd=tmp_path, stdin="{}")

    # Then the line names the event where the template declares it, and what the engine does run
    assert done.returncode == 2
    assert "template.yaml:9: " in done.stderr
    assert "schedule expression cron(0 1 * * ? *) in Fn.Events.Tick: only rate(...) is emulated" in done.stderr
