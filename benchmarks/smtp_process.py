"""A real aiosmtpd server in its own process, for the benchmarks (not a script to run).

In-process, the server's event-loop thread competes with the measured code for the GIL
and both look slower; in a child process it has a core to itself (when one is free).
The handler keeps only what the benchmarks count: each accepted message's Message-ID
and the wall-clock instant (time.time()) its DATA was accepted, read from the raw bytes
without parsing the message. `stop()` returns that list; `count()` asks the child how
many it has accepted so far (a line over a pipe, answered by the server's loop).

    from benchmarks.smtp_process import SmtpProcess
    smtp = SmtpProcess()          # smtp.config: SMTP_HOST/PORT/SECURITY/TIMEOUT settings
    ...
    accepted = smtp.stop()        # [(message_id, accepted_at), ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import asyncio, json, re, socket, sys, threading, time
from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Handler:
    def __init__(self):
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        head = raw.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        self.accepted.append((found.group(1).decode() if found else "", time.time()))
        return "250 OK queued"


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
handler = Handler()
controller = Controller(handler, hostname="127.0.0.1", port=port)
controller.start()
print(json.dumps({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none",
                  "SMTP_USERNAME": ""}), flush=True)
for line in sys.stdin:  # one command a line: "count" or "stop"
    if line.strip() == "count":
        print(len(handler.accepted), flush=True)
    elif line.strip() == "clear":
        handler.accepted.clear()
        print(0, flush=True)
    else:
        break
controller.stop()
print(json.dumps(handler.accepted), flush=True)
"""


class SmtpProcess:
    """aiosmtpd in a child process; settings in `config`, `count()`, `clear()`, `stop()`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.config: dict = json.loads(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def count(self) -> int:
        """Messages accepted so far."""
        return int(self._ask("count"))

    def clear(self) -> None:
        self._ask("clear")

    def stop(self) -> list[tuple[str, float]]:
        """Stop the server; every accepted message as (Message-ID, accepted at, epoch s)."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        self.proc.wait(timeout=60)
        return [(mid, at) for mid, at in json.loads(out)]
