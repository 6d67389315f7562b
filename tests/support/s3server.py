"""An S3 server process for tests: moto's server mode on loopback, driven from stdin.

The HTTP listener can be stopped and started again while the process (and so the stored
objects) lives on, to test an S3 server that goes away in the middle of an upload and
comes back. Commands on stdin: ``stop``, ``start``, ``quit``; it answers ``ready PORT``
or ``stopped`` on stdout.
"""

from __future__ import annotations

import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    """Serve on 127.0.0.1:PORT (argv[1]) until ``quit`` or end of input."""
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"ready {port}", flush=True)
    running = True
    for line in sys.stdin:
        command = line.strip()
        if command == "stop" and running:
            server.stop()
            running = False
            print("stopped", flush=True)
        elif command == "start" and not running:
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            running = True
            print(f"ready {port}", flush=True)
        elif command == "quit":
            break
    if running:
        server.stop()


if __name__ == "__main__":
    main()
