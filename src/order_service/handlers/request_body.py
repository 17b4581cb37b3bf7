"""How the HTTP API reads a request body: as JSON, and only as JSON.

Powertools' request validation would also read form and multipart bodies (a multipart type
without a boundary raising a ValueError, which ends the invocation: a 502), and its JSON reader
lets through what `json.loads` raises besides a JSONDecodeError (a RecursionError for deep
nesting, a ValueError for an integer of thousands of digits). Here every body that cannot be
read is a 400 and every other media type a 415, both in the API's error body.
"""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

JSON_MEDIA_TYPE = "application/json"


def is_json(content_type: str) -> bool:
    """`application/json`, with or without parameters, in any case (RFC 9110: media types are
    case-insensitive); no Content-Type at all is read as JSON too, as it always has been."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("", JSON_MEDIA_TYPE)


def read_json(text: str) -> Any:
    """`json.loads`, with each way it can fail raised as the JSONDecodeError Powertools answers
    as an invalid body."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("the body is nested too deeply to be read", text, 0) from None
    except ValueError:  # Python converts integers of at most 4,300 digits
        raise json.JSONDecodeError("a number in the body has too many digits", text, 0) from None


class _JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def _get_body(self, app: EventHandlerInstance) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type") or ""
        if not is_json(content_type):
            raise RequestUnsupportedContentType(
                "Unsupported content type",
                errors=[
                    {
                        "type": "unsupported_content_type",
                        "loc": ("header", "Content-Type"),
                        "msg": f"the body must be {JSON_MEDIA_TYPE}",
                        "input": {},
                        "ctx": {},
                    }
                ],
            )
        return self._parse_json_data(app)


def json_api() -> APIGatewayRestResolver:
    """A validating REST resolver that reads bodies as JSON only (see the module's docstring)."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=read_json)
    # The resolver builds each route's middleware stack from this attribute at its first request.
    app._request_validation_middleware = _JsonBodyValidation()
    return app
