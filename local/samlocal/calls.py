"""`samlocal call METHOD PATH [JSON | @file]`: one SigV4-signed request to a running stack's API.

The API's methods use the AWS_IAM authorizer: the request is signed for execute-api with the
local credentials (`sigv4.py`), as `curl --aws-sigv4` or an AWS SDK would sign it. Signing an
API that has no authorizer does no harm: the signature is not looked at.
"""

import http.client
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import RenderableType
from rich.json import JSON
from rich.text import Text

from samlocal import sigv4

REDACTED_EMAIL = "<email redacted>"  # as the functions' logs show an address
# An e-mail address, much as the functions' log redaction finds one (order_service.observability,
# not imported here: it would load Powertools and X-Ray into the command).
_EMAIL = re.compile(r"[^\s@\"]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


class InvalidBodyError(ValueError):
    """The body given to `samlocal call` is not JSON, or its file cannot be read."""


@dataclass(frozen=True)
class CallAnswer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body decoded as JSON; None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def read_body(argument: str | None) -> bytes | None:
    """The request body: JSON given inline, or `@path` to a file of JSON (`@-`: standard input).

    Refused with InvalidBodyError unless it parses as JSON, so a typo never reaches the API."""
    if argument is None:
        return None
    where = "the body"
    text = argument
    if argument.startswith("@"):
        source = argument[1:]
        where = "standard input" if source == "-" else source
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidBodyError(f"cannot read the body from {where}: {error}") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidBodyError(
            f"{where} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    return text.encode()


def parse_headers(values: list[str] | None) -> dict[str, str]:
    """`Name: value` pairs (`-H`, as curl takes them)."""
    headers = {}
    for value in values or []:
        name, separator, setting = value.partition(":")
        if not separator or not name.strip():
            raise ValueError(f"expected 'Name: value', got {value!r}")
        headers[name.strip()] = setting.strip()
    return headers


def url_of(api_url: str, path: str) -> str:
    """PATH, with its query string if any, under the API's stage URL."""
    return f"{api_url.rstrip('/')}/{path.lstrip('/')}"


def call(
    api_url: str, method: str, path: str, body: bytes | None, headers: dict[str, str], *, timeout: float = 60.0
) -> CallAnswer:
    """Send one signed request; any answer, 2xx or not, is returned.

    Raises OSError when the API cannot be reached (no `samlocal up` behind the URL)."""
    url = url_of(api_url, path)
    parts = urlsplit(url)
    unsigned = {**({"Content-Type": "application/json"} if body is not None else {}), **headers}
    signed = sigv4.sign(method, url, unsigned, body)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=signed)
        response = connection.getresponse()
        return CallAnswer(response.status, response.reason, response.getheaders(), response.read())
    finally:
        connection.close()


def redact(value: Any) -> Any:
    """`value` with every e-mail address in its strings replaced, at any depth."""
    if isinstance(value, str):
        return _EMAIL.sub(REDACTED_EMAIL, value) if "@" in value else value
    if isinstance(value, dict):
        return {redact(key): redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _status_style(status: int) -> str:
    return "green" if status < 300 else "yellow" if status < 500 else "red"


def answer_lines(answer: CallAnswer, *, redacted: bool = True) -> list[RenderableType]:
    """The status line, the headers, a blank line and the body (JSON pretty-printed), for Rich.

    `redacted`: e-mail addresses shown as the functions' logs show them (the API answers with
    the customer's address)."""
    shown = redact if redacted else (lambda value: value)
    lines: list[RenderableType] = [
        Text(f"HTTP/1.1 {answer.status} {answer.reason}", style=f"bold {_status_style(answer.status)}")
    ]
    for name, value in answer.headers:
        line = Text(f"{name}:", style="cyan")
        line.append(f" {shown(value)}")
        lines.append(line)
    lines.append(Text())
    data = answer.json()
    if data is not None:
        lines.append(JSON.from_data(shown(data), indent=2))
    elif answer.body:
        lines.append(Text(shown(answer.body.decode(errors="replace"))))
    return lines
