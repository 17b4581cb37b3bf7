"""Whom the local servers answer: programs on this machine, and the pages they served themselves.

Every server of the local stack listens on 127.0.0.1, but that alone does not keep a web page
out: a page open in the user's browser can send requests to 127.0.0.1 (cross-site requests),
and a name the page's site controls can be made to resolve to 127.0.0.1 (DNS rebinding), when
the browser sends that name as `Host` and treats the answers as the page's own. So each server
refuses, with a 403 and a short plain reason:

- a `Host` that is not a loopback name (127.0.0.1, localhost, [::1], with or without a port):
  the signature of DNS rebinding. A request with no `Host` at all is let through: browsers
  always send one, HTTP/1.0 clients may not;
- an `Origin` that is not the server's own (http://<loopback name>:<its port>): a page of
  another site, or of another local server, or `null` (a sandboxed frame, a file);
- a `Sec-Fetch-Site` of `cross-site` or `same-site`: what a browser sends with a request it
  makes for another site's page, even one with no `Origin` (an image, a script, a link).

AWS SDKs, the AWS CLI, curl and the worker processes send a loopback `Host` and neither
header: they are answered as before.
"""

import hmac
import logging
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})

NOT_LOOPBACK_HOST = "refused: the Host is not a loopback name (127.0.0.1, localhost or [::1])"
FOREIGN_ORIGIN = "refused: this server answers no web page but its own"
CROSS_SITE = "refused: this server answers no request a browser sends for another site"
MOTO_API_FROM_A_PAGE = "refused: /moto-api answers programs on this machine, not web pages"
NO_CONSOLE_TOKEN = "refused: a console action needs the token of the console's own pages"  # noqa: S105 - a reason

_log = logging.getLogger("samlocal.loopback")


def is_loopback_host(host: str) -> bool:
    """Whether a `Host` value is a loopback name, with or without a port."""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name, rest = host[: end + 1], host[end + 1 :]
    else:
        name, colon, port = host.partition(":")
        rest = colon + port
    port = rest.removeprefix(":")
    if rest and not (rest.startswith(":") and port.isascii() and port.isdigit()):
        return False
    return name.lower() in LOOPBACK_NAMES


def own_origins(port: int) -> frozenset[str]:
    """The origins of the pages a server on 127.0.0.1:`port` serves itself."""
    origins = {f"http://{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:
        origins |= {f"http://{name}" for name in LOOPBACK_NAMES}
    return frozenset(origins)


def refusal(host: str | None, origin: str | None, fetch_site: str | None, port: int) -> str | None:
    """Why a request with these headers is refused, or None when it is answered.

    A header sent more than once arrives joined with commas, and is then refused."""
    if host is not None and not is_loopback_host(host):
        return NOT_LOOPBACK_HOST
    if origin is not None and origin.lower() not in own_origins(port):
        return FOREIGN_ORIGIN
    if fetch_site is not None and fetch_site.lower() in {"cross-site", "same-site"}:
        return CROSS_SITE
    return None


def same_token(sent: str | None, expected: str) -> bool:
    """Whether `sent` is the `expected` secret, compared in constant time."""
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


def log_refusal(server: str, method: str, reason: str) -> None:
    """One line per refusal: the server, the method and the reason; never the path, the headers
    or the body, which may carry what the page was after (an order id, an address)."""
    _log.warning("%s refused a %s request: %s", server, method[:16], reason.removeprefix("refused: "))


class LoopbackOnlyHandler(BaseHTTPRequestHandler):
    """An http.server handler that refuses what `refusal` refuses, before any do_ method runs."""

    server_label: ClassVar[str] = "local server"

    def header(self, name: str) -> str | None:
        """The header's value; the values joined with commas when it came more than once."""
        values = self.headers.get_all(name)
        return None if values is None else ",".join(values)

    @property
    def own_port(self) -> int:
        return self.server.server_port if isinstance(self.server, HTTPServer) else 0

    def refusal(self) -> str | None:
        """Why this request is refused, or None: what the server checks, besides its routes."""
        return refusal(self.header("Host"), self.header("Origin"), self.header("Sec-Fetch-Site"), self.own_port)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        reason = self.refusal()
        if reason is None:
            return True
        log_refusal(self.server_label, self.command, reason)
        # The body, if any, is not read: where the next request would start is unknown.
        self.close_connection = True
        self.refuse(reason)
        return False

    def refuse(self, reason: str) -> None:
        """Answer 403 with the reason, in plain text."""
        body = f"{reason}\n".encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
