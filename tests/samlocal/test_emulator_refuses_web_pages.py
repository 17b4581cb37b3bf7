"""The embedded emulator answers programs on this machine, never a web page: moto's server
would grant every origin CORS, and its /moto-api routes reset the whole stack."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from samlocal import loopback
from samlocal.emulator import Emulator
from samlocal.provision import aws_client

from tests.foreign_pages import EVIL_ORIGIN, FROM_ANOTHER_SITE, own_origin, rebound, send

# moto's state is the process's: other tests' stacks may hold tables too.
TABLE = f"customers-{uuid.uuid4().hex[:8]}"
ADDRESS = "ada@example.com"
# A DynamoDB Scan as a page's fetch() would send it: moto does not check signatures.
SCAN = json.dumps({"TableName": TABLE}).encode()
SCAN_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.Scan",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def dynamodb(emulator: Emulator) -> Any:
    """A table holding a customer's address, as the orders table does."""
    client = aws_client("dynamodb", emulator.endpoint_url)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=TABLE, Item={"id": {"S": "c-1"}, "email": {"S": ADDRESS}})
    return client


def test_an_sdk_call_is_answered_with_no_cors_header(dynamodb: Any) -> None:
    answer = dynamodb.scan(TableName=TABLE)

    assert [item["email"]["S"] for item in answer["Items"]] == [ADDRESS]
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert [name for name in headers if name.startswith("access-control-")] == []


def test_a_read_from_a_page_of_another_origin_is_refused_with_no_cors_grant(emulator: Emulator, dynamodb: Any) -> None:
    answer = send(emulator.endpoint_url, "POST", "/", {**SCAN_HEADERS, "Origin": EVIL_ORIGIN}, SCAN)

    assert (answer.status, answer.text.strip()) == (403, loopback.FOREIGN_ORIGIN)
    assert answer.cors_headers() == {}
    assert ADDRESS not in answer.text


def test_a_preflight_from_another_origin_is_refused_with_no_cors_grant(emulator: Emulator) -> None:
    preflight = {
        "Origin": EVIL_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-amz-target",
    }

    answer = send(emulator.endpoint_url, "OPTIONS", "/", preflight)

    assert answer.status == 403
    assert answer.cors_headers() == {}


def test_a_read_from_the_emulators_own_origin_is_answered_with_no_cors_header(
    emulator: Emulator, dynamodb: Any
) -> None:
    headers = {**SCAN_HEADERS, "Origin": own_origin(emulator.endpoint_url)}

    answer = send(emulator.endpoint_url, "POST", "/", headers, SCAN)

    assert answer.status == 200
    assert ADDRESS in answer.text
    assert answer.cors_headers() == {}


def test_a_rebinding_host_is_refused(emulator: Emulator, dynamodb: Any) -> None:
    headers = {**SCAN_HEADERS, "Host": rebound(emulator.endpoint_url)}

    answer = send(emulator.endpoint_url, "POST", "/", headers, SCAN)

    assert (answer.status, answer.text.strip()) == (403, loopback.NOT_LOOPBACK_HOST)
    assert ADDRESS not in answer.text


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", "own"])
def test_a_moto_api_reset_from_any_page_is_refused_and_the_tables_keep_their_data(
    emulator: Emulator, dynamodb: Any, origin: str
) -> None:
    sent_from = own_origin(emulator.endpoint_url) if origin == "own" else origin

    answer = send(emulator.endpoint_url, "POST", "/moto-api/reset", {"Origin": sent_from})

    assert answer.status == 403
    assert TABLE in dynamodb.list_tables()["TableNames"]
    assert [item["email"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]] == [ADDRESS]


def test_a_moto_api_call_an_image_of_another_site_makes_is_refused(emulator: Emulator) -> None:
    answer = send(emulator.endpoint_url, "GET", "/moto-api/seed?a=7", FROM_ANOTHER_SITE)

    assert (answer.status, answer.text.strip()) == (403, loopback.CROSS_SITE)


def test_a_moto_api_call_with_a_rebinding_host_is_refused(emulator: Emulator) -> None:
    answer = send(emulator.endpoint_url, "GET", "/moto-api/data.json", {"Host": rebound(emulator.endpoint_url)})

    assert answer.status == 403


def test_a_moto_api_call_from_a_program_on_this_machine_is_still_answered(emulator: Emulator) -> None:
    answer = send(emulator.endpoint_url, "GET", "/moto-api/data.json")

    assert answer.status == 200
    assert "dynamodb" in json.loads(answer.body)
    assert answer.cors_headers() == {}
