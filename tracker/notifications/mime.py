"""An outbox row as the bytes of one RFC 5322 / MIME message, built once (ADR 0177).

The `email` package's `EmailMessage` parses every header it is given into a header
object and re-serialises the whole tree when sent: about 4.5 ms a message, nine tenths
of delivery's time (docs/benchmarks.md). The messages the tracker sends have one
fixed shape, so they are written directly:

- headers From, To, Subject, Date, Message-ID, the row's own headers (List-Unsubscribe,
  X-Tracker-Reminder ...), then MIME-Version and Content-Type;
- a text/plain part, and when the row has HTML a multipart/alternative with the
  text/html part after it; bodies in UTF-8, 7bit when they are ASCII with short
  lines, else quoted-printable, so the message is pure ASCII on the wire;
- header values: CR, LF and other control characters become spaces (no header
  injection); an ASCII value is folded at spaces under 78 columns; a non-ASCII one
  becomes RFC 2047 base64 encoded words of whole characters (`_encoded_words`);
- an address whose mailbox itself is not ASCII cannot be encoded that way: the
  message is then written as RFC 6532 UTF-8 and `utf8` is set, so the transport sends
  it with SMTPUTF8 (and refuses it permanently where the server has no SMTPUTF8).

The boundary is derived from the Message-ID, so one row always yields the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr

LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters
MAX_LINE = 998  # ... and MUST be at most 998
# C0 and C1 controls and Unicode's line separators: each would end or break a header line
_CONTROLS = {c: " " for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029) if c != 0x09}
_FIELD_NAME = re.compile(r"[!-9;-~]+\Z")  # printable ASCII but ':'
# What an address may not contain: white space (str.isspace's), quotes, brackets,
# separators, controls.
# Text a reader takes for the start of an RFC 2047 encoded word: a value holding it is
# sent as encoded words itself, so that it reads back as written.
_LOOKS_ENCODED = "=?"
_NOT_IN_ADDRESS = re.compile(r'[\s"<>(),;:\\\[\]\x00-\x1f]')


class InvalidMessage(ValueError):
    """The row cannot become a message (a malformed address or header name)."""


@dataclass(frozen=True)
class Prepared:
    """One message ready for the wire: envelope, bytes, and the row it came from."""

    id: int
    message_id: str
    sender: str  # envelope MAIL FROM
    recipient: str  # envelope RCPT TO
    data: bytes  # CRLF line endings, not yet dot-stuffed
    utf8: bool  # needs SMTPUTF8 (an address is not ASCII)


class Sender:
    """MAIL_SENDER parsed once per batch: its From header and its envelope address."""

    def __init__(self, configured: str):
        name, address = parseaddr(configured)
        if not _is_address(address):
            raise InvalidMessage(f"MAIL_SENDER {configured!r} has no usable address")
        self.name = _clean(name).strip(" \t")
        self.address = address
        self.utf8 = not address.isascii()
        self._from: dict[bool, str] = {}

    def from_line(self, utf8: bool) -> str:
        """The From header for a message written as UTF-8 or not, built once each (the
        same for every message of the step)."""
        line = self._from.get(utf8)
        if line is None:
            mailbox = _mailbox(self.name, self.address, utf8)
            line = self._from[utf8] = _header("From", mailbox, utf8, address=True)
        return line


def prepare(row, sender: Sender) -> Prepared:
    """The bytes of `row` (anything with the outbox columns), sent as `sender`."""
    recipient = row.to_address.strip()
    if not _is_address(recipient):
        raise InvalidMessage(f"malformed recipient address {row.to_address!r}")
    utf8 = sender.utf8 or not recipient.isascii()
    lines = [
        sender.from_line(utf8),
        _header("To", recipient, utf8, address=True),
        _header("Subject", row.subject, utf8),
        f"Date: {_date(row.created_at)}",
        f"Message-ID: {_clean(row.message_id)}",
    ]
    for name, value in (row.headers or {}).items():
        if not _FIELD_NAME.match(name):
            raise InvalidMessage(f"malformed header name {name!r}")
        lines.append(_header(name, str(value), utf8))
    lines.append("MIME-Version: 1.0")
    text = _part("plain", row.text_body)
    if row.html_body:
        html = _part("html", row.html_body)
        boundary = _boundary(row.message_id, text[1], html[1])
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        # The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), so a
        # part's own last line ending is followed by one more.
        delimiter = b"\r\n--" + boundary.encode()
        body = b"".join(
            (
                delimiter,
                b"\r\n",
                text[0],
                b"\r\n",
                text[1],
                delimiter,
                b"\r\n",
                html[0],
                b"\r\n",
                html[1],
                delimiter,
                b"--\r\n",
            )
        )
    else:
        lines.append(text[0].decode().rstrip("\r\n"))
        body = b"\r\n" + text[1]
    head = "\r\n".join(lines).encode("utf-8" if utf8 else "ascii") + b"\r\n"
    return Prepared(row.id, row.message_id, sender.address, recipient, head + body, utf8)


def _date(created_at: datetime) -> str:
    """`format_datetime`, once per instant and offset: the emails a tick queues share
    one (equal instants in other offsets compare equal, so the offset is in the key)."""
    return _formatted(created_at, created_at.utcoffset())


@functools.lru_cache(maxsize=64)
def _formatted(created_at: datetime, offset) -> str:
    return format_datetime(created_at)


def _is_address(address: str) -> bool:
    """An addr-spec we may put on the wire: local@domain, no spaces, quotes or controls."""
    local, at, domain = address.rpartition("@")
    return (
        bool(at and local and domain)
        and len(address) <= 254
        and _NOT_IN_ADDRESS.search(address) is None
    )


def _clean(value: str) -> str:
    return value.translate(_CONTROLS)


def _mailbox(name: str, address: str, utf8: bool) -> str:
    if not name:
        return address
    if _LOOKS_ENCODED in name:  # a reader would decode it, even quoted: encode it
        words = _encoded_words("From", name).split("\r\n ")
        return " ".join([words[0].removeprefix("From: "), *words[1:], f"<{address}>"])
    if utf8 and not name.isascii():
        return formataddr((name, address))  # RFC 6532: the name travels as UTF-8
    return formataddr((name, address), charset="utf-8")  # quoted or RFC 2047 encoded


def _header(name: str, value: str, utf8: bool, *, address: bool = False) -> str:
    """`Name: value`, folded; encoded words for non-ASCII unless the message is UTF-8."""
    value = _clean(value).strip(" \t")  # a parser would drop the outer white space anyway
    if address or ((value.isascii() or utf8) and _LOOKS_ENCODED not in value):
        return _fold(f"{name}: {value}")
    return _encoded_words(name, value)


def _encoded_words(name: str, value: str) -> str:
    """`Name: value` as RFC 2047 base64 encoded words of whole UTF-8 characters, one word
    a line, each line within 78 columns and each word within 75 characters.

    `email.header.Header` chose between Q and B encoding by measuring the Q form a
    character at a time: 5 ms a subject, most of turning a reminder into a message
    (docs/benchmarks.md). The white space between encoded words is not part of the
    value, so a space inside the value travels inside a word."""
    data = value.encode("utf-8")
    room = max(3, (LINE - len(name) - 2 - len("=?utf-8?b??=")) // 4 * 3)  # bytes, first line
    words, start = [], 0
    while True:
        end = start + room
        if end >= len(data):
            words.append(data[start:])
            break
        # Cut in the UTF-8 bytes, before a character's first byte (never a 10xxxxxx
        # continuation): a slice per word, not a loop over the characters.
        while end > start and data[end] & 0xC0 == 0x80:
            end -= 1
        if end == start:  # one character wider than the room: it takes a word of its own
            end = start + 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
        words.append(data[start:end])
        start, room = end, 45  # " =?utf-8?b?" + 60 + "?=": 73 columns
        if start == len(data):
            break
    encoded = (f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)
    return f"{name}: " + "\r\n ".join(encoded)


def _fold(line: str) -> str:
    """Break before spaces so that lines stay within 78 columns where words allow."""
    if len(line) <= LINE:
        return line
    name, _, value = line.partition(": ")
    words = value.split(" ")
    out, current = [], f"{name}: {words[0]}"  # a value never starts on a continuation line
    for word in words[1:]:
        if len(current) + 1 + len(word) > LINE:
            out.append(current)
            current = " " + word  # the folding white space starts the continuation
        else:
            current = f"{current} {word}"
    out.append(current)
    return "\r\n".join(out)


def _part(subtype: str, content: str) -> tuple[bytes, bytes]:
    """(part headers, encoded body ending in CRLF) for one text part in UTF-8."""
    text = content.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if text.isascii() and max(map(len, text.split("\n"))) <= MAX_LINE:
        encoding, body = "7bit", text.encode("ascii")
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    headers = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n"
    )
    return headers.encode("ascii"), body.replace(b"\n", b"\r\n")


def _boundary(message_id: str, *bodies: bytes) -> str:
    """A boundary from the Message-ID that no body line begins with.

    "=_" never starts a quoted-printable line's text (a literal "=" is written =3D).
    """
    seed = hashlib.blake2b(message_id.encode(), digest_size=12).hexdigest()
    boundary, n = f"=_{seed}", 0
    while any(b"--" + boundary.encode() in body for body in bodies):
        n += 1
        boundary = f"=_{seed}.{n}"
    return boundary
