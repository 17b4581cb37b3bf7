"""Collects the functions' log lines, and shows them prefixed with the function's name.

Three ways to show a line (`samlocal up --log-format`):
- compact (the default): one line per record: time, function, level, message, and the order
  id when the record has one; an EMF metrics blob as `metrics: Name=value, ...`; Lambda's
  START, END and REPORT lines shortened; any other line as it is;
- pretty: JSON lines indented, the rest as it is;
- raw: every line as the function wrote it.

The book always keeps the lines as written: only what the terminal shows changes.
"""

import contextlib
import json
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO, get_args

from rich.console import Console
from rich.text import Text

_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")
LogStyle = Literal["compact", "pretty", "raw"]
LOG_STYLES: tuple[LogStyle, ...] = get_args(LogStyle)
_LEVEL_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "bold red", "CRITICAL": "bold red"}
LEVEL_WIDTH = len("WARNING")
_REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<duration>[\d.]+) ms"
    r"(?:.*?Max Memory Used: (?P<memory>\d+) MB)?(?P<rest>.*)$"
)
_START_OR_END = re.compile(r"^(?P<kind>START|END) RequestId: (?P<id>\S+)")
# Powertools' default timestamp, e.g. "2026-11-28 08:30:19,182+0000".
_POWERTOOLS_TIME = "%Y-%m-%d %H:%M:%S,%f%z"


@dataclass(frozen=True)
class LogLine:
    function: str
    text: str


@dataclass(frozen=True)
class Record:
    """What the compact view shows of one log line."""

    time: datetime | None
    level: str
    message: str
    order_id: str | None = None
    # Metrics and Lambda's own lines: shown dimmed, so the handlers' records stand out.
    quiet: bool = False


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a line holds, or None for any other line."""
    if not text.startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def record_time(value: Any) -> datetime | None:
    """A record's time: Powertools' timestamp, an ISO 8601 one, or epoch milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        return None
    for parse in (lambda text: datetime.strptime(text, _POWERTOOLS_TIME), datetime.fromisoformat):
        with contextlib.suppress(ValueError):
            parsed = parse(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def _number(value: Any) -> str:
    total = sum(value) if isinstance(value, list) else value
    if isinstance(total, float) and total.is_integer():
        return str(int(total))
    return str(total)


def _metrics(blob: Mapping[str, Any]) -> Record:
    """An EMF blob as `metrics: OrderPlaced=1, ...` (the values of each metric added up)."""
    names = [
        str(metric.get("Name"))
        for directive in blob["_aws"].get("CloudWatchMetrics", [])
        for metric in directive.get("Metrics", [])
    ]
    shown = ", ".join(f"{name}={_number(blob[name])}" for name in names if name in blob)
    return Record(record_time(blob["_aws"].get("Timestamp")), "", f"metrics: {shown or '(none)'}", quiet=True)


def record_from(fields: Mapping[str, Any]) -> Record:
    """The compact view of a JSON log record: a Powertools line, an EMF blob, or other JSON."""
    if isinstance(fields.get("_aws"), dict):
        return _metrics(fields)
    # One line per record, even for a message that spans several.
    message = " ".join(str(fields.get("message", json.dumps(fields))).splitlines())
    if fields.get("exception_name"):
        message = f"{message} ({fields['exception_name']})"
    order_id = fields.get("order_id")
    return Record(
        record_time(fields.get("timestamp")),
        str(fields.get("level", "")).upper(),
        message,
        None if order_id is None else str(order_id),
    )


def _platform(text: str) -> Record | None:
    """Lambda's START, END and REPORT lines, with what matters at a glance."""
    report = _REPORT.match(text)
    if report is not None:
        facts = [f"{report['duration']} ms"]
        if report["memory"]:
            facts.append(f"{report['memory']} MB")
        if "Init Duration" in report["rest"]:
            facts.append("cold start")
        status = re.search(r"Status: (\w+)", report["rest"])
        if status is not None:
            facts.append(status[1])
        return Record(None, "", f"REPORT RequestId: {report['id'][:8]} {', '.join(facts)}", quiet=True)
    start_or_end = _START_OR_END.match(text)
    if start_or_end is not None:
        return Record(None, "", f"{start_or_end['kind']} RequestId: {start_or_end['id'][:8]}", quiet=True)
    return None


def read_record(text: str) -> Record:
    """What the compact view shows of any line a function wrote."""
    fields = json_object(text)
    if fields is not None:
        return record_from(fields)
    return _platform(text) or Record(None, "", text)


def level_style(level: str) -> str:
    return _LEVEL_STYLES.get(level, "")


def clock(moment: datetime) -> str:
    """A time as the terminal shows it: local time, to the millisecond."""
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]


