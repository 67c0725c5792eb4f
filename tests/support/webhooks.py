"""A real HTTP receiver for webhook tests: a threaded http.server on a free loopback port."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A threaded HTTP server that records requests and answers with a scripted status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []  # statuses or "hang"; the last one repeats
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append({"headers": headers, "body": body})
                action = receiver.script[0] if receiver.script else 200
                if len(receiver.script) > 1:
                    receiver.script.pop(0)
                if action == "hang":
                    time.sleep(1.5)
                    return
                if action == "huge":
                    self.send_response(200)
                    self.end_headers()
                    try:
                        self.wfile.write(b"x" * 10_000_000)
                    except OSError:  # the client read its 1 KiB and hung up, as it should
                        pass
                    return
                self.send_response(action)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
