"""A TCP proxy between the functions and the PostgreSQL server, that can stall.

With `--store postgres`, the credentials the stack writes to Secrets Manager point the
functions here, so the soak and the tests can make the database stop answering the way a
wedged proxy or a half-dead network does: while stalled, nothing is forwarded in either
direction and nothing is closed. Bytes sent to it are acknowledged by this machine's kernel
and then sit in its buffers; new connections are accepted and stall too. So neither TCP
keepalives nor a TCP user timeout notice anything, and only the functions' own limits (the
statement timeout cannot fire either: the server never saw the statement) end their wait.

In RDS-Proxy mode (the default) it also does at startup what RDS Proxy does, so what the real
proxy refuses fails here first: it answers an SSLRequest (or a GSSENCRequest) with 'N' itself,
so libpq goes on in plaintext under `sslmode=prefer` (the real proxy offers TLS; this one does
not, which `sslmode=require` and stricter would notice), and it refuses a StartupMessage that
carries an `options` parameter with the error RDS Proxy sends, then closes. And it watches what
clients send for what would pin their session to one database connection on RDS Proxy (AWS's
list for PostgreSQL: session-level SET or set_config, prepared statements, advisory locks
outside a transaction, LISTEN, temporary objects, cursors, DISCARD), and counts the sessions
that did, with the reasons, so a test can see that the service never pins.

Threads and blocking sockets: two pumps per connection, one each way.
"""

import contextlib
import re
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType

_CHUNK = 65536
_PROTOCOL_3 = 196608
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
# A startup packet longer than this is not one (PostgreSQL's own limit is 10,000 bytes).
_MAX_STARTUP = 10_000
OPTIONS_REFUSED = "Feature not supported: RDS Proxy currently doesn't support command-line options."

