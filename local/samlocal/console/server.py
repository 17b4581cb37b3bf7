"""The local console: a web page on its own loopback port, served by `samlocal up`.

Pages are rendered with Jinja; each view's content is a fragment the page fetches again when
the stack changes, which it learns from a server-sent event stream (`/_console/stream`), with
the functions' log lines on the same stream. No build step, no CDN: the page's script is a
file of this package and Swagger UI's assets come from the `swagger-ui-py` wheel. Requests that
Swagger UI's "try it out" sends go through `/_console/api/...`, which signs them with the local
credentials as the API's IAM authorizer wants.

The console answers only its own pages and programs on this machine (loopback.py). Whatever
changes something (a POST, PUT, PATCH or DELETE: a redrive, or a call the proxy signs, such as
a cancel) also needs the console's token: a secret made when the console starts, put in each
page (`<meta name="console-token">`) and sent back by its script as `X-Console-Token`. A page of
another site can neither read it nor send a request with that header without the console's
consent, which it never gives (it grants no CORS).
"""

import contextlib
import http.client
import json
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import swagger_ui
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from samlocal import loopback, sigv4
from samlocal.console.views import ENGINE_VIEWS, View
from samlocal.dead_letters import redrive, source_queue_of
from samlocal.logs import LogLine

if TYPE_CHECKING:
    from samlocal.local_stack import LocalStack

PREFIX = "/_console"
_STATIC = Path(__file__).parent / "static"
_SWAGGER = Path(swagger_ui.__file__).parent / "static"
# How often the stream looks for changes; a change costs each open page one fragment fetch.
_TICK_SECONDS = 0.5
_KEEPALIVE_SECONDS = 15.0
# The header that carries the console's token (WebConsole.token) with a request that changes something.
TOKEN_HEADER = "X-Console-Token"  # noqa: S105 - a header's name, not a secret
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnknownViewError(LookupError):
    """No such view."""


