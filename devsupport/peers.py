"""Real servers on loopback for the monitoring tests, the demo and the monitor benchmark:
HTTP (healthy, slow, 500, JSON, and TLS with an expired self-signed certificate), a TCP
listener, SMTP (aiosmtpd) that keeps the mail it receives, an IMAP greeting server, a DNS
responder and a webhook receiver; and, to play machines going down and coming back, TCP
(optionally greeting like SSH), HTTP, SMTP and PostgreSQL servers that can be switched off
and on again on the same port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(float(self.path.rsplit("/", 1)[-1] or 1))
            self._reply(200, b"slow but fine")
        elif self.path == "/500":
            self._reply(500, b"internal error")
        elif self.path == "/json":
            self._reply(
                200,
                json.dumps({"status": {"db": "ok", "replicas": 2}}).encode(),
                "application/json",
            )
        else:
            self._reply(200, b"<html>AKIG OK</html>")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        posts: list[dict[str, Any]] = self.server.posts  # type: ignore[attr-defined]
        posts.append({"path": self.path, "body": body, "at": time.time()})
        self._reply(200, b"ok")


@contextmanager
def serving(server: socketserver.ThreadingTCPServer | ThreadingHTTPServer) -> Iterator[int]:
    """Serve in a daemon thread until the block ends; yields the port."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def http_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """An HTTP(S) server on 127.0.0.1: (port, posts received)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.posts = []  # type: ignore[attr-defined]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with serving(server) as port:
        yield port, server.posts  # type: ignore[attr-defined]


def self_signed(directory: Path, *, expired: bool, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate (expired or valid 30 days) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=60), now - timedelta(days=30))
        if expired
        else (now - timedelta(days=1), now + timedelta(days=10))
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-{expired}.crt", directory / f"{name}-{expired}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@contextmanager
def tcp_listener(banner: bytes = b"") -> Iterator[int]:
    """A TCP server that accepts, sends ``banner`` and closes."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            if banner:
                self.request.sendall(banner)

    with serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)) as port:
        yield port


@contextmanager
def imap_server(starttls: bool = True) -> Iterator[int]:
    """An IMAP server that greets, answers CAPABILITY and LOGOUT (no mailbox)."""
    caps = "IMAP4rev1 IDLE" + (" STARTTLS" if starttls else "")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"* OK [CAPABILITY " + caps.encode() + b"] Dovecot ready.\r\n")
            for raw in self.rfile:
                tag, _, command = raw.decode().strip().partition(" ")
                if command.upper() == "CAPABILITY":
                    self.wfile.write(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n".encode())
                elif command.upper() == "LOGOUT":
                    self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                    return
                else:
                    self.wfile.write(f"{tag} BAD unknown\r\n".encode())

    with serving(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)) as port:
        yield port


class Mailbox:
    """What an SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((time.time(), message_from_bytes(envelope.content)))
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> list[Message]:
        """The first ``count`` messages, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return [message for _, message in self.messages]
            time.sleep(0.05)
        with self.lock:
            got = [m["Subject"] for _, m in self.messages]
        raise AssertionError(f"expected {count} e-mails within {timeout} s, got {got}")


def body_of(message: Message) -> str:
    """The text of an e-mail (first text part, decoded)."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def subject_of(message: Message) -> str:
    """The decoded subject."""
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