# Statements whose effect outlives the transaction, as RDS Proxy sees them. SET LOCAL, SET
# TRANSACTION, SET CONSTRAINTS end with the transaction; the xact advisory locks too.
_PINNING_STATEMENTS = (
    (re.compile(r"SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)", re.IGNORECASE), "a SET statement"),
    (re.compile(r"RESET\b", re.IGNORECASE), "a RESET statement"),
    (re.compile(r"(PREPARE|EXECUTE|DEALLOCATE)\b", re.IGNORECASE), "a prepared statement command"),
    (re.compile(r"DISCARD\b", re.IGNORECASE), "DISCARD"),
    (re.compile(r"(LISTEN|UNLISTEN)\b", re.IGNORECASE), "LISTEN"),
    (re.compile(r"CREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\b", re.IGNORECASE), "a temporary object"),
    (re.compile(r"DECLARE\b", re.IGNORECASE), "a cursor"),
    (re.compile(r"LOAD\b", re.IGNORECASE), "LOAD"),
)
_SESSION_ADVISORY_LOCK = re.compile(r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", re.IGNORECASE)
_SET_CONFIG = re.compile(r"\bset_config\s*\(([^()]*)\)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _error_response(sqlstate: str, message: str, severity: str = "FATAL") -> bytes:
    fields = b"".join(
        code + value.encode() + b"\0"
        for code, value in ((b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def _startup_parameters(packet: bytes) -> dict[str, str]:
    """The name/value pairs of a StartupMessage (after its length and protocol version)."""
    parts = packet[8:].split(b"\0")
    pairs = parts[: len(parts) - len(parts) % 2]
    return {
        pairs[i].decode(errors="replace"): pairs[i + 1].decode(errors="replace")
        for i in range(0, len(pairs) - 1, 2)
        if pairs[i]
    }


def pinning_reasons(query: str) -> list[str]:
    """Why RDS Proxy would pin a session that ran `query` (empty: it would not). Statements are
    split at semicolons, quotes ignored: good enough for what a test sends."""
    reasons = []
    for statement in _COMMENT.sub(" ", query).split(";"):
        statement = statement.strip()
        for pattern, reason in _PINNING_STATEMENTS:
            if pattern.match(statement):
                reasons.append(reason)
        if _SESSION_ADVISORY_LOCK.search(statement):
            reasons.append("an advisory lock outside a transaction")
        for arguments in _SET_CONFIG.findall(statement):
            # Only set_config(name, value, true) ends with the transaction; a parameter for
            # is_local is not seen here, so it counts as session-level.
            if arguments.rsplit(",", 1)[-1].strip().lower() not in ("true", "'t'", "'true'"):
                reasons.append("set_config outside a transaction")
    return reasons


class _PinWatch:
    """Reads the frontend's messages off the client's stream (type byte, length, body) and
    records what would pin: Query texts and Parse messages (a named statement pins)."""

    def __init__(self, on_pin: Callable[[str], None]) -> None:
        self._buffer = bytearray()
        self._on_pin = on_pin

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 5:
            (length,) = struct.unpack_from("!I", self._buffer, 1)
            if len(self._buffer) < 1 + length:
                return
            kind, body = self._buffer[0:1], bytes(self._buffer[5 : 1 + length])
            del self._buffer[: 1 + length]
            if kind == b"Q":
                self._query(body.split(b"\0", 1)[0])
            elif kind == b"P":
                name, _, rest = body.partition(b"\0")
                if name:
                    self._on_pin("a named prepared statement")
                self._query(rest.split(b"\0", 1)[0])

    def _query(self, text: bytes) -> None:
        for reason in pinning_reasons(text.decode(errors="replace")):
            self._on_pin(reason)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _receive_packet(sock: socket.socket) -> bytes | None:
    """One untyped startup-phase packet (length, then code or protocol version, then the rest)."""
    header = _receive_exactly(sock, 8)
    if header is None:
        return None
    (length,) = struct.unpack_from("!I", header)
    if not 8 <= length <= _MAX_STARTUP:
        return None
    rest = _receive_exactly(sock, length - 8)
    return None if rest is None else header + rest


class PostgresProxy:
    def __init__(self, target_host: str, target_port: int, *, rds_proxy: bool = True) -> None:
        """`rds_proxy`: behave as RDS Proxy does at startup, and watch for pinning (see above)."""
        self._target = (target_host, target_port)
        self._rds_proxy = rds_proxy
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._flowing = threading.Condition()
        self._stalled = False
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.stalls = 0
        self.refused_startups = 0
        # Client sessions RDS Proxy would have pinned, and why (each reason once a session).
        self.pinned_sessions = 0
        self.pin_reasons: list[str] = []
        self._acceptor = threading.Thread(target=self._accept, name="pg-proxy", daemon=True)
        self._acceptor.start()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def stalled(self) -> bool:
        return self._stalled

    def stall(self) -> None:
        """Stop forwarding, both ways, on every connection, present and future; close nothing."""
        with self._flowing:
            if not self._stalled:
                self.stalls += 1
            self._stalled = True

    def resume(self) -> None:
        with self._flowing:
            self._stalled = False
            self._flowing.notify_all()

    def _wait_flowing(self) -> bool:
        """Block while stalled; False once the proxy is closing."""
        with self._flowing:
            while self._stalled and not self._closed:
                self._flowing.wait()
            return not self._closed

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            threading.Thread(target=self._open, args=(client,), name="pg-proxy-connection", daemon=True).start()

    def _open(self, client: socket.socket) -> None:
        self._track(client)
        if not self._wait_flowing():
            return
        first, watch = b"", None
        if self._rds_proxy:
            try:
                first = self._startup(client)
            except OSError:
                first = b""
            if not first:
                self._close(client)
                return
            watch = _PinWatch(self._pinned_by()).feed
        try:
            server = socket.create_connection(self._target, timeout=5)
            server.settimeout(None)
            server.sendall(first)
        except OSError:
            self._close(client)
            return
        self._track(server)
        threading.Thread(target=self._pump, args=(client, server, watch), name="pg-proxy-pump", daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, None), name="pg-proxy-pump", daemon=True).start()

    def _startup(self, client: socket.socket) -> bytes:
        """The client's startup packet to forward, answering SSL and GSS requests on the way;
        empty if the connection is to be closed (refused, or not PostgreSQL)."""
        while True:
            packet = _receive_packet(client)
            if packet is None or not self._wait_flowing():
                return b""
            (code,) = struct.unpack_from("!I", packet, 4)
            if code in (_SSL_REQUEST, _GSSENC_REQUEST) and len(packet) == 8:
                client.sendall(b"N")
                continue
            if code == _CANCEL_REQUEST:
                return packet
            if code != _PROTOCOL_3:
                client.sendall(_error_response("08P01", "unsupported frontend protocol"))
                return b""
            if "options" in _startup_parameters(packet):
                self.refused_startups += 1
                client.sendall(_error_response("0A000", OPTIONS_REFUSED))
                return b""
            return packet

    def _pinned_by(self) -> Callable[[str], None]:
        reasons: set[str] = set()

        def pinned(reason: str) -> None:
            with self._flowing:
                if not reasons:
                    self.pinned_sessions += 1
                if reason not in reasons:
                    reasons.add(reason)
                    self.pin_reasons.append(reason)

        return pinned

    def _pump(self, source: socket.socket, sink: socket.socket, watch: Callable[[bytes], None] | None) -> None:
        try:
            while self._wait_flowing():
                data = source.recv(_CHUNK)
                # Bytes read just as a stall began are held, not forwarded, until it ends.
                if not data or not self._wait_flowing():
                    break
                if watch is not None:
                    watch(data)
                sink.sendall(data)
        except OSError:
            pass
        self._close(source)
        self._close(sink)

    def _track(self, sock: socket.socket) -> None:
        with self._flowing:
            self._sockets.add(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._flowing:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def close(self) -> None:
        with self._flowing:
            self._closed = True
            self._stalled = False
            sockets, self._sockets = list(self._sockets), set()
            self._flowing.notify_all()
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> "PostgresProxy":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
