"""Requests as a web page of another site makes a browser send them to a local server: with
that site's `Origin`, with its name as `Host` (DNS rebinding), or with the `Sec-Fetch-*` headers
of a request made for it. Sent with http.client, so exactly these headers go out."""

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

EVIL_ORIGIN = "https://evil.example"
# A name of the attacker's that it made resolve to 127.0.0.1.
REBOUND_HOST = "evil.example"
# What Chromium sends with an <img> or <script> of another site's page.
FROM_ANOTHER_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def cors_headers(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name.startswith("access-control-")}


def send(
    base_url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> Answer:
    """One request to the server of `base_url` (its path is ignored: `path` is the whole path)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def rebound(base_url: str) -> str:
    """The `Host` a browser sends to `base_url`'s server when the page's name resolves to it."""
    port = urlsplit(base_url).port
    return f"{REBOUND_HOST}:{port}"


def own_origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"