@contextmanager
def smtp_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, Mailbox]]:
    """aiosmtpd on 127.0.0.1 (offering STARTTLS with ``tls``): (port, mailbox)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=False
    )
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dns_server(records: dict[tuple[str, str], list[str]]) -> Iterator[int]:
    """A UDP DNS responder: (name, type) → values; other names get NXDOMAIN."""
    import dns.message
    import dns.rcode
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    running = True

    def serve() -> None:
        while running:
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            kind = dns.rdatatype.to_text(question.rdtype)
            values = records.get((name, kind))
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", kind, *values))
            sock.sendto(response.to_wire(), peer)

    import dns.rdatatype

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        running = False
        thread.join(2)
        sock.close()


class SwitchableListener:
    """A TCP service on a fixed loopback port that can be stopped and started again, to
    play a machine going down and coming back (the seed's power failure). With ``banner``
    it greets every connection with it, as an SSH daemon does."""

    def __init__(self, port: int | None = None, banner: bytes = b"") -> None:
        self.port = port or free_port()
        self.banner = banner
        self.server: socketserver.TCPServer | None = None
        self.thread: threading.Thread | None = None

    def _make_server(self) -> socketserver.TCPServer:
        banner = self.banner

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                if banner:
                    self.request.sendall(banner)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        return Server(("127.0.0.1", self.port), Handler)

    def start(self) -> None:
        """Listen (again) on the same port."""
        self.server = self._make_server()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def cut(self) -> None:
        """Refuse connections from this instant (a power cut); :meth:`stop` then ends the
        serving thread, which takes up to half a second."""
        if self.server is not None:
            # Closing alone leaves the socket listening while serve_forever polls it (up to
            # half a second); shutting it down refuses connections at once.
            with contextlib.suppress(OSError):
                self.server.socket.shutdown(socket.SHUT_RDWR)
            self.server.socket.close()

    def stop(self) -> None:
        """Stop listening: connections are refused from now on."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class SwitchableHttp(SwitchableListener):
    """An HTTP server (the pages of :func:`http_server`) on a fixed loopback port that can be
    stopped and started again."""

    def _make_server(self) -> socketserver.TCPServer:
        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        server = Server(("127.0.0.1", self.port), _Handler)
        server.posts = []  # type: ignore[attr-defined]
        return server


class SwitchableSmtp:
    """aiosmtpd on a fixed loopback port (offering STARTTLS with ``tls``) that can be
    stopped and started again; what it receives goes to ``mailbox``."""

    def __init__(self, port: int | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.port = port or free_port()
        self.tls = tls
        self.mailbox = Mailbox()
        self.controller: Any = None

    def start(self) -> None:
        """Listen (again) on the same port; returns once the server greets."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=False,
        )
        self.controller.start()

    def cut(self) -> None:
        """Refuse connections from this instant (a power cut); :meth:`stop` then ends the
        server's thread."""
        controller = self.controller
        if controller is not None and controller.server is not None:
            controller.loop.call_soon_threadsafe(controller.server.close)

    def stop(self) -> None:
        """Stop the server and its sessions: connections are refused from now on."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class SwitchablePostgres:
    """A scratch PostgreSQL server that can be cut as by a power failure (``pg_ctl stop -m
    immediate``: no checkpoint, crash recovery at the next start) and started again on the
    same port and data directory. The first :meth:`start` creates it; use as a context
    manager, which deletes it at the end."""

    def __init__(self) -> None:
        from reprise.pg.scratch import ScratchPostgres

        self.scratch = ScratchPostgres()
        self.info: Any = None

    def __enter__(self) -> SwitchablePostgres:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self.scratch.stop()

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` over TCP (the same across restarts)."""
        return str(self.info.dsn(dbname))

    def _pg_ctl(self, *args: str) -> list[str]:
        pg_ctl = self.scratch.installation.tool("pg_ctl")
        return [str(pg_ctl), "-D", str(self.scratch.datadir), *args]

    def _as_server_user(self) -> dict[str, Any]:
        from reprise.pg.scratch import server_os_user

        user = server_os_user()
        home = user.pw_dir if user else os.environ.get("HOME", "/")
        return {
            "cwd": self.scratch.root,
            "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": home},
            "start_new_session": True,
            **({"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}),
        }

    def cut(self) -> None:
        """Stop the server immediately, at once: the signal ``pg_ctl stop -m immediate``
        sends (SIGQUIT to the postmaster), without waiting; :meth:`stop` waits. Running
        pg_ctl here would fork this process first, which under load takes long enough for
        the other servers of a power failure to be cut a visible while later."""
        pid_file = self.scratch.datadir / "postmaster.pid" if self.scratch.root else None
        if pid_file is not None and pid_file.exists():
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGQUIT)

    def stop(self) -> None:
        """Cut the server (if not yet) and wait until it is gone (``pg_ctl stop -m
        immediate``, which returns once the postmaster has exited)."""
        if self.scratch.root is None or not (self.scratch.datadir / "postmaster.pid").exists():
            return
        self.cut()
        subprocess.run(
            self._pg_ctl("-m", "immediate", "-w", "-t", "30", "stop"),
            capture_output=True,
            timeout=45,
            check=False,
            **self._as_server_user(),
        )

    def start(self) -> None:
        """Create and start the server, or start it again on the same port and data
        directory (crash recovery first); returns once it accepts connections."""
        if self.scratch.root is None:
            self.info = self.scratch.start()
            return
        log = self.scratch.root / "server.log"
        result = subprocess.run(
            self._pg_ctl("-l", str(log), "-w", "-t", "60", "start"),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
            **self._as_server_user(),
        )
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
            raise RuntimeError(f"the scratch PostgreSQL did not start again: {tail}")
