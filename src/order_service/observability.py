"""Logger, tracer and metrics shared by the handlers, with customer e-mails kept out of logs and traces."""

import json
import logging
import re
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_xray_sdk.core.emitters.udp_emitter import PROTOCOL_DELIMITER, PROTOCOL_HEADER, UDPEmitter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

REDACTED_EMAIL: Final = "<email redacted>"
# Anything the API could accept and more: up to 64 characters that are neither whitespace nor
# "@" (RFC 5321's local-part limit; quotes, parentheses and backslashes included), "@", a dotted
# domain. Greedy, so a longer run of text before the "@" loses its last 64 characters, which
# covers the whole local part; a few neighbouring characters may go with it.
_EMAIL = re.compile(r"[^\s@]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_log = logging.getLogger(__name__)


def redact_emails(text: str) -> str:
    # Most lines hold no "@": skipping the regex for them saves ~40 µs a line.
    return _EMAIL.sub(REDACTED_EMAIL, text) if "@" in text else text


def redact_strings(value: Any) -> Any:
    """`value` with every string in it redacted: dict keys and values, list and tuple items, nested.

    Redacting the strings themselves, before they are serialised, means no escaping (a quote
    turned into `\\"`, a non-ASCII letter into `\\u00e9`) can split an address so that a pattern
    run over the JSON text misses part of it. Other values are returned as they are.
    """
    if isinstance(value, str):
        return redact_emails(value)
    if isinstance(value, dict):
        return {redact_strings(key): redact_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_strings(item) for item in value]
    return value


def _redacting(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON `default` that redacts what `convert` makes of a value JSON cannot serialise."""
    return lambda value: redact_strings(convert(value))


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON format, with every e-mail address in the line redacted.

    The handlers never log an address on purpose; this is the net under that rule for
    whatever an exception message, an extra field or a library happens to carry. The strings
    of the log record (message, extra keys, exception text, nested dicts and lists) are
    redacted before serialisation; values JSON cannot serialise as they are (an exception
    object, a date) are redacted once converted.
    """

    def __init__(self, *, json_default: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(json_default=_redacting(json_default or str), **kwargs)

    def serialize(self, log: "LogRecord") -> str:
        line = super().serialize(log)
        # JSON never escapes "@": a line without one holds no address, and most lines have none.
        if "@" not in line:
            return line
        return super().serialize(redact_strings(log))


class RedactingEmitter(UDPEmitter):  # type: ignore[misc]  # aws_xray_sdk ships no type hints
    """X-Ray's UDP emitter, sending every segment with its strings redacted as the logs are.

    Powertools records responses and exceptions as metadata, and X-Ray's botocore patch records
    the message of every AWS error (SES's errors name the recipient): whatever a segment carries, it
    leaves the process without an address.
    """

    def send_entity(self, entity: Any) -> None:
        try:
            fields = entity.to_dict()
            document = json.dumps(fields, default=str)
            # As for log lines: JSON never escapes "@", so most segments need no second pass.
            if "@" in document:
                document = json.dumps(redact_strings(fields), default=_redacting(str))
            self._send_data(f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{document}")
        except Exception:  # as UDPEmitter does: tracing must never fail the invocation
            _log.exception("Failed to send entity to Daemon.")


def build_logger(*, service: str | None = None, stream: IO[str] | None = None) -> Logger:
    """The functions' logger (`service` and `stream`: Powertools' defaults unless given, for tests)."""
    return Logger(service=service, stream=stream, logger_formatter=RedactingFormatter())


logger = build_logger()
# Only what the functions use: patching every library X-Ray knows imports them all at cold
# start (psycopg, httplib, sqlite3, ...). The PostgreSQL adapter patches psycopg itself.
tracer = Tracer(patch_modules=("botocore",))
# The recorder Powertools traces with (X-Ray's global one) sends through the redacting emitter,
# to the daemon AWS_XRAY_DAEMON_ADDRESS names, as the emitter it replaces did. Set as a property:
# the recorder's configure() would also rebuild its sampler's X-Ray client outside Lambda.
_recorder: Any = tracer.provider
_recorder.emitter = RedactingEmitter()
metrics = Metrics()


def trace_psycopg() -> None:
    """Trace SQL too, when the PostgreSQL store is in use and tracing is on."""
    if tracer.disabled:
        return
    from aws_xray_sdk.core import patch

    # raise_errors=False: X-Ray's psycopg patch also reaches for psycopg_pool, which is not used.
    patch(["psycopg"], raise_errors=False)
