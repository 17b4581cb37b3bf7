"""Logger, tracer and metrics shared by the handlers, with customer e-mails kept out of logs."""

import logging
import re
from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

REDACTED_EMAIL: Final = "<email redacted>"
_EMAIL = re.compile(r"[^\s\"'<>(),;:\\@]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def redact_emails(text: str) -> str:
    # Most lines hold no "@": skipping the regex for them saves ~40 µs a line.
    return _EMAIL.sub(REDACTED_EMAIL, text) if "@" in text else text


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON format, with every e-mail address in the line redacted.

    The handlers never log an address on purpose; this is the net under that rule for
    whatever an exception message or a library happens to carry.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact_emails(super().format(record))


def build_logger() -> Logger:
    return Logger(logger_formatter=RedactingFormatter())


logger = build_logger()
# Only what the functions use: patching every library X-Ray knows imports them all at cold
# start (psycopg, httplib, sqlite3, ...). The PostgreSQL adapter patches psycopg itself.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def trace_psycopg() -> None:
    """Trace SQL too, when the PostgreSQL store is in use and tracing is on."""
    if tracer.disabled:
        return
    from aws_xray_sdk.core import patch

    # raise_errors=False: X-Ray's psycopg patch also reaches for psycopg_pool, which is not used.
    patch(["psycopg"], raise_errors=False)
