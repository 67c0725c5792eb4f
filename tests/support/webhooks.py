"""A real HTTP receiver for webhook tests: a threaded http.server on a free loopback port.

It speaks HTTP/1.1 and keeps connections alive (as most receivers do), counts the TCP
connections it accepted, and answers each request as its script says.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that died mid-request (a SIGKILLed scheduler) is expected, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            super().handle_error(request, client_address)


class Receiver:
    """A threaded HTTP server that records requests and answers with a scripted status.

    Script entries: an HTTP status; "hang" (no answer for 1.5 s); "huge" (a 10 MB reply
    with no length); "drop" (close the connection without answering). The last entry
    repeats. `delay` seconds are spent before every answer (a slow receiver).
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []  # statuses or actions; the last one repeats
        self.delay = 0.0
        self.connections = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless a reply says otherwise

            def setup(self):
                with receiver.lock:
                    receiver.connections += 1
                super().setup()
                # headers and body are two writes: without this, Nagle holds the body
                # until the client's delayed ACK (~40 ms per request)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append({"headers": headers, "body": body})
                    action = receiver.script[0] if receiver.script else 200
                    if len(receiver.script) > 1:
                        receiver.script.pop(0)
                if receiver.delay:
                    time.sleep(receiver.delay)
                if action == "hang":
                    time.sleep(1.5)
                    self.close_connection = True
                    return
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == "huge":
                    self.close_connection = True
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        self.wfile.write(b"x" * 10_000_000)
                    except OSError:  # the client read its 1 KiB and hung up, as it should
                        pass
                    return
                self.send_response(action)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self) -> list[str]:
        """The `webhook-id` of every request received, in order."""
        return [r["headers"]["webhook-id"] for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def queue_deliveries(url: str, count: int) -> None:
    """`count` due deliveries to one new endpoint at `url`, event data {"n": n}, committed."""
    from tests.factories import make_user
    from tracker.extensions import db
    from tracker.services.messaging import webhooks

    admin = make_user("admin")
    endpoint = webhooks.create_endpoint(admin, {"url": url, "events": ["engagement.created"]})
    connection = db.session.connection()
    for n in range(count):
        webhooks._write(connection, "engagement.created", {"n": n}, None, [endpoint.id])
    db.session.commit()
