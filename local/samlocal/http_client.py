"""A small keep-alive JSON client for driving the local API from several threads."""

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from samlocal import sigv4


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any
    headers: dict[str, str]
    latency_ms: float


class JsonClient:
    """One connection, reused; not shared between threads."""

    def __init__(self, base_url: str, timeout: float = 30.0, *, sign: bool = False) -> None:
        """`sign`: SigV4-sign every request with the local credentials (an AWS_IAM-protected API)."""
        self._sign = sign
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _headers(self, method: str, path: str, headers: dict[str, str], payload: bytes | None) -> dict[str, str]:
        """The headers to send: signed with the local credentials if asked to."""
        if not self._sign:
            return headers
        return sigv4.sign(method, f"http://{self._host}:{self._port}{self._prefix}{path}", headers, payload)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> HttpAnswer:
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        all_headers = self._headers(method, path, {"Content-Type": "application/json", **(headers or {})}, payload)
        for attempt in range(2):
            if self._connection is None:
                self._connection = self._connect()
            started = time.perf_counter()
            try:
                self._connection.request(method, self._prefix + path, body=payload, headers=all_headers)
                response = self._connection.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException):
                # A keep-alive connection the server closed meanwhile: once more on a new one.
                self.close()
                if attempt:
                    raise
                continue
            latency = (time.perf_counter() - started) * 1000
            try:
                decoded = json.loads(raw) if raw else None
            except ValueError:
                decoded = raw.decode(errors="replace")
            return HttpAnswer(response.status, decoded, dict(response.getheaders()), latency)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
