"""The embedded AWS emulator: moto's server on a loopback port, behind a small middleware.

The middleware is where the local stack observes and bends AWS: it records the e-mails
SES accepted, refuses mail to recipients configured to always fail, keeps SES in its sandbox
when asked (mail only to verified identities: ses_sandbox.py), and (when asked) injects
throttles, 5xx answers, outages and hangs. None of it exists on the deployed path.

In front of it, `LoopbackOnly` keeps web pages out (loopback.py): moto's server grants every
origin CORS (flask-cors on each of its Flask apps), which would let any page the user has open
read the tables or reset the emulator through `/moto-api`.
"""

import contextlib
import io
import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from samlocal import loopback
from samlocal.atomic_moto import make_moto_atomic
from samlocal.ses_addresses import judge_ses_addresses_alike_on_every_python
from samlocal.ses_sandbox import rejection_message, unverified, verified_identities

StartResponse = Callable[..., Any]
# Added to the User-Agent of the local stack's own AWS calls.
LOCAL_USER_AGENT = "samlocal"
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Errors botocore's standard retry mode treats as transient.
_THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sqs": "ThrottlingException",
    "events": "ThrottlingException",
    "ses": "TooManyRequestsException",
}


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    sender: str
    recipient: str
    subject: str
    body: str
    sent_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RefusedEmail:
    """An e-mail SES refused (its recipient is on the suppression list), as SES answered."""

    sender: str
    recipient: str
    subject: str
    reason: str
    refused_at: float = field(default_factory=time.time)


@dataclass
class Stall:
    """Hold the requests that match, for `seconds` from the first one, then fail them with a
    503 without forwarding them: a dependency that hangs and never answers.

    `on_hold` runs once, when the first request is held (to kill the caller, say)."""

    operation: str
    matches: Callable[[dict[str, Any]], bool]
    seconds: float
    on_hold: Callable[[dict[str, Any]], None] | None = None
    held: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._until: float | None = None

    def catch(self, operation: str, body: dict[str, Any]) -> float | None:
        """Seconds to hold this request, or None to let it through."""
        if operation != self.operation or not self.matches(body):
            return None
        with self._lock:
            first = self._until is None
            if first:
                self._until = time.monotonic() + self.seconds
            remaining = (self._until or 0) - time.monotonic()
            if remaining <= 0:
                return None
            self.held += 1
        if first and self.on_hold is not None:
            threading.Thread(target=self.on_hold, args=(body,), daemon=True).start()
        return remaining


@dataclass
class FaultPlan:
    """Fail a share of calls to some services before they reach the emulator."""

    rate: float = 0.0
    services: frozenset[str] = frozenset({"dynamodb", "sqs", "events", "ses"})
    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault sampling, not security
        self._lock = threading.Lock()

    def draw(self, service: str) -> str | None:
        """'throttle', '5xx' or None for one call."""
        if self.rate <= 0 or service not in self.services:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = "throttle" if self._random.random() < 0.5 else "5xx"
            self.injected[f"{service}:{kind}"] += 1
            return kind


def _service_of(environ: dict[str, Any]) -> str:
    """The signing name in the SigV4 credential scope: dynamodb, sqs, events, ses, ..."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0]
        return str(scope.split("/")[3])
    except IndexError:
        return ""


def _signer_of(environ: dict[str, Any]) -> tuple[str, str]:
    """The access key and the region of the SigV4 credential scope ("", "" when unsigned)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[0], scope[2]
    except IndexError:
        return "", ""


