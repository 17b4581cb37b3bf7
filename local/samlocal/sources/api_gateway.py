"""API Gateway REST API (proxy integration) on 127.0.0.1: v1 events, 502 on a failed handler.

Rules followed (see docs/local-stack.md for the AWS pages):
- the event has the REST proxy (v1) shape, with single- and multi-value headers and query
  strings, path parameters, and a body that is base64-encoded when it is not UTF-8 text;
- an unknown resource or method answers 403 {"message": "Missing Authentication Token"};
- a method behind the AWS_IAM authorizer needs a valid SigV4 signature (here: made with the
  local credentials), else 403; the caller's IAM policies are not evaluated;
- a handler error, timeout or malformed result answers 502 {"message": "Internal server error"};
- whatever never reaches a route is answered in JSON, as API Gateway answers it, never with
  http.server's HTML page: a method it does not route (TRACE, anything but GET, POST, PUT,
  DELETE, PATCH, HEAD, OPTIONS) 403 Missing Authentication Token; a malformed request line,
  header or Content-Length 400; a body over 10 MB 413; no request, however malformed, gets a
  5xx of the gateway's own (only the integration's 502);
- its own answers name the error in `x-amzn-ErrorType`, and every answer carries
  `x-amzn-RequestId`: the event's `requestContext.requestId`, which the API function logs as
  its correlation id.

Not API Gateway's, but the local stack's (loopback.py): a request with a Host that is not a
loopback name, or sent by a web page of another origin, is refused with a 403 in JSON
(`ForbiddenException`) before any route, so no page the user has open can drive the API.
"""

import base64
import io
import json
import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from samlocal import sigv4
from samlocal.intrinsics import UnsupportedConstructError
from samlocal.loopback import LoopbackOnlyHandler
from samlocal.provision import LOCAL_CREDENTIALS
from samlocal.runtime.invocation import Runner, new_request_id
from samlocal.sources import Declared, Trigger
from samlocal.template import ACCOUNT_ID, IMPLICIT_API, ApiRoute, ApiSpec, FunctionSpec, only_properties

_MISSING_TOKEN = (403, {"message": "Missing Authentication Token"})
_BAD_GATEWAY = (502, {"message": "Internal server error"})
_BAD_REQUEST = (400, {"message": "Bad Request"})
_TOO_LARGE = (413, {"message": "Request Too Long"})
_INCOMPLETE_SIGNATURE = "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and X-Amz-Date"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
# An oversize body is read and dropped up to this much, so the client, still sending it, reads
# the 413 instead of a connection reset; beyond it the connection is just closed.
_DRAIN_LIMIT = 4 * MAX_BODY_BYTES
_DRAIN_PATIENCE_SECONDS = 5.0
# The x-amzn-ErrorType API Gateway sends with its own answers, by their message's beginning.
_ERROR_TYPES = (
    ("Missing Authentication Token", "MissingAuthenticationTokenException"),
    ("Authorization header requires", "IncompleteSignatureException"),
    ("The security token included in the request is invalid", "UnrecognizedClientException"),
    ("Credential should be scoped", "InvalidSignatureException"),
    ("Signature expired", "InvalidSignatureException"),
    ("The request signature we calculated", "InvalidSignatureException"),
    ("Internal server error", "InternalServerErrorException"),
    ("Bad Request", "BadRequestException"),
)


class _RefusedError(Exception):
    """A request the gateway answers itself, before any route: its status and JSON body."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


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
    request_id: str | None = None,
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
            "requestId": request_id or new_request_id(),
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
    """An answer of the gateway's own, with the x-amzn-ErrorType API Gateway gives it."""
    headers = [("Content-Type", "application/json")]
    message = str(body.get("message", ""))
    error_type = next((kind for start, kind in _ERROR_TYPES if message.startswith(start)), None)
    if error_type is not None:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps(body).encode()


def refusal_for(code: int) -> tuple[int, dict[str, str]]:
    """What API Gateway answers where http.server would send an HTML error page for `code`."""
    if code == HTTPStatus.NOT_IMPLEMENTED:  # a method no route has (TRACE, CONNECT, FOO, ...)
        return _MISSING_TOKEN[0], dict(_MISSING_TOKEN[1])
    if code >= 500:  # HTTP/2.0 on the HTTP/1.1 port: the request is bad, not the gateway
        return _BAD_REQUEST[0], dict(_BAD_REQUEST[1])
    # RFC 9110's names, the same on every Python (3.13 renamed 414 from "Request-URI Too Long").
    return int(code), {"message": _PHRASES.get(int(code), HTTPStatus(code).phrase)}


_PHRASES = {414: "URI Too Long"}


def _drain(request: BaseHTTPRequestHandler, length: int) -> None:
    """Read and drop an oversize body the client is sending, within limits (see _DRAIN_LIMIT)."""
    if length > _DRAIN_LIMIT:
        return
    request.connection.settimeout(_DRAIN_PATIENCE_SECONDS)
    try:
        while length > 0:
            chunk = request.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)
    except OSError:  # the client stopped sending: the connection is closed anyway
        return


