"""Collects the functions' log lines, and shows them prefixed with the function's name."""

import contextlib
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red")


@dataclass(frozen=True)
class LogLine:
    function: str
    text: str


@dataclass
class LogBook:
    """Every line any function wrote, kept for inspection (tests scan it for PII)."""

    echo: bool = False
    pretty: bool = True
    # Also append every line here (`orders up` does, so `orders dlq list` can show reasons).
    file: Path | None = None
    console: Console = field(default_factory=lambda: Console(file=sys.stderr, highlight=False, soft_wrap=True))
    lines: list[LogLine] = field(default_factory=list)
    listeners: list[Callable[[LogLine], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._colours: dict[str, str] = {}
        self._sink: TextIO | None = None
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self._sink = self.file.open("a", encoding="utf-8", buffering=1)

    def write(self, function: str, text: str) -> None:
        line = LogLine(function, text.rstrip("\n"))
        with self._lock:
            self.lines.append(line)
            colour = self._colours.setdefault(function, _COLOURS[len(self._colours) % len(_COLOURS)])
            if self._sink is not None:
                self._sink.write(f"{function} {line.text}\n")
        for listener in self.listeners:
            listener(line)
        if self.echo:
            self._show(line, colour)

    def _show(self, line: LogLine, colour: str) -> None:
        body = line.text
        if self.pretty and body.startswith("{"):
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
