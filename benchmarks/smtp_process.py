"""A real aiosmtpd server in its own process, for the benchmarks (not a script to run).

In-process, the server's event-loop thread competes with the measured code for the GIL
and both look slower; in a child process it has a core to itself (when one is free).
The handler keeps only what the benchmarks count: each accepted message's Message-ID
and the wall-clock instant (time.time()) its DATA was accepted, read from the raw bytes
without parsing the message. `stop()` returns that list; `count()` asks the child how
many it has accepted so far (a line over a pipe, answered by the server's loop);
`cpu()` is the child's CPU seconds so far (user + system, from /proc/<pid>/stat), so a
benchmark can say how much of each message the server itself costs.

aiosmtpd parses the address of every MAIL FROM and RCPT TO with the `email` package's
RFC 5322 header parser, and declares a `typing.Protocol` class on each call: about half
of the server's ~0.7 ms of CPU a message (cProfile of the child, 2,000 messages). The
child's server takes a plain `<local@domain>` argument (no quotes, comments, spaces or
route) as it is, and hands anything else to aiosmtpd's own parser; what it accepts and
answers is unchanged.

`SmtpProcess(kind)`: "lean" (the above, the default), "stock" (aiosmtpd as it comes, as
these benchmarks ran until stop 29), or "parsing" (stock, and every message parsed with
`email.message_from_bytes(policy=default)` as tests/support/smtp.py's server does, as
benchmarks/reminders.py ran until stop 29): to show what the server costs.

    from benchmarks.smtp_process import SmtpProcess
    smtp = SmtpProcess()          # smtp.config: SMTP_HOST/PORT/SECURITY/TIMEOUT settings
    ...
    accepted = smtp.stop()        # [(message_id, accepted_at), ...]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

ROOT = Path(__file__).resolve().parents[1]
# A plain `<local@domain>` argument: a dot-atom, one @, a dot-atom domain of letters,
# digits and hyphens; then the MAIL/RCPT parameters.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9-]+"
PLAIN = re.compile(rf"\s*<({_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*)>\s*(.*)\Z", re.DOTALL)


class LeanSMTP(SMTP):
    """aiosmtpd's SMTP, taking a plain address argument as it is (see the docstring)."""

    def _getaddr(self, arg):
        found = PLAIN.match(arg)
        if found is None or self.local_part_limit:  # no limit is set here; else aiosmtpd's
            return super()._getaddr(arg)
        return found.group(1), found.group(2)


class LeanController(Controller):
    def factory(self):
        return LeanSMTP(self.handler, **self.SMTP_kwargs)


CHILD = r"""
import asyncio, json, re, socket, sys, threading, time
from aiosmtpd.controller import Controller
from email import message_from_bytes, policy
sys.path.insert(0, sys.argv[2])
from benchmarks.smtp_process import LeanController

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
KIND = sys.argv[1] if len(sys.argv) > 1 else "lean"


class Handler:
    def __init__(self):
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if KIND == "parsing":  # what tests/support/smtp.py's server does with every message
            message_from_bytes(raw, policy=policy.default)
        head = raw.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        self.accepted.append((found.group(1).decode() if found else "", time.time()))
        return "250 OK queued"


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
handler = Handler()
factory = LeanController if KIND == "lean" else Controller
controller = factory(handler, hostname="127.0.0.1", port=port)
controller.start()
print(json.dumps({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none",
                  "SMTP_USERNAME": ""}), flush=True)
for line in sys.stdin:  # one command a line: "count" or "stop"
    if line.strip() == "count":
        print(len(handler.accepted), flush=True)
    elif line.strip() == "list":
        print(json.dumps(handler.accepted), flush=True)
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

    KINDS = ("lean", "stock", "parsing")

    def __init__(self, kind: str = "lean") -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}")
        self.kind = kind
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, kind, str(ROOT)],
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

    def accepted(self) -> list[tuple[str, float]]:
        """Every message accepted so far, as `stop()` returns them, the server still running."""
        return [(mid, at) for mid, at in json.loads(self._ask("list"))]

    def cpu(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        import os

        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> list[tuple[str, float]]:
        """Stop the server; every accepted message as (Message-ID, accepted at, epoch s)."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        self.proc.wait(timeout=60)
        self.proc.stdin.close()
        self.proc.stdout.close()
        return [(mid, at) for mid, at in json.loads(out)]
