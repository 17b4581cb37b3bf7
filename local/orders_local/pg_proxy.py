"""A TCP proxy between the functions and the PostgreSQL server, that can stall.

With `--store postgres`, the credentials the stack writes to Secrets Manager point the
functions here, so the soak and the tests can make the database stop answering the way a
wedged proxy or a half-dead network does: while stalled, nothing is forwarded in either
direction and nothing is closed. Bytes sent to it are acknowledged by this machine's kernel
and then sit in its buffers; new connections are accepted and stall too. So neither TCP
keepalives nor a TCP user timeout notice anything, and only the functions' own limits (the
statement timeout cannot fire either: the server never saw the statement) end their wait.

Threads and blocking sockets: two pumps per connection, one each way.
"""

import contextlib
import socket
import threading
from types import TracebackType

_CHUNK = 65536


class PostgresProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._flowing = threading.Condition()
        self._stalled = False
        self._closed = False
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.stalls = 0
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
        try:
            server = socket.create_connection(self._target, timeout=5)
        except OSError:
            self._close(client)
            return
        server.settimeout(None)
        self._track(server)
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, sink), name="pg-proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while self._wait_flowing():
                data = source.recv(_CHUNK)
                # Bytes read just as a stall began are held, not forwarded, until it ends.
                if not data or not self._wait_flowing():
                    break
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