def compact_line(function: str, text: str, *, received: datetime, width: int = 0, colour: str = "default") -> Text:
    """One line for the terminal: time, function, level, message, and the order id if any.

    `received`: when the line arrived, the time shown for a line that carries none."""
    record = read_record(text)
    line = Text()
    line.append(clock(record.time or received), style="dim")
    line.append(f" {function:<{width}} ", style=colour)
    line.append(f"{record.level:<{LEVEL_WIDTH}} ", style=level_style(record.level))
    line.append(record.message, style="dim" if record.quiet else "")
    if record.order_id is not None:
        line.append(f"  order_id={record.order_id}", style="dim")
    return line


@dataclass
class LogBook:
    """Every line any function wrote, kept for inspection (tests scan it for PII)."""

    echo: bool = False
    # False shows every line as written, whatever `style` says (`samlocal up --log-format raw`).
    pretty: bool = True
    style: LogStyle = "compact"
    # Also append every line here (`samlocal up` does, so `samlocal dlq list` can show reasons).
    file: Path | None = None
    console: Console = field(default_factory=lambda: Console(file=sys.stderr, highlight=False, soft_wrap=True))
    lines: list[LogLine] = field(default_factory=list)
    listeners: list[Callable[[LogLine], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._colours: dict[str, str] = {}
        # The function column grows to the longest name seen, so the columns after it line up.
        self._width = 0
        self._sink: TextIO | None = None
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self._sink = self.file.open("a", encoding="utf-8", buffering=1)

    def write(self, function: str, text: str) -> None:
        line = LogLine(function, text.rstrip("\n"))
        with self._lock:
            self.lines.append(line)
            colour = self._colours.setdefault(function, _COLOURS[len(self._colours) % len(_COLOURS)])
            self._width = max(self._width, len(function))
            if self._sink is not None:
                self._sink.write(f"{function} {line.text}\n")
        for listener in self.listeners:
            listener(line)
        if self.echo:
            self._show(line, colour)

    @property
    def shown_as(self) -> LogStyle:
        return self.style if self.pretty else "raw"

    def _show(self, line: LogLine, colour: str) -> None:
        style = self.shown_as
        if style == "compact":
            received = datetime.now(UTC)
            self.console.print(
                compact_line(line.function, line.text, received=received, width=self._width, colour=colour)
            )
            return
        body = line.text
        if style == "pretty" and body.startswith("{"):
            with contextlib.suppress(ValueError):
                body = json.dumps(json.loads(body), indent=2)
        prefix = Text(f"{line.function} | ", style=colour)
        for part in body.splitlines() or [""]:
            self.console.print(prefix + Text(part))

    def text(self) -> str:
        with self._lock:
            return "\n".join(line.text for line in self.lines)


class LineWriter:
    """A text stream that hands each complete line to the log book."""

    def __init__(self, book: LogBook, function: Callable[[str], str]) -> None:
        self._book = book
        self._function = function
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *complete, self._pending = self._pending.split("\n")
        for line in complete:
            self._book.write(self._function(line), line)
        return len(text)

    def flush(self) -> None:
        """Lines are handed on as they complete."""

    def as_stream(self) -> TextIO:
        return self  # type: ignore[return-value]


def function_of(line: str) -> str:
    """The function a Powertools JSON line came from, for in-process runs."""
    try:
        return str(json.loads(line).get("function_name", "?")).rsplit("-", 1)[-1]
    except (ValueError, AttributeError):
        return "?"