def _operation_of(environ: dict[str, Any]) -> str:
    """PutItem, SendMessage, PutEvents, ... from the JSON protocols' target header, or the REST path."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target.rsplit(".", 1)[-1])
    if environ.get("PATH_INFO", "").endswith("/v2/email/outbound-emails"):
        return "SendEmail"
    return str(environ.get("REQUEST_METHOD", "?"))


def _outage(environ: dict[str, Any], start_response: StartResponse, operation: str) -> list[bytes]:
    if operation == "events:PutEvents":
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        entries = json.loads(raw or b"{}").get("Entries", [])
        failed = [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure (outage)"} for _ in entries]
        body = json.dumps({"FailedEntryCount": len(failed), "Entries": failed}).encode()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))])
        return [body]
    return _error(start_response, "503 Service Unavailable", "ServiceUnavailable", "Service unavailable (outage)")


def _error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


class EmulatorMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.faults = FaultPlan()
        self.rejected_recipients: set[str] = set()
        self.rejected_domains: set[str] = set()
        # SES in its sandbox: it sends only to verified identities (ses_sandbox.py).
        self.ses_sandbox = False
        self.sent_emails: list[SentEmail] = []
        self.throttled: Counter[str] = Counter()
        self.refused_emails: list[RefusedEmail] = []
        self.calls: Counter[str] = Counter()
        # "service:Operation" names that are down: PutEvents answers 200 with every entry
        # failed (as EventBridge does), anything else a 503.
        self.outages: set[str] = set()
        # "service" or "service:Operation": every call answered with the service's throttle error,
        # as when an account's sending rate is exceeded for a while.
        self.throttles: set[str] = set()
        self.stalls: list[Stall] = []
        # "service" or "service:Operation" -> until when (time.monotonic()) a matching call hangs:
        # it is accepted and never answered nor forwarded; when the hang ends (or the emulator
        # stops) its connection is dropped. The caller's read timeout is what ends its wait.
        self.hangs: dict[str, float] = {}
        # Hangs that start with the next matching call: target -> how long they last.
        self._armed_hangs: dict[str, float] = {}
        # Calls held by a hang, by the hang's target.
        self.hung: Counter[str] = Counter()
        self._hang_changed = threading.Condition(self._lock)
        self._stopping = False

    def hang(self, target: str, seconds: float, *, from_next_call: bool = False) -> None:
        """Hang every call to `target` ("dynamodb", "ses:SendEmail", ...) for `seconds` from now,
        or from the next call to it."""
        with self._hang_changed:
            if from_next_call:
                self._armed_hangs[target] = seconds
            else:
                self.hangs[target] = time.monotonic() + seconds
            self._hang_changed.notify_all()

    def hanging(self, target: str) -> bool:
        """Whether `target` hangs now, or will from its next call."""
        with self._lock:
            return target in self._armed_hangs or self.hangs.get(target, 0.0) > time.monotonic()

    def end_hang(self, target: str) -> None:
        """End the hang of `target` now: the calls it holds are dropped."""
        with self._hang_changed:
            self.hangs.pop(target, None)
            self._armed_hangs.pop(target, None)
            self._hang_changed.notify_all()

    def release_hangs(self) -> None:
        """The emulator is stopping: drop every held call, and hold no more."""
        with self._hang_changed:
            self._stopping = True
            self.hangs.clear()
            self._armed_hangs.clear()
            self._hang_changed.notify_all()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        service = _service_of(environ)
        operation = f"{service}:{_operation_of(environ)}"
        with self._lock:
            self.calls[operation] += 1
        # The local stack's own calls (pollers, provisioning) never hang.
        if (self.hangs or self._armed_hangs) and LOCAL_USER_AGENT not in environ.get("HTTP_USER_AGENT", ""):
            target = self._hang_target(service, operation)
            if target is not None:
                self._hold(environ, target)
        if operation in self.outages:
            return _outage(environ, start_response, operation)
        if (service in self.throttles or operation in self.throttles) and LOCAL_USER_AGENT not in environ.get(
            "HTTP_USER_AGENT", ""
        ):
            with self._lock:
                self.throttled[operation] += 1
            code = _THROTTLE_CODES.get(service, "ThrottlingException")
            status = "429 Too Many Requests" if service == "ses" else "400 Bad Request"
            return _error(start_response, status, code, "Maximum sending rate exceeded (injected)")
        # The emulated AWS machinery itself (pollers, provisioning) is not what faults test.
        fault = (
            None if LOCAL_USER_AGENT in environ.get("HTTP_USER_AGENT", "") else self._fault(environ, operation, service)
        )
        if fault == "stall":
            return _error(start_response, "503 Service Unavailable", "ServiceUnavailable", "No answer (stalled)")
        if fault == "throttle":
            return _error(
                start_response,
                "400 Bad Request",
                _THROTTLE_CODES.get(service, "ThrottlingException"),
                "Rate exceeded (injected)",
            )
        if fault == "5xx":
            return _error(start_response, "500 Internal Server Error", "InternalFailure", "Internal failure (injected)")
        if service == "ses" and environ.get("PATH_INFO", "").endswith("/v2/email/outbound-emails"):
            return self._send_email(environ, start_response)
        return self._app(environ, start_response)

    def _hang_target(self, service: str, operation: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            for target in (operation, service):
                armed = self._armed_hangs.pop(target, None)
                if armed is not None:
                    self.hangs[target] = now + armed
                if self.hangs.get(target, 0.0) > now:
                    self.hung[target] += 1
                    return target
        return None

    def _hold(self, environ: dict[str, Any], target: str) -> None:
        """Hold the call until the hang of `target` ends, then drop its connection unanswered."""
        # Read the body, so that nothing of this request is left to be parsed as the next one.
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._hang_changed:
            while not self._stopping:
                left = self.hangs.get(target, 0.0) - time.monotonic()
                if left <= 0:
                    break
                self._hang_changed.wait(left)
        connection = environ.get("werkzeug.socket")
        if isinstance(connection, socket.socket):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        # werkzeug takes a ConnectionError for a client gone away: it answers nothing.
        raise ConnectionAbortedError(f"{target} hangs: dropped unanswered")

    def _fault(self, environ: dict[str, Any], operation: str, service: str) -> str | None:
        """'stall' (after holding the request), 'throttle', '5xx' or None."""
        if self.stalls:
            held = self._stall(environ, operation)
            if held is not None:
                time.sleep(held)
                return "stall"
        return self.faults.draw(service)

    def _stall(self, environ: dict[str, Any], operation: str) -> float | None:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        for stall in self.stalls:
            seconds = stall.catch(operation, body)
            if seconds is not None:
                return seconds
        return None

    def _rejects(self, recipient: str) -> bool:
        return recipient in self.rejected_recipients or recipient.rsplit("@", 1)[-1] in self.rejected_domains

    def _sandbox_refusal(self, environ: dict[str, Any], request: dict[str, Any]) -> str | None:
        """SES's refusal of this send in the sandbox, or None when every recipient is verified.

        Every recipient counts, To, Cc and Bcc: one unverified fails the whole e-mail."""
        destination = request.get("Destination", {})
        addresses = [
            address
            for field_name in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destination.get(field_name, [])
        ]
        access_key, region = _signer_of(environ)
        failed = unverified(addresses, verified_identities(access_key, region))
        return rejection_message(region, failed) if failed else None

    def _send_email(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        request = json.loads(raw or b"{}")
        recipients = request.get("Destination", {}).get("ToAddresses", [])
        refusal = self._sandbox_refusal(environ, request) if self.ses_sandbox else None
        if refusal is None and any(self._rejects(recipient) for recipient in recipients):
            refusal = "Email address is on the suppression list"
        if refusal is not None:
            with self._lock:
                self.refused_emails.append(
                    RefusedEmail(
                        sender=request.get("FromEmailAddress", ""),
                        recipient=",".join(recipients),
                        subject=request.get("Content", {}).get("Simple", {}).get("Subject", {}).get("Data", ""),
                        reason=f"MessageRejected: {refusal}",
                    )
                )
            return _error(start_response, "400 Bad Request", "MessageRejected", refusal)
        captured: dict[str, str] = {}

        def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            captured["status"] = status
            return start_response(status, headers, *rest)

        body = b"".join(self._app(environ, capture))
        if captured.get("status", "").startswith("200"):
            simple = request.get("Content", {}).get("Simple", {})
            email = SentEmail(
                message_id=json.loads(body).get("MessageId", ""),
                sender=request.get("FromEmailAddress", ""),
                recipient=",".join(recipients),
                subject=simple.get("Subject", {}).get("Data", ""),
                body=simple.get("Body", {}).get("Text", {}).get("Data", ""),
            )
            with self._lock:
                self.sent_emails.append(email)
        return [body]


class LoopbackOnly:
    """What the emulator answers: programs on this machine (loopback.py), never a web page.

    moto's server adds CORS headers to every answer (`Access-Control-Allow-Origin: *`, or the
    request's own Origin): they are dropped here, whatever added them, so no page of another
    origin may read an answer; its requests, and its preflights, are refused anyway. moto's own
    routes (`/moto-api/...`: reset, seed, config, recorder, its dashboard) are refused to any
    request with an Origin, even the emulator's own: those change the emulator for everything
    that uses it, and the local stack never calls them."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        reason = loopback.refusal(
            environ.get("HTTP_HOST"), origin, environ.get("HTTP_SEC_FETCH_SITE"), int(environ.get("SERVER_PORT") or 0)
        )
        # moto routes every path that starts so to its own API (DomainDispatcherApplication).
        if reason is None and origin is not None and environ.get("PATH_INFO", "").lstrip("/").startswith("moto-api"):
            reason = loopback.MOTO_API_FROM_A_PAGE
        if reason is not None:
            loopback.log_refusal("emulator", str(environ.get("REQUEST_METHOD", "?")), reason)
            body = f"{reason}\n".encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept, *rest)

        return self._app(environ, without_cors)


class Emulator:
    """moto in server mode on 127.0.0.1, in a thread of this process."""

    def __init__(self, port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        make_moto_atomic()
        judge_ses_addresses_alike_on_every_python()
        self.middleware = EmulatorMiddleware(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, LoopbackOnly(self.middleware), threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> "Emulator":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.middleware.release_hangs()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietRequestHandler(MotoRequestHandler):
    disable_nagle_algorithm = True  # see runtime/runtime_api.py: ~40 ms per answer otherwise

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """moto's per-request access log would drown the functions' own output."""