def compact(line: LogLine) -> dict[str, Any]:
    """A log line as the console's tail shows it: time, function, level, message, order id."""
    entry: dict[str, Any] = {"function": line.function, "text": line.text}
    if line.text.startswith("{"):
        try:
            record = json.loads(line.text)
        except ValueError:
            return entry
        if isinstance(record, dict):
            if "_aws" in record:
                metrics = [m["Name"] for d in record["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])]
                values = {name: record.get(name) for name in metrics}
                shown = {name: v[0] if isinstance(v, list) and len(v) == 1 else v for name, v in values.items()}
                entry["text"] = "metrics: " + ", ".join(f"{name}={value}" for name, value in shown.items())
            else:
                entry.update(
                    time=str(record.get("timestamp", ""))[11:23],
                    level=record.get("level", ""),
                    message=str(record.get("message", "")),
                    order_id=record.get("order_id", ""),
                    record=record,
                )
    return entry


class WebConsole:
    """The console of one LocalStack, on 127.0.0.1:`port` (0 picks a free one)."""

    def __init__(
        self, stack: "LocalStack", port: int = 0, *, views: Sequence[View] = ENGINE_VIEWS, title: str = "samlocal"
    ) -> None:
        self.stack = stack
        self.title = title
        self.views = {view.name: view for view in views}
        packages = dict.fromkeys(["samlocal.console", *(view.package for view in views)])
        self.templates = Environment(
            loader=ChoiceLoader([PackageLoader(package, "templates") for package in packages]),
            autoescape=select_autoescape(),
        )
        # What views keep between requests (an index of the log lines, say).
        self.state: dict[str, Any] = {}
        self._stopping = threading.Event()
        # Made anew each run: only the console's own pages (and whoever reads them) know it.
        self.token = secrets.token_urlsafe(32)
        for view in views:
            if view.attach is not None:
                view.attach(self)
        handler = type("ConsoleHandler", (_Handler,), {"console": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="console", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    @property
    def home(self) -> str:
        """The first view in the navigation: where the console's root leads."""
        return next(view.name for view in self.views.values() if view.tab)

    def start(self) -> "WebConsole":
        self._thread.start()
        return self

    def stop(self) -> None:
        for listener in self.state.get("log_listeners", []):
            with contextlib.suppress(ValueError):
                self.stack.logs.listeners.remove(listener)
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    # What changes when the pipeline moves: the stream tells the pages to refresh then.
    def version(self) -> tuple[int, ...]:
        stats = self.stack.runner.stats().values()
        middleware = self.stack.emulator.middleware
        return (
            len(self.stack.logs.lines),
            len(middleware.sent_emails),
            len(middleware.refused_emails),
            sum(s.cold_starts + s.warm_invocations for s in stats),
        )

    def listen(self, listener: Callable[[LogLine], None]) -> None:
        """Feed `listener` every log line so far, then each new one, until the console stops."""
        for line in list(self.stack.logs.lines):
            listener(line)
        self.stack.logs.listeners.append(listener)
        self.state.setdefault("log_listeners", []).append(listener)

    def fragment(self, view: str, query: dict[str, list[str]]) -> str:
        found = self.views.get(view)
        if found is None or not found.fragment:
            raise UnknownViewError(view)
        context: dict[str, Any] = {"prefix": PREFIX, **found.context(self, query)}
        return self.templates.get_template(f"_{view}.html").render(**context)

    def page(self, view: str, query: dict[str, list[str]]) -> str:
        found = self.views.get(view)
        if found is None:
            raise UnknownViewError(view)
        body = self.fragment(view, query) if found.fragment else ""
        kept = "&".join(f"{key}={quote(query[key][0])}" for key in found.keeps if key in query)
        fragment_url = f"{PREFIX}/fragment/{view}" + (f"?{kept}" if kept else "")
        tabs = [(v.name, v.label or v.name.capitalize()) for v in self.views.values() if v.tab]
        return self.templates.get_template("page.html").render(
            prefix=PREFIX,
            view=view,
            current=found.parent or view,
            tabs=tabs,
            title=self.title,
            body=body,
            fragment_url=fragment_url,
            token=self.token,
        )

    def redrive(self, logical_id: str) -> int:
        """The same as `samlocal dlq redrive`: every dead letter back to the queue that feeds it."""
        urls = self.stack.resources.queue_urls
        sqs = self.stack.client("sqs")
        source = source_queue_of(sqs, urls[logical_id], urls)
        return redrive(sqs, urls[logical_id], source)

    def call_api(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """Forward a request to the API, signed with the local credentials."""
        target = urlsplit(self.stack.api_url)
        url = self.stack.api_url.rstrip("/") + path
        forwarded = {"Content-Type": headers.get("Content-Type", "application/json"), "Host": target.netloc}
        if self.stack.api_signed:
            forwarded = sigv4.sign(method, url, forwarded, body or None)
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
        try:
            connection.request(method, target.path.rstrip("/") + path, body or None, forwarded)
            answer = connection.getresponse()
            return answer.status, answer.read(), answer.getheader("Content-Type", "application/json")
        finally:
            connection.close()

    def stream(self, write: Callable[[bytes], None]) -> None:
        """Server-sent events until the client goes or the console stops: `log` for each new
        log line, `changed` when anything a view shows may have changed."""
        seen_lines = len(self.stack.logs.lines)
        version = self.version()
        last_sent = time.monotonic()
        write(b"retry: 1000\n\n")
        while not self._stopping.wait(_TICK_SECONDS):
            lines = self.stack.logs.lines
            for line in list(lines[seen_lines:]):
                write(b"event: log\ndata: " + json.dumps(compact(line)).encode() + b"\n\n")
            seen_lines = len(lines)
            current = self.version()
            if current != version:
                version = current
                write(b"event: changed\ndata: {}\n\n")
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > _KEEPALIVE_SECONDS:
                write(b": keep-alive\n\n")
                last_sent = time.monotonic()


class _Handler(loopback.LoopbackOnlyHandler):
    console: WebConsole
    protocol_version = "HTTP/1.1"
    server_label = "console"

    def refusal(self) -> str | None:
        fetch_site = self.header("Sec-Fetch-Site")
        if self.command == "GET" and self.header("Sec-Fetch-Mode") == "navigate":
            # A link to the console on another site's page opens it: a GET changes nothing,
            # and the page that linked cannot read what it shows.
            fetch_site = None
        reason = loopback.refusal(self.header("Host"), self.header("Origin"), fetch_site, self.own_port)
        if (
            reason is None
            and self.command in _WRITES
            and not loopback.same_token(self.header(TOKEN_HEADER), self.console.token)
        ):
            reason = loopback.NO_CONSOLE_TOKEN
        return reason

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _file(self, folder: Path, name: str) -> None:
        path = (folder / name).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            self._send(404, b"not found", "text/plain")
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, path.read_bytes(), kind)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        console = self.console
        try:
            if path in ("/", PREFIX, f"{PREFIX}/"):
                self.send_response(302)
                self.send_header("Location", f"{PREFIX}/{console.home}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith(f"{PREFIX}/static/"):
                self._file(_STATIC, path.removeprefix(f"{PREFIX}/static/"))
            elif path.startswith(f"{PREFIX}/swagger/"):
                self._file(_SWAGGER, path.removeprefix(f"{PREFIX}/swagger/"))
            elif path.startswith(f"{PREFIX}/api/"):
                self._proxy("GET", path.removeprefix(f"{PREFIX}/api") + (f"?{parts.query}" if parts.query else ""))
            elif path == f"{PREFIX}/stream":
                self._stream()
            elif path.startswith(f"{PREFIX}/fragment/"):
                self._send(200, console.fragment(path.removeprefix(f"{PREFIX}/fragment/"), query).encode())
            elif path.removeprefix(f"{PREFIX}/") in console.views:
                self._send(200, console.page(path.removeprefix(f"{PREFIX}/"), query).encode())
            else:
                self._send(404, b"not found", "text/plain")
        except UnknownViewError:
            self._send(404, b"not found", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path.startswith(f"{PREFIX}/api/"):
            self._proxy("POST", self.path.removeprefix(f"{PREFIX}/api"), body)
        elif path.startswith(f"{PREFIX}/queues/") and path.endswith("/redrive"):
            logical_id = path.removeprefix(f"{PREFIX}/queues/").removesuffix("/redrive")
            if logical_id not in self.console.stack.resources.queue_urls:
                self._send(404, b"no such queue", "text/plain")
                return
            moved = self.console.redrive(logical_id)
            self._send(200, json.dumps({"redriven": moved}).encode(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_PUT(self) -> None:
        self._proxy_other("PUT")

    def do_DELETE(self) -> None:
        self._proxy_other("DELETE")

    def do_PATCH(self) -> None:
        self._proxy_other("PATCH")

    def _proxy_other(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.startswith(f"{PREFIX}/api/"):
            self._send(404, b"not found", "text/plain")
            return
        self._proxy(method, self.path.removeprefix(f"{PREFIX}/api"), body)

    def _proxy(self, method: str, path: str, body: bytes = b"") -> None:
        status, answer, content_type = self.console.call_api(method, path, body, dict(self.headers))
        if path.split("?")[0] == "/openapi.json" and status == 200:
            # Swagger UI sends "try it out" to the document's server: make that this proxy.
            document = json.loads(answer)
            document["servers"] = [{"url": f"{PREFIX}/api", "description": "the local API, signed by the console"}]
            answer = json.dumps(document).encode()
        self._send(status, answer, content_type)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        self.console.stream(write)
