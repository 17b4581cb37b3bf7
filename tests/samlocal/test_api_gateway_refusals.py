"""Whatever reaches the local API Gateway, it answers in JSON as API Gateway does: never with
http.server's HTML error page, never with a 5xx of its own."""

import json
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from samlocal import sigv4
from samlocal.runtime.invocation import FunctionStats, Invocation
from samlocal.sources.api_gateway import MAX_BODY_BYTES, ApiGateway
from samlocal.template import ApiRoute, ApiSpec, FunctionSpec


class EchoRunner:
    """Answers every invocation with the method, body and request id the function was given."""

    def invoke(self, function: FunctionSpec, event: Mapping[str, Any]) -> Invocation:
        body = {
            "method": event["httpMethod"],
            "body": event["body"],
            "request_id": event["requestContext"]["requestId"],
        }
        return Invocation(
            function.logical_id, "r-1", True, {"statusCode": 200, "body": json.dumps(body)}, None, False, 1.0
        )

    def stats(self) -> Mapping[str, FunctionStats]:
        return {}

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture(scope="module")
def gateway() -> Iterator[ApiGateway]:
    open_api = ApiSpec("Api", "v1", None)
    signed_api = ApiSpec("Api", "v1", "AWS_IAM")
    echo = FunctionSpec(
        "Echo",
        "local-Echo",
        "echo.handler",
        "python3.11",
        3,
        128,
        {},
        None,
        sources=(ApiRoute("ANY", "/echo", open_api), ApiRoute("GET", "/signed", signed_api)),
    )
    api = ApiGateway(EchoRunner(), [echo])
    api.start()
    yield api
    api.stop()


def exchange(gateway: ApiGateway, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; read the answer until the gateway closes the connection."""
    port = int(gateway.url.rsplit(":", 1)[1].split("/", 1)[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(1 << 16):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_a_method_no_route_has_answers_403_missing_authentication_token_in_json(gateway: ApiGateway) -> None:
    status, headers, body = exchange(gateway, b"TRACE /v1/echo HTTP/1.1\r\nHost: localhost\r\n\r\n")

    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert headers["x-amzn-requestid"]


def test_an_unknown_route_names_its_error_as_api_gateway_does(gateway: ApiGateway) -> None:
    status, headers, body = exchange(
        gateway, b"GET /v1/nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )

    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "request_line",
    [
        b"GARBAGE",  # no method, no path
        b"GET /v1/echo HTTP/one.one",  # a version that is not one
        b"GET /v1/echo HTTP/2.0",  # HTTP/2 on the HTTP/1.1 port: http.server would answer 505
        b"GET /v1/echo",  # HTTP/0.9: http.server would answer with no status line at all
    ],
)
def test_a_malformed_request_line_answers_400_in_json(gateway: ApiGateway, request_line: bytes) -> None:
    status, headers, body = exchange(gateway, request_line + b"\r\n\r\n")

    assert (status, json.loads(body)) == (400, {"message": "Bad Request"})
    assert headers["x-amzn-errortype"] == "BadRequestException"
    assert headers["connection"] == "close"


def test_a_content_length_that_is_not_a_number_answers_400_in_json(gateway: ApiGateway) -> None:
    status, _, body = exchange(gateway, b"POST /v1/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n{}")

    assert (status, json.loads(body)) == (400, {"message": "Bad Request"})


def test_a_request_line_too_long_answers_414_in_json(gateway: ApiGateway) -> None:
    status, _, body = exchange(gateway, b"GET /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")

    assert (status, json.loads(body)) == (414, {"message": "URI Too Long"})


def test_a_body_over_10_mb_answers_413_in_json_and_closes_the_connection(gateway: ApiGateway) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    request = b"POST /v1/echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)

    status, headers, answer = exchange(gateway, request + body)

    assert (status, json.loads(answer)) == (413, {"message": "Request Too Long"})
    assert headers["connection"] == "close"


def test_a_chunked_body_reaches_the_function_whole(gateway: ApiGateway) -> None:
    request = (
        b"POST /v1/echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b'3\r\n{"a\r\n5\r\n": 1}\r\n0\r\n\r\n'
    )

    status, _, body = exchange(gateway, request)

    assert status == 200
    assert json.loads(body)["body"] == '{"a": 1}'


def test_a_head_answer_has_no_body(gateway: ApiGateway) -> None:
    status, headers, body = exchange(gateway, b"HEAD /v1/echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")

    assert status == 200
    assert int(headers["content-length"]) > 0
    assert body == b""


def test_an_authorization_header_without_its_parts_answers_403_incomplete_signature(gateway: ApiGateway) -> None:
    status, headers, body = exchange(
        gateway,
        b"GET /v1/signed HTTP/1.1\r\nHost: localhost\r\nAuthorization: AWS4-HMAC-SHA256 junk\r\n"
        b"Connection: close\r\n\r\n",
    )

    assert status == 403
    assert json.loads(body)["message"].startswith("Authorization header requires")
    assert headers["x-amzn-errortype"] == "IncompleteSignatureException"


def test_a_signed_request_reaches_the_function_with_the_answers_request_id(gateway: ApiGateway) -> None:
    url = f"{gateway.url}/signed"
    signed = sigv4.sign("GET", url, {"Connection": "close"}, None)
    host = url.split("/")[2]
    head = "".join(f"{name}: {value}\r\n" for name, value in signed.items())

    status, headers, body = exchange(gateway, f"GET /v1/signed HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode())

    assert status == 200
    assert json.loads(body)["request_id"] == headers["x-amzn-requestid"]
    assert "x-amzn-errortype" not in headers


def test_no_hostile_request_gets_a_5xx(gateway: ApiGateway) -> None:
    hostile = [
        b"BREW /v1/echo HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /v1/echo HTTP/3.0\r\n\r\n",
        b"\x00\x01\x02 \xff\r\n\r\n",
        b"POST /v1/echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]

    statuses = [exchange(gateway, request)[0] for request in hostile]

    assert statuses == [403, 400, 400, 400, 400]
    assert not [status for status in gateway.status_counts if status >= 500]
