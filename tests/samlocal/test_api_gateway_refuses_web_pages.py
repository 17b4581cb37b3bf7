"""The local API Gateway answers programs on this machine, never a web page: a page of another
site, or one whose name was made to resolve to 127.0.0.1, gets a 403 in JSON and invokes nothing."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from samlocal import loopback
from samlocal.runtime.invocation import FunctionStats, Invocation
from samlocal.sources.api_gateway import ApiGateway
from samlocal.template import ApiRoute, ApiSpec, FunctionSpec

from tests.foreign_pages import EVIL_ORIGIN, FROM_ANOTHER_SITE, own_origin, rebound, send


class CountingRunner:
    """Answers every invocation 200, and counts them."""

    def __init__(self) -> None:
        self.invocations = 0

    def invoke(self, function: FunctionSpec, event: Mapping[str, Any]) -> Invocation:
        self.invocations += 1
        return Invocation(function.logical_id, "r-1", True, {"statusCode": 200, "body": "{}"}, None, False, 1.0)

    def stats(self) -> Mapping[str, FunctionStats]:
        return {}

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
def runner() -> CountingRunner:
    return CountingRunner()


@pytest.fixture
def gateway(runner: CountingRunner) -> Iterator[ApiGateway]:
    api = ApiSpec("Api", "v1", None)
    function = FunctionSpec(
        "Orders",
        "local-Orders",
        "app.handler",
        "python3.11",
        3,
        128,
        {},
        None,
        sources=(ApiRoute("ANY", "/orders", api),),
    )
    running = ApiGateway(runner, [function])
    running.start()
    yield running
    running.stop()


ORDER = json.dumps({"customer_email": "ada@example.com"}).encode()


def test_a_program_on_this_machine_reaches_the_function(gateway: ApiGateway, runner: CountingRunner) -> None:
    answer = send(gateway.url, "POST", "/v1/orders", {"Content-Type": "application/json"}, ORDER)

    assert answer.status == 200
    assert runner.invocations == 1


def test_the_gateways_own_origin_reaches_the_function(gateway: ApiGateway, runner: CountingRunner) -> None:
    answer = send(gateway.url, "POST", "/v1/orders", {"Origin": own_origin(gateway.url)}, ORDER)

    assert answer.status == 200
    assert runner.invocations == 1


def test_a_post_from_a_page_of_another_origin_is_refused_in_json_and_invokes_nothing(
    gateway: ApiGateway, runner: CountingRunner
) -> None:
    answer = send(gateway.url, "POST", "/v1/orders", {"Origin": EVIL_ORIGIN, "Content-Type": "text/plain"}, ORDER)

    assert (answer.status, json.loads(answer.body)) == (403, {"message": loopback.FOREIGN_ORIGIN})
    assert answer.headers["x-amzn-errortype"] == "ForbiddenException"
    assert answer.cors_headers() == {}
    assert runner.invocations == 0


def test_a_preflight_from_another_origin_is_refused_and_invokes_nothing(
    gateway: ApiGateway, runner: CountingRunner
) -> None:
    preflight = {"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "DELETE"}

    answer = send(gateway.url, "OPTIONS", "/v1/orders", preflight)

    assert answer.status == 403
    assert answer.cors_headers() == {}
    assert runner.invocations == 0


def test_a_rebinding_host_is_refused_and_invokes_nothing(gateway: ApiGateway, runner: CountingRunner) -> None:
    answer = send(gateway.url, "GET", "/v1/orders", {"Host": rebound(gateway.url)})

    assert (answer.status, json.loads(answer.body)) == (403, {"message": loopback.NOT_LOOPBACK_HOST})
    assert runner.invocations == 0


def test_a_request_an_image_of_another_site_makes_is_refused_and_invokes_nothing(
    gateway: ApiGateway, runner: CountingRunner
) -> None:
    answer = send(gateway.url, "GET", "/v1/orders", FROM_ANOTHER_SITE)

    assert (answer.status, json.loads(answer.body)) == (403, {"message": loopback.CROSS_SITE})
    assert runner.invocations == 0


def test_a_refusal_closes_the_connection_without_reading_the_body(gateway: ApiGateway) -> None:
    answer = send(gateway.url, "POST", "/v1/orders", {"Origin": EVIL_ORIGIN}, ORDER)

    assert answer.headers["connection"] == "close"
    assert gateway.status_counts == {403: 1}
