"""An S3 server process for tests: moto's server mode on loopback, driven from stdin.

Clients reach moto through a small TCP relay on the public port. ``stop`` closes the relay's
listener and cuts every open connection (as a crashed or unplugged server would), while
moto and the objects it stores live on; ``start`` listens again. Commands on stdin:
``stop``, ``start``, ``quit``; answers ``ready PORT`` or ``stopped`` on stdout.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading

from moto.server import ThreadedMotoServer


class Relay:
    """Forwards TCP connections from ``port`` to moto's private port."""

    def __init__(self, port: int, target: int) -> None:
        self.port = port
        self.target = target
        self.listener: socket.socket | None = None
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        """Accept connections on the public port."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening and cut every connection."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    """Serve on 127.0.0.1:PORT (argv[1]) until ``quit`` or end of input."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = int(sys.argv[1])
    private = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=private, verbose=False)
    server.start()
    relay = Relay(port, private)
    relay.start()
    print(f"ready {port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stop":
            relay.stop()
            print("stopped", flush=True)
        elif command == "start":
            relay.start()
            print(f"ready {port}", flush=True)
        elif command == "quit":
            break
    relay.stop()
    server.stop()


if __name__ == "__main__":
    main()
