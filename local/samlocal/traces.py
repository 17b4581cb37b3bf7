"""Collects the X-Ray segment documents the functions send, as the X-Ray daemon receives them.

On Lambda, the X-Ray SDK sends every (sub)segment it closes over UDP to the daemon at
`AWS_XRAY_DAEMON_ADDRESS`, one per datagram: the header `{"format": "json", "version": 1}`, a
newline, then the segment document
(https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon,
https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html). The daemon
forwards the documents to X-Ray unchanged; here they are kept for the run instead, so a test or
a console can read exactly what X-Ray would store. A datagram that is not that protocol is
counted and dropped, as the daemon drops it.
"""

import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class TraceDocument:
    """One segment or subsegment document, as a function sent it."""

    trace_id: str
    id: str
    name: str
    type: str  # "segment" or "subsegment"
    parent_id: str | None
    start_time: float
    end_time: float | None  # None while the sender reports it in progress
    document: Mapping[str, Any]
    raw: str  # the JSON text as received, what X-Ray would store
    received_at: float


def parse_datagram(data: bytes, *, received_at: float) -> TraceDocument:
    """The document of one daemon-protocol datagram; ValueError if it is not one."""
    header, separator, body = data.decode("utf-8").partition("\n")
    if not separator:
        raise ValueError("no protocol header")
    protocol = json.loads(header)
    if not isinstance(protocol, dict) or protocol.get("format") != "json" or protocol.get("version") != 1:
        raise ValueError(f"unknown protocol header {header!r}")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("the segment document is not a JSON object")
    try:
        return TraceDocument(
            trace_id=str(document["trace_id"]),
            id=str(document["id"]),
            name=str(document["name"]),
            type=str(document.get("type", "segment")),
            parent_id=None if document.get("parent_id") is None else str(document["parent_id"]),
            start_time=float(document["start_time"]),
            end_time=None if document.get("end_time") is None else float(document["end_time"]),
            document=document,
            raw=body,
            received_at=received_at,
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a segment document: {error}") from error


class TraceCollector:
    """A UDP listener on 127.0.0.1 speaking the X-Ray daemon protocol; keeps every document."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, 0))
        self.host, self.port = self._socket.getsockname()[:2]
        self._documents: list[TraceDocument] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.rejected = 0
        self._thread = threading.Thread(target=self._receive, name="xray-daemon", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """`host:port`, as `AWS_XRAY_DAEMON_ADDRESS` names the daemon."""
        return f"{self.host}:{self.port}"

    def _receive(self) -> None:
        while True:
            try:
                data = self._socket.recv(_MAX_DATAGRAM)
            except OSError:
                return
            if self._stopping.is_set():
                return
            try:
                document = parse_datagram(data, received_at=time.time())
            except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
                with self._lock:
                    self.rejected += 1
                continue
            with self._lock:
                self._documents.append(document)

    def documents(self) -> list[TraceDocument]:
        """Every document received so far, in arrival order."""
        with self._lock:
            return list(self._documents)

    def trace(self, trace_id: str) -> list[TraceDocument]:
        """The documents of one trace, in arrival order."""
        return [document for document in self.documents() if document.trace_id == trace_id]

    def close(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        # A datagram to itself wakes the blocked receive, which then sees the stop.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", (self.host, self.port))
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> "TraceCollector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
