"""API Gateway REST API (proxy integration) on 127.0.0.1: v1 events, 502 on a failed handler.

Rules followed (see docs/local-stack.md for the AWS pages):
- the event has the REST proxy (v1) shape, with single- and multi-value headers and query
  strings, path parameters, and a body that is base64-encoded when it is not UTF-8 text;
- an unknown resource or method answers 403 {"message": "Missing Authentication Token"};
- a method behind the AWS_IAM authorizer needs a valid SigV4 signature (here: made with the
  local credentials), else 403; the caller's IAM policies are not evaluated;
- a handler error, timeout or malformed result answers 502 {"message": "Internal server error"}.
"""

import base64
import json
import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from orders_local import sigv4
from orders_local.provision import LOCAL_CREDENTIALS
from orders_local.runtime.invocation import Runner, new_request_id
from orders_local.template import ACCOUNT_ID, ApiRoute, FunctionSpec

_MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})
_BAD_GATEWAY = (502, {"message": "Internal server error"})
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class Route:
    def __init__(self, route: ApiRoute, function: FunctionSpec) -> None:
        self.method = route.method
        self.template = route.path
        self.stage = route.api.stage
        self.authorizer = route.api.authorizer
        self.function = function
        template = route.path
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(template))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        self._pattern = re.compile(f"^{pattern}$")
        # Literal segments win over parameters, as in API Gateway.
        self.specificity = (template.count("/"), -template.count("{"))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._pattern.match(path)
        return None if found is None else found.groupdict()


def rest_proxy_event(
    *,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: Mapping[str, str],
    stage: str,
    source_ip: str,
    caller: str | None = None,
) -> dict[str, Any]:
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    try:
        text: str | None = body.decode("utf-8") if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    return {
        "resource": route.template,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": route.template,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": new_request_id(),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": "127.0.0.1",
            "identity": {
                "sourceIp": source_ip,
                "userAgent": multi_headers.get("User-Agent", [""])[-1],
                "accessKey": LOCAL_CREDENTIALS["aws_access_key_id"] if caller else None,
                "caller": caller,
                "user": caller,
                "userArn": caller,
                "accountId": ACCOUNT_ID if caller else None,
            },
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def http_answer(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP response API Gateway makes of a proxy integration's result."""
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        return _json_answer(*_BAD_GATEWAY)
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values if (str(name), str(value)) not in headers)
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return int(result["statusCode"]), headers, payload


def _json_answer(status: int, body: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps(body).encode()


class ApiGateway:
    def __init__(self, runner: Runner, functions: list[FunctionSpec], *, port: int = 0) -> None:
        self.latencies_ms: list[float] = []
        self.status_counts: dict[int, int] = {}
        self._lock = threading.Lock()
        routes = [Route(route, function) for function in functions for route in function.api_routes]
        self.stages = sorted({route.stage for route in routes})
        self.iam_protected = any(route.authorizer == "AWS_IAM" for route in routes)
        routes.sort(key=lambda route: route.specificity, reverse=True)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see runtime_api.py: ~40 ms per answer otherwise

            def log_message(self, format: str, *args: Any) -> None:
                """Requests show up in the function's own logs."""

            def _handle(self) -> None:
                started = time.perf_counter()
                status, headers, payload = gateway.dispatch(self, routes, runner)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in {"content-length", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                gateway._record(status, (time.perf_counter() - started) * 1000)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle  # noqa: N815 - http.server names

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the (first) stage, as the ApiUrl output gives it on AWS."""
        return f"http://127.0.0.1:{self._server.server_port}/{self.stages[0]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, status: int, latency_ms: float) -> None:
        with self._lock:
            self.latencies_ms.append(latency_ms)
            self.status_counts[status] = self.status_counts.get(status, 0) + 1

    def dispatch(
        self, request: BaseHTTPRequestHandler, routes: list[Route], runner: Runner
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return _json_answer(413, {"message": "Request Too Long"})
        body = request.rfile.read(length) if length else b""
        url = urlsplit(request.path)
        stage, _, rest = url.path.lstrip("/").partition("/")
        path = f"/{rest}"
        for route in routes:
            parameters = route.match(path)
            if parameters is None or route.stage != stage or route.method not in {request.command, "ANY"}:
                continue
            caller = None
            if route.authorizer == "AWS_IAM":
                host = request.headers.get("Host", "127.0.0.1")
                refusal = sigv4.verify(
                    request.command, f"http://{host}{request.path}", dict(request.headers.items()), body
                )
                if refusal is not None:
                    return _json_answer(403, {"message": refusal})
                caller = sigv4.LOCAL_CALLER_ARN
            event = rest_proxy_event(
                method=request.command,
                path=path,
                query=parse_qsl(url.query, keep_blank_values=True),
                headers=list(request.headers.items()),
                body=body,
                route=route,
                path_parameters=parameters,
                stage=stage,
                source_ip=request.client_address[0],
                caller=caller,
            )
            invocation = runner.invoke(route.function, event)
            if not invocation.ok:
                return _json_answer(*_BAD_GATEWAY)
            return http_answer(invocation.payload)
        return _json_answer(*_MISSING_TOKEN)
