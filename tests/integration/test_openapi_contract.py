"""A property-based run of the HTTP API against its own OpenAPI document (schemathesis).

Schema-valid and schema-invalid requests for every operation, signed as the API's IAM
authorizer requires; no answer may be a 5xx, and every answer must match what the document
says of its status code, content type and body.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from samlocal import sigv4
from samlocal.local_stack import LocalStack
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# 4 operations x 2 modes x 130 = 1,040 generated requests.
EXAMPLES = int(os.environ.get("OPENAPI_EXAMPLES_PER_OPERATION", "130"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class SigV4(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        signed = sigv4.sign(str(request.method), str(request.url), dict(request.headers), body)
        request.headers.update(signed)
        return request


@pytest.fixture(scope="module")
def signed_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = SigV4()
        yield session


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack, signed_session: requests.Session) -> Any:
    document = signed_session.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(document)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_generated_request_gets_a_documented_answer_and_never_a_5xx(
    stack: LocalStack, api_schema: Any, signed_session: requests.Session, mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 4
    sent: dict[str, int] = {}

    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def exercise(case: Any) -> None:
            response = case.call(base_url=stack.api_url, session=signed_session, timeout=30)
            case.validate_response(response, checks=CHECKS)
            sent[case.operation.label] = sent.get(case.operation.label, 0) + 1

        exercise()

    assert sum(sent.values()) >= len(operations) * min(EXAMPLES, 10)
