"""Worker processes: warm reuse, scaling out, timeouts, init errors, API Gateway's proxy contract."""

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from samlocal.http_client import JsonClient
from samlocal.local_stack import LocalStack
from samlocal.runtime.workers import WorkerRunner


def pools(stack: LocalStack) -> WorkerRunner:
    assert isinstance(stack.runner, WorkerRunner)
    return stack.runner


def test_a_warm_worker_is_reused_by_the_next_invocation(fixture_stack: LocalStack) -> None:
    client = JsonClient(fixture_stack.api_url)

    first, second = client.request("GET", "/pid"), client.request("GET", "/pid")

    assert first.status == second.status == 200
    assert first.body["pid"] == second.body["pid"]


def test_concurrent_invocations_start_more_workers_up_to_the_reserved_concurrency(fixture_stack: LocalStack) -> None:
    def slow_call(_: int) -> int:
        answer = JsonClient(fixture_stack.api_url).request("GET", "/pid?sleep=0.5")
        assert answer.status == 200
        return int(answer.body["pid"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        pids = set(pool.map(slow_call, range(6)))

    assert 2 <= len(pids) <= 3
    assert len(set(pools(fixture_stack).pools["Echo"].pids_seen)) <= 3


def test_the_api_event_carries_multi_value_query_strings_headers_and_path_parameters(fixture_stack: LocalStack) -> None:
    client = JsonClient(fixture_stack.api_url)

    answer = client.request("POST", "/echo/a/b?tag=x&tag=y", body={"k": 1}, headers={"X-Trace": "t1"})

    assert answer.status == 200
    assert answer.body["pathParameters"] == {"proxy": "a/b"}
    assert answer.body["query"] == {"tag": ["x", "y"]}
    assert answer.body["headers"]["X-Trace"] == ["t1"]
    assert json.loads(answer.body["body"]) == {"k": 1}
    assert 0 < answer.body["remaining_ms"] <= 1000


def test_a_binary_body_reaches_the_function_base64_encoded(fixture_stack: LocalStack) -> None:
    payload = bytes(range(256))

    answer = JsonClient(fixture_stack.api_url).request(
        "PUT", "/echo/bin", body=payload, headers={"Content-Type": "application/octet-stream"}
    )

    assert answer.body["isBase64Encoded"] is True
    assert base64.b64decode(answer.body["body"]) == payload


def test_a_handler_crash_answers_502_and_an_unknown_route_403_as_api_gateway_does(fixture_stack: LocalStack) -> None:
    client = JsonClient(fixture_stack.api_url)

    crashed = client.request("GET", "/pid?crash=1")
    unknown = client.request("GET", "/nowhere")
    wrong_method = client.request("DELETE", "/pid")

    assert (crashed.status, crashed.body) == (502, {"message": "Internal server error"})
    assert (unknown.status, unknown.body) == (403, {"message": "Missing Authentication Token"})
    assert wrong_method.status == 403


def test_an_init_error_fails_the_invocation_with_its_traceback(fixture_stack: LocalStack) -> None:
    invocation = fixture_stack.invoke("Broken", {})

    assert not invocation.ok
    assert invocation.error is not None
    assert invocation.error["errorType"] == "KeyError"
    assert "BROKEN_SETTING is not set" in invocation.error["errorMessage"]
    trace = "".join(invocation.error["stackTrace"])
    assert "broken.py" in trace
    assert "_load_configuration" in trace
    assert "BROKEN_SETTING" in fixture_stack.logs.text()


def test_a_handler_past_its_timeout_is_killed_and_a_new_worker_serves_the_next_call(fixture_stack: LocalStack) -> None:
    started = time.monotonic()

    invocation = fixture_stack.invoke("Echo", {"queryStringParameters": {"sleep": "5"}, "path": "/pid"})
    after = JsonClient(fixture_stack.api_url).request("GET", "/pid")

    assert invocation.timed_out
    assert invocation.error is not None
    assert "Task timed out after 1.00 seconds" in invocation.error["errorMessage"]
    assert time.monotonic() - started < 4
    assert invocation.worker_pid is not None
    assert not _running(invocation.worker_pid)
    assert (after.status, after.body["pid"] != invocation.worker_pid) == (200, True)


def test_a_cold_start_slower_than_the_timeout_does_not_use_up_the_invocations_time(
    fixture_stack: LocalStack,
) -> None:
    invocation = fixture_stack.invoke("SlowInit", {})

    assert invocation.cold
    assert invocation.ok, invocation.error_message
    assert 0 < invocation.payload["remaining_ms"] <= 1000


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
