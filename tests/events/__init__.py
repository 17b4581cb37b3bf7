"""AWS-shaped events, built from samples in the shapes AWS documents, with only the varying parts filled in."""

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

_HERE = Path(__file__).parent


def _sample(name: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((_HERE / name).read_text())
    return copy.deepcopy(sample)


def api_request(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy (v1) event."""
    event = _sample("api_gateway_rest_proxy.json")
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    for name, value in (headers or {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    event.update(
        resource=resource or path,
        path=path,
        httpMethod=method,
        body=text,
        isBase64Encoded=base64_body,
        queryStringParameters=query,
        multiValueQueryStringParameters=None if query is None else {k: [v] for k, v in query.items()},
        pathParameters=path_parameters,
    )
    event["requestContext"].update(
        httpMethod=method, resourcePath=resource or path, path=f"/v1{path}", requestId=str(uuid.uuid4())
    )
    return event


def order_placed(detail: dict[str, Any]) -> dict[str, Any]:
    event = _sample("eventbridge_order_placed.json")
    event["id"] = str(uuid.uuid4())
    event["detail"] = detail
    return event


def sqs_batch(bodies: list[str]) -> dict[str, Any]:
    records = []
    for body in bodies:
        record = _sample("sqs_record.json")
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body
        records.append(record)
    return {"Records": records}


def stream_record(
    event_name: str, new_image: dict[str, Any] | None, old_image: dict[str, Any] | None, sequence: int
) -> dict[str, Any]:
    record = _sample("dynamodb_stream_record.json")
    record["eventName"] = event_name
    record["eventID"] = uuid.uuid4().hex
    record["dynamodb"]["SequenceNumber"] = str(sequence)
    image = new_image or old_image or {}
    record["dynamodb"]["Keys"] = {"PK": image.get("PK"), "SK": image.get("SK")}
    if new_image is not None:
        record["dynamodb"]["NewImage"] = new_image
    if old_image is not None:
        record["dynamodb"]["OldImage"] = old_image
    return record
