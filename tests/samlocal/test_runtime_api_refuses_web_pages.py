"""The Lambda Runtime API is HTTP on a loopback port: a web page must neither take an
invocation's event (an order, an address) nor answer it. The worker's runtime client sends a
loopback Host and no Origin, and is answered."""

import json
from collections.abc import Iterator

import pytest
from samlocal import loopback
from samlocal.runtime.runtime_api import PendingInvocation, RuntimeApi

from tests.foreign_pages import EVIL_ORIGIN, FROM_ANOTHER_SITE, send

NEXT = "/2018-06-01/runtime/invocation/next"
EVENT = json.dumps({"customer_email": "ada@example.com"}).encode()


@pytest.fixture
def runtime_api() -> Iterator[RuntimeApi]:
    api = RuntimeApi()
    yield api
    api.close()


@pytest.fixture
def pending(runtime_api: RuntimeApi) -> PendingInvocation:
    invocation = PendingInvocation("r-1", EVENT, 3.0, "arn:aws:lambda:us-east-1:123456789012:function:f", "Root=1")
    runtime_api.submit(invocation)
    return invocation


def base_url(runtime_api: RuntimeApi) -> str:
    return f"http://{runtime_api.address}"


def test_the_workers_runtime_client_takes_the_next_invocation(
    runtime_api: RuntimeApi, pending: PendingInvocation
) -> None:
    answer = send(base_url(runtime_api), "GET", NEXT)

    assert (answer.status, answer.body) == (200, EVENT)
    assert answer.headers["lambda-runtime-aws-request-id"] == "r-1"


def test_a_rebinding_host_is_refused_and_the_invocation_stays_for_the_worker(
    runtime_api: RuntimeApi, pending: PendingInvocation
) -> None:
    port = runtime_api.address.rsplit(":", 1)[1]

    refused = send(base_url(runtime_api), "GET", NEXT, {"Host": f"evil.example:{port}"})

    assert (refused.status, refused.text.strip()) == (403, loopback.NOT_LOOPBACK_HOST)
    assert b"ada@example.com" not in refused.body
    assert send(base_url(runtime_api), "GET", NEXT).body == EVENT


def test_an_answer_from_a_page_of_another_origin_is_refused_and_the_invocation_stays_unanswered(
    runtime_api: RuntimeApi, pending: PendingInvocation
) -> None:
    path = "/2018-06-01/runtime/invocation/r-1/response"

    refused = send(base_url(runtime_api), "POST", path, {"Origin": EVIL_ORIGIN}, b'{"forged": true}')

    assert (refused.status, refused.text.strip()) == (403, loopback.FOREIGN_ORIGIN)
    assert not pending.done.is_set()
    assert pending.result is None


def test_a_request_an_image_of_another_site_makes_is_refused(
    runtime_api: RuntimeApi, pending: PendingInvocation
) -> None:
    refused = send(base_url(runtime_api), "GET", NEXT, FROM_ANOTHER_SITE)

    assert refused.status == 403
    assert send(base_url(runtime_api), "GET", NEXT).body == EVENT
