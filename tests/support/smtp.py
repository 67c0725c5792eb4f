"""A real SMTP server for tests (aiosmtpd on a free localhost port) that records every message.

`smtp_server.fail_next(451, "try later")` answers the next N deliveries with that code;
`smtp_server.messages` holds the parsed messages received, `message_ids()` their ids.

Misbehaving on purpose: `slow(seconds)` waits that long before answering each DATA;
`refuse(address, 550, "no such user")` refuses that recipient at RCPT (the client
then sends RSET and goes on); `drop_next(times, after)` closes the connection instead of
answering the next DATA, without keeping the message. `connections` counts sessions.
`SmtpServer(smtputf8=True)` offers SMTPUTF8 (RFC 6531); `envelopes` lists each accepted
message's (MAIL FROM, RCPT TO, MAIL options).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import Message

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    """aiosmtpd handler: keeps messages, or answers with a queued failure code."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str], list[str]]] = []
        self.failures: list[str] = []
        self.refused: dict[str, str] = {}
        self.drops = 0
        self.drop_skip = 0
        self.delay = 0.0
        self.connections = 0
        self.arrivals: list[float] = []  # time.monotonic() of each accepted message

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            refusal = self.refused.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.drops and self.drop_skip:
                self.drop_skip -= 1
            elif self.drops:
                self.drops -= 1
                server.transport.close()
                return "421 dropped"  # never reaches the client: the socket is closed
            if self.failures:
                return self.failures.pop(0)
            raw = envelope.original_content or envelope.content
            self.messages.append(message_from_bytes(raw, policy=policy.default))
            self.arrivals.append(time.monotonic())
            self.envelopes.append(
                (envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options))
            )
        return "250 OK queued"


class SmtpServer:
    """The running server: host/port, received messages, and failure injection."""

    def __init__(self, *, smtputf8: bool = False):
        from aiosmtpd.controller import Controller

        self.handler = RecordingHandler()
        self.host, self.port = "127.0.0.1", _free_port()
        self.controller = Controller(
            self.handler, hostname=self.host, port=self.port, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Message]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str], list[str]]]:
        with self.handler.lock:
            return list(self.handler.envelopes)

    @property
    def arrivals(self) -> list[float]:
        with self.handler.lock:
            return list(self.handler.arrivals)

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]

    def fail_next(self, code: int, text: str = "failure", times: int = 1) -> None:
        with self.handler.lock:
            self.handler.failures.extend([f"{code} {text}"] * times)

    def slow(self, seconds: float) -> None:
        self.handler.delay = seconds

    def refuse(self, address: str, code: int = 550, text: str = "no such user") -> None:
        with self.handler.lock:
            self.handler.refused[address.lower()] = f"{code} {text}"

    def drop_next(self, times: int = 1, after: int = 0) -> None:
        """Hang up on `times` DATA commands, once `after` more have been answered."""
        with self.handler.lock:
            self.handler.drops += times
            self.handler.drop_skip = after

    @property
    def connections(self) -> int:
        with self.handler.lock:
            return self.handler.connections

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.arrivals.clear()
            self.handler.envelopes.clear()
            self.handler.failures.clear()
            self.handler.refused.clear()
            self.handler.drops = 0
            self.handler.delay = 0.0

    def config(self) -> dict:
        """App settings that point delivery at this server (plain SMTP, no auth)."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_USERNAME": "",
            "SMTP_TIMEOUT": 5,
        }


def _serve(**options):
    """Start a server (skips locally, fails in CI, if aiosmtpd is missing)."""
    from tests.conftest import require_or_skip

    try:
        return SmtpServer(**options).start()
    except (ImportError, OSError, RuntimeError) as exc:
        require_or_skip(f"aiosmtpd SMTP server unavailable: {exc}")


@pytest.fixture
def smtp_server():
    """A fresh aiosmtpd server per test."""
    server = _serve()
    yield server
    server.stop()


@pytest.fixture
def smtputf8_server():
    """A fresh aiosmtpd server that offers SMTPUTF8."""
    server = _serve(smtputf8=True)
    yield server
    server.stop()


class HungServer:
    """A server that accepts connections and never says a word (no greeting, no reply):
    what a wedged mail server or a black-holing firewall looks like to a client.

    `connections` counts the connections accepted; each is held open until `stop()`.
    """

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.host, self.port = self.listener.getsockname()
        self.held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.held.append(conn)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.held)

    def config(self, timeout: float = 3) -> dict:
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_SECURITY": "none",
            "SMTP_USERNAME": "",
            "SMTP_TIMEOUT": timeout,
        }

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.listener.close()
        self._thread.join(5)
        with self._lock:
            for conn in self.held:
                conn.close()


@pytest.fixture
def hung_smtp():
    server = HungServer()
    yield server
    server.stop()
