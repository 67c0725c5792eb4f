"""The envelope's addresses are quoted as smtplib quotes them, without its parser for plain
addresses (docs/benchmarks.md, stop 29: `quoteaddr` was a fifth of delivery's CPU)."""

from __future__ import annotations

import smtplib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.notifications.delivery import _quoted

ADDRESSES = [
    "dana@example.com",
    "first.last+tag@sub.example.org",
    "o'neil@example.com",
    "a..b@example.com",
    ".lead@example.com",
    "x@-dash-.example",
    "!#$%&'*+/=?^_`{|}~-@example.com",
    "jörg@example.com",  # not plain: smtplib's own quoting
    "dana@bücher.example",
    "Dana <dana@example.com>",
    "<>",
    "",
    "a@b@c",
    "no-at-sign",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_quoted_is_what_smtplib_writes(address):
    assert _quoted(address) == smtplib.quoteaddr(address)


@given(st.text(alphabet="ab.!#$%&'*+/=?^_`{|}~-@ü<> 9", max_size=20))
def test_quoted_is_what_smtplib_writes_for_any_address(address):
    assert _quoted(address) == smtplib.quoteaddr(address)


def test_the_server_receives_the_envelope_smtplib_would_send(smtp_server):
    from tracker.notifications.delivery import _SMTP

    data = b"Subject: x\r\nMessage-ID: <e1@test>\r\n\r\nbody\r\n"
    client = _SMTP(smtp_server.host, smtp_server.port, timeout=5)
    try:
        client.sendmail("tracker@example.com", ["dana@example.com", "o'neil@example.com"], data)
    finally:
        client.quit()
    assert smtp_server.envelopes == [
        ("tracker@example.com", ["dana@example.com", "o'neil@example.com"], [f"SIZE={len(data)}"])
    ]