def _read_chunked(rfile: io.BufferedIOBase) -> bytes:
    """A `Transfer-Encoding: chunked` body."""
    body = bytearray()
    while True:
        try:
            size = int(rfile.readline(1024).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _RefusedError(*_BAD_REQUEST) from None
        if size == 0:
            while rfile.readline(65537).strip():  # trailer fields, up to the empty line
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise _RefusedError(*_TOO_LARGE)
        body += rfile.read(size)
        rfile.readline(3)  # the CRLF after the chunk


def read_body(request: BaseHTTPRequestHandler) -> bytes:
    """The request's body, or _RefusedError for a length that is unreadable or over the limit.

    After a refusal the connection must close: where the next request starts is unknown."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return _read_chunked(request.rfile)
    lengths = set(request.headers.get_all("Content-Length") or [])
    if not lengths:
        return b""
    if len(lengths) > 1 or not all(value.strip().isdigit() for value in lengths):
        raise _RefusedError(*_BAD_REQUEST)
    length = int(lengths.pop())
    if length > MAX_BODY_BYTES:
        _drain(request, length)
        raise _RefusedError(*_TOO_LARGE)
    return request.rfile.read(length) if length else b""


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

        class Handler(LoopbackOnlyHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # see runtime_api.py: ~40 ms per answer otherwise
            server_label = "API Gateway"

            def log_message(self, format: str, *args: Any) -> None:
                """Requests show up in the function's own logs."""

            def _handle(self) -> None:
                started = time.perf_counter()
                request_id = new_request_id()
                status, headers, payload = gateway.dispatch(self, routes, runner, request_id=request_id)
                # Counted before it is sent: whoever has the answer finds it counted.
                gateway._record(status, (time.perf_counter() - started) * 1000)
                self._answer(status, headers, payload, request_id)

            def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes, request_id: str) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in {"content-length", "connection", "x-amzn-requestid"}:
                        self.send_header(name, value)
                self.send_header("x-amzn-RequestId", request_id)
                self.send_header("Content-Length", str(len(payload)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":  # a HEAD answer has the headers of a GET, and no body
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

            def parse_request(self) -> bool:
                if not super().parse_request():
                    return False
                if self.request_version == "HTTP/0.9":  # "GET /" without a version: not HTTP/1.x
                    self.send_error(HTTPStatus.BAD_REQUEST)
                    return False
                return True

            def refuse(self, reason: str) -> None:
                """A request from a web page or a rebound name: refused in JSON, as the gateway's own."""
                body = json.dumps({"message": reason}).encode()
                headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")]
                gateway._record(403, None)
                self._answer(403, headers, body, new_request_id())

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                """http.server's own refusals (a malformed request line or header, a method with no
                do_ method, a line too long, ...) answered in JSON, as API Gateway would."""
                status, body = refusal_for(code)
                if self.request_version == "HTTP/0.9":  # unparsed: it would silence the status line
                    self.request_version = self.protocol_version
                self.close_connection = True  # the rest of the request was not read
                gateway._record(status, None)
                self._answer(*_json_answer(status, body), new_request_id())

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

    def _record(self, status: int, latency_ms: float | None) -> None:
        """`latency_ms`: None for a request refused before it was read whole."""
        with self._lock:
            if latency_ms is not None:
                self.latencies_ms.append(latency_ms)
            self.status_counts[status] = self.status_counts.get(status, 0) + 1

    def dispatch(
        self, request: BaseHTTPRequestHandler, routes: list[Route], runner: Runner, *, request_id: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            body = read_body(request)
        except _RefusedError as refused:
            request.close_connection = True
            return _json_answer(refused.status, refused.body)
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
                try:
                    refusal = sigv4.verify(
                        request.command, f"http://{host}{request.path}", dict(request.headers.items()), body
                    )
                except ValueError:  # an Authorization header whose parts are not Name=value
                    refusal = _INCOMPLETE_SIGNATURE
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
                request_id=request_id,
            )
            invocation = runner.invoke(route.function, event)
            if not invocation.ok:
                return _json_answer(*_BAD_GATEWAY)
            return http_answer(invocation.payload)
        return _json_answer(*_MISSING_TOKEN)


def read(declared: Declared) -> ApiRoute:
    spec = declared.properties
    only_properties(spec, {"Path", "Method", "RestApiId", "Auth"}, declared.where)
    api = declared.stack.apis()[str(spec.get("RestApiId", IMPLICIT_API))]
    authorizer = spec.get("Auth", {}).get("Authorizer", api.authorizer)
    if authorizer not in (None, "NONE", "AWS_IAM"):
        raise UnsupportedConstructError(f"authorizer {authorizer}", declared.where)
    api = ApiSpec(api.logical_id, api.stage, None if authorizer == "NONE" else authorizer)
    return ApiRoute(method=str(spec["Method"]).upper(), path=str(spec["Path"]), api=api)


# One gateway serves every route of the template: the stack starts it with all of them.
TRIGGER = Trigger(("Api",), ApiRoute, "API routes", read, describe=lambda r: f"{r.method} {r.path}")
